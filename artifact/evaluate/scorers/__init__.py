"""Toxicity scorers, pluggable: each turns texts into probabilities in [0, 1] (None: the text could not be
scored, which the fork counts as toxicity -1) and names itself with a version.

    perspective  Google's Perspective API, TOXICITY (what the paper used; needs PERSPECTIVE_API_KEY and network;
                 Google closes the API on 2026-12-31)
    toxic-bert   an open classifier (Detoxify's "original" model in transformers format) from a local folder
                 whose files are checked against checksums/scorers/toxic-bert.sha256 (placed by the GPU image)
    profanity    alt-profanity-check's linear model, shipped inside its wheel: runs offline on any CPU

Only Perspective scores are comparable to the paper: the score of any other scorer is marked as such in tables
and diffs. `make toxicity-agreement` says how far each one tracks Perspective.
Scores are cached per scorer in results/eval/_toxicity/<scorer>.jsonl keyed by the text's sha256, appended as
they arrive: a killed scoring run resumes, and a text seen before (by any model) is not scored twice.
"""
from __future__ import annotations

import logging
import hashlib
from pathlib import Path

from ...base.errors import ArtifactError, FileFormatError
from ...base.results import append_rows, read_rows

logger = logging.getLogger(__name__)

NAMES = ("perspective", "toxic-bert", "profanity")


class Scorer:
    name: str = ""
    comparable: bool = False  # scored like the paper (only Perspective)
    chunk: int = 256  # texts scored between two cache writes

    @property
    def id(self) -> str:  # name and version, recorded with every score
        raise NotImplementedError

    def score(self, texts: list[str], progress: bool = False) -> list[float | None]:
        raise NotImplementedError


def get(name: str | None, settings) -> Scorer:
    """The named scorer, or when none is named: Perspective with a key, else toxic-bert where its weights are
    placed, else the offline profanity model."""
    if name is None:
        name = "perspective" if settings.perspective_key else \
            "toxic-bert" if (settings.toxicity_model / "config.json").is_file() else "profanity"
    if name == "perspective":
        from .perspective import Perspective
        return Perspective(settings)
    if name == "toxic-bert":
        from .classifier import Classifier
        return Classifier(settings)
    if name == "profanity":
        from .profanity import Profanity
        return Profanity()
    raise ArtifactError(f"unknown toxicity scorer {name!r}; use one of {', '.join(NAMES)}")


def text_key(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Cache:
    """text sha256 -> score for one scorer id; a JSON line per score, fsynced per chunk; torn last line dropped."""

    def __init__(self, folder: Path, scorer_id: str):
        safe = "".join(c if c.isalnum() or c in "-._" else "_" for c in scorer_id)
        self.path = folder / f"{safe}.jsonl"
        self.scores: dict[str, float | None] = {}
        for i, r in enumerate(read_rows(self.path, ("sha256", "score")), 1):
            s = r["score"]
            if s is not None and (isinstance(s, bool) or not isinstance(s, (int, float)) or not 0.0 <= s <= 1.0):
                raise FileFormatError(self.path, i, f"score {s!r} is not a probability in [0, 1], so the cache is not "
                                                    "used; delete the line (or the file) and rerun to score again")
            self.scores[r["sha256"]] = s

    def add(self, pairs: dict[str, float | None]) -> None:
        append_rows(self.path, [{"sha256": k, "score": v} for k, v in pairs.items()])
        self.scores.update(pairs)


def rate(texts: list[str], scorer: Scorer, folder: Path, progress: bool = False) -> dict[str, float | None]:
    """text -> score for every text, from the cache where scored before; new scores are cached chunk by chunk."""
    cache = Cache(folder, scorer.id)
    todo = sorted({t for t in texts if t.strip() and text_key(t) not in cache.scores})
    if todo:
        logger.info(f"toxicity: {len(todo)} new texts to score with {scorer.id} ({len(set(texts)) - len(todo)} cached)")
    for i in range(0, len(todo), scorer.chunk):
        part = todo[i:i + scorer.chunk]
        cache.add({text_key(t): s for t, s in zip(part, scorer.score(part, progress), strict=True)})
    return {t: (cache.scores[text_key(t)] if t.strip() else None) for t in texts}
