"""Tables 1 and 2, generated from the catalog, the method registry and the list of evaluated dimensions.

Table 1's compression rates and calibration sizes are those of the models the paper's score tables and figures
use (the recipe's `from_recipes`), so adding a model to a figure recipe changes Table 1 accordingly.
"""
from __future__ import annotations

from ..base import catalog
from ..base.catalog.methods import METHODS
from ..base.dimensions import DECODINGTRUST_TEST_CASES, MMLU_SUBJECTS, TRUST
from . import recipes

YES, NO = "✓", "✗"


def _used_models(recipe) -> list[catalog.ModelSpec]:
    names: set[str] = set()
    for name in recipe.from_recipes:
        for row in recipes.load(name, recipe.path.parent).rows:
            names.update(row.models, row.baseline, row.fallback, *row.cells.values())
    return [catalog.get(n) for n in sorted(names)]


def table1(recipe) -> list[tuple[tuple[str, ...], dict[str, str]]]:
    used = _used_models(recipe)
    rows = []
    for method in ("magnitude", "sparsegpt", "wanda", "gptq", "awq"):
        m = METHODS[method]
        specs = [s for s in used if s.method == method]
        if m.type == "Quantization":
            rate = ",".join(str(b) for b in sorted({s.bits for s in specs})) + "-bit"
        else:
            rate = ",".join(sorted({s.pattern for s in specs}))
        sizes = sorted({s.calibration.samples for s in specs if s.calibration})
        calib = f"{YES}({','.join(map(str, sizes))})" if sizes else NO
        rows.append(((m.type, m.display), {
            "Compression Rate": rate, "Weight Update": YES if m.weight_update else NO,
            "Calibration Data (Size)": calib, "Calibration Criterion": m.criterion,
            "Hardware-friendly": YES if m.hardware_friendly else NO}))
    return rows


def table2(recipe) -> list[tuple[tuple[str, ...], dict[str, str]]]:
    groups: dict[str, list[str]] = {}  # evaluation text -> methods whose papers used it, in first-seen order
    for key in ("gptq", "sparsegpt", "awq", "wanda"):
        groups.setdefault(METHODS[key].evaluation(), []).append(METHODS[key].display)
    rows = [((" & ".join(names),), {"Evaluation": text}) for text, names in groups.items()]
    ours = (f"MMLU ({MMLU_SUBJECTS} tasks), DecodingTrust ({DECODINGTRUST_TEST_CASES} test cases covering "
            f"{len(TRUST)} trust metrics)")
    return rows + [(("Ours",), {"Evaluation": ours})]


GENERATORS = {"table1": table1, "table2": table2}

