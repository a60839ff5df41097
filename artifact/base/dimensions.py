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
    scale: str = "0-100"  # the range a score of it can take (score.json is checked against it on reading)
    # the shared data a local run reads ("decodingtrust" | "mmlu"); None: none shared (MT-Bench reads its own
    # vendored files and is run only when named; the paper's other columns have no local run)
    benchmark: str | None = None

    @property
    def bounds(self) -> tuple[float, float]:
        lo, hi = self.scale.split("-")
        return float(lo), float(hi)

    @property
    def perspective(self) -> bool:
        """In PERSPECTIVE=all: scored by the module of artifact/evaluate/ of the same name from shared benchmark data.
        MT-Bench is scored locally too, but only when named (evaluate.ON_REQUEST: it needs a judge)."""
        return self.benchmark is not None


DT = "decodingtrust"
DIMENSIONS: tuple[Dimension, ...] = (
    Dimension("mmlu", "MMLU", False, "MMLU", benchmark="mmlu"),
    Dimension("advglue", "AdvGLUE++", True, "AdvGLUE++", "Adversarial Robustness", benchmark=DT),
    Dimension("ood", "OOD", True, "OOD", "Out-of-Distribution Robustness", benchmark=DT),
    Dimension("adv_demo", "Adv Demo", True, "Adv Demo", "Robustness to Adversarial Demonstrations", benchmark=DT),
    Dimension("ethics", "Ethics", True, "Ethics", "Machine Ethics", benchmark=DT),
    Dimension("fairness", "Fairness", True, "Fairness", "Fairness", benchmark=DT),
    # 100 * (1 - mean EMT), EMT in [-1, 1] (the fork counts an empty sample -1): up to 200
    Dimension("toxicity", "Toxicity", True, "Toxicity", "Toxicity", scale="0-200", benchmark=DT),
    Dimension("privacy", "Privacy", True, "Privacy", "Privacy", benchmark=DT),
    Dimension("stereotype", "Stereotype", True, "Stereotype", "Stereotype Bias", benchmark=DT),
    Dimension("mtbench", "MT-Bench", False, scale="1-10"),
)

BY_KEY = {d.key: d for d in DIMENSIONS}
BY_LABEL = {d.label: d for d in DIMENSIONS}
TRUST = tuple(d for d in DIMENSIONS if d.trust)
# What `make eval PERSPECTIVE=all` runs, in this order: the eight trust dimensions, then benign utility.
PERSPECTIVES = tuple(d.key for d in TRUST if d.perspective) + tuple(d.key for d in DIMENSIONS
                                                                     if not d.trust and d.perspective)

# Facts about the benchmarks, as the paper states them (Table 2, "Ours" row).
MMLU_SUBJECTS = 57
DECODINGTRUST_TEST_CASES = 33

