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
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from .. import catalog
from ..dimensions import BY_KEY, BY_LABEL, TRUST
from ..errors import FileFormatError, UnknownTableError
from ..settings import REPRODUCE

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
    path = root / f"{name}.toml"
    if not path.is_file():
        raise UnknownTableError(name, available(root))
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        raise FileFormatError(path, int(m.group(1)) if m else None, f"not valid TOML ({e})") from None
    return _Parser(path, text).recipe(name, data, root)


class _Parser:
    def __init__(self, path: Path, text: str):
        self.path, self.text = path, text

    def fail(self, needle: str, problem: str):
        idx = self.text.find(needle) if needle else -1
        line = self.text.count("\n", 0, idx) + 1 if idx >= 0 else None
        raise FileFormatError(self.path, line, problem)

    def need(self, data: dict, key: str, kind: type, where: str = ""):
        if key not in data:
            self.fail(where, f"missing key {key!r}{' in ' + where if where else ''}")
        if not isinstance(data[key], kind):
            self.fail(f"{key} =", f"{key!r} must be a {kind.__name__}")
        return data[key]

    def models(self, names) -> tuple[str, ...]:
        if isinstance(names, str) or not isinstance(names, list):
            self.fail(str(names), "model lists must be TOML arrays of catalog names")
        for n in names:
            if catalog.load().find(n) is None:
                self.fail(f'"{n}"', f"{n!r} is not a catalog model (`make models` lists them)")
        return tuple(names)

    def recipe(self, name: str, d: dict, root: Path) -> Recipe:
        kind = self.need(d, "kind", str)
        if kind not in KINDS:
            self.fail("kind", f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        labels = tuple(self.need(d, "labels", list))
        columns = tuple(self.need(d, "columns", list))
        derived = dict(d.get("derived", {}))
        for col, how in derived.items():
            if how not in DERIVED:
                self.fail(col, f"derived column {col!r} must be one of {', '.join(DERIVED)}")
        rows = tuple(self.row(r, labels, columns, derived, kind) for r in d.get("rows", []))
        extra = self.breakdown(d, columns, labels, root, name) if kind == "breakdown" else {}
        rows = extra.pop("rows", ()) + rows
        if kind != "generated" and not rows:
            self.fail("", "a recipe needs at least one [[rows]] entry")
        keys = [r.key for r in rows]
        for k in keys:
            if keys.count(k) > 1:
                self.fail(k.split("/")[0], f"two rows have the labels {k!r}")
        ref = d.get("reference")
        return Recipe(
            name=name, path=self.path, title=self.need(d, "title", str), paper=d.get("paper", ""), kind=kind,
            labels=labels, columns=columns, rows=rows, reference=root / ref if ref else None,
            tolerance=d.get("tolerance", "absolute"), derived=derived,
            claims=tuple(self.claim(c, set(keys), columns) for c in d.get("claims", [])),
            known=tuple(self.known(k, set(keys), columns) for k in d.get("known", [])),
            generator=d.get("generator"), from_recipes=tuple(d.get("from_recipes", [])),
            decimals=self.decimals(d), notes=d.get("notes", ""), compare_to=self.compare_to(d, keys), **extra)

    def decimals(self, d: dict) -> int:
        n = d.get("decimals", 1)
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 6:
            self.fail("decimals", f"decimals must be a whole number from 0 to 6, not {n!r}")
        return n

    def breakdown(self, d: dict, columns, labels, root: Path, name: str) -> dict:
        persp = self.need(d, "perspective", str)
        if persp not in BY_KEY:
            self.fail("perspective", f"perspective {persp!r} is not one of {', '.join(BY_KEY)}")
        parts = {str(k): str(v) for k, v in self.need(d, "parts", dict).items()}
        if set(parts) != set(columns):
            self.fail("[parts]", f"[parts] must name exactly the columns: missing {sorted(set(columns) - set(parts))}, "
                                 f"extra {sorted(set(parts) - set(columns))}")
        fig = d.get("figure", {})
        if not isinstance(fig, dict):
            self.fail("figure", "[figure] must be a table (style, ncols, ylabel)")
        if fig.get("style", "bars") not in ("bars", "lines"):
            self.fail("style", "[figure] style must be bars or lines")
        ncols = fig.get("ncols", 3)
        if isinstance(ncols, bool) or not isinstance(ncols, int) or not 1 <= ncols <= 8:
            self.fail("ncols", f"[figure] ncols must be a whole number of panels per line, 1 to 8, not {ncols!r}")
        if not isinstance(fig.get("ylabel", ""), str):
            self.fail("ylabel", "[figure] ylabel must be a string")
        rows: tuple[Row, ...] = ()
        if "rows_from" in d:
            source = d["rows_from"]
            if source == name:
                self.fail("rows_from", "rows_from names the recipe itself")
            if not isinstance(source, str) or not (root / f"{source}.toml").is_file():
                self.fail("rows_from", f"rows_from names {source!r}, which is not a recipe ({', '.join(available(root))})")
            try:  # a chain (or a cycle) of rows_from is not followed: the named recipe must list its rows
                chained = "rows_from" in tomllib.loads((root / f"{source}.toml").read_text(encoding="utf-8"))
            except tomllib.TOMLDecodeError:
                chained = False  # load() below names that file and its line
            if chained:
                self.fail("rows_from", f"rows_from names {source}, which takes its rows from another recipe itself: "
                                       "name the recipe that lists them")
            other = load(source, root)
            if other.labels != labels:
                self.fail("rows_from", f"{source}'s labels {list(other.labels)} differ from {list(labels)}")
            only = d.get("only", [r.key for r in other.rows])
            if not isinstance(only, list) or not all(isinstance(k, str) for k in only):
                self.fail("only", 'only must be a list of row keys, e.g. only = ["GPTQ/3", "dense 13b/16"]')
            for k in only:
                if k not in [r.key for r in other.rows]:
                    self.fail(k, f"`only` names row {k!r}, which {source} does not have")
            rows = tuple(r for r in other.rows if r.key in only)
        return {"perspective": persp, "parts": parts, "figure": dict(fig), "rows": rows}

    def compare_to(self, d: dict, keys: list[str]) -> str | None:
        row = d.get("compare_to")
        if row is not None and row not in keys:
            self.fail("compare_to", f"compare_to names row {row!r}, which the table does not have")
        return row

    def row(self, r: dict, labels, columns, derived, kind) -> Row:
        lab = tuple(str(x) for x in self.need(r, "labels", list, "[[rows]]"))
        if len(lab) != len(labels):
            self.fail(str(r["labels"][0]), f"row {lab} has {len(lab)} labels, the table has {len(labels)}")
        cells = {str(k): self.models(v) for k, v in r.get("cells", {}).items()}
        metric = r.get("metric")
        if cells:
            if metric not in BY_LABEL:
                self.fail(str(metric), f"row {'/'.join(lab)} uses `cells` and needs a known `metric`")
        elif kind != "breakdown":
            for c in columns:
                if c not in BY_LABEL and c not in derived:
                    self.fail(c, f"column {c!r} is neither a metric ({', '.join(BY_LABEL)}) nor derived")
        row = Row(lab, self.models(r.get("models", [])), self.models(r.get("baseline", [])),
                  self.models(r.get("fallback", [])), cells, metric, r.get("note", ""))
        if not cells and not row.models:
            self.fail(lab[0], f"row {row.key} names no models")
        if kind == "relative" and not row.baseline:
            self.fail(lab[0], f"row {row.key} of a relative recipe needs a `baseline`")
        return row

    def claim(self, c: dict, keys: set, columns) -> Claim:
        cid = self.need(c, "id", str, "[[claims]]")
        kind = self.need(c, "kind", str, cid)
        if kind not in CLAIM_KINDS:
            self.fail(cid, f"claim {cid}: kind must be one of {', '.join(CLAIM_KINDS)}")
        pairs = tuple(tuple(p) for p in self.need(c, "pairs", list, cid))
        if kind == "closer" and (len(pairs) != 2 or any(len(p) != 2 for p in pairs)):
            self.fail(cid, f"claim {cid}: a closer claim names two (row, baseline) pairs, the closer one first")
        for p in pairs:
            for k in p:
                if k not in keys:
                    self.fail(k, f"claim {cid} names row {k!r}, which the table does not have")
        cols = c.get("columns", "trust")
        cols = tuple(d.label for d in TRUST) if cols == "trust" else tuple(cols)
        for col in cols:
            if col not in columns:
                self.fail(cid, f"claim {cid} names column {col!r}, which the table does not have")
        return Claim(cid, _oneline(self.need(c, "text", str, cid)), kind, pairs, cols,
                     float(c.get("threshold", 0)), int(c.get("at_least", 1)), float(c.get("expected", 0)),
                     _oneline(c.get("known", "")), bool(c.get("finding", False)))

    def known(self, k: dict, keys: set, columns) -> Known:
        cols = tuple(self.need(k, "columns", list, "[[known]]"))
        rows = tuple(k.get("rows", ["*"]))
        for r in rows:
            if r != "*" and r not in keys:
                self.fail(r, f"[[known]] names row {r!r}, which the table does not have")
        for col in cols:
            if col not in columns:
                self.fail(col, f"[[known]] names column {col!r}, which the table does not have")
        return Known(cols, rows, _oneline(self.need(k, "why", str, "[[known]]")))


def _oneline(text: str) -> str:
    return " ".join(text.split())
