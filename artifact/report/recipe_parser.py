"""The recipe schema: every key a recipe may hold, checked with the file and line of what is wrong.

A TOML parser gives values, not positions, so `Lines` indexes the text once: the line of each table header
(`[[rows]]`, the i-th one; `[rows.cells]`, `[figure]`) and of each `key =` under it. A problem is reported at the
line of the key it is about, or of the value it names when that value is written below its key (a list over
several lines). Unknown keys are refused (a misspelled `threshold` would otherwise count as 0), and so are tolerance
classes that `tolerances.toml` does not define.
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

from ..base import catalog
from ..base.dimensions import BY_KEY, BY_LABEL, TRUST
from ..base.errors import FileFormatError
from .recipes import CLAIM_KINDS, DERIVED, KINDS, Claim, Known, Recipe, Row, available, load

KEYS = {  # every key each part of a recipe may hold
    "recipe": {"title", "paper", "kind", "reference", "labels", "columns", "notes", "tolerance", "derived", "rows",
               "claims", "known", "generator", "from_recipes", "decimals", "compare_to", "perspective", "parts",
               "figure", "rows_from", "only"},
    "rows": {"labels", "models", "baseline", "fallback", "cells", "metric", "note"},
    "claims": {"id", "text", "kind", "pairs", "columns", "threshold", "at_least", "expected", "known", "finding"},
    "known": {"columns", "rows", "why"},
    "figure": {"style", "ncols", "ylabel"},
}
_HEADER = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.]+)\s*\]\]?")
_KEY = re.compile(r"""^\s*("[^"]*"|'[^']*'|[A-Za-z0-9_-]+)\s*=""")


class Lines:
    """Line numbers of a TOML text's table headers and keys, by path: ("kind",), ("rows", 2), ("rows", 2, "models"),
    ("rows", 2, "cells", "16"), ("figure", "ncols")."""

    def __init__(self, text: str):
        self.lines = text.splitlines()
        self.at: dict[tuple, int] = {}
        counts: dict[str, int] = {}
        table: tuple = ()
        in_string = False
        for n, line in enumerate(self.lines, 1):
            if in_string:
                in_string = line.count('"""') % 2 == 0
                continue
            header = _HEADER.match(line)
            if header:
                parts = header.group(2).split(".")
                if header.group(1) == "[[":
                    counts[parts[0]] = counts.get(parts[0], -1) + 1
                    table = (parts[0], counts[parts[0]])
                elif parts[0] in counts:  # [rows.cells]: a sub-table of the current [[rows]]
                    table = (parts[0], counts[parts[0]], *parts[1:])
                else:
                    table = tuple(parts)
                self.at.setdefault(table, n)
                continue
            key = _KEY.match(line)
            if key:
                self.at.setdefault((*table, key.group(1).strip("\"'")), n)
                in_string = line.count('"""') % 2 == 1

    def line(self, path: tuple, value: str | None = None) -> int | None:
        """The line of the longest known prefix of `path`; with `value`, the first line from there that holds it."""
        for end in range(len(path), 0, -1):
            if path[:end] in self.at:
                start = self.at[path[:end]]
                if value:
                    return next((i for i in range(start, len(self.lines) + 1) if value in self.lines[i - 1]), start)
                return start
        return None


class Parser:
    def __init__(self, path: Path, text: str, root: Path):
        self.path, self.lines, self.root = path, Lines(text), root

    def fail(self, at: tuple, problem: str, value: str | None = None):
        raise FileFormatError(self.path, self.lines.line(at, value), problem,
                              fix="fix the recipe (docs/tables.md, \"How a table is made\")")

    def keys(self, data: dict, part: str, at: tuple) -> None:
        for key in data:
            if key not in KEYS[part]:
                self.fail((*at, key), f"unknown key {key!r}{' in ' + _where(at) if at else ''}; a recipe's "
                                      f"{part if at else 'top level'} may hold {', '.join(sorted(KEYS[part]))}")

    def need(self, data: dict, key: str, kind: type, at: tuple = ()):
        if key not in data:
            self.fail(at, f"missing key {key!r}{' in ' + _where(at) if at else ''}")
        return self.typed(data, key, kind, at)

    def typed(self, data: dict, key: str, kind: type | tuple, at: tuple = (), default=None):
        value = data.get(key, default)
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if key in data and (not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds)):
            names = " or ".join(dict.fromkeys("number" if k in (int, float) else k.__name__ for k in kinds))
            self.fail((*at, key), f"{key!r} must be a {names}, not {value!r}")
        return value

    def models(self, names, at: tuple) -> tuple[str, ...]:
        if isinstance(names, str) or not isinstance(names, list):
            self.fail(at, "model lists must be TOML arrays of catalog names")
        for n in names:
            if catalog.load().find(n) is None:
                self.fail(at, f"{n!r} is not a catalog model (`make models` lists them)", f'"{n}"')
        return tuple(names)

    def recipe(self, name: str, d: dict) -> Recipe:
        self.keys(d, "recipe", ())
        kind = self.need(d, "kind", str)
        if kind not in KINDS:
            self.fail(("kind",), f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        labels = tuple(self.need(d, "labels", list))
        columns = tuple(self.need(d, "columns", list))
        derived = dict(self.typed(d, "derived", dict, default={}))
        for col, how in derived.items():
            if how not in DERIVED:
                self.fail(("derived", col), f"derived column {col!r} must be one of {', '.join(DERIVED)}")
        rows = tuple(self.row(r, i, labels, columns, derived, kind)
                     for i, r in enumerate(self.typed(d, "rows", list, default=[])))
        extra = self.breakdown(d, columns, labels, name) if kind == "breakdown" else {}
        rows = extra.pop("rows", ()) + rows
        if kind != "generated" and not rows:
            self.fail((), "a recipe needs at least one [[rows]] entry")
        keys = [r.key for r in rows]
        for i, k in enumerate(keys):
            if keys.count(k) > 1:
                self.fail(("rows", i, "labels"), f"two rows have the labels {k!r}")
        ref = self.typed(d, "reference", str)
        return Recipe(
            name=name, path=self.path, title=self.need(d, "title", str), paper=self.typed(d, "paper", str, default=""),
            kind=kind, labels=labels, columns=columns, rows=rows, reference=self.root / ref if ref else None,
            tolerance=self.tolerance(d), derived=derived,
            claims=tuple(self.claim(c, i, set(keys), columns) for i, c in enumerate(d.get("claims", []))),
            known=tuple(self.known(k, i, set(keys), columns) for i, k in enumerate(d.get("known", []))),
            generator=self.typed(d, "generator", str),
            from_recipes=tuple(self.typed(d, "from_recipes", list, default=[])), decimals=self.decimals(d),
            notes=self.typed(d, "notes", str, default=""), compare_to=self.compare_to(d, keys), **extra)

    def tolerance(self, d: dict) -> str:
        from .tolerances import PATH as TOLERANCES
        from .tolerances import load as load_tolerances
        klass = self.typed(d, "tolerance", str, default="absolute")
        # a recorded profile's folder (reproduce/demo/) has none of its own: the repository's holds its section
        file = next((f for f in (self.root / "tolerances.toml", TOLERANCES) if f.is_file()), TOLERANCES)
        defined = load_tolerances(file).published
        if klass not in defined:
            self.fail(("tolerance",), f"tolerance {klass!r} is not a class of {file} ([published]: "
                                      f"{', '.join(defined)})")
        return klass

    def decimals(self, d: dict) -> int:
        n = d.get("decimals", 1)
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 6:
            self.fail(("decimals",), f"decimals must be a whole number from 0 to 6, not {n!r}")
        return n

    def breakdown(self, d: dict, columns, labels, name: str) -> dict:
        persp = self.need(d, "perspective", str)
        if persp not in BY_KEY:
            self.fail(("perspective",), f"perspective {persp!r} is not one of {', '.join(BY_KEY)}")
        parts = {str(k): str(v) for k, v in self.need(d, "parts", dict).items()}
        if set(parts) != set(columns):
            self.fail(("parts",), f"[parts] must name exactly the columns: missing "
                                  f"{sorted(set(columns) - set(parts))}, extra {sorted(set(parts) - set(columns))}")
        fig = self.typed(d, "figure", dict, default={})
        self.keys(fig, "figure", ("figure",))
        if fig.get("style", "bars") not in ("bars", "lines"):
            self.fail(("figure", "style"), "[figure] style must be bars or lines")
        ncols = fig.get("ncols", 3)
        if isinstance(ncols, bool) or not isinstance(ncols, int) or not 1 <= ncols <= 8:
            self.fail(("figure", "ncols"), f"[figure] ncols must be a whole number of panels per line, 1 to 8, not "
                                           f"{ncols!r}")
        self.typed(fig, "ylabel", str, ("figure",))
        rows: tuple[Row, ...] = ()
        if "rows_from" in d:
            rows = self.rows_from(d, labels, name)
        return {"perspective": persp, "parts": parts, "figure": dict(fig), "rows": rows}

    def rows_from(self, d: dict, labels, name: str) -> tuple[Row, ...]:
        source, at = d["rows_from"], ("rows_from",)
        if source == name:
            self.fail(at, "rows_from names the recipe itself")
        if not isinstance(source, str) or not (self.root / f"{source}.toml").is_file():
            self.fail(at, f"rows_from names {source!r}, which is not a recipe ({', '.join(available(self.root))})")
        try:  # a chain (or a cycle) of rows_from is not followed: the named recipe must list its rows
            chained = "rows_from" in tomllib.loads((self.root / f"{source}.toml").read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError:
            chained = False  # load() below names that file and its line
        if chained:
            self.fail(at, f"rows_from names {source}, which takes its rows from another recipe itself: name the "
                          "recipe that lists them")
        other = load(source, self.root)
        if other.labels != labels:
            self.fail(at, f"{source}'s labels {list(other.labels)} differ from {list(labels)}")
        only = d.get("only", [r.key for r in other.rows])
        if not isinstance(only, list) or not all(isinstance(k, str) for k in only):
            self.fail(("only",), 'only must be a list of row keys, e.g. only = ["GPTQ/3", "dense 13b/16"]')
        for k in only:
            if k not in [r.key for r in other.rows]:
                self.fail(("only",), f"`only` names row {k!r}, which {source} does not have", f'"{k}"')
        return tuple(r for r in other.rows if r.key in only)

    def compare_to(self, d: dict, keys: list[str]) -> str | None:
        row = self.typed(d, "compare_to", str)
        if row is not None and row not in keys:
            self.fail(("compare_to",), f"compare_to names row {row!r}, which the table does not have")
        return row

    def row(self, r: dict, i: int, labels, columns, derived, kind) -> Row:
        at = ("rows", i)
        self.keys(r, "rows", at)
        lab = tuple(str(x) for x in self.need(r, "labels", list, at))
        if len(lab) != len(labels):
            self.fail((*at, "labels"), f"row {lab} has {len(lab)} labels, the table has {len(labels)}")
        cells = {str(k): self.models(v, (*at, "cells", str(k)))
                 for k, v in self.typed(r, "cells", dict, at, default={}).items()}
        metric = r.get("metric")
        if cells:
            if metric not in BY_LABEL:
                self.fail((*at, "metric"), f"row {'/'.join(lab)} uses `cells` and needs a known `metric`")
        elif kind != "breakdown":
            for c in columns:
                if c not in BY_LABEL and c not in derived:
                    self.fail(("columns",), f"column {c!r} is neither a metric ({', '.join(BY_LABEL)}) nor derived",
                              f'"{c}"')
        row = Row(lab, *(self.models(r.get(k, []), (*at, k)) for k in ("models", "baseline", "fallback")), cells,
                  metric, self.typed(r, "note", str, at, default=""))
        if not cells and not row.models:
            self.fail(at, f"row {row.key} names no models")
        if kind == "relative" and not row.baseline:
            self.fail(at, f"row {row.key} of a relative recipe needs a `baseline`")
        return row

    def claim(self, c: dict, i: int, keys: set, columns) -> Claim:
        at = ("claims", i)
        self.keys(c, "claims", at)
        cid = self.need(c, "id", str, at)
        kind = self.need(c, "kind", str, at)
        if kind not in CLAIM_KINDS:
            self.fail((*at, "kind"), f"claim {cid}: kind must be one of {', '.join(CLAIM_KINDS)}")
        pairs = tuple(tuple(p) for p in self.need(c, "pairs", list, at))
        if kind == "closer" and (len(pairs) != 2 or any(len(p) != 2 for p in pairs)):
            self.fail((*at, "pairs"), f"claim {cid}: a closer claim names two (row, baseline) pairs, the closer one "
                                      "first")
        for p in pairs:
            for k in p:
                if k not in keys:
                    self.fail((*at, "pairs"), f"claim {cid} names row {k!r}, which the table does not have", f'"{k}"')
        cols = self.typed(c, "columns", (str, list), at, default="trust")
        cols = tuple(d.label for d in TRUST) if cols == "trust" else tuple(cols)
        for col in cols:
            if col not in columns:
                self.fail((*at, "columns"), f"claim {cid} names column {col!r}, which the table does not have")
        number = (int, float)
        return Claim(cid, _oneline(self.need(c, "text", str, at)), kind, pairs, cols,
                     float(self.typed(c, "threshold", number, at, default=0)),
                     self.typed(c, "at_least", int, at, default=1),
                     float(self.typed(c, "expected", number, at, default=0)),
                     _oneline(self.typed(c, "known", str, at, default="")),
                     self.typed(c, "finding", bool, at, default=False))

    def known(self, k: dict, i: int, keys: set, columns) -> Known:
        at = ("known", i)
        self.keys(k, "known", at)
        cols = tuple(self.need(k, "columns", list, at))
        rows = tuple(self.typed(k, "rows", list, at, default=["*"]))
        for r in rows:
            if r != "*" and r not in keys:
                self.fail((*at, "rows"), f"[[known]] names row {r!r}, which the table does not have", f'"{r}"')
        for col in cols:
            if col not in columns:
                self.fail((*at, "columns"), f"[[known]] names column {col!r}, which the table does not have",
                          f'"{col}"')
        return Known(cols, rows, _oneline(self.need(k, "why", str, at)))


def _where(at: tuple) -> str:
    """("rows", 2) -> "the 3rd [[rows]]"; ("figure",) -> "[figure]"."""
    if len(at) >= 2 and isinstance(at[1], int):
        n = at[1] + 1
        suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
        return f"the {n}{suffix} [[{at[0]}]]"
    return f"[{'.'.join(map(str, at))}]"


def _oneline(text: str) -> str:
    return " ".join(text.split())
