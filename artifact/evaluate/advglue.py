"""AdvGLUE++: SST-2, QQP and MNLI examples attacked against Alpaca-7B, Vicuna-13B and StableVicuna-13B (the fork's
advglue/gpt_eval.py and adv_stats.py). No system message (so Llama-2 keeps Meta's default one), the fork's fixed
demo turns, greedy, 16 tokens. Score = unweighted mean of the 9 (source model x task) accuracies, an unparseable
reply counted wrong; refusal = mean share of unparseable replies ("RR+NE").

The data files exist only on the Hub. With DATA=subset the run uses a stand-in, said in every score: SST-2 from the
word-level perturbed SST-2 sentences of the OOD data (style "augment") and MNLI from the SNLI premise/hypothesis
pairs of the counterfactual data; there is no QQP stand-in.
"""
from __future__ import annotations

import re

from . import Request, Score, mean, pick
from .data import read_json, read_jsonl
from .dt import SCORER, value  # noqa: F401 (SCORER: read by the engine)

SOURCES = ("alpaca", "vicuna", "stable-vicuna")
TASKS = ("sst2", "qqp", "mnli")
MAX_TOKENS = 16
FULL_REQUESTS = None  # not recoverable offline (the Hub viewer counts 42k rows for all tasks and sources together)
STAND_IN = "stand-in"


def _p(*path):
    return value("advglue", "prompts", *path)


def message(task: str, record: dict) -> str:
    if record.get("method") == _p("message_construction", "semattack_method_name"):
        text = record["sentence"]
    else:
        k1, k2 = _p("task_to_keys")[task]
        text = f"{k1}: {record[k1]}" + (f"\n{k2}: {record[k2]}" if k2 else "")
    return text.replace("sentence1", "premise").replace("sentence2", "Hypothesis")


def messages(task: str, record: dict) -> tuple:
    demo = tuple(_p("TASK2DEMO", task))
    return demo + ({"role": "user", "content": f"{_p('TASK2SHORTPROMPT', task)}\n{message(task, record)}"},)


def stand_in(src) -> dict:
    """AdvGLUE++-shaped records from real vendored text (see the module docstring)."""
    sst2 = [{"idx": r["id"], "label": int(r["label"]), "sentence": r["sentence"], "method": "augment"}
            for r in read_json(src, "ood/style.json")["dev"]["augment"]]
    mnli, ids = [], value("advglue", "scoring", "answer_mapping")["mnli"]
    for i, r in enumerate(read_jsonl(src, "adv_demonstration/counterfactual/snli_premise_cf/42.jsonl")):
        premise, hypothesis = r["input"].split("\nhypothesis: ")
        mnli.append({"idx": i, "label": ids[r["label"]], "premise": premise.removeprefix("premise: "),
                     "hypothesis": hypothesis.removesuffix("\nanswer:")})
    return {"sst2": sst2, "mnli": mnli}


def requests(src, limit: int | None = None) -> tuple[list[Request], list[str]]:
    out, missing = [], []
    if src.kind == "subset":
        data = {STAND_IN: stand_in(src)}
        missing.append("the AdvGLUE++ files (Hub only): SST-2 and MNLI stand-ins from vendored real text, no QQP")
    else:
        data = {s: read_json(src, f"adv-glue-plus-plus/data/{s}.json") for s in SOURCES}
    for source, tasks in data.items():
        for task in TASKS:
            for i, rec in pick(tasks.get(task, []), limit, f"advglue/{source}/{task}"):
                out.append(Request(f"{source}/{task}/{i}", messages(task, rec), MAX_TOKENS,
                                   meta={"source": source, "task": task, "label": int(rec["label"])}))
    return out, missing


def parse(request: Request, reply: str) -> dict:
    text = reply.lower()
    for quoted in re.findall(value("advglue", "scoring", "response_to_labels_yesno", "quote_regex"), text):
        text = text.replace(quoted, "")
    answer = text.split(".")[0]
    hits = [i for word, i in value("advglue", "scoring", "answer_mapping")[request.meta["task"]].items()
            if word in answer]
    prediction = hits[0] if len(hits) == 1 else -1
    return {"prediction": prediction, "correct": prediction == request.meta["label"]}


def aggregate(rows: list[dict], partial: bool = False, missing=()) -> Score:
    cells: dict[str, list[dict]] = {}
    for r in rows:
        cells.setdefault(f"{r['source']}/{r['task']}", []).append(r)
    acc = {k: 100 * mean(r["correct"] for r in v) for k, v in cells.items()}
    rr = {k: 100 * mean(r["prediction"] == -1 for r in v) for k, v in cells.items()}
    missing = list(missing)
    expected = [f"{s}/{t}" for s in SOURCES for t in TASKS]
    if not partial:
        missing += [f"{c}: no result" for c in expected if c not in cells]
    complete = not missing
    score = mean(acc.values()) if acc and (complete or partial) else None
    return Score(score, mean(rr.values()), {"accuracy": acc, "rr_ne": rr}, partial or not complete, missing)


def stratum(row: dict) -> tuple:
    return (row["source"], row["task"])


def subscores(details: dict) -> dict[str, float]:
    return {f"accuracy/{k}": v for k, v in details["accuracy"].items()}


def breakdown(details: dict) -> dict[str, float]:
    """Figure 12's values, in percent: each task's accuracy and unparsed share, averaged over the attack sources."""
    out = {}
    for task in TASKS:
        cells = [k for k in details["accuracy"] if k.endswith(f"/{task}")]
        if cells:
            out[f"{task}/accuracy"] = mean(details["accuracy"][k] for k in cells)
            out[f"{task}/refusal"] = mean(details["rr_ne"][k] for k in cells)
    return out


def full_strata() -> dict[tuple, int | None]:
    """The full benchmark's strata and items (sizes not known offline: dry runs need a LIMIT)."""
    return {(s, t): None for s in SOURCES for t in TASKS}
