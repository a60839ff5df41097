"""The paper's qualitative claims, checked on the cells of a reproduced table.

A claim looks at "changes": for a pair (row, baseline row) the per-column difference row - baseline; for a
single row of a relative table (Figure 2) the cell itself. A drop is a negative change. Changes are compared at
the paper's precision (rounded to 0.1), since the published scores are.
"""
from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass

from .build import TableResult
from .diff import EPS
from .recipes import Claim


@dataclass
class ClaimResult:
    id: str
    text: str
    verdict: str
    detail: str
    known: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def _changes(result: TableResult, pair: tuple[str, ...], columns) -> dict[str, float] | None:
    out = {}
    for col in columns:
        v = result.value(pair[0], col)
        b = result.value(pair[1], col) if len(pair) > 1 else 0.0
        if v is None or b is None:
            return None
        out[col] = round(v - b, 1)
    return out


def _fmt(changes: dict[str, float], cols) -> str:
    return ", ".join(f"{c} {changes[c]:+.1f}" for c in cols) or "none"


def _evaluate(claim: Claim, changes: list[tuple[str, dict[str, float]]]) -> tuple[bool, str]:
    t = claim.threshold
    if claim.kind == "max_drop":
        parts, ok = [], True
        for name, ch in changes:
            worst = min(ch, key=ch.get)
            ok &= -ch[worst] <= t + EPS
            parts.append(f"{name}: largest drop {-ch[worst]:.1f} ({worst})")
        return ok, "; ".join(parts) + f" (limit {t:g})"
    if claim.kind in ("drops_over", "gains_over"):
        sign, verb = (-1, "drop") if claim.kind == "drops_over" else (1, "gain")
        parts, ok = [], True
        for name, ch in changes:
            over = [c for c in ch if sign * ch[c] > t + EPS]
            ok &= len(over) >= claim.at_least
            parts.append(f"{name}: {len(over)} of {len(ch)} {verb} more than {t:g} ({_fmt(ch, over)})")
        return ok, "; ".join(parts) + f" (need at least {claim.at_least})"
    if claim.kind == "lowest_mean_change":
        means = [(name, statistics.fmean(ch.values())) for name, ch in changes]
        ok = all(means[0][1] < m for _, m in means[1:])
        return ok, "mean change " + ", ".join(f"{n} {m:+.2f}" for n, m in means)
    if claim.kind == "change_near":
        parts, ok = [], True
        for name, ch in changes:
            for col, c in ch.items():
                ok &= abs(c - claim.expected) <= t + EPS
                parts.append(f"{name} {col} {c:+.1f}")
        return ok, "; ".join(parts) + f" (expected {claim.expected:+g} ± {t:g})"
    raise ValueError(claim.kind)


def check(claim: Claim, result: TableResult) -> ClaimResult:
    changes = []
    for pair in claim.pairs:
        ch = _changes(result, pair, claim.columns)
        if ch is None:
            return ClaimResult(claim.id, claim.text, "NOT-RUN", f"a cell of {' vs '.join(pair)} has no value")
        changes.append((" vs ".join(pair), ch))
    holds, detail = _evaluate(claim, changes)
    if holds:
        return ClaimResult(claim.id, claim.text, "PASS", detail)
    if claim.known:
        return ClaimResult(claim.id, claim.text, "WARN", detail, claim.known)
    return ClaimResult(claim.id, claim.text, "FAIL", detail)


def check_all(result: TableResult) -> list[ClaimResult]:
    return [check(c, result) for c in result.recipe.claims]
