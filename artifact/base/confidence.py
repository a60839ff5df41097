"""The one definition of a 95% percentile interval, shared by the scores (evaluate/interval.py: resampled items)
and the table cells (report/uncertainty.py: arithmetic on those resamples)."""
from __future__ import annotations

LEVEL = 0.95


def ci95(values) -> tuple[float, float] | None:
    """The 2.5th and 97.5th percentiles of `values`, rounded to 4 decimals; None when there are none or one is
    missing (None)."""
    values = list(values or ())
    if not values or any(v is None for v in values):
        return None
    import numpy as np
    lo, hi = np.percentile(np.asarray(values, dtype=float), [100 * (1 - LEVEL) / 2, 100 * (1 + LEVEL) / 2])
    return round(float(lo), 4), round(float(hi), 4)


def half_width(ci) -> float | None:
    return None if ci is None else (ci[1] - ci[0]) / 2
