"""Build a paper table from its recipe, diff it against the paper, check the paper's claims, write the files.

    recipe (reproduce/<name>.toml) + source (published | local) -> cells -> diff + claims -> csv / md / json
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..base.errors import FileFormatError
from ..base.provenance import file_record, stamp
from ..base.settings import REPRODUCE
from . import build as build_mod
from . import claims as claims_mod
from . import diff as diff_mod
from . import recipes, render, sources, tolerances
from ..base.results import Layout

SOURCE_TEXT = {
    "published": "SOURCE=published: replay of the authors' published per-model scores (project website), "
                 "not a local run",
    "local": "SOURCE=local: this artifact's own evaluation results",
    "local-partial": "SOURCE=local-partial: this artifact's own evaluation results, partial ones included (the "
                     "vendored data subset, SAMPLES or MAX_TOKENS caps): a rehearsal, not comparable to the paper",
    "generated": "generated from the model catalog, the method registry and the evaluated dimensions",
}


@dataclass
class Report:
    result: build_mod.TableResult
    cells: list[diff_mod.CellDiff]
    claims: list[claims_mod.ClaimResult]
    tolerance_text: str
    provenance: dict
    about: str | None = None  # a recorded profile's description (reproduce/tolerances.toml); None: not recorded
    replies: object | None = None  # a recorded profile's reply-level comparison (replies.Agreement), where recorded

    @property
    def exit_code(self) -> int:
        return diff_mod.exit_code(self.cells, self.claims)

    @property
    def name(self) -> str:
        return self.result.recipe.name

    def header(self) -> str:
        r = self.result.recipe
        lines = [f"# {r.title}", "", f"_{self.about or SOURCE_TEXT[self.result.source]}._ Paper: {r.paper}."]
        if r.notes:
            lines += ["", r.notes.strip()]
        return "\n".join(lines)

    @property
    def ref_label(self) -> str:
        """What the reference numbers are: the paper's, or this project's own recorded run (make demo, check)."""
        return "recorded" if self.about else "paper"

    @property
    def changes(self) -> list[dict]:
        return claims_mod.changes_from(self.result) if self.result.source != "published" else []

    def summary(self) -> str:
        parts = [self.header(), render.markdown_table(self.result),
                 render.summary(self.cells, self.claims, self.tolerance_text, self.ref_label)]
        if self.changes:
            parts.append(render.changes_table(self.changes, self.result.recipe.compare_to,
                                              self.result.recipe.decimals))
        if self.replies is not None:
            from .replies import markdown
            parts.append(markdown(self.replies))
        return "\n\n".join(parts)

    def full_markdown(self) -> str:
        p = self.provenance
        parts = [self.summary()]
        if self.cells:
            parts += ["## Per-cell diff", render.diff_table(self.cells, self.result.recipe.decimals, self.ref_label)]
        parts += ["## Provenance", "\n".join([
            f"- code commit: `{p['code_commit']}`; made {p['time']}",
            f"- recipe `{p['recipe']['file']}` sha256 `{p['recipe']['sha256'][:16]}…`",
            *( [f"- reference `{p['reference']['file']}` sha256 `{p['reference']['sha256'][:16]}…`"]
               if p.get("reference") else []),
            f"- tolerances `{p['tolerances']['file']}` sha256 `{p['tolerances']['sha256'][:16]}…`",
            "- versions: " + ", ".join(f"{k} {v}" for k, v in p["versions"].items()),
            "- every cell's inputs (catalog id, Hub revision, seed, source file, line and sha256) are in the "
            "JSON file next to this one"])]
        return "\n\n".join(parts) + "\n"

    def to_json(self) -> dict:
        r = self.result
        return {
            "table": r.recipe.name, "title": r.recipe.title, "paper": r.recipe.paper, "source": r.source,
            "provenance": self.provenance, "tolerance": self.tolerance_text,
            "columns": list(r.recipe.columns), "labels": list(r.recipe.labels),
            "rows": [{"key": k, "labels": list(labels)} for k, labels in r.rows],
            "cells": [c.to_dict() for c in r.cells.values()],
            "diff": [c.to_dict() for c in self.cells], "claims": [c.to_dict() for c in self.claims],
            "changes": self.changes,
            **({"replies": self.replies.to_json()} if self.replies is not None else {}),
            "counts": {"cells": diff_mod.counts(self.cells), "claims": diff_mod.counts(self.claims)},
            "exit_code": self.exit_code,
        }


def run(name: str, source: str, results: Path, root: Path = REPRODUCE, tolerance_file: Path | None = None) -> Report:
    recipe = recipes.load(name, root)
    tol = tolerances.load(tolerance_file or root / "tolerances.toml")
    if recipe.kind != "generated" and recipe.tolerance not in tol.published:
        raise FileFormatError(recipe.path, None, f"tolerance {recipe.tolerance!r} is not one of "
                                                 f"{', '.join(tol.published)} in {tol.path.name}")
    scores = None if recipe.kind == "generated" else sources.get(source, results, root, tol.recorded)
    result = build_mod.build(recipe, scores)
    cells = diff_mod.diff(result, tol)
    checked = claims_mod.check_all(result)
    if recipe.kind == "generated":
        tol_text = "exact text"
    elif result.source == "published":
        tol_text = f"replay, ±{tol.published[recipe.tolerance]:g}"
    elif result.source in tol.recorded:
        t, w = tol.recorded[result.source]
        tol_text = (f"{result.source}: PASS when the recorded number lies within ±{t:g} of the cell's 95% interval, "
                    f"WARN within ±{w:g}")
    else:
        tol_text = (f"local: PASS when the paper's number lies within the per-dimension tolerance of the cell's 95% "
                    f"interval, WARN within ×{tol.warn_factor:g} of it")
    prov = {**stamp(), "recipe": file_record(recipe.path), "tolerances": file_record(tol.path)}
    if recipe.reference:
        prov["reference"] = file_record(recipe.reference)
    return Report(result, cells, checked, tol_text, prov, tol.about.get(result.source))


def write(report: Report, results: Path) -> list[Path]:
    """The table's csv, md and json under results/tables/, and for a figure its picture under results/figures/."""
    from . import figures
    layout = Layout(results)
    pictures = figures.draw(report, layout.figures)
    md = report.full_markdown()
    if pictures:  # the picture first, then the table and its diff
        title, _, rest = md.partition("\n")
        shown = "\n\n".join(f"![{p.stem}](../figures/{p.name})" for p in pictures if p.suffix == ".png")
        md = f"{title}\n\n{shown}\n{rest}"
    return render.write(layout.tables, report.name, {
        ".csv": render.table_csv(report.result),
        ".md": md,
        ".json": render.to_json(report.to_json()),
    }) + pictures


def last_source(name: str, results: Path) -> str | None:
    """The SOURCE of the last `make <name>`, so `make diff` diffs what was built."""
    path = Layout(results).tables / f"{name}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))["source"]
    except (OSError, ValueError, KeyError):
        return None
