"""How sure a local score is: a 95% percentile bootstrap over the scored items, and the width to expect before a run.

bootstrap  Items are grouped by the perspective's `stratum(row)` (its task or setting). A resample draws, within
           every stratum, as many items as it holds, with replacement (numpy's Generator, PCG64, seed 0), and the
           perspective's own `aggregate()` recomputes the score from them, so fairness' DPD/EOD, toxicity's
           expected maximum, privacy's weighted leak rates and stereotype's rounded agreement index all get their
           interval from the very code that made the score. The 2.5th and 97.5th percentiles of 1,000 resampled
           scores are the interval. A stratum of one item cannot show any spread: it is merged with its siblings
           (the items of its parent level), and so on up to the whole perspective.
           The draw depends only on the seed and the strata's sizes, in key order: two models scored on the same
           requests draw the same items in every resample, so replicate i of one minus replicate i of the other is
           a paired bootstrap of their difference (the report layer uses this for cells, differences and claims).
expected   Before a run, from the requests alone: 1.96 x sqrt(sum over strata of w^2 x ITEM_SD^2 / n), the half-width
           of a weighted mean of stratum means whose items have the largest spread a score can have (ITEM_SD: 50
           points for a rate, the worst case of a coin-flip item). An upper bound for rates; real runs are narrower
           wherever items mostly agree.
"""
from __future__ import annotations

import logging
import math

from ..base import confidence
from ..base.confidence import LEVEL, half_width  # noqa: F401 (half_width: used by the engine and rescore)
from . import get

logger = logging.getLogger(__name__)

RESAMPLES, SEED = 1000, 0
METHOD = "percentile bootstrap over items within strata (numpy Generator PCG64)"
Z95 = 1.959964


# `perspective` below is a perspective: its registry entry, its key or its module (evaluate.get() accepts each)

def key(perspective, row: dict) -> tuple[str, ...]:
    return tuple(str(x) for x in get(perspective).stratum(row))


def strata(perspective, rows: list[dict]) -> dict[tuple, list[int]]:
    """Stratum key -> row indices, in key order; a stratum of one row joins its parent level (see module doc)."""
    keys = [key(perspective, r) for r in rows]
    while True:
        groups: dict[tuple, list[int]] = {}
        for i, k in enumerate(keys):
            groups.setdefault(k, []).append(i)
        lone = [k for k, v in groups.items() if len(v) == 1 and k]
        if not lone:
            return dict(sorted(groups.items()))
        for k in lone:
            [i] = groups[k]
            keys[i] = k[:-1]


def bootstrap(perspective, rows: list[dict], resamples: int = RESAMPLES, seed: int = SEED) -> dict:
    """The interval of the score (and of the refusal rate, every sub-score and every breakdown value) from
    `resamples` resamples."""
    if resamples < 1:
        raise ValueError(f"the bootstrap needs at least one resample, not {resamples}")
    base = {"method": METHOD, "level": LEVEL, "resamples": resamples, "seed": seed, "items": len(rows)}
    if not rows:
        return {**base, "ci95": None, "why": "no scored items: nothing to resample"}
    import numpy as np
    perspective = get(perspective)
    groups = strata(perspective, rows)
    rng = np.random.default_rng(seed)
    draws = [(v, rng.integers(0, len(v), size=(resamples, len(v)))) for v in groups.values()]
    scores, refusals, subs, parts = [], [], {}, {}
    for b in range(resamples):
        sample = [rows[idx[j]] for idx, d in draws for j in d[b]]
        s = perspective.aggregate(sample, partial=True)
        scores.append(s.score)
        refusals.append(s.refusal)
        for name, v in perspective.subscores(s.details).items():
            subs.setdefault(name, []).append(v)
        for name, v in perspective.breakdown(s.details).items():
            parts.setdefault(name, []).append(v)
    sizes = [len(v) for v in groups.values()]
    out = {**base, "strata": len(groups), "smallest_stratum": min(sizes),
           "ci95": _percentiles(scores), "refusal_ci95": _percentiles(refusals),
           "subscores_ci95": {k: _percentiles(v) for k, v in sorted(subs.items()) if len(v) == resamples},
           "replicates": [None if x is None else round(float(x), 4) for x in scores],
           # the per-scenario figures' values: their intervals and resamples (2 decimals of a percent)
           "breakdown": {k: {"ci95": _percentiles(v), "replicates": [round(float(x), 2) for x in v]}
                         for k, v in sorted(parts.items()) if len(v) == resamples and None not in v}}
    if out["ci95"] and out["ci95"][0] == out["ci95"][1]:
        out["why"] = ("every resample gave the same score: within each stratum the items scored alike, so the "
                      "bootstrap sees no spread (a wider sample may still differ)")
    return out


def _percentiles(values) -> list[float] | None:
    ci = confidence.ci95(values)
    return None if ci is None else list(ci)  # a JSON list in score.json


def weights(perspective, keys: list[tuple]) -> dict[tuple, float]:
    """Each stratum's weight in the score: equal at every level of the key (the mean of means the perspectives
    compute), the module's WEIGHTS at the top level where it has them, or item counts where it is POOLED."""
    counts: dict[tuple, int] = {}
    for k in keys:
        counts[k] = counts.get(k, 0) + 1
    if get(perspective).pooled:
        return {k: n / len(keys) for k, n in counts.items()}
    top = get(perspective).weights
    out = {}
    for k in counts:
        w = 1.0
        for level in range(len(k)):
            siblings = {x[:level + 1] for x in counts if x[:level] == k[:level]}
            if level == 0 and top:
                w *= top.get(k[0], 0.0) / sum(top.get(s[0], 0.0) for s in siblings)
            else:
                w /= len(siblings)
        out[k] = w
    return out


def expected(perspective, metas: list[dict]) -> float | None:
    """Expected half-width of the 95% interval for these requests (their `meta`), from the variance bound."""
    counts: dict[tuple, int] = {}
    for m in metas:
        k = key(perspective, m)
        counts[k] = counts.get(k, 0) + 1
    return from_counts(perspective, counts)


def from_counts(perspective, counts: dict[tuple, int | None]) -> float | None:
    """The same bound from items per stratum; None when a count is unknown or there are none."""
    if not counts or any(not n for n in counts.values()):
        return None
    keys = [k for k, n in counts.items() for _ in range(n)] if get(perspective).pooled else list(counts)
    w = weights(perspective, keys)
    sd = get(perspective).item_sd
    return Z95 * sd * math.sqrt(sum(w[k] ** 2 / n for k, n in counts.items()))


def full_plan(perspective, limit: int | None) -> dict:
    """Planning without data (a table's dry run): the full benchmark's strata (`full_strata()`), LIMIT items of each
    or all of them; items, the share of the full run's items, and the expected half-width."""
    full = {tuple(str(x) for x in k): n for k, n in get(perspective).full_strata().items()}  # keys as key() makes them
    asked = {k: (limit if n is None else min(limit, n)) if limit else n for k, n in full.items()}
    known = None not in full.values()
    return {"items": sum(asked.values()) if None not in asked.values() else None,
            "share": sum(asked.values()) / sum(full.values()) if known and None not in asked.values() else None,
            "half_width": from_counts(perspective, asked)}
