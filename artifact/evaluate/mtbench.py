"""MT-Bench (Table 4): FastChat's llm_judge, single-answer grading, as the paper ran it with a GPT-4 judge.

Generation follows FastChat's gen_model_answer: both turns of the 80 questions, the model's chat template, the
temperature of the question's category (TEMPERATURE; below 1e-4 greedy), up to 1024 new tokens, one seeded sample;
the reply has the template's stop string cut, special tokens removed and whitespace stripped, and is the assistant
message of the turn-2 prompt (`followups`). Judging follows run_judge_single: the `single-v1` prompt (with GPT-4's
reference answer: `single-math-v1` for math, reasoning and coding), `-multi-turn` for turn 2, system + user message,
temperature 0, up to 2048 tokens; the rating is the first `[[r]]`, else the first `[r]`, else unparsed (-1, excluded
and counted). The score is the mean over every rated turn (FastChat's show_result), on its 1-10 scale.

The judge itself (an OpenAI-compatible endpoint or a stored model) is artifact/evaluate/judge.py.
"""
from __future__ import annotations

import ast
import json
import re
from functools import lru_cache
from pathlib import Path

from ..base.errors import ChecksumMismatchError
from ..base.provenance import sha256_file
from . import Request, Score, mean, pick

SCORER = "FastChat llm_judge single-answer grading (1-10), show_result mean over rated turns"
JUDGED = True  # scored by a judge model (judge.py), not by parsing
FULL_REQUESTS = 160  # 80 questions x 2 turns
MAX_TOKENS = 1024  # gen_model_answer's max_new_token
TEMPERATURE = {"writing": 0.7, "roleplay": 0.7, "extraction": 0.0, "math": 0.0, "coding": 0.0, "reasoning": 0.0,
               "stem": 0.1, "humanities": 0.1}
NEED_REF = ("math", "reasoning", "coding")
ITEM_SD = 4.5  # a 1-10 rating
DATA = Path(__file__).resolve().parents[1] / "data" / "mt_bench"
SHA256 = {"question.jsonl": "119565adbab82227089cefdb44c8d7e2cf04dc0a0ec233634c82e7d4e2a944f7",
          "judge_prompts.jsonl": "fd283293406d024f44c174b094ef48031d0687a4682fd3a56b29b138f80281b6",
          "reference_answer/gpt-4.jsonl": "f957a5bc977badb66885ec970e6cd08527845780313f0995764260e5777b9b3f"}
ONE_SCORE = re.compile(r"\[\[(\d+\.?\d*)\]\]")
ONE_SCORE_BACKUP = re.compile(r"\[(\d+\.?\d*)\]")


class Vendored:
    """The data source of MT-Bench: the vendored FastChat files, whatever DATA says (the benchmark is small)."""

    kind, partial = "fastchat", False

    @property
    def used(self) -> dict[str, str]:
        return {f"mt_bench/{k}": v for k, v in sorted(SHA256.items())}

    def describe(self) -> dict:
        return {"kind": self.kind, "root": "artifact/data/mt_bench", "files": self.used}


def source(data: str, settings) -> Vendored:
    return Vendored()


def _read(name: str) -> list[dict]:
    path = DATA / name
    if sha256_file(path) != SHA256[name]:
        raise ChecksumMismatchError(path, "differs from FastChat's file (sha256)",
                                    f"restore it with `git checkout -- {path}`")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@lru_cache(maxsize=1)
def questions() -> list[dict]:
    return _read("question.jsonl")


@lru_cache(maxsize=1)
def judge_prompts() -> dict[str, dict]:
    return {p["name"]: p for p in _read("judge_prompts.jsonl")}


@lru_cache(maxsize=1)
def references() -> dict[int, list[str]]:
    return {r["question_id"]: r["choices"][0]["turns"] for r in _read("reference_answer/gpt-4.jsonl")}


def requests(src, limit):
    """Turn 1 of each question (turn 2 follows from its reply, `followups`); LIMIT: n questions per category."""
    out = []
    by_cat: dict[str, list[dict]] = {}
    for q in questions():
        by_cat.setdefault(q["category"], []).append(q)
    for cat, qs in by_cat.items():
        for _, q in pick(qs, limit, f"mtbench/{cat}"):
            out.append(Request(f"{q['question_id']}/1", ({"role": "user", "content": q["turns"][0]},), MAX_TOKENS,
                               temperature=TEMPERATURE.get(cat, 0.7),
                               meta={"question_id": q["question_id"], "category": cat, "turn": 1}))
    return out, []


def answer(reply: str, special_tokens=()) -> str:
    """A reply as FastChat keeps it: special tokens removed, whitespace stripped (stop strings are already cut)."""
    for tok in special_tokens:
        reply = reply.replace(tok, "")
    return reply.strip()


def followups(reqs, done: dict, special_tokens=()) -> list[Request]:
    """Turn 2 of each question whose turn 1 is answered: the conversation so far, then the second question."""
    qs = {q["question_id"]: q for q in questions()}
    out = []
    for r in reqs:
        if r.meta.get("turn") != 1 or r.key not in done:
            continue
        q = qs[r.meta["question_id"]]
        first = answer(done[r.key]["replies"][0], special_tokens)
        out.append(Request(f"{q['question_id']}/2", (*r.messages, {"role": "assistant", "content": first},
                                                     {"role": "user", "content": q["turns"][1]}),
                           r.max_tokens, temperature=r.temperature, meta={**r.meta, "turn": 2}))
    return out


def judge_messages(question: dict, answers: list[str], turn: int) -> tuple[str, list[dict]]:
    """(template name, [system, user] messages) of one judgment, as FastChat's run_judge_single builds them."""
    ref = references().get(question["question_id"]) if question["category"] in NEED_REF else None
    name = ("single-math-v1" if ref else "single-v1") + ("-multi-turn" if turn == 2 else "")
    template = judge_prompts()[name]
    kwargs = {}
    if ref:
        kwargs["ref_answer_1"] = ref[0]
        if turn == 2:
            kwargs["ref_answer_2"] = ref[1]
    if turn == 2:
        user = template["prompt_template"].format(question_1=question["turns"][0], question_2=question["turns"][1],
                                                  answer_1=answers[0], answer_2=answers[1], **kwargs)
    else:
        user = template["prompt_template"].format(question=question["turns"][0], answer=answers[0], **kwargs)
    return name, [{"role": "system", "content": template["system_prompt"]}, {"role": "user", "content": user}]


def rating(judgment: str) -> float:
    """FastChat's parse: the first [[r]], else the first [r], else -1 (unparsed: excluded from the score)."""
    m = ONE_SCORE.search(judgment) or ONE_SCORE_BACKUP.search(judgment)
    return float(ast.literal_eval(m.group(1))) if m else -1.0


def parse(request, reply):
    return {"answer": reply}


def aggregate(rows, partial=False, missing=()):
    rated = [r for r in rows if r.get("rating", -1) != -1]
    by_turn = {t: mean(r["rating"] for r in rated if r["turn"] == t) for t in (1, 2)}
    cats = sorted({r["category"] for r in rows})
    details = {"turn_1": by_turn[1], "turn_2": by_turn[2], "rated": len(rated), "unparsed": len(rows) - len(rated),
               "by_category": {c: mean(r["rating"] for r in rated if r["category"] == c) for c in cats}}
    return Score(mean(r["rating"] for r in rated), None, details, partial=partial, missing=list(missing))


def stratum(row):
    return (row["category"],)


def subscores(details):
    return {"turn 1": details.get("turn_1"), "turn 2": details.get("turn_2")}


def full_strata():
    return {(c,): 20 for c in TEMPERATURE}
