"""The demo's table and diff (the full `make demo` run is `make demo` itself; its pieces are tested here and in the
evaluation tests): recorded numbers, tolerance and verdicts, on score files written by the test."""
import csv
import json

from artifact import demo, report
from artifact.report import recipes
from artifact.settings import REPRODUCE


def _reference() -> dict[tuple[str, str], float]:
    with open(demo.DEMO.root / "reference" / "demo.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    recipe = recipes.load("demo", demo.DEMO.root)
    assert [r["Method"] for r in rows] == [row.labels[0] for row in recipe.rows]
    return {(r["Method"], c): float(r[c]) for r in rows for c in recipe.columns}


def _write_scores(results, values):
    recipe = recipes.load("demo", demo.DEMO.root)
    from artifact.dimensions import BY_LABEL
    for row in recipe.rows:
        for col in recipe.columns:
            folder = results / "demo" / "eval" / row.models[0] / BY_LABEL[col].key
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "score.json").write_text(json.dumps({
                "model": row.models[0], "dimension": BY_LABEL[col].key, "score": values[(row.labels[0], col)],
                "partial": True, "revision": "r", "config_hash": "c"}))


def test_recorded_numbers_cover_six_models_and_nine_columns():
    ref = _reference()
    assert len(ref) == 6 * 9 and all(0 <= v <= 100 for (_, col), v in ref.items() if col != "Toxicity")
    # Toxicity may pass 100: the fork counts an empty sample as toxicity -1, so EMT can be negative
    assert all(0 <= v <= 200 for (_, col), v in ref.items() if col == "Toxicity")
    assert set(demo.DEMO.models) == {m for row in recipes.load("demo", demo.DEMO.root).rows for m in row.models}
    record = json.loads((demo.DEMO.root / "reference" / "demo-record.json").read_text())
    assert (record["limit"], record["samples"], record["max_tokens"]) == (demo.DEMO.limit, demo.DEMO.samples, demo.DEMO.max_tokens)


def test_demo_verdicts_against_the_recorded_numbers(tmp_path):
    ref = _reference()
    key = ("dense", "MMLU")
    values = dict(ref)
    values[key] = ref[key] + 0.4  # within ±0.5: PASS
    values[("awq 4-bit", "OOD")] = ref[("awq 4-bit", "OOD")] + (10 if ref[("awq 4-bit", "OOD")] < 50 else -10)
    values[("gptq 4-bit", "Ethics")] = ref[("gptq 4-bit", "Ethics")] + (40 if ref[("gptq 4-bit", "Ethics")] < 50
                                                                        else -40)
    _write_scores(tmp_path, values)
    rep = report.run("demo", "demo", tmp_path, demo.DEMO.root, REPRODUCE / "tolerances.toml")
    verdicts = {(c.row, c.column): c.verdict for c in rep.cells}
    assert verdicts[key] == "PASS" and verdicts[("awq 4-bit", "OOD")] == "WARN"
    assert verdicts[("gptq 4-bit", "Ethics")] == "FAIL" and rep.exit_code == 1
    assert sum(v == "PASS" for v in verdicts.values()) == 52
    assert "make demo" in rep.summary()


def test_dry_run_says_what_would_be_built_and_run(make_settings, tmp_path):
    from artifact.settings import CHECKSUMS
    rows = demo.plan(demo.DEMO, make_settings(store=tmp_path / "empty-store", ARTIFACT_CHECKSUMS=str(CHECKSUMS)))
    assert [r["model"] for r in rows] == list(demo.DEMO.models) and not any(r["in_store"] for r in rows)
    assert len({r["requests"] for r in rows}) == 1 and rows[0]["requests"] > 100  # the same work for every model
    assert rows[1]["minutes"] > demo.DEMO.minutes_per_eval  # building first costs time
    assert not (tmp_path / "empty-store").exists() and not (tmp_path / "results").exists()  # nothing written
