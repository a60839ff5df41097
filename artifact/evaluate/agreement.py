"""`make toxicity-agreement`: how closely each available toxicity scorer tracks the Perspective API scores stored in
RealToxicityPrompts (prompt and continuation texts of toxic.jsonl and nontoxic.jsonl, about 4,800 texts scored by
Perspective when the dataset was made, 2020). For each scorer: Pearson and Spearman correlation, mean absolute
error, and agreement on Perspective's own 0.5 toxic/non-toxic line. Scores go through the scorer cache, so a rerun
is quick. Written to results/toxicity-agreement.{json,md}.
"""
from __future__ import annotations

import logging
import json

from tabulate import tabulate

from ..base.errors import ArtifactError
from ..base.provenance import stamp
from . import scorers
from .data import read_jsonl, source
from ..base.results import Layout

logger = logging.getLogger(__name__)

FILES = ("toxicity/user_prompts/toxic.jsonl", "toxicity/user_prompts/nontoxic.jsonl")


def reference(src) -> dict[str, float]:
    """text -> the Perspective TOXICITY stored with it (texts without a score are left out)."""
    out = {}
    for rel in FILES:
        for row in read_jsonl(src, rel):
            for part in ("prompt", "continuation"):
                text, tox = row[part]["text"], row[part].get("toxicity")
                if tox is not None and text.strip():
                    out[text] = float(tox)
    return out


def _ranks(xs: list[float]) -> list[float]:
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    ranks = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1  # ties share their mean rank
        i = j + 1
    return ranks


def pearson(a: list[float], b: list[float]) -> float:
    n = len(a)
    ma, mb = sum(a) / n, sum(b) / n
    cov = sum((x - ma) * (y - mb) for x, y in zip(a, b, strict=True))
    va, vb = sum((x - ma) ** 2 for x in a), sum((y - mb) ** 2 for y in b)
    return cov / (va * vb) ** 0.5 if va and vb else float("nan")


def compare(ref: dict[str, float], got: dict[str, float | None]) -> dict:
    pairs = [(ref[t], got[t]) for t in ref if got.get(t) is not None]
    a, b = [p for p, _ in pairs], [g for _, g in pairs]
    return {"texts": len(pairs), "pearson": pearson(a, b), "spearman": pearson(_ranks(a), _ranks(b)),
            "mae": sum(abs(x - y) for x, y in pairs) / len(pairs),
            "agreement_at_0.5": sum((x > 0.5) == (y > 0.5) for x, y in pairs) / len(pairs),
            "mean_perspective": sum(a) / len(a), "mean_scorer": sum(b) / len(b)}


def available(settings) -> list[str]:
    names = ["profanity"]
    if (settings.toxicity_model / "config.json").is_file():
        names.append("toxic-bert")
    if settings.perspective_key:
        names.append("perspective")
    return names


def plan(settings, data: str = "subset", names: list[str] | None = None) -> list[dict]:
    """Per scorer: texts, how many its cache holds, how many would be scored, and a time estimate (Perspective:
    paced at PERSPECTIVE_QPS; the local scorers take seconds)."""
    texts = sorted(reference(source("decodingtrust", data, settings)))
    rows = []
    for name in names or available(settings):
        scorer = scorers.get(name, settings)
        cached = scorers.Cache(Layout(settings.results).toxicity, scorer.id).scores
        todo = sum(scorers.text_key(t) not in cached for t in texts)
        est = f"{todo / settings.perspective_qps / 60:.0f} min at {settings.perspective_qps:g}/s" \
            if name == "perspective" else "seconds"
        rows.append({"scorer": scorer.id, "texts": len(texts), "cached": len(texts) - todo, "to_score": todo,
                     "estimate": est})
    return rows


def run(settings, data: str = "subset", names: list[str] | None = None) -> dict:
    src = source("decodingtrust", data, settings)
    ref = reference(src)
    if not ref:
        raise ArtifactError("no Perspective-scored texts found in the RealToxicityPrompts files")
    texts = sorted(ref)
    rows = {}
    for name in names or available(settings):
        scorer = scorers.get(name, settings)
        got = scorers.rate(texts, scorer, Layout(settings.results).toxicity, progress=True)
        rows[scorer.id] = {**compare(ref, got), "comparable_to_paper": scorer.comparable}
    out = {"reference": "Perspective API TOXICITY stored in RealToxicityPrompts (2020)", "data": src.describe(),
           "scorers": rows, "provenance": stamp()}
    where = Layout(settings.results).agreement
    where.parent.mkdir(parents=True, exist_ok=True)
    where.with_suffix(".json").write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    where.with_suffix(".md").write_text(markdown(out), encoding="utf-8")
    return out


def table(out: dict) -> str:
    return tabulate([(k, v["texts"], f"{v['pearson']:.3f}", f"{v['spearman']:.3f}", f"{v['mae']:.3f}",
                      f"{100 * v['agreement_at_0.5']:.1f}%", f"{v['mean_perspective']:.3f}", f"{v['mean_scorer']:.3f}")
                     for k, v in out["scorers"].items()],
                    headers=["scorer", "texts", "Pearson r", "Spearman ρ", "MAE", "same side of 0.5",
                             "mean Perspective", "mean scorer"], tablefmt="github")


def markdown(out: dict) -> str:
    return ("# Toxicity scorers against Perspective\n\n" + f"Reference: {out['reference']}.\n\n" + table(out) +
            "\n\nA Toxicity score from a scorer other than Perspective is not comparable to the paper's; these "
            "figures say how far it can be trusted.\n")
