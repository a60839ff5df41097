"""Tolerances come from `reproduce/tolerances.toml` and nowhere else. This module reads them and re-derives the
local per-dimension values from the paper's calibration-seed spread, so the file cannot drift from its recipe."""
from __future__ import annotations

import statistics
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..base import catalog
from ..base.dimensions import BY_KEY, BY_LABEL
from ..base.errors import FileFormatError
from ..base.settings import REPRODUCE

PATH = REPRODUCE / "tolerances.toml"


@dataclass(frozen=True)
class Tolerances:
    published: dict[str, float]  # by recipe tolerance class: absolute, relative, two_decimals
    local: dict[str, float]  # by dimension key, plus "derived"
    warn_factor: float  # local runs: beyond tolerance but within warn_factor x tolerance is WARN
    derive_from: tuple[tuple[str, ...], ...]  # seed groups the local trust tolerances are derived from
    path: Path = PATH
    # recorded profiles (make demo, make check): (tolerance, warn band) against this project's recorded numbers, and
    # what the profile is, from every other section of the file that has `absolute`, `warn` and `about`
    recorded: dict[str, tuple[float, float]] = field(default_factory=dict)
    about: dict[str, str] = field(default_factory=dict)
    # a profile that records its replies: the share of a model's replies that near-tie flips may change on another
    # CPU (measured across kernel paths; artifact/report/replies.py)
    reply_flips: dict[str, float] = field(default_factory=dict)

    def for_cell(self, source: str, klass: str, column: str, metric: str | None = None) -> tuple[float, float]:
        """(tolerance, warn band) of one cell; warn band 0 means no WARN band."""
        if source == "published":
            return self.published[klass], 0.0
        if source in self.recorded:
            return self.recorded[source]
        dim = BY_LABEL.get(metric or column)
        tol = self.local[dim.key] if dim else self.local["derived"]
        return tol, tol * self.warn_factor


def _profile(key: str, section) -> bool:
    return key not in ("published", "local") and isinstance(section, dict) and {"absolute", "warn", "about"} <= set(
        section)


def load(path: Path = PATH) -> Tolerances:
    try:
        d = tomllib.loads(path.read_text(encoding="utf-8"))
        t = Tolerances({k: float(v) for k, v in d["published"].items()},
                       {k: float(v) for k, v in d["local"]["per_dimension"].items()},
                       float(d["local"]["warn_factor"]), tuple(tuple(g) for g in d["local"]["derive_from"]), path,
                       {k: (float(v["absolute"]), float(v["warn"])) for k, v in d.items() if _profile(k, v)},
                       {k: str(v["about"]) for k, v in d.items() if _profile(k, v)},
                       {k: float(v["reply_flips"]) for k, v in d.items() if _profile(k, v) and "reply_flips" in v})
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, ValueError) as e:
        raise FileFormatError(path, None, f"cannot read tolerances ({e!r})") from None
    missing = [k for k in (*BY_KEY, "derived") if k not in t.local]
    if missing:
        raise FileFormatError(path, None, f"[local.per_dimension] lacks {', '.join(missing)}")
    return t


def derive_local(tol: Tolerances, scores) -> dict[str, dict]:
    """For each trust dimension: 2 x the pooled sample std over the seed groups, rounded to 0.1."""
    out = {}
    for key, dim in BY_KEY.items():
        if not dim.trust:
            continue
        variances = []
        for group in tol.derive_from:
            vals = [scores.lookup(catalog.get(n), dim) for n in group]
            if None not in vals:
                variances.append(statistics.variance(v.value for v in vals))
        pooled = statistics.fmean(variances) ** 0.5 if variances else None
        out[key] = {"pooled_std": pooled, "groups": len(variances),
                    "tolerance": None if pooled is None else round(2 * pooled + 1e-9, 1)}
    return out
