"""Write a reproduced table as CSV, Markdown and JSON; the JSON carries the provenance of every number."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tabulate import tabulate

from ..base import guard
from .build import TableResult
from .diff import CellDiff, counts
from .uncertainty import half_width

MISSING = "—"
LISTED = 6  # non-PASS cells listed per explanation in a summary


def fmt(value, decimals: int) -> str:
    if value is None:
        return MISSING
    if isinstance(value, float):
        return f"{value:.{decimals}f}"
    return str(value)


def _display(result: TableResult, row: str, column: str) -> str:
    cell = result.cells[(row, column)]
    d = result.recipe.decimals
    text = fmt(cell.value, d)
    if result.recipe.kind == "spread" and cell.value is not None:
        text += f" ± {fmt(cell.std, d)} ({cell.n})" if cell.std is not None else f" ({cell.n})"
    elif cell.ci95 is not None and cell.value is not None:
        text += f" ± {fmt(half_width(cell.ci95), d)}" + (f" ({cell.items})" if cell.items else "")
    elif cell.items and cell.value is not None:
        text += f" ({cell.items}, no interval)"
    return text


def has_intervals(result: TableResult) -> bool:
    return any(c.ci95 is not None or c.items for c in result.cells.values())


INTERVAL_LEGEND = ("_value ± half-width of its 95% bootstrap interval (scored items); "
                   "`make diff` and the JSON give each interval's ends._")


def markdown_table(result: TableResult) -> str:
    r = result.recipe
    rows = [[*labels, *(_display(result, key, c) for c in r.columns)] for key, labels in result.rows]
    table = tabulate(rows, headers=[*r.labels, *r.columns], tablefmt="github", disable_numparse=True)
    return f"{table}\n\n{INTERVAL_LEGEND}" if has_intervals(result) and r.kind != "spread" else table


def _interval(ci, decimals: int) -> str:
    return MISSING if ci is None else f"[{ci[0]:.{decimals}f}, {ci[1]:.{decimals}f}]"


def diff_table(cells: list[CellDiff], decimals: int, ref_label: str = "paper") -> str:
    notes: dict[str, int] = {}  # each distinct explanation once, as a numbered note under the table
    rows, shown = [], any(c.ci95 is not None or c.items for c in cells)
    for c in cells:
        mark = f"[{notes.setdefault(c.why, len(notes) + 1)}]" if c.why else ""
        rows.append([c.row, c.column, fmt(c.reference, decimals), fmt(c.reproduced, decimals),
                     *([_interval(c.ci95, decimals), c.items or MISSING] if shown else []),
                     MISSING if c.delta is None else f"{c.delta:+.{decimals + 1}f}",
                     MISSING if c.tolerance is None else f"±{c.tolerance:g}", c.verdict, mark])
    head = ["row", "column", ref_label, "reproduced", *(["95% interval", "items"] if shown else []), "delta",
            "tolerance", "verdict", "note"]
    table = tabulate(rows, headers=head, tablefmt="github", disable_numparse=True)
    return "\n\n".join([table, *(f"[{n}] {why}" for why, n in notes.items())])


def summary(cells: list[CellDiff], claims, tolerance_text: str, ref_label: str = "paper") -> str:
    lines = []
    if cells:
        c = counts(cells)
        lines.append(f"**Diff vs {ref_label}** ({tolerance_text}): {len(cells)} cells: " +
                     ", ".join(f"{n} {v}" for v, n in c.items() if n or v == "PASS"))
        groups: dict[tuple[str, str], list[CellDiff]] = {}  # one line per verdict and explanation
        for d in cells:
            if d.verdict != "PASS":
                groups.setdefault((d.verdict, d.why), []).append(d)
        for (verdict, why), ds in groups.items():
            listed = "; ".join(f"{d.row} · {d.column} {ref_label} {fmt(d.reference, 2)} → {fmt(d.reproduced, 2)}"
                               + (f" {_interval(d.ci95, 2)}" if d.ci95 else "") for d in ds[:LISTED])
            if len(ds) > LISTED:
                listed += f"; and {len(ds) - LISTED} more (`make diff` lists every cell)"
            lines.append(f"- {verdict} ×{len(ds)}: {listed}" + (f". **Why:** {why}" if why else ""))
    else:
        lines.append("**Diff vs paper**: the paper prints no numbers for this figure, so there is no per-cell diff" +
                     ("; its claims are checked below." if claims else "."))
    if claims:
        lines += ["", "**Paper claims**:" if ref_label == "paper" else "**Claims**:"]
        for cl in claims:
            lines.append(f"- {cl.verdict} `{cl.id}`: {cl.text}. {cl.detail}" +
                         (f". **Known:** {cl.known}" if cl.verdict == "WARN" else "") +
                         (" _(a finding about these models, not a check of the pipeline: it never fails the run)_"
                          if getattr(cl, "finding", False) else ""))
    return "\n".join(lines)


def changes_table(changes: list[dict], base: str, decimals: int = 1) -> str:
    """Rows x columns of `change [95% interval]`, a * where the interval excludes 0; then the list of those."""
    if not changes:
        return ""
    rows_, cols = list(dict.fromkeys(c["row"] for c in changes)), list(dict.fromkeys(c["column"] for c in changes))
    at = {(c["row"], c["column"]): c for c in changes}

    def show(c):
        if c is None:
            return MISSING
        text = f"{c['change']:+.{decimals}f}"
        return text + (f" {_interval(c['ci95'], decimals)}" if c["ci95"] else "") + (" *" if c["significant"] else "")

    table = tabulate([[r, *(show(at.get((r, c))) for c in cols)] for r in rows_], headers=["change from " + base,
                     *cols], tablefmt="github", disable_numparse=True)
    sig = [c for c in changes if c["significant"]]
    listed = "; ".join(f"{c['row']} · {c['column']} {c['change']:+.{decimals}f}" for c in sig) or "none"
    return (f"## Changes from {base}\n\nEach cell: the change from the {base} row, and its 95% interval from a "
            "paired bootstrap (both rows were scored on the same items and resampled alike). * marks a change whose "
            f"interval excludes 0: larger than the noise of this many items.\n\n{table}\n\n"
            f"**Changes larger than their intervals** ({len(sig)} of {len(changes)}): {listed}.")


def table_csv(result: TableResult) -> str:
    r = result.recipe
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    spread, ci = r.kind == "spread", has_intervals(result)
    head = [*r.labels]
    for c in r.columns:
        head += [c, *([f"{c} std", f"{c} n"] if spread else []),
                 *([f"{c} ±95%", f"{c} ci95 low", f"{c} ci95 high", f"{c} items"] if ci else [])]
    w.writerow(head)
    blank = lambda v: "" if v is None else v  # noqa: E731
    for key, labels in result.rows:
        out = [*labels]
        for c in r.columns:
            cell = result.cells[(key, c)]
            out.append(blank(cell.value))
            if spread:
                out += [blank(cell.std), cell.n]
            if ci:
                lo, hi = cell.ci95 or (None, None)
                out += [blank(half_width(cell.ci95)), blank(lo), blank(hi), blank(cell.items)]
        w.writerow(out)
    return buf.getvalue()


def write(out_dir: Path, name: str, files: dict[str, str]) -> list[Path]:
    """Write each file atomically (temp file + rename), so a killed run never leaves a half-written table."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix, text in files.items():
        path = out_dir / f"{name}{suffix}"
        guard.write_text(path, text)
        paths.append(path)
    return paths


def to_json(obj) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n"
