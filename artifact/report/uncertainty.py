"""Intervals of table cells, made from the bootstrap replicates that every local score.json stores.

A cell that averages several models' scores (calibration seeds), subtracts a baseline (Figure 2) or summarises a
row (Figure 7's Avg) gets its interval by doing the same arithmetic replicate by replicate. Scores of models asked
the same requests were resampled on the same items (artifact/evaluate/interval.py), so a difference of two cells
is a paired bootstrap. The 95% interval is the 2.5th to 97.5th percentile of the result.
"""
from __future__ import annotations

import statistics

from ..base.confidence import ci95, half_width  # noqa: F401 (the one definition; render and claims read them here)


def combine(parts: list, how: str = "mean") -> tuple | None:
    """Replicate-wise mean (or sample std) of several replicate lists; None when any is missing or they differ
    in length (then the cell has no interval)."""
    if not parts or any(p is None for p in parts) or len({len(p) for p in parts}) != 1:
        return None
    if how == "stdev" and len(parts) < 2:
        return None
    f = statistics.fmean if how == "mean" else statistics.stdev
    return tuple(f(vals) for vals in zip(*parts, strict=True))


def minus(a, b) -> tuple | None:
    if a is None or b is None or len(a) != len(b):
        return None
    return tuple(x - y for x, y in zip(a, b, strict=True))


def excludes_zero(ci) -> bool:
    return ci is not None and (ci[0] > 0 or ci[1] < 0)
