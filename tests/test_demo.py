"""The demo's table and diff (the full `make demo` run is `make demo` itself; its pieces are tested here and in the
evaluation tests): recorded numbers, intervals, verdicts, the changes from dense and the claim; and, marked slow,
the demo's evaluation rerun with another batch size, which must never FAIL against the recorded numbers."""
import csv
import json

import pytest

from artifact import demo, pipeline, report
from artifact.base.dimensions import BY_LABEL
from artifact.report import recipes
from artifact.base.settings import REPRODUCE


def _reference() -> dict[tuple[str, str], float]:
    with open(demo.DEMO.root / "reference" / "demo.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    recipe = recipes.load("demo", demo.DEMO.root)
    assert [r["Method"] for r in rows] == [row.labels[0] for row in recipe.rows]
    return {(r["Method"], c): float(r[c]) for r in rows for c in recipe.columns}


def _write_scores(results, values, half=5.0):
    """One score.json per cell: the value, an interval of ±half (as replicates) and 100 items."""
    recipe = recipes.load("demo", demo.DEMO.root)
    for row in recipe.rows:
        for col in recipe.columns:
            v = values[(row.labels[0], col)]
            folder = results / "demo" / "eval" / row.models[0] / BY_LABEL[col].key
            folder.mkdir(parents=True, exist_ok=True)
            top = BY_LABEL[col].bounds[1]  # a score record stays in its dimension's range (results.py checks)
            reps = [min(max(v - half + 2 * half * i / 999, 0), top) for i in range(1000)] if half else [v] * 1000
            (folder / "score.json").write_text(json.dumps({
                "model": row.models[0], "dimension": BY_LABEL[col].key, "score": v, "partial": True, "revision": "r",
                "config_hash": "c", "ci95": [min(reps), max(reps)], "items": 100, "interval": {"replicates": reps}}))


def test_recorded_numbers_cover_three_models_and_nine_columns():
    ref = _reference()
    assert len(ref) == 3 * 9 and all(0 <= v <= 100 for (_, col), v in ref.items() if col != "Toxicity")
    # Toxicity may pass 100: the fork counts an empty sample as toxicity -1, so EMT can be negative
    assert all(0 <= v <= 200 for (_, col), v in ref.items() if col == "Toxicity")
    assert set(demo.DEMO.models) == {m for row in recipes.load("demo", demo.DEMO.root).rows for m in row.models}
    record = json.loads((demo.DEMO.root / "reference" / "demo-record.json").read_text())
    assert (record["limit"], record["samples"], record["max_tokens"]) == (demo.DEMO.limit, demo.DEMO.samples,
                                                                          demo.DEMO.max_tokens)
    assert record["cpu"] and len(record["cells"]) == 27
    assert all(c["ci95"] and c["items"] for c in record["cells"].values())  # the record keeps its intervals


def test_demo_verdicts_use_the_interval(tmp_path):
    ref = _reference()
    values = dict(ref)
    # the cells' intervals come from their replicates: about ±4.75 around the value
    values[("dense", "MMLU")] = ref[("dense", "MMLU")] + 5.1  # the recorded number 0.35 below the interval: PASS
    values[("gptq 4-bit", "OOD")] = ref[("gptq 4-bit", "OOD")] + 12.0  # 7.25 beyond the interval: WARN band
    values[("gptq 4-bit", "Ethics")] = ref[("gptq 4-bit", "Ethics")] + 30.0  # 25 beyond: FAIL
    _write_scores(tmp_path, values)
    rep = report.run("demo", "demo", tmp_path, demo.DEMO.root, REPRODUCE / "tolerances.toml")
    verdicts = {(c.row, c.column): c.verdict for c in rep.cells}
    assert verdicts[("dense", "MMLU")] == "PASS" and verdicts[("gptq 4-bit", "OOD")] == "WARN"
    assert verdicts[("gptq 4-bit", "Ethics")] == "FAIL" and rep.exit_code == 1
    assert sum(v == "PASS" for v in verdicts.values()) == 25
    text = rep.summary()
    assert "make demo" in text and "Diff vs recorded" in text and "recorded 50.00" in text
    assert "paper" not in text.split("**Diff vs recorded**")[1].split("**Claims**")[0]  # never "paper"
    assert "## Changes from dense" in text and "demo-4bit-closer-than-2to4" in text


def test_a_zero_width_cell_flipped_by_one_item_warns_not_fails(tmp_path):
    """Where every item of a task scored alike, the bootstrap sees no spread; one flipped item (at most 8.3 points
    in the demo's tasks, tolerances.toml) must land in the warn band."""
    ref = _reference()
    values = dict(ref)
    values[("magnitude 2:4", "Adv Demo")] = ref[("magnitude 2:4", "Adv Demo")] + 8.3
    _write_scores(tmp_path, values, half=0.0)
    rep = report.run("demo", "demo", tmp_path, demo.DEMO.root, REPRODUCE / "tolerances.toml")
    got = next(c for c in rep.cells if (c.row, c.column) == ("magnitude 2:4", "Adv Demo"))
    assert got.verdict == "WARN" and rep.exit_code == 0


def test_the_demo_claim_is_a_finding_and_never_fails_the_run(tmp_path):
    ref = _reference()
    values = dict(ref)
    for col in recipes.load("demo", demo.DEMO.root).columns:  # make 4-bit far from dense, 2:4 equal to it
        values[("magnitude 2:4", col)] = ref[("dense", col)]
        values[("gptq 4-bit", col)] = ref[("dense", col)] - 40 if ref[("dense", col)] > 40 else ref[("dense", col)] + 40
    _write_scores(tmp_path, values, half=0.5)
    rep = report.run("demo", "demo", tmp_path, demo.DEMO.root, REPRODUCE / "tolerances.toml")
    claim = next(c for c in rep.claims if c.id == "demo-4bit-closer-than-2to4")
    assert claim.verdict == "FAIL" and claim.finding
    assert all(c.verdict != "FAIL" for c in rep.claims if not c.finding)


def test_dry_run_says_what_would_be_built_and_run(make_settings, tmp_path):
    from artifact.base.settings import CHECKSUMS
    rows = pipeline.plan(demo.DEMO, make_settings(store=tmp_path / "empty-store", ARTIFACT_CHECKSUMS=str(CHECKSUMS)))
    assert [r["model"] for r in rows] == list(demo.DEMO.models) and not any(r["in_store"] for r in rows)
    assert len({r["requests"] for r in rows}) == 1 and rows[0]["requests"] > 300  # the same work for every model
    assert rows[1]["minutes"] > demo.DEMO.minutes_per_eval  # building first costs time
    assert sum(r["minutes"] for r in rows) < 15
    assert not (tmp_path / "empty-store").exists() and not (tmp_path / "results").exists()  # nothing written


@pytest.mark.slow
def test_another_batch_size_never_fails_against_the_recorded_numbers(make_settings, session_store, smol_base):
    """The cross-CPU property, proven here: padding requests in batches of 3 instead of 8 changes the float sums the
    way another CPU does. Every verdict must stay PASS or WARN (about 12 minutes on 2 cores)."""
    from artifact.base.settings import CHECKSUMS
    settings = make_settings(store=session_store, ARTIFACT_CHECKSUMS=str(CHECKSUMS))
    rep = pipeline.run(demo.DEMO, settings, progress=False, batch_size=3)
    verdicts = {(c.row, c.column): c.verdict for c in rep.cells}
    assert len(verdicts) == 27 and set(verdicts.values()) <= {"PASS", "WARN"}, rep.summary()
    assert rep.exit_code == 0
    scores = list((settings.results / "demo" / "eval").glob("*/*/*/*/score.json"))
    assert len(scores) == 27 and all(json.loads(p.read_text())["config"]["limit"] for p in scores)
    # the demo's per-scenario figure, drawn from the same runs: every cell a real value with its interval
    png = settings.results / "demo" / "figures" / "demo-ood.png"
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    built = json.loads((settings.results / "demo" / "tables" / "demo-ood.json").read_text())
    assert len(built["cells"]) == 3 * 8 and all(c["value"] is not None and c["ci95"] for c in built["cells"])


def test_the_demo_draws_its_per_scenario_figure_from_its_runs(tmp_path):
    """demo-ood's cells are the demo runs' OOD breakdown values (hand-written records here; the slow test above
    checks the real run draws it)."""
    assert pipeline.pictures(demo.DEMO) == ["demo-ood"]
    recipe = recipes.load("demo-ood", demo.DEMO.root)
    for i, row in enumerate(recipe.rows):
        folder = tmp_path / "demo" / "eval" / row.models[0] / "ood"
        folder.mkdir(parents=True)
        parts = {p: [10.0 * i + j, 10.0 * i + j + 2, 10.0 * i + j - 2] for j, p in enumerate(recipe.parts.values())}
        (folder / "score.json").write_text(json.dumps({
            "model": row.models[0], "dimension": "ood", "score": 40.0, "partial": True, "revision": "r",
            "config_hash": "c", "ci95": [30.0, 50.0], "items": 100,
            "interval": {"replicates": [40.0] * 3,
                         "breakdown": {p: {"ci95": [min(v), max(v)], "replicates": v} for p, v in parts.items()}},
            "breakdown": {p: v[0] for p, v in parts.items()}}))
    rep = report.run("demo-ood", "demo", tmp_path, demo.DEMO.root, REPRODUCE / "tolerances.toml")
    assert rep.cells == [] and rep.exit_code == 0  # nothing to diff: the figure is for looking
    for i, row in enumerate(recipe.rows):
        for j, c in enumerate(recipe.columns):
            cell = rep.result.cells[(row.key, c)]
            assert cell.value == 10.0 * i + j and cell.ci95 is not None
    assert [p.name for p in report.write(rep, tmp_path / "demo") if p.suffix == ".png"] == ["demo-ood.png"]


def test_the_gptq_row_has_two_more_calibration_seeds_to_record():
    rows = demo.seeded_rows()
    assert [(row, [s.name for s in specs]) for row, specs in rows] == [
        ("gptq 4-bit", ["smollm2-135m-instruct-gptq-4bit-s1", "smollm2-135m-instruct-gptq-4bit-s2"])]
    assert all(s.calibration.seed in (1, 2) and s.calibration.samples == 16 for _, specs in rows for s in specs)


def test_the_recorded_replies_cover_every_cell_and_the_seeds_every_column():
    """The reference the reply-level verdicts read: one line per request of each of the 27 cells, each reply's
    digest matching it, and the three models' bytes; the GPTQ row's other two seeds, every column."""
    from artifact.report import replies
    ref = demo.DEMO.root / "reference"
    lines = [json.loads(line) for line in (ref / "replies.jsonl").read_text().splitlines()]
    assert {(r["model"], r["perspective"]) for r in lines} == {(m, d.key) for m in demo.DEMO.models
                                                              for d in BY_LABEL.values() if d.label in
                                                              recipes.load("demo", demo.DEMO.root).columns}
    assert all(r["sha256"] == replies.digest(r["replies"]) for r in lines) and len(lines) > 3 * 300
    models = json.loads((ref / "models.json").read_text())
    assert set(models) == set(demo.DEMO.models) and all(len(m["tensors"]) > 200 for m in models.values())
    spread = replies.seed_spread(demo.DEMO.root, {(k[0], k[1]): v for k, v in _reference().items()})
    assert len(spread) == 9 and all(len(v) == 3 for v in spread.values())
