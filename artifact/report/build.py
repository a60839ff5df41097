"""Turn a recipe and a score source into table cells, each carrying the per-model inputs it was made from."""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from ..base import catalog
from ..base.dimensions import BY_LABEL, Dimension
from ..base.errors import FileFormatError
from . import generated, uncertainty
from .recipes import Recipe, Row


@dataclass
class Cell:
    row: str
    column: str
    value: float | str | None
    std: float | None = None
    n: int = 0
    inputs: list[dict] = field(default_factory=list)
    note: str = ""
    caveat: str = ""  # shown with the verdict: e.g. toxicity scored by an open scorer, not the paper's Perspective
    ci95: tuple[float, float] | None = None  # local cells: 95% interval, from the inputs' bootstrap replicates
    items: int | None = None  # local cells: scored items behind the value (summed over the cell's models)
    replicates: tuple | None = field(default=None, repr=False)  # not written out: the arithmetic of the interval
    # not written out: each input's own resamples, in the order of `inputs` (Figure 9 correlates models, not cells)
    input_replicates: tuple | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        return {k: v for k, v in vars(self).items() if k not in ("replicates", "input_replicates")}


@dataclass
class TableResult:
    recipe: Recipe
    source: str
    rows: list[tuple[str, tuple[str, ...]]]  # (row key, labels) in print order
    cells: dict[tuple[str, str], Cell]

    def value(self, row: str, column: str):
        cell = self.cells.get((row, column))
        return None if cell is None else cell.value


def _inputs(names, dim: Dimension, scores, role: str, part: str | None = None) -> list[dict]:
    out = []
    for name in names:
        spec = catalog.get(name)
        v = scores.lookup(spec, dim) if part is None else scores.lookup_part(spec, dim, part)
        out.append({"role": role, "name": spec.name, "id": spec.id, "revision": spec.revision, "seed": spec.seed,
                    "metric": dim.key, **({"part": part} if part else {}),
                    "value": None if v is None else v.value, "origin": None if v is None else v.origin,
                    "ci95": None if v is None else v.ci95, "items": None if v is None else v.items,
                    "_replicates": None if v is None else v.replicates})
    return out


def _interval(cell: Cell, local: bool, base: list[dict] = ()) -> None:
    """Give a local cell its interval (replicate-wise mean of its models, minus the baseline's), or say why not."""
    if not local or cell.value is None:
        return
    models = [i for i in cell.inputs if i["role"] != "baseline"]
    reps = uncertainty.combine([i["_replicates"] for i in models])
    if base:
        reps = uncertainty.minus(reps, uncertainty.combine([i["_replicates"] for i in base]))
    items = [i["items"] for i in cell.inputs]
    cell.items = sum(items) if None not in items else None
    cell.replicates, cell.ci95 = reps, uncertainty.ci95(reps)
    if reps is None:
        old = sorted({i["name"] for i in cell.inputs if i["_replicates"] is None})
        extra = f"no interval: {', '.join(old)} scored before intervals existed (`make rescore` adds them)" if old \
            else "no interval: its inputs were resampled a different number of times (rescore them with one BOOTSTRAP)"
        cell.caveat = f"{cell.caveat}; {extra}" if cell.caveat else extra


def _clean(cell: Cell) -> Cell:
    cell.input_replicates = tuple(i.pop("_replicates", None) for i in cell.inputs)
    return cell


def _mean(inputs: list[dict]) -> float | None:
    vals = [i["value"] for i in inputs]
    return None if not vals or None in vals else statistics.fmean(vals)


def _cell(recipe: Recipe, row: Row, column: str, scores) -> Cell:
    models = row.cells.get(column, row.models) if row.cells else row.models
    part = recipe.parts[column] if recipe.kind == "breakdown" else None
    dim = BY_LABEL[recipe.metric(row.key, column)]
    inputs = _inputs(models, dim, scores, "model", part)
    note = ""
    if row.fallback and all(i["value"] is None for i in inputs):
        inputs = _inputs(row.fallback, dim, scores, "fallback", part)
        note = f"no {scores.name} score for {', '.join(models)}; used {', '.join(row.fallback)}"
    value = _mean(inputs)
    missing = [i["name"] for i in inputs if i["value"] is None]
    cell = Cell(row.key, column, value, n=len(inputs), inputs=inputs, note=note)
    proxies = sorted({i["origin"]["toxicity_scorer"]["id"] for i in inputs if i["origin"] and
                      (i["origin"].get("toxicity_scorer") or {}).get("comparable_to_paper") is False})
    if proxies:
        cell.caveat = f"toxicity scored by {', '.join(proxies)}, not the Perspective API: not comparable to the paper"
    judges = sorted({i["origin"]["judge"]["id"] for i in inputs if i["origin"] and
                     (i["origin"].get("judge") or {}).get("comparable_to_paper") is False})
    if judges:
        text = f"judged by {', '.join(judges)}, not GPT-4 as in the paper: not comparable to the paper"
        cell.caveat = f"{cell.caveat}; {text}" if cell.caveat else text
    commits = sorted({str(i["origin"].get("code_commit"))[:12] for i in inputs if i["origin"] and
                      i["origin"].get("source") == "local"})
    if len(commits) > 1:  # never silently one number: say which code versions the cell mixes
        text = f"its inputs were computed at {len(commits)} code commits ({', '.join(commits)}): rerun them at one"
        cell.caveat = f"{cell.caveat}; {text}" if cell.caveat else text
    limits = sorted({str((i["origin"].get("limit") or {}).get("per_task")) for i in inputs
                     if i["origin"] and i["origin"].get("limit") and scores.name.startswith("local")})
    if limits:
        text = (f"a seeded sample of {'/'.join(limits)} items per task (LIMIT), not every item: its interval says "
                "how sure")
        cell.caveat = f"{cell.caveat}; {text}" if cell.caveat else text
    if recipe.kind in ("spread", "breakdown") and value is not None and len(inputs) > 1:
        cell.std = statistics.stdev(i["value"] for i in inputs)
    base = []
    if recipe.kind == "relative":
        base = _inputs(row.baseline, dim, scores, "baseline")
        cell.inputs += base
        missing += [i["name"] for i in base if i["value"] is None]
        cell.value = None if value is None or _mean(base) is None else value - _mean(base)
    if missing:
        cell.value, cell.std = None, None
        cell.note = f"no {scores.name} score for {', '.join(missing)}"
        if part and scores.name == "published":
            cell.note = (f"the paper publishes no per-scenario scores: evaluate {', '.join(models)} "
                         f"(make eval PERSPECTIVE={dim.key}) and build this figure with SOURCE=local")
        elif part:
            scored = [catalog.get(n) for n in missing if scores.lookup(catalog.get(n), dim) is not None]
            old = [m.name for m in scored if not scores.part_names(m, dim)]
            if old:
                cell.note += (f" ({', '.join(old)} scored {dim.label} without per-scenario values: written before "
                              "they existed, `make rescore` adds them)")
            other = sorted({p for m in scored for p in scores.part_names(m, dim)})
            if other and len(old) < len(scored):
                cell.note += (f" (its per-scenario values are {', '.join(other)}: a typo in the recipe, or older code "
                              f"that had no {part!r}? `make rescore` recomputes them)")
    _interval(cell, scores.name != "published", base)
    return _clean(cell)


def _derive(how: str, values: list[float]) -> float:
    return statistics.fmean(values) if how == "mean" else statistics.stdev(values)


def build(recipe: Recipe, scores) -> TableResult:
    cells: dict[tuple[str, str], Cell] = {}
    if recipe.kind == "generated":
        if recipe.generator not in generated.GENERATORS:
            raise FileFormatError(recipe.path, None, f"generator {recipe.generator!r} is not one of "
                                                     f"{', '.join(generated.GENERATORS)}")
        rows = []
        for labels, values in generated.GENERATORS[recipe.generator](recipe):
            key = "/".join(labels)
            rows.append((key, labels))
            cells.update({(key, c): Cell(key, c, values[c]) for c in recipe.columns})
        return TableResult(recipe, "generated", rows, cells)
    plain = [c for c in recipe.columns if c not in recipe.derived]
    for row in recipe.rows:
        for column in plain:
            cells[(row.key, column)] = _cell(recipe, row, column, scores)
        vals = [cells[(row.key, c)].value for c in plain]
        for column, how in recipe.derived.items():
            ok = None not in vals
            cell = Cell(row.key, column, _derive(how, vals) if ok else None, n=len(vals),
                        note=f"{how} of {', '.join(plain)}" if ok else "an input is missing")
            if ok and scores.name != "published":
                cell.replicates = uncertainty.combine([cells[(row.key, c)].replicates for c in plain], how)
                cell.ci95 = uncertainty.ci95(cell.replicates)
            cells[(row.key, column)] = cell
    return TableResult(recipe, scores.name, [(r.key, r.labels) for r in recipe.rows], cells)


def plan(recipe: Recipe, scores) -> list[dict]:
    """What each cell needs: models, metric, and whether the chosen source has a value (the dry run)."""
    result = build(recipe, scores)
    out = []
    for (row, column), cell in result.cells.items():
        needs = [f"{i['name']} ({i['metric']})" for i in cell.inputs]
        out.append({"row": row, "column": column, "needs": needs,
                    "missing": [i["name"] for i in cell.inputs if i["value"] is None],
                    "available": cell.value is not None})
    return out


def needs(recipe: Recipe, scores) -> dict[str, list[str]]:
    """Metric key -> the models of the table with no score in `scores` for it (what a local rerun must evaluate)."""
    out: dict[str, set[str]] = {}
    for cell in plan(recipe, scores):
        for need in cell["needs"]:
            name, metric = need.rsplit(" (", 1)
            if name in cell["missing"]:
                out.setdefault(metric.rstrip(")"), set()).add(name)
    return {k: sorted(v) for k, v in out.items()}
