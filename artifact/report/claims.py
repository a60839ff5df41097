"""The paper's qualitative claims, checked on the cells of a reproduced table.

A claim looks at "changes": for a pair (row, baseline row) the per-column difference row - baseline; for a
single row of a relative table (Figure 2) the cell itself. A drop is a negative change. Changes are compared at
the paper's precision (rounded to 0.1), since the published scores are.

`closer` claims ("A stays closer to the baseline than B does") compare the mean absolute change of two pairs over
the columns. On local cells with intervals they use the bootstrap replicates (paired: both pairs' cells were
resampled on the same items): PASS when the 95% interval of mean|B| - mean|A| lies above 0, FAIL when below,
NOT-SIGNIFICANT when it holds 0. A claim marked `finding` reports what the models show and never fails a run.
"""
from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass

from . import uncertainty
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
    finding: bool = False

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


def _abs_change_reps(result: TableResult, pair, columns) -> tuple | None:
    """Replicates of mean over columns of |row - baseline|, or None where a cell has no replicates."""
    per = []
    for col in columns:
        d = uncertainty.minus(*(result.cells[(k, col)].replicates if (k, col) in result.cells else None
                                for k in pair))
        if d is None:
            return None
        per.append(tuple(abs(x) for x in d))
    return uncertainty.combine(per)


def closer(claim: Claim, result: TableResult) -> ClaimResult:
    (a, b), cols = claim.pairs, claim.columns
    vals = [[result.value(k, c) for k in (*a, *b)] for c in cols]
    if any(v is None for row in vals for v in row):
        return ClaimResult(claim.id, claim.text, "NOT-RUN", "a cell has no value", finding=claim.finding)
    near = statistics.fmean(abs(x[0] - x[1]) for x in vals)
    far = statistics.fmean(abs(x[2] - x[3]) for x in vals)
    detail = (f"mean |change| over {len(cols)} columns: {' vs '.join(a)} {near:.1f}, {' vs '.join(b)} {far:.1f}; "
              f"difference {far - near:+.1f}")
    ra, rb = _abs_change_reps(result, a, cols), _abs_change_reps(result, b, cols)
    ci = uncertainty.ci95(uncertainty.minus(rb, ra))
    if ci is None:
        verdict = "PASS" if far > near else "FAIL"
    else:
        detail += f", 95% interval [{ci[0]:+.1f}, {ci[1]:+.1f}] (paired bootstrap)"
        verdict = "PASS" if ci[0] > 0 else "FAIL" if ci[1] < 0 else "NOT-SIGNIFICANT"
        if verdict == "NOT-SIGNIFICANT":
            detail += ": not significant at this size"
    if verdict == "FAIL" and claim.known:
        return ClaimResult(claim.id, claim.text, "WARN", detail, claim.known, claim.finding)
    return ClaimResult(claim.id, claim.text, verdict, detail, finding=claim.finding)


def check(claim: Claim, result: TableResult) -> ClaimResult:
    if claim.kind == "closer":
        return closer(claim, result)
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


def changes_from(result: TableResult) -> list[dict]:
    """Every row's change from the recipe's `compare_to` row, per column, with its paired 95% interval; a change
    whose interval excludes 0 is larger than the noise of the items it was measured on."""
    base = result.recipe.compare_to
    if base is None:
        return []
    out = []
    for key, _ in result.rows:
        if key == base:
            continue
        for col in result.recipe.columns:
            v, b = result.value(key, col), result.value(base, col)
            if not isinstance(v, float) or not isinstance(b, float):
                continue
            ci = uncertainty.ci95(uncertainty.minus(result.cells[(key, col)].replicates,
                                                    result.cells[(base, col)].replicates))
            out.append({"row": key, "column": col, "change": v - b, "ci95": ci,
                        "significant": uncertainty.excludes_zero(ci)})
    return out
