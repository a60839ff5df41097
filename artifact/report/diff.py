"""Per-cell diff of a reproduced table against its reference numbers (the paper's, or for make demo and make check
this project's recorded ones), with a verdict per cell.

A local cell is an interval, not a point: its 95% bootstrap interval [lo, hi] (with the value itself always
inside). Its distance from the reference is how far the reference lies outside that interval, 0 when inside.
A cell without an interval (the published replay, or a score written before intervals) is the point [v, v].

PASS     distance <= tolerance
WARN     outside tolerance, but the recipe explains it as a known mismatch in the paper itself, or (local runs)
         distance <= the warn band
FAIL     outside both, unexplained
NOT-RUN  no reproduced value (the source has no score for a model of the cell, or no recipe row)

The rule and its numbers live in reproduce/tolerances.toml; docs/tables.md repeats the rule.
"""
from __future__ import annotations

import csv
import tomllib
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from ..base.errors import FileFormatError
from ..base.provenance import rel
from .build import TableResult
from .recipes import Recipe
from .tolerances import Tolerances

VERDICTS = ("PASS", "WARN", "FAIL", "NOT-RUN")
EPS = 1e-6  # float noise only: 0.1 + 0.05 must compare as 0.15


@dataclass(frozen=True)
class RefCell:
    value: float | str
    source: str
    file: str
    line: int


@dataclass
class CellDiff:
    row: str
    column: str
    reference: float | str
    reproduced: float | str | None
    delta: float | None
    tolerance: float | None
    verdict: str
    why: str
    ref_source: str
    ref_line: int
    ci95: tuple[float, float] | None = None  # the reproduced cell's 95% interval (local cells)
    items: int | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@lru_cache(maxsize=4)
def source_keys(root: Path) -> frozenset[str]:
    path = root / "reference" / "sources.toml"
    try:
        return frozenset(tomllib.loads(path.read_text(encoding="utf-8")))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise FileFormatError(path, None, f"cannot read the source keys ({e})") from None


def load_reference(recipe: Recipe) -> dict[tuple[str, str], RefCell]:
    path = recipe.reference
    if not path.is_file():
        raise FileFormatError(path, None, "reference file is missing")
    numeric = recipe.kind != "generated"
    out = {}
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, [])
        expected = [*recipe.labels, *recipe.columns, "source"]
        if header != expected:
            raise FileFormatError(path, 1, f"header is {','.join(header)!r}, the recipe expects "
                                           f"{','.join(expected)!r}")
        for line, row in enumerate(reader, start=2):
            if len(row) != len(header):
                raise FileFormatError(path, line, f"{len(row)} fields, the header has {len(header)}")
            rec = dict(zip(header, row, strict=True))
            if rec["source"] not in source_keys(recipe.path.parent):
                raise FileFormatError(path, line, f"source {rec['source']!r} is not a key of "
                                                  "reproduce/reference/sources.toml")
            key = "/".join(rec[label] for label in recipe.labels)
            for col in recipe.columns:
                value: float | str = rec[col]
                if numeric:
                    try:
                        value = float(rec[col])
                    except ValueError:
                        raise FileFormatError(path, line, f"column {col!r} holds {rec[col]!r}, not a number") \
                            from None
                out[(key, col)] = RefCell(value, rec["source"], rel(path), line)
    return out


def distance(ref: float, got: float, ci=None) -> float:
    """How far the reference lies outside the cell's interval (the point itself where there is none)."""
    lo, hi = (min(ci[0], got), max(ci[1], got)) if ci else (got, got)
    return max(lo - ref, ref - hi, 0.0)


def cell_verdict(ref, got, tol: float, warn_band: float, known_why: str, ci=None) -> tuple[str, str]:
    if got is None:
        return "NOT-RUN", ""
    if isinstance(ref, str):
        return ("PASS", "") if " ".join(str(got).split()) == " ".join(ref.split()) else ("FAIL", "text differs")
    gap = distance(ref, got, ci)
    where = "its 95% interval" if ci else "the value"
    if gap <= tol + EPS:
        return "PASS", ""
    if known_why:
        return "WARN", known_why
    if warn_band and gap <= warn_band + EPS:
        return "WARN", f"the reference lies outside ±{tol:g} of {where} but within the warn band ±{warn_band:g}"
    return "FAIL", f"the reference lies outside ±{tol:g} of {where}" + (f" (and the warn band ±{warn_band:g})"
                                                                        if warn_band else "")


def diff(result: TableResult, tol: Tolerances) -> list[CellDiff]:
    recipe = result.recipe
    if recipe.reference is None:
        return []
    out = []
    for (row, column), ref in load_reference(recipe).items():
        cell = result.cells.get((row, column))
        got = None if cell is None else cell.value
        metric = None if recipe.kind == "generated" else recipe.metric(row, column)
        t, band = (0.0, 0.0) if recipe.kind == "generated" else tol.for_cell(result.source, recipe.tolerance,
                                                                               column, metric)
        known = recipe.known_for(row, column)
        ci = None if cell is None else cell.ci95
        verdict, why = cell_verdict(ref.value, got, t, band, known.why if known else "", ci)
        if verdict == "NOT-RUN":
            why = cell.note if cell is not None else "the recipe has no row for this reference row"
        elif cell is not None and cell.caveat:
            why = f"{why}; {cell.caveat}" if why else cell.caveat
        delta = got - ref.value if isinstance(got, float) and isinstance(ref.value, float) else None
        out.append(CellDiff(row, column, ref.value, got, delta, None if isinstance(ref.value, str) else t,
                            verdict, why, ref.source, ref.line, ci, None if cell is None else cell.items))
    return out


def counts(items) -> dict[str, int]:
    return {v: sum(1 for i in items if i.verdict == v) for v in VERDICTS}


def exit_code(cells: list[CellDiff], claims) -> int:
    """1 when a cell or a claim FAILs; a claim marked as a finding (what the models show) never counts."""
    return 1 if any(x.verdict == "FAIL" and not getattr(x, "finding", False) for x in [*cells, *claims]) else 0
