"""Per-cell diff of a reproduced table against the paper's reference numbers, with a verdict per cell.

PASS     |reproduced - reference| <= tolerance
WARN     outside tolerance, but the recipe explains it as a known mismatch in the paper itself, or (local runs)
         within the warn band
FAIL     outside tolerance, unexplained
NOT-RUN  no reproduced value (the source has no score for a model of the cell, or no recipe row)
"""
from __future__ import annotations

import csv
import tomllib
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path

from ..errors import FileFormatError
from ..provenance import rel
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
            key = "/".join(rec[l] for l in recipe.labels)
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


def cell_verdict(ref, got, tol: float, warn_band: float, known_why: str) -> tuple[str, str]:
    if got is None:
        return "NOT-RUN", ""
    if isinstance(ref, str):
        return ("PASS", "") if " ".join(str(got).split()) == " ".join(ref.split()) else ("FAIL", "text differs")
    delta = abs(got - ref)
    if delta <= tol + EPS:
        return "PASS", ""
    if known_why:
        return "WARN", known_why
    if warn_band and delta <= warn_band + EPS:
        return "WARN", f"outside ±{tol:g} but within the warn band ±{warn_band:g}"
    return "FAIL", f"outside ±{tol:g}"


def diff(result: TableResult, tol: Tolerances) -> list[CellDiff]:
    recipe = result.recipe
    if recipe.reference is None:
        return []
    out = []
    for (row, column), ref in load_reference(recipe).items():
        cell = result.cells.get((row, column))
        got = None if cell is None else cell.value
        metric = None
        if recipe.kind != "generated" and any(r.key == row for r in recipe.rows):
            metric = recipe.row(row).metric
        t, band = (0.0, 0.0) if recipe.kind == "generated" else tol.for_cell(result.source, recipe.tolerance,
                                                                               column, metric)
        known = recipe.known_for(row, column)
        verdict, why = cell_verdict(ref.value, got, t, band, known.why if known else "")
        if verdict == "NOT-RUN":
            why = cell.note if cell is not None else "the recipe has no row for this reference row"
        elif cell is not None and cell.caveat:
            why = f"{why}; {cell.caveat}" if why else cell.caveat
        delta = got - ref.value if isinstance(got, float) and isinstance(ref.value, float) else None
        out.append(CellDiff(row, column, ref.value, got, delta, None if isinstance(ref.value, str) else t,
                            verdict, why, ref.source, ref.line))
    return out


def counts(items) -> dict[str, int]:
    return {v: sum(1 for i in items if i.verdict == v) for v in VERDICTS}


def exit_code(cells: list[CellDiff], claims) -> int:
    return 1 if any(x.verdict == "FAIL" for x in [*cells, *claims]) else 0
