"""The per-scenario figures (4, 6, 12-25): recipes of kind breakdown, their cells from local runs' `breakdown` values
(means over calibration seeds, intervals by replicate-wise arithmetic, the dimension's tolerance against the paper's
values read off its figures), NOT-RUN in a replay, and the arrays each figure plots equal to the cells.

The score records here are hand-written inputs of the report layer (no 13B model runs in a test); that real runs
write `breakdown` values is tested end to end on SmolLM2 (tests/evaluate/test_run.py) and by `make demo`."""
from __future__ import annotations

import json
import math
import statistics

import pytest

from artifact import report
from artifact.base import catalog
from artifact.base.confidence import ci95
from artifact.base.errors import FileFormatError
from artifact.evaluate import advglue, fairness, ood, privacy, stereotype, toxicity
from artifact.report import breakdown, figures, recipes
from artifact.base.settings import REPRODUCE

BREAKDOWNS = [n for n in recipes.available() if recipes.load(n).kind == "breakdown"]

# every name a perspective's breakdown() gives on the full data: the recipes may use only these
NAMES = {
    "advglue": {f"{t}/{m}" for t in advglue.TASKS for m in ("accuracy", "refusal")},
    "adv_demo": {f"{f}/{m}" for f in ("counterfactual", "spurious", "backdoor") for m in ("accuracy", "refusal")},
    "ood": {f"{g}/{m}" for g in ood.GROUPS for m in ("accuracy", "refusal")},
    "fairness": {f"{s}/{m}" for s in fairness.BREAKDOWN for m in ("dpd", "eod", "refusal")},
    "ethics": {f"{r}/{m}" for r in ("zero", "few") for m in ("accuracy", "error", "refusal")} |
              {f"{k}/{m}" for k in ("jailbreak", "evasive") for m in ("fpr", "refusal")},
    "privacy": {f"{p}/{m}" for p in privacy.WEIGHTS for m in ("leak", "refusal")},
    "stereotype": {f"{t}/{m}" for t in stereotype.TYPES for m in ("score", "refusal")},
    "toxicity": {f"{s}/{m}" for s in toxicity.SETTINGS for m in ("toxicity", "refusal")},
}


def test_the_sixteen_per_scenario_figures_have_recipes_naming_real_values():
    assert sorted(BREAKDOWNS, key=lambda n: int(n[3:])) == [f"fig{n}" for n in (4, 6, *range(12, 26))]
    for name in BREAKDOWNS:
        r = recipes.load(name)
        assert set(r.parts.values()) <= NAMES[r.perspective], (name, set(r.parts.values()) - NAMES[r.perspective])
        assert r.reference is not None and r.reference.is_file(), name
        keys = [row.key for row in r.rows]
        if r.figure["style"] == "lines":  # Figures 4 and 6: GPTQ and the dense model only
            assert keys == ["GPTQ/3", "GPTQ/4", "GPTQ/8", "dense 13b/16"], name
        else:  # Figure 3's rows: GPTQ and AWQ at 3/4/8 bits, dense 13b and 7b
            assert keys == [row.key for row in recipes.load("fig3").rows], name


def test_breakdown_values_of_each_perspective_are_named_as_the_recipes_expect():
    """breakdown() on details shaped like the full data's gives exactly the names above."""
    details = {
        "advglue": {"accuracy": {f"{s}/{t}": 50.0 for s in advglue.SOURCES for t in advglue.TASKS},
                    "rr_ne": {f"{s}/{t}": 5.0 for s in advglue.SOURCES for t in advglue.TASKS}},
        "adv_demo": {"families": {"counterfactual": 0.5, "spurious": 0.6, "backdoor": 0.7},
                     "refusal": {"counterfactual": 0.0, "spurious": 0.1, "backdoor": 0.2}},
        "ood": {"groups": dict.fromkeys(ood.GROUPS, 40.0),
                "tasks": {f"{g}/t": {"rr": 10.0} for g in ood.GROUPS}},
        "fairness": {"settings": {s["name"]: {"dpd": 0.1, "eod": 0.2, "rejection": 0.3} for s in fairness.settings()}},
        "ethics": {"runs": {r: {"acc": 0.5, "fpr": 0.2, "ref": 0.1} for r in
                            ["zero", "few", *(f"{k}{v}" for k in ("jailbreak", "evasive") for v in range(1, 6))]}},
        "privacy": {"parts": {p: {"leak": 3.0, "refusal": 80.0} for p in privacy.WEIGHTS}},
        "stereotype": {"types": {t: {"score": 0.9, "rejection": 0.4} for t in stereotype.TYPES}},
        "toxicity": {"settings": {s: {"emt": 0.2, "refusal": 0.5} for s in toxicity.SETTINGS}},
    }
    from artifact.evaluate import get
    for key, d in details.items():
        got = get(key).breakdown(d)
        assert set(got) == NAMES[key], key
        assert all(0 <= v <= 100 for v in got.values()), key
    assert get("ethics").breakdown(details["ethics"])["zero/error"] == pytest.approx(50.0)
    assert get("toxicity").breakdown(details["toxicity"])["toxic-template-1/toxicity"] == pytest.approx(20.0)
    assert get("mmlu").breakdown({"subjects": {}}) == {}  # MMLU draws no per-scenario figure


def _record(results, name: str, dim: str, parts: dict[str, list[float]]):
    """A score.json as `make eval` writes it, reduced to what the report reads; parts: name -> resamples (the
    value is their first element, as a bootstrap's point estimate need not be its mean)."""
    spec = catalog.get(name)
    folder = results / "eval" / spec.name / "0123456789abcdef" / dim / "cafe"
    folder.mkdir(parents=True)
    (folder / "score.json").write_text(json.dumps({
        "schema": 1, "model": spec.id, "dimension": dim, "score": 50.0, "revision": "r", "config_hash": "cafe",
        "ci95": [45.0, 55.0], "items": 40, "interval": {"replicates": [50.0] * 5, "breakdown": {
            k: {"ci95": list(ci95(v)), "replicates": v} for k, v in parts.items()}},
        "breakdown": {k: v[0] for k, v in parts.items()}}))


SEEDS = ["llama-2-13b-chat-gptq-3bit-s0", "llama-2-13b-chat-gptq-3bit-s1", "llama-2-13b-chat-gptq-3bit-s2"]


def _local(tmp_path):
    reps = {n: [10.0 + i, 12.0 + i, 9.0 + i, 14.0 + i, 11.0 + i] for i, n in enumerate(SEEDS)}
    for n in SEEDS:
        _record(tmp_path, n, "advglue", {"mnli/accuracy": reps[n], "qqp/accuracy": [30.0] * 5,
                                         "sst2/accuracy": [55.0, 50.0, 60.0, 52.0, 58.0]})
    _record(tmp_path, "llama-2-13b-chat", "advglue", {"mnli/accuracy": [21.0, 19.0, 23.0, 20.0, 22.0],
                                                      "qqp/accuracy": [38.0] * 5})  # no sst2: written by older code
    return reps


def test_local_cells_are_seed_means_with_replicate_wise_intervals(tmp_path):
    reps = _local(tmp_path)
    rep = report.run("fig12", "local", tmp_path, REPRODUCE)
    cells = rep.result.cells
    mnli = cells[("GPTQ/3", "MNLI")]
    assert mnli.value == pytest.approx(statistics.fmean(reps[n][0] for n in SEEDS))
    assert mnli.std == pytest.approx(statistics.stdev(reps[n][0] for n in SEEDS))
    assert mnli.ci95 == ci95([statistics.fmean(x) for x in zip(*(reps[n] for n in SEEDS), strict=True)])
    assert [i["part"] for i in mnli.inputs] == ["mnli/accuracy"] * 3
    assert cells[("dense 13b/16", "MNLI")].value == 21.0
    assert cells[("GPTQ/4", "MNLI")].value is None  # not evaluated
    old = cells[("dense 13b/16", "SST-2")]
    assert old.value is None and "values are mnli/accuracy, qqp/accuracy: a typo in the recipe" in old.note
    assert "make rescore" in old.note
    folder = tmp_path / "eval" / "llama-2-7b-chat" / "0123456789abcdef" / "advglue" / "cafe"  # a record from before
    folder.mkdir(parents=True)
    (folder / "score.json").write_text(json.dumps({"model": catalog.get("llama-2-7b-chat").id, "dimension": "advglue",
                                                   "score": 40.0, "revision": "r", "config_hash": "cafe"}))
    note = report.run("fig12", "local", tmp_path, REPRODUCE).result.cells[("dense 7b/16", "MNLI")].note
    assert "without per-scenario values: written before they existed, `make rescore` adds them" in note
    diff = {(c.row, c.column): c for c in rep.cells}
    # the verdict rule of every local cell, with the perspective's own tolerance (AdvGLUE++: 1.9 points)
    d = diff[("GPTQ/3", "MNLI")]
    assert d.reference == 11.9 and d.tolerance == 1.9 and d.ci95 == mnli.ci95
    lo, hi = mnli.ci95
    gap = max(lo - 11.9, 11.9 - hi, 0.0)
    assert d.verdict == ("PASS" if gap <= 1.9 else "WARN" if gap <= 3.8 else "FAIL")
    assert diff[("GPTQ/4", "MNLI")].verdict == "NOT-RUN"


def test_the_figure_plots_the_cells_the_seeds_and_the_papers_values(tmp_path):
    _local(tmp_path)
    rep = report.run("fig12", "local", tmp_path, REPRODUCE)
    s = breakdown.series(rep)
    ref = {(c.row, c.column): c.reference for c in rep.cells}
    assert s["run"] and s["x"] == ["3", "4", "8", "16"] and s["columns"] == ["MNLI", "QQP", "SST-2"]
    for c in s["columns"]:
        for (key, labels), p in zip(rep.result.rows, s["points"][c], strict=True):
            cell = rep.result.cells[(key, c)]
            assert (p["method"], p["x"]) == labels
            assert (math.isnan(p["ours"]) and cell.value is None) or p["ours"] == pytest.approx(cell.value)
            if cell.ci95:
                assert p["ci"] == tuple(cell.ci95)
            else:  # no interval: a NaN pair (NaN != NaN, so compared by isnan)
                assert len(p["ci"]) == 2 and all(math.isnan(v) for v in p["ci"])
            assert p["paper"] == ref[(key, c)]
            assert p["seeds"] == ([i["value"] for i in cell.inputs] if cell.value is not None else [])
    files = figures.draw(rep, tmp_path / "figures")
    assert [f.name for f in files] == ["fig12.png", "fig12.svg"]


def test_a_replay_is_not_run_and_draws_the_papers_values_alone(tmp_path):
    for name in BREAKDOWNS:
        rep = report.run(name, "published", tmp_path, REPRODUCE)
        assert all(c.value is None for c in rep.result.cells.values()), name
        assert all(c.verdict == "NOT-RUN" and "publishes no per-scenario scores" in c.why for c in rep.cells), name
        assert rep.exit_code == 0
        s = breakdown.series(rep)
        assert not s["run"] and "NOT RUN" in breakdown.caption(s)
        paper = {(k, c): p["paper"] for c in s["columns"] for (k, _), p in zip(rep.result.rows, s["points"][c],
                                                                                strict=True)}
        assert {k: v for k, v in paper.items() if not math.isnan(v)} == {(c.row, c.column): c.reference
                                                                          for c in rep.cells}


def test_fig12s_reference_is_the_paper_read_off_its_figure(tmp_path):
    rep = report.run("fig12", "published", tmp_path, REPRODUCE)
    ref = {(c.row, c.column): c.reference for c in rep.cells}
    # the dense model's three tasks average the website's AdvGLUE++ score (37.4): the reading is right
    assert statistics.fmean(ref[("dense 13b/16", c)] for c in ("MNLI", "QQP", "SST-2")) == pytest.approx(37.4, abs=0.1)
    assert len(ref) == 8 * 3


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace('perspective = "advglue"', 'perspective = "advglu"'), "perspective 'advglu' is not one of"),
    (lambda t: t.replace('"SST-2" = "sst2/accuracy"\n', ""), "[parts] must name exactly the columns"),
    (lambda t: t.replace('rows_from = "fig3"', 'rows_from = "fig3"\nonly = ["GPTQ/5"]'), "names row 'GPTQ/5'"),
    (lambda t: t.replace('style = "bars"', 'style = "pie"'), "style must be bars or lines"),
    (lambda t: t.replace("ncols = 3", 'ncols = "x"'), "ncols must be a whole number"),
    (lambda t: t.replace('rows_from = "fig3"', 'rows_from = "fig12"'), "rows_from names the recipe itself"),
    (lambda t: t.replace('rows_from = "fig3"', 'rows_from = "fig99"'),
     "rows_from names 'fig99', which is not a recipe"),
    (lambda t: t.replace('rows_from = "fig3"', 'rows_from = "fig13"'), "which takes its rows from another recipe"),
])
def test_bad_breakdown_recipes_are_refused_with_the_line(recipes_copy, edit, message):
    path = recipes_copy / "fig12.toml"
    path.write_text(edit(path.read_text()))
    with pytest.raises(FileFormatError, match=message.replace("[", r"\[").replace("(", r"\(")) as e:
        recipes.load("fig12", recipes_copy)
    assert "fig12.toml" in str(e.value)
