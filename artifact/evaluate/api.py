"""The perspective interface. Each of the nine modules (advglue.py ... mmlu.py) implements `PerspectiveModule`;
the registry (`evaluate/__init__.py`) wraps each in a `Perspective` entry once, and the engine, the rescore, the
intervals, the dry-run estimates and the CLI read perspectives only through those entries. Optional constants
get their defaults here, in one place.
"""
from __future__ import annotations

from dataclasses import dataclass
from types import ModuleType
from typing import Protocol, runtime_checkable

DEFAULT_ITEM_SD = 50.0  # score points: a 0-100 rate whose items are each 0 or 100, at p = 0.5


@runtime_checkable
class PerspectiveModule(Protocol):
    """What a perspective module defines (and one of `parse(request, reply)` or `parse_all(request, replies)`).

    requests(src, limit) -> ([Request], [missing part, in words])   what to ask
    aggregate(rows, partial=False, missing=None) -> Score           parsed rows -> the paper's score and refusal rate
    stratum(row) -> tuple                                           the task an item belongs to, coarsest first
    subscores(details) -> {name: value}                             the parts of the score a table may show
    full_strata() -> {stratum: items or None}                       the full benchmark's strata, for dry runs
    Optional: breakdown(details) -> {name: percent}                 the values the paper's per-scenario figures draw
    (Figures 4, 6, 12-25; the bootstrap keeps their resamples, so a figure's cell averaging seeds has an interval),
    SAMPLES, FULL_GENERATIONS, RATED (+ rate(row, scores)), JUDGED, ITEM_SD, WEIGHTS, POOLED.
    """

    SCORER: str  # the scoring code it follows, named in every score.json
    FULL_REQUESTS: int | None  # requests of the full benchmark (None: unknown without the full data)

    def requests(self, src, limit): ...

    def aggregate(self, rows, partial=False, missing=()): ...

    def stratum(self, row): ...

    def subscores(self, details): ...

    def full_strata(self): ...


@dataclass(frozen=True)
class Perspective:
    """A registry entry: the dimension it measures, the benchmark data it reads, and its module."""

    key: str  # the dimension key (artifact.base.dimensions), also the results folder and PERSPECTIVE= name
    label: str  # the paper's column heading
    benchmark: str | None  # "decodingtrust" or "mmlu": the shared data it reads (evaluate/data.py); None: its
    #                        module's own `source()` (MT-Bench's vendored files)
    module: ModuleType

    def __post_init__(self):
        m = self.module
        lacks = [n for n in ("SCORER", "FULL_REQUESTS", "MAX_TOKENS", "requests", "aggregate", "stratum", "subscores",
                             "full_strata") if not hasattr(m, n)]
        if not (hasattr(m, "parse") or hasattr(m, "parse_all")):
            lacks.append("parse or parse_all")
        if self.rated and not hasattr(m, "rate"):
            lacks.append("rate (it is RATED)")
        if lacks or not isinstance(m, PerspectiveModule):
            raise TypeError(f"{m.__name__} does not implement the perspective interface: it lacks {', '.join(lacks)}")

    # metadata, with the defaults in one place
    scorer = property(lambda self: self.module.SCORER)
    max_tokens = property(lambda self: self.module.MAX_TOKENS)  # the longest reply it asks for (dry runs)
    full_requests = property(lambda self: self.module.FULL_REQUESTS)
    samples = property(lambda self: getattr(self.module, "SAMPLES", 1))
    rated = property(lambda self: getattr(self.module, "RATED", False))  # replies need a toxicity scorer
    judged = property(lambda self: getattr(self.module, "JUDGED", False))  # scored by a judge model (MT-Bench)
    item_sd = property(lambda self: getattr(self.module, "ITEM_SD", DEFAULT_ITEM_SD))
    weights = property(lambda self: getattr(self.module, "WEIGHTS", None))  # fixed weights of the top strata
    pooled = property(lambda self: getattr(self.module, "POOLED", False))  # items weigh equally across strata

    @property
    def full_generations(self) -> int:
        """Replies of the full run (a request with n samples has n replies)."""
        return getattr(self.module, "FULL_GENERATIONS", (self.full_requests or 0) * self.samples)

    # the three pure parts and the interval hooks
    def requests(self, src, limit):
        return self.module.requests(src, limit)

    def parse(self, request, replies: list[str]) -> dict:
        m = self.module
        return m.parse_all(request, replies) if hasattr(m, "parse_all") else m.parse(request, replies[0])

    def rate(self, row: dict, scores: dict) -> dict:
        return self.module.rate(row, scores)

    def aggregate(self, rows, partial: bool = False, missing=()):
        return self.module.aggregate(rows, partial=partial, missing=missing)

    def stratum(self, row) -> tuple:
        return self.module.stratum(row)

    def subscores(self, details) -> dict:
        return self.module.subscores(details)

    def breakdown(self, details) -> dict:
        f = getattr(self.module, "breakdown", None)
        return {} if f is None or not details else f(details)

    def full_strata(self) -> dict:
        return self.module.full_strata()
