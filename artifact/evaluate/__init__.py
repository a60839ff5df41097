"""Scoring a model the way the paper did: one module per perspective, each five pure parts (the interface is
`api.PerspectiveModule`; `get(name)` returns its registry entry, `api.Perspective`).

    requests(data, limit) -> [Request]      what to ask (prompts as message lists, generation settings, gold labels)
    parse(request, reply) -> dict           one reply, read the way the fork's score script reads it
                                            (parse_all(request, replies) where a request has n samples)
    aggregate(rows, subset) -> Score        parsed rows -> the paper's 0-100 score and refusal rate
    stratum(row) -> tuple                   the task or setting an item belongs to, coarsest level first: the
                                            bootstrap (`interval.py`) resamples items within it
    subscores(details) -> {name: value}     the parts of the score a table or figure may show, each given an interval

`rows` are the request's `meta` merged with its parsed reply, so aggregation needs no model and no data file.
The engine (`run.py`) renders prompts, batches generation, appends samples as it goes and writes the score.
A module may also set ITEM_SD (the largest standard deviation one item's score can have, in score points; 50 for a
0-100 rate), WEIGHTS (fixed weights of its top-level strata) and POOLED (items weigh equally across strata): the
dry run's expected interval widths read them.
"""
from __future__ import annotations

import importlib
import zlib
from dataclasses import dataclass, field
from types import ModuleType

from ..base.dimensions import BY_KEY
from ..base.dimensions import PERSPECTIVES as _KEYS
from ..base.errors import BadInputError, UnknownPerspectiveError

# The registry: every dimension of artifact.base.dimensions that has a `benchmark`, in PERSPECTIVE=all order, and those
# run only when named; each is implemented by the module of this package with the dimension's key as its name,
# wrapped once in get().
PERSPECTIVES: tuple[str, ...] = _KEYS
# Named on purpose only, never part of PERSPECTIVE=all: MT-Bench needs a judge model (judge.py)
ON_REQUEST: tuple[str, ...] = ("mtbench",)
_REGISTRY: dict = {}


@dataclass(frozen=True)
class Request:
    key: str  # unique within one perspective run, stable across runs (resume relies on it)
    messages: tuple | str  # OpenAI-style message dicts (rendered by the chat template) or a raw prompt
    max_tokens: int
    temperature: float = 0.0  # 0: greedy (the fork sampled at 1e-7, i.e. greedy up to ties)
    n: int = 1
    stop: tuple[str, ...] = ()  # reply ends before the first of these strings (plus the template's stop_str)
    meta: dict = field(default_factory=dict, compare=False, hash=False)  # gold labels, group, task: for aggregate


@dataclass
class Score:
    score: float | None  # 0-100, None when a required part is missing (the fork writes no score then)
    refusal: float | None  # refusal rate in percent
    details: dict
    partial: bool = False  # computed over fewer inputs than the full benchmark (LIMIT, subset data, missing files)
    missing: list = field(default_factory=list)  # the parts that could not be run, in words

    def as_dict(self) -> dict:
        return {"score": self.score, "refusal": self.refusal, "partial": self.partial, "missing": self.missing,
                "details": self.details}


def get(name):
    """The registry entry (`api.Perspective`) of a perspective: by key, or for its module; checked once."""
    if isinstance(name, ModuleType):
        name = name.__name__.rsplit(".", 1)[-1]
    elif not isinstance(name, str):
        return name  # already an entry
    if name not in PERSPECTIVES + ON_REQUEST:
        raise UnknownPerspectiveError(name, list(PERSPECTIVES + ON_REQUEST) + ["all"])
    if name not in _REGISTRY:
        from .api import Perspective
        d = BY_KEY[name]
        _REGISTRY[name] = Perspective(name, d.label, d.benchmark, importlib.import_module(f".{name}", __name__))
    return _REGISTRY[name]


def module(name: str):
    """The module implementing a perspective (tests and tools that call its pure parts directly)."""
    return get(name).module


def names(spec: str) -> list[str]:
    """`all`, one name, or a comma-separated list, in registry order, each checked."""
    if not spec or not spec.strip():
        raise BadInputError(f"PERSPECTIVE is empty; use one of {', '.join(PERSPECTIVES)}, or all")
    if spec.strip() == "all":
        return list(PERSPECTIVES)
    wanted = [s.strip() for s in spec.split(",") if s.strip()]
    if not wanted:
        raise BadInputError(f"PERSPECTIVE={spec} names no perspective; use one of {', '.join(PERSPECTIVES)}, or all")
    for w in wanted:
        module(w)
    return [p for p in PERSPECTIVES + ON_REQUEST if p in wanted]


def mean(values) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


LIMIT_SAMPLING = "stratified-v1"  # named in config.json: what LIMIT=n means (a change here changes the hash)


def pick(items: list, limit: int | None, task: str) -> list[tuple[int, object]]:
    """(index, item) pairs a run asks for: every item, or with LIMIT=n a seeded random sample of n items of this
    task (each task draws its own n: a stratified sample). The sample is the first n of a permutation seeded by
    the task's name, so a larger LIMIT keeps the smaller one's items, and indices are the data's own, so request
    keys do not move with LIMIT. Tasks that share their items (one file asked two ways) pass the same name."""
    if limit is None or limit >= len(items):
        return list(enumerate(items))
    import numpy as np
    order = np.random.default_rng(zlib.crc32(f"limit/{task}".encode())).permutation(len(items))
    return [(int(i), items[i]) for i in sorted(order[:limit])]
