"""Table recipes: `reproduce/<name>.toml` says which catalog models and metrics make each cell of a paper table
or figure, how cells aggregate, which paper claims to check, and which known mismatches of the paper to explain.

Kinds of recipe:
  scores    a cell is the mean of one metric over the row's models (one model, or several calibration seeds)
  relative  a cell is mean(models) - mean(baseline): Figure 2's "relative score difference"
  spread    a cell is the mean, sample std and count over the row's models (Figures 3/10/11: score vs bits)
  generated a text table built from the catalog and the method registry (Tables 1 and 2)
  breakdown a cell is the mean of one per-scenario value of one perspective (`breakdown` in score.json: Figures 4,
            6 and 12-25) over the row's models; `[parts]` maps each column to the value's name, `rows_from` takes
            another recipe's rows (`only`: some of them), `[figure]` says how to draw it. Local runs only: the paper
            publishes no per-scenario scores
The schema (every key a recipe may hold, with the file and line of what is wrong) is report/recipe_parser.py.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..base.dimensions import BY_KEY, BY_LABEL
from ..base.errors import FileFormatError, UnknownTableError
from ..base.settings import REPRODUCE

KINDS = ("scores", "relative", "spread", "generated", "breakdown")
DERIVED = ("mean", "stdev")
CLAIM_KINDS = ("max_drop", "drops_over", "gains_over", "lowest_mean_change", "change_near", "closer")


@dataclass(frozen=True)
class Row:
    labels: tuple[str, ...]
    models: tuple[str, ...] = ()  # catalog names; the cell aggregates over them
    baseline: tuple[str, ...] = ()  # relative recipes: subtract the mean of these
    fallback: tuple[str, ...] = ()  # used when none of `models` has a value in the chosen source
    cells: dict[str, tuple[str, ...]] = field(default_factory=dict)  # per-column models (Table 4)
    metric: str | None = None  # with `cells`: the one metric of the whole row
    note: str = ""

    @property
    def key(self) -> str:
        return "/".join(self.labels)


@dataclass(frozen=True)
class Claim:
    id: str
    text: str
    kind: str
    pairs: tuple[tuple[str, ...], ...]  # (row key, baseline row key) or (row key,) for relative tables
    columns: tuple[str, ...]
    threshold: float = 0.0
    at_least: int = 1
    expected: float = 0.0
    known: str = ""  # the paper's own inconsistency that makes this claim fail: WARN with this text
    finding: bool = False  # a finding about the models (make demo's claim on SmolLM2), not a check of the pipeline:
    #                        reported with its verdict, never a reason for a non-zero exit


@dataclass(frozen=True)
class Known:
    columns: tuple[str, ...]
    rows: tuple[str, ...]  # row keys, or ("*",)
    why: str

    def covers(self, row: str, column: str) -> bool:
        return column in self.columns and (self.rows == ("*",) or row in self.rows)


@dataclass(frozen=True)
class Recipe:
    name: str
    path: Path
    title: str
    paper: str
    kind: str
    labels: tuple[str, ...]
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    reference: Path | None = None
    tolerance: str = "absolute"
    derived: dict[str, str] = field(default_factory=dict)
    claims: tuple[Claim, ...] = ()
    known: tuple[Known, ...] = ()
    generator: str | None = None
    from_recipes: tuple[str, ...] = ()
    decimals: int = 1  # printed precision of the cells, as in the paper
    notes: str = ""
    compare_to: str | None = None  # a row key: local reports list every other row's change from it, with intervals
    perspective: str | None = None  # breakdown: the dimension key whose per-scenario values the columns are
    parts: dict[str, str] = field(default_factory=dict)  # breakdown: column -> breakdown value name
    figure: dict = field(default_factory=dict)  # breakdown: style (bars|lines), ncols, ylabel

    def metric(self, row: str, column: str) -> str:
        """The dimension label a cell measures (its tolerance is that dimension's)."""
        if self.kind == "breakdown":
            return BY_KEY[self.perspective].label
        r = next((x for x in self.rows if x.key == row), None)
        return r.metric if r is not None and r.metric else column

    @property
    def perspectives(self) -> list[str]:
        """The dimension keys whose scores fill the table (what a local rerun must evaluate)."""
        if self.kind == "breakdown":
            return [self.perspective]
        keys = [BY_LABEL[c].key for c in self.columns if c in BY_LABEL] + \
            [BY_LABEL[r.metric].key for r in self.rows if r.metric in BY_LABEL]
        return list(dict.fromkeys(keys))

    def row(self, key: str) -> Row:
        return next(r for r in self.rows if r.key == key)

    def known_for(self, row: str, column: str) -> Known | None:
        return next((k for k in self.known if k.covers(row, column)), None)


def available(root: Path = REPRODUCE) -> list[str]:
    """Recipe names in the paper's order: tables, then figures, by number."""
    names = [p.stem for p in root.glob("*.toml") if p.stem != "tolerances"]
    return sorted(names, key=lambda n: (n.startswith("fig"), int("".join(filter(str.isdigit, n)) or 0), n))


def load(name: str, root: Path = REPRODUCE) -> Recipe:
    """The recipe `name` of the folder `root`: only a name the folder lists (never a path, whose table would be
    written beside it rather than under results/tables)."""
    path = root / f"{name}.toml"
    if name not in available(root) or not path.is_file():
        raise UnknownTableError(name, available(root))
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        raise FileFormatError(path, int(m.group(1)) if m else None, f"not valid TOML ({e})") from None
    from .recipe_parser import Parser
    return Parser(path, text, root).recipe(name, data)
