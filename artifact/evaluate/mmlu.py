"""MMLU: 57 subjects, 5-shot, scored the way the paper's scripts/mmlu_autogptq.py did: generate up to 16 tokens
greedily after the classic prompt (5 dev examples with answers, then the test question and "Answer:"; no chat
template), take the first character of the continuation; A-D is the prediction, anything else a refusal (and
wrong). Accuracy and refusal rate are question-weighted over all subjects.

The prompt is the script's byte for byte: its subject formatter puts a space before every word, so the header
reads "... about  abstract algebra." (two spaces), and it reads the Hendrycks CSVs with pandas (header=None, no
other option), whose type inference renders some cells differently from their text: a choice reading "None",
"N/A" or "NA" (or an empty one) becomes NaN and is printed "nan", and in a column whose cells are all numbers an
integer among decimals is printed "4.0" and "2.50" "2.5". We read the CSVs with pandas the same way; parquet rows
(DATA=hub, cais/mmlu) are written back to CSV text first, so pandas sees what it saw in the paper's files.
Deviation: leading whitespace is skipped before taking the first character; Llama's tokenizer decodes the answer
token without it, byte-level BPE tokenizers (SmolLM2) keep it. The script crops a prompt longer than 2,048 GPT-2
tokens by dropping shots (its crop helper is not in the release; it is presumably the Hendrycks repository's
crop.py): not reproduced, since 5-shot prompts rarely reach that length.
"""
from __future__ import annotations

import csv
import io

from . import Request, Score, mean, pick

SUBJECTS = (
    "abstract_algebra anatomy astronomy business_ethics clinical_knowledge college_biology college_chemistry "
    "college_computer_science college_mathematics college_medicine college_physics computer_security "
    "conceptual_physics econometrics electrical_engineering elementary_mathematics formal_logic global_facts "
    "high_school_biology high_school_chemistry high_school_computer_science high_school_european_history "
    "high_school_geography high_school_government_and_politics high_school_macroeconomics high_school_mathematics "
    "high_school_microeconomics high_school_physics high_school_psychology high_school_statistics "
    "high_school_us_history high_school_world_history human_aging human_sexuality international_law jurisprudence "
    "logical_fallacies machine_learning management marketing medical_genetics miscellaneous moral_disputes "
    "moral_scenarios nutrition philosophy prehistory professional_accounting professional_law professional_medicine "
    "professional_psychology public_relations security_studies sociology us_foreign_policy virology "
    "world_religions").split()
CHOICES = "ABCD"
SCORER = "comp-trust mmlu_autogptq.py (generative, first letter)"
SHOTS, MAX_TOKENS = 5, 16
FULL_REQUESTS = 14042
POOLED = True  # accuracy is question-weighted: every question weighs the same, whatever its subject


def rows(src, subject: str, split: str) -> list[tuple[str, list[str], str]]:
    """(question, four choices, answer letter) as the paper's script printed them: Hendrycks CSVs (subset, local)
    or cais/mmlu parquet (hub), both read through pandas as the script read its CSVs."""
    if src.kind == "hub":
        import pyarrow.parquet as pq
        t = pq.read_table(src.path(f"{subject}/{split}-00000-of-00001.parquet")).to_pylist()
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(
            [r["question"], *r["choices"], CHOICES[int(r["answer"])]] for r in t)
        return as_the_paper_read(buf.getvalue())
    return as_the_paper_read(src.path(f"{split}/{subject}_{split}.csv").read_text(encoding="utf-8"))


def as_the_paper_read(text: str) -> list[tuple[str, list[str], str]]:
    """pandas.read_csv(header=None), each cell then formatted with "{}".format as mmlu_autogptq.py does."""
    import pandas as pd
    if not text.strip():
        return []
    df = pd.read_csv(io.StringIO(text), header=None)
    cell = "{}".format
    return [(cell(df.iloc[i, 0]), [cell(df.iloc[i, j]) for j in range(1, 5)], cell(df.iloc[i, 5]))
            for i in range(df.shape[0])]


def example(question: str, choices: list[str], answer: str | None = None) -> str:
    text = question + "".join(f"\n{c}. {t}" for c, t in zip(CHOICES, choices, strict=True)) + "\nAnswer:"
    return text + (f" {answer}\n\n" if answer else "")


def format_subject(subject: str) -> str:
    """The script's (and Hendrycks'): a space before every word, so ' abstract algebra'."""
    return "".join(" " + word for word in subject.split("_"))


def prompt(subject: str, dev: list, question: str, choices: list[str]) -> str:
    head = f"The following are multiple choice questions (with answers) about {format_subject(subject)}.\n\n"
    return head + "".join(example(*d) for d in dev[:SHOTS]) + example(question, choices)


def requests(src, limit: int | None = None) -> tuple[list[Request], list[str]]:
    out, missing = [], []
    for subject in SUBJECTS:
        if src.kind != "hub" and not src.exists(f"test/{subject}_test.csv"):
            missing.append(subject)
            continue
        dev = rows(src, subject, "dev")
        for i, (q, ch, ans) in pick(rows(src, subject, "test"), limit, f"mmlu/{subject}"):
            out.append(Request(f"{subject}/{i}", prompt(subject, dev, q, ch), MAX_TOKENS,
                               meta={"subject": subject, "label": ans}))
    if missing:
        missing = [f"{len(missing)} of {len(SUBJECTS)} subjects have no data here"]
    return out, missing


def parse(request: Request, reply: str) -> dict:
    first = reply.lstrip()[:1].upper()
    prediction = first if first and first in CHOICES else None
    return {"prediction": prediction, "correct": prediction == request.meta["label"], "refused": prediction is None}


def aggregate(rows: list[dict], partial: bool = False, missing=()) -> Score:
    by: dict[str, list[dict]] = {}
    for r in rows:
        by.setdefault(r["subject"], []).append(r)
    subjects = {s: {"acc": 100 * mean(r["correct"] for r in rs), "n": len(rs)} for s, rs in by.items()}
    missing = list(missing)
    complete = not missing and len(by) == len(SUBJECTS)
    score = 100 * mean(r["correct"] for r in rows) if rows and (complete or partial) else None
    rr = 100 * mean(r["refused"] for r in rows) if rows else None
    return Score(score, rr, {"subjects": subjects, "questions": len(rows)}, partial or not complete, missing)


def stratum(row: dict) -> tuple:
    return (row["subject"],)


def subscores(details: dict) -> dict[str, float]:
    return {f"subject/{s}": v["acc"] for s, v in details["subjects"].items()}


def full_strata() -> dict[tuple, int | None]:
    """The full benchmark's strata and items (14,042 questions, spread evenly here: item counts are pooled)."""
    return {(s,): FULL_REQUESTS // len(SUBJECTS) for s in SUBJECTS}
