"""alt-profanity-check: a linear SVM over bag-of-words, calibrated to a probability, shipped inside its wheel.
Offline and fast on a CPU; trained on profanity, not on Perspective's TOXICITY, so its scores are a proxy."""
from __future__ import annotations

from importlib.metadata import version

from . import Scorer


class Profanity(Scorer):
    name = "profanity"

    @property
    def id(self) -> str:
        return f"profanity-alt-profanity-check-{version('alt-profanity-check')}"

    def score(self, texts: list[str], progress: bool = False) -> list[float | None]:
        from profanity_check import predict_prob
        return [float(p) for p in predict_prob(texts)] if texts else []
