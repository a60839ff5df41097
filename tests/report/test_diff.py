import csv

import pytest

from artifact import report
from artifact.base.errors import FileFormatError
from artifact.report import diff, render, tolerances

from tests.helpers import ROOT

REF = ROOT / "reproduce" / "reference"


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    return tmp_path_factory.mktemp("results")


def test_replayed_table3_equals_the_paper_in_all_54_cells(results):
    rep = report.run("table3", "published", results)
    assert len(rep.cells) == 54
    assert [c.verdict for c in rep.cells] == ["PASS"] * 54
    with open(REF / "table3.csv", newline="") as f:
        paper = {(f"{r['Size']}/{r['Bits']}/{r['Method']}", col): float(r[col])
                 for r in csv.DictReader(f) for col in rep.result.recipe.columns}
    for c in rep.cells:
        assert round(c.reproduced, 1) == pytest.approx(paper[(c.row, c.column)], abs=0.1 + 1e-9)
        assert abs(c.reproduced - paper[(c.row, c.column)]) <= 0.05 + 1e-6
    assert rep.exit_code == 0


def test_table3_gptq_row_is_the_mean_of_three_seeds(results):
    rep = report.run("table3", "published", results)
    cell = rep.result.cells[("13b/4/GPTQ", "Ethics")]
    assert [i["value"] for i in cell.inputs] == [77.13, 80.04, 71.33]
    assert cell.value == pytest.approx((77.13 + 80.04 + 71.33) / 3)
    assert {i["seed"] for i in cell.inputs} == {0, 1, 2}
    assert all(i["origin"]["sha256"] and i["origin"]["line"] for i in cell.inputs)


def test_fig2_within_0_1_except_the_documented_ood_column(results):
    rep = report.run("fig2", "published", results)
    assert len(rep.cells) == 21 * 9
    for c in rep.cells:
        if c.column == "OOD":
            assert c.verdict in ("PASS", "WARN")
            if c.verdict == "WARN":
                assert "offset" in c.why and 0.1 < abs(c.delta) <= 0.7
        else:
            assert c.verdict == "PASS", (c.row, c.column, c.delta)
            assert abs(c.delta) <= 0.1 + 1e-6
    assert sum(c.verdict == "WARN" for c in rep.cells) == 17
    assert rep.exit_code == 0


def test_fig7_disagrees_with_the_website_as_an_explained_warn(results):
    rep = report.run("fig7", "published", results)
    assert {c.verdict for c in rep.cells} == {"WARN"}
    assert all("do not reconcile" in c.why for c in rep.cells)
    # The printed Avg/Std are the mean and sample std of the printed eight cells (checks the transcription).
    import statistics
    with open(REF / "figure7.csv", newline="") as f:
        for r in csv.DictReader(f):
            vals = [float(r[c]) for c in rep.result.recipe.columns[:8]]
            assert statistics.fmean(vals) == pytest.approx(float(r["Avg"]), abs=0.051)
            assert statistics.stdev(vals) == pytest.approx(float(r["Std"]), abs=0.051)


def test_table4_has_nothing_independent_to_replay(results):
    rep = report.run("table4", "published", results)
    assert [c.verdict for c in rep.cells] == ["NOT-RUN"] * 8
    assert all("no published score" in c.why for c in rep.cells)
    assert rep.exit_code == 0


@pytest.mark.parametrize("ref,got,tol,band,known,verdict", [
    (52.1, 52.15, 0.05, 0, "", "PASS"),          # rounding edge
    (52.1, 52.1501, 0.05, 0, "", "FAIL"),
    (52.1, 52.2, 0.05, 0, "paper offset", "WARN"),
    (52.1, None, 0.05, 0, "", "NOT-RUN"),
    (62.3, 70.0, 4.0, 8.0, "", "WARN"),          # local: within the warn band
    (62.3, 70.4, 4.0, 8.0, "", "FAIL"),
    (-0.1, 0.0, 0.1, 0, "", "PASS"),
    ("3,4,8-bit", "3,4,8-bit", 0, 0, "", "PASS"),
    ("3,4,8-bit", "3,4-bit", 0, 0, "", "FAIL"),
])
def test_cell_verdicts(ref, got, tol, band, known, verdict):
    assert diff.cell_verdict(ref, got, tol, band, known)[0] == verdict


def test_exit_code_is_1_on_any_fail(recipes_copy, results):
    path = recipes_copy / "reference" / "table3.csv"
    path.write_text(path.read_text().replace("13b,16,none,53.6", "13b,16,none,53.9"))
    rep = report.run("table3", "published", results, recipes_copy)
    fails = [c for c in rep.cells if c.verdict == "FAIL"]
    assert [(c.row, c.column) for c in fails] == [("13b/16/none", "MMLU")]
    assert fails[0].delta == pytest.approx(-0.3)
    assert rep.exit_code == 1


def _line_of(path, needle):
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


def test_malformed_reference_names_file_and_line(recipes_copy, results):
    path = recipes_copy / "reference" / "table3.csv"
    path.write_text(path.read_text().replace("70b,4,GPTQ,62.2,48.3", "70b,4,GPTQ,62.2,4B.3"))
    with pytest.raises(FileFormatError) as e:
        report.run("table3", "published", results, recipes_copy)
    assert e.value.line == _line_of(path, "4B.3") and "table3.csv" in e.value.path
    assert "'4B.3', not a number" in str(e.value)


def test_reference_header_and_source_are_checked(recipes_copy, results):
    path = recipes_copy / "reference" / "figure2.csv"
    path.write_text(path.read_text().replace("Toxicity,Privacy", "Toxicity,Privacyy", 1))
    with pytest.raises(FileFormatError, match=r"figure2.csv:1: header"):
        report.run("fig2", "published", results, recipes_copy)
    path = recipes_copy / "reference" / "table4.csv"
    path.write_text(path.read_text().replace("arxiv-v3-table4", "my-memory", 1))
    with pytest.raises(FileFormatError, match=r"table4.csv:2: source 'my-memory'"):
        report.run("table4", "published", results, recipes_copy)


def test_local_source_without_results_is_not_run(tmp_path):
    rep = report.run("table3", "local", tmp_path)
    assert {c.verdict for c in rep.cells} == {"NOT-RUN"}
    assert {c.verdict for c in rep.claims} == {"NOT-RUN"}
    assert rep.exit_code == 0


def test_local_scores_are_diffed_with_per_dimension_tolerance(tmp_path):
    import json
    for i, score in enumerate((77.0, 79.0, 70.0)):  # mean 75.33 vs paper 76.2: within Ethics' 19.9
        d = tmp_path / "eval" / f"s{i}"
        d.mkdir(parents=True)
        (d / "score.json").write_text(json.dumps({"model": f"llama-2-13b-chat-gptq-4bit-s{i}",
                                                 "dimension": "ethics", "score": score, "config_hash": "c"}))
    rep = report.run("table3", "local", tmp_path)
    cell = next(c for c in rep.cells if (c.row, c.column) == ("13b/4/GPTQ", "Ethics"))
    assert cell.verdict == "PASS" and cell.tolerance == tolerances.load().local["ethics"]
    assert cell.reproduced == pytest.approx(75.3333, abs=1e-3)


def test_a_toxicity_cell_from_an_open_scorer_says_it_is_not_comparable(tmp_path):
    import json
    for dim, value, scorer in (("toxicity", 80.9, {"id": "profanity-alt-profanity-check-1.9.1",
                                                     "comparable_to_paper": False}),
                               ("privacy", 95.7, None)):
        folder = tmp_path / "eval" / "llama-2-13b-chat" / dim
        folder.mkdir(parents=True)
        (folder / "score.json").write_text(json.dumps({
            "model": "llama-2-13b-chat", "dimension": dim, "score": value, "revision": "r", "config_hash": "c",
            "toxicity_scorer": scorer, "ci95": [value - 1, value + 1], "items": 10,
            "interval": {"replicates": [value - 1, value, value + 1] * 10}}))
    rep = report.run("table3", "local", tmp_path)
    cells = {(c.row, c.column): c for c in rep.cells}
    tox = next(c for (row, col), c in cells.items() if col == "Toxicity" and "16" in row and "13b" in row)
    priv = next(c for (row, col), c in cells.items() if col == "Privacy" and "16" in row and "13b" in row)
    assert tox.verdict == "PASS" and "not the Perspective API: not comparable to the paper" in tox.why
    assert priv.verdict == "PASS" and priv.why == ""


def test_verdict_rule_uses_the_interval_on_constructed_cells():
    """reproduce/tolerances.toml's rule: d = how far the reference lies outside the cell's 95% interval."""
    from artifact.evaluate import interval, mmlu
    from artifact.report.diff import cell_verdict

    def cell(correct):
        rows = [{"subject": "anatomy", "label": "A", "prediction": None, "correct": c, "refused": False}
                for c in correct]
        return mmlu.aggregate(rows, partial=True).score, interval.bootstrap(mmlu, rows)["ci95"]

    big, big_ci = cell([i % 10 < 6 for i in range(1000)])  # 60.0, about [57, 63]
    assert cell_verdict(61.0, big, 1.0, 2.0, "", big_ci)[0] == "PASS"
    assert cell_verdict(70.0, big, 1.0, 2.0, "", big_ci)[0] == "FAIL"  # thousands of items cannot PASS on luck
    two, two_ci = cell([True, False])  # 50.0 on [0, 100]: two items cannot FAIL on noise
    assert two_ci == [0.0, 100.0] and cell_verdict(100.0, two, 1.0, 2.0, "", two_ci)[0] == "PASS"
    one, one_ci = cell([True])  # 100.0 on [100, 100]: no spread to see, so only the tolerance and band remain
    assert one_ci == [100.0, 100.0]
    assert [cell_verdict(r, one, 1.0, 2.0, "", one_ci)[0] for r in (99.0, 98.5, 97.0)] == ["PASS", "WARN", "FAIL"]
    hi = big_ci[1]  # a reference exactly on the edge of interval + tolerance passes; a hair beyond does not
    assert cell_verdict(hi + 1.0, big, 1.0, 2.0, "", big_ci)[0] == "PASS"
    assert cell_verdict(hi + 1.001, big, 1.0, 2.0, "", big_ci)[0] == "WARN"
    assert cell_verdict(hi + 2.001, big, 1.0, 2.0, "", big_ci)[0] == "FAIL"
    # a percentile interval may miss its own value (a score at the edge of its scale): the value counts as inside
    assert cell_verdict(100.0, 100.0, 0.5, 0.0, "", (96.0, 99.0))[0] == "PASS"


def test_local_cells_show_value_interval_and_items_in_every_format(tmp_path):
    import csv
    import io
    import json
    reps = {s: [s - 3 + 6 * (i % 11) / 10 for i in range(100)] for s in (70.0, 74.0, 72.0, 60.0)}
    for i, s in enumerate((70.0, 74.0, 72.0)):  # the three seeds of 13b GPTQ, then the dense model
        d = tmp_path / "eval" / f"s{i}"
        d.mkdir(parents=True)
        (d / "score.json").write_text(json.dumps({"model": f"llama-2-13b-chat-gptq-4bit-s{i}", "dimension": "ethics",
                                                 "score": s, "config_hash": "c", "ci95": [s - 3, s + 3],
                                                 "items": 400, "interval": {"replicates": reps[s]}}))
    rep = report.run("table3", "local", tmp_path)
    cell = rep.result.cells[("13b/4/GPTQ", "Ethics")]
    assert cell.value == pytest.approx(72.0) and cell.items == 1200
    assert cell.ci95 == pytest.approx((69.0, 75.0), abs=0.01)  # the replicate-wise mean of the three seeds
    assert "72.0 ± 3.0 (1200)" in rep.summary() and "95% bootstrap interval" in rep.summary()
    row = next(r for r in csv.DictReader(io.StringIO(render.table_csv(rep.result))) if r["Method"] == "GPTQ" and
               r["Size"] == "13b")
    assert float(row["Ethics ±95%"]) == pytest.approx(3.0, abs=0.01) and row["Ethics items"] == "1200"
    data = rep.to_json()
    json_cell = next(c for c in data["cells"] if (c["row"], c["column"]) == ("13b/4/GPTQ", "Ethics"))
    assert json_cell["ci95"] == pytest.approx([69.0, 75.0], abs=0.01) and "replicates" not in json_cell
    d = next(c for c in data["diff"] if (c["row"], c["column"]) == ("13b/4/GPTQ", "Ethics"))
    assert d["ci95"] == pytest.approx([69.0, 75.0], abs=0.01) and d["items"] == 1200


def test_a_score_from_before_intervals_is_marked_not_crashed(tmp_path):
    import json
    d = tmp_path / "eval" / "old"
    d.mkdir(parents=True)
    (d / "score.json").write_text(json.dumps({"model": "llama-2-13b-chat", "dimension": "ethics", "score": 60.0,
                                             "config_hash": "c"}))
    rep = report.run("table3", "local", tmp_path)
    cell = next(c for c in rep.cells if (c.row, c.column) == ("13b/16/none", "Ethics"))
    assert cell.ci95 is None and "no interval" in cell.why and "make rescore" in cell.why


def test_a_limit_on_the_full_data_counts_with_its_interval_but_a_subset_run_does_not(tmp_path):
    import json
    base = {"dimension": "ethics", "score": 64.0, "config_hash": "c", "partial": True, "missing": [],
            "ci95": [58.0, 70.0], "items": 600, "interval": {"replicates": [58.0 + 12 * i / 99 for i in range(100)]}}
    for name, model, extra in (
            ("sampled", "llama-2-13b-chat", {"limit": {"per_task": 50}, "data": {"kind": "hub"}}),
            ("subset", "llama-2-7b-chat", {"limit": {"per_task": 50}, "data": {"kind": "subset"}}),
            ("capped", "llama-2-70b-chat", {"limit": None, "data": {"kind": "hub"}, "missing": ["SAMPLES=1"]})):
        d = tmp_path / "eval" / name
        d.mkdir(parents=True)
        (d / "score.json").write_text(json.dumps({**base, "model": model, **extra}))
    rep = report.run("table3", "local", tmp_path)
    cells = {(c.row, c.column): c for c in rep.cells}
    sampled = cells[("13b/16/none", "Ethics")]
    assert sampled.reproduced == 64.0 and sampled.ci95 == pytest.approx((58.3, 69.7), abs=0.1)
    assert "seeded sample of 50 items per task" in sampled.why
    assert cells[("7b/16/none", "Ethics")].verdict == "NOT-RUN"
    assert cells[("70b/16/none", "Ethics")].verdict == "NOT-RUN"


def test_local_table_dry_run_prices_each_perspective_at_the_limit(tmp_path):
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-m", "artifact", "table", "table3", "--source", "local", "--dry-run",
                        "--limit", "100"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                       env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ARTIFACT_RESULTS": str(tmp_path / "r")})
    assert r.returncode == 0, r.stderr
    line = next(x for x in r.stdout.splitlines() if x.startswith("| ethics"))
    cols = [c.strip() for c in line.strip("|").split("|")]
    assert cols[1] == "100" and cols[2] == "1200" and 3.0 < float(cols[3]) < 5.0 and cols[5] == "8"
    assert "GPU-hours in all" in r.stdout and "±95%" in r.stdout and not (tmp_path / "r").exists()
    bad = subprocess.run([sys.executable, "-m", "artifact", "table", "table3", "--source", "local", "--dry-run",
                          "--limit", "0"], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ARTIFACT_RESULTS": str(tmp_path / "r")})
    assert bad.returncode == 2 and "LIMIT=0 asks for no items" in bad.stderr and "Traceback" not in bad.stderr
