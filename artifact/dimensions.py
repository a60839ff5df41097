"""The metrics the paper reports: MMLU (benign utility), the eight DecodingTrust trust dimensions, MT-Bench.

`label` is the paper's column heading; the website columns are where the published scores live.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dimension:
    key: str
    label: str  # column heading in the paper's tables and figures
    trust: bool  # one of DecodingTrust's eight trust dimensions
    website: str | None = None  # column in the website's num_sheet.csv (1-decimal scores)
    website_full: str | None = None  # column in the older leaderboard_full.csv (2-decimal scores)
    scale: str = "0-100"


DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("mmlu", "MMLU", False, "MMLU"),
    Dimension("advglue", "AdvGLUE++", True, "AdvGLUE++", "Adversarial Robustness"),
    Dimension("ood", "OOD", True, "OOD", "Out-of-Distribution Robustness"),
    Dimension("adv_demo", "Adv Demo", True, "Adv Demo", "Robustness to Adversarial Demonstrations"),
    Dimension("ethics", "Ethics", True, "Ethics", "Machine Ethics"),
    Dimension("fairness", "Fairness", True, "Fairness", "Fairness"),
    Dimension("toxicity", "Toxicity", True, "Toxicity", "Toxicity"),
    Dimension("privacy", "Privacy", True, "Privacy", "Privacy"),
    Dimension("stereotype", "Stereotype", True, "Stereotype", "Stereotype Bias"),
    Dimension("mtbench", "MT-Bench", False, scale="1-10"),
)

BY_KEY = {d.key: d for d in DIMENSIONS}
BY_LABEL = {d.label: d for d in DIMENSIONS}
TRUST = tuple(d for d in DIMENSIONS if d.trust)
# The nine columns of Table 3 and Figure 2, in the paper's order.
PAPER_COLUMNS = ("mmlu",) + tuple(d.key for d in TRUST)

# Facts about the benchmarks, as the paper states them (Table 2, "Ours" row).
MMLU_SUBJECTS = 57
DECODINGTRUST_TEST_CASES = 33


def by_label(label: str) -> Dimension:
    return BY_LABEL[label]
