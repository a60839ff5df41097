"""Write a reproduced table as CSV, Markdown and JSON; the JSON carries the provenance of every number."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tabulate import tabulate

from .build import TableResult
from .diff import CellDiff, counts

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
    return text


def markdown_table(result: TableResult) -> str:
    r = result.recipe
    rows = [[*labels, *(_display(result, key, c) for c in r.columns)] for key, labels in result.rows]
    return tabulate(rows, headers=[*r.labels, *r.columns], tablefmt="github", disable_numparse=True)


def diff_table(cells: list[CellDiff], decimals: int) -> str:
    notes: dict[str, int] = {}  # each distinct explanation once, as a numbered note under the table
    rows = []
    for c in cells:
        mark = f"[{notes.setdefault(c.why, len(notes) + 1)}]" if c.why else ""
        rows.append([c.row, c.column, fmt(c.reference, decimals), fmt(c.reproduced, decimals),
                     MISSING if c.delta is None else f"{c.delta:+.{decimals + 1}f}",
                     MISSING if c.tolerance is None else f"±{c.tolerance:g}", c.verdict, mark])
    table = tabulate(rows, headers=["row", "column", "paper", "reproduced", "delta", "tolerance", "verdict", "note"],
                     tablefmt="github", disable_numparse=True)
    return "\n\n".join([table, *(f"[{n}] {why}" for why, n in notes.items())])


def summary(cells: list[CellDiff], claims, tolerance_text: str) -> str:
    lines = []
    if cells:
        c = counts(cells)
        lines.append(f"**Diff vs paper** ({tolerance_text}): {len(cells)} cells: " +
                     ", ".join(f"{n} {v}" for v, n in c.items() if n or v == "PASS"))
        groups: dict[tuple[str, str], list[CellDiff]] = {}  # one line per verdict and explanation
        for d in cells:
            if d.verdict != "PASS":
                groups.setdefault((d.verdict, d.why), []).append(d)
        for (verdict, why), ds in groups.items():
            listed = "; ".join(f"{d.row} · {d.column} paper {fmt(d.reference, 2)} → {fmt(d.reproduced, 2)}"
                               for d in ds[:LISTED])
            if len(ds) > LISTED:
                listed += f"; and {len(ds) - LISTED} more (`make diff` lists every cell)"
            lines.append(f"- {verdict} ×{len(ds)}: {listed}" + (f". **Why:** {why}" if why else ""))
    else:
        lines.append("**Diff vs paper**: the paper prints no numbers for this figure, so there is no per-cell diff" +
                     ("; its claims are checked below." if claims else "."))
    if claims:
        lines += ["", "**Paper claims**:"]
        for cl in claims:
            lines.append(f"- {cl.verdict} `{cl.id}`: {cl.text}. {cl.detail}" +
                         (f". **Known:** {cl.known}" if cl.verdict == "WARN" else ""))
    return "\n".join(lines)


def table_csv(result: TableResult) -> str:
    r = result.recipe
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    spread = r.kind == "spread"
    head = [*r.labels]
    for c in r.columns:
        head += [c, f"{c} std", f"{c} n"] if spread else [c]
    w.writerow(head)
    for key, labels in result.rows:
        out = [*labels]
        for c in r.columns:
            cell = result.cells[(key, c)]
            out.append("" if cell.value is None else cell.value)
            if spread:
                out += ["" if cell.std is None else cell.std, cell.n]
        w.writerow(out)
    return buf.getvalue()


def write(out_dir: Path, name: str, files: dict[str, str]) -> list[Path]:
    """Write each file atomically (temp file + rename), so a killed run never leaves a half-written table."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix, text in files.items():
        path = out_dir / f"{name}{suffix}"
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        paths.append(path)
    return paths


def to_json(obj) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n"
