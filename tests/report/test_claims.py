from artifact.report import claims
from artifact.report.build import Cell, TableResult
from artifact.report.recipes import Claim, Recipe

COLS = ("A", "B", "C", "D")


def table(rows: dict[str, tuple]) -> TableResult:
    recipe = Recipe(name="t", path=None, title="t", paper="", kind="scores", labels=("row",), columns=COLS, rows=())
    cells = {(k, c): Cell(k, c, v) for k, vals in rows.items() for c, v in zip(COLS, vals, strict=True)}
    return TableResult(recipe, "published", [(k, (k,)) for k in rows], cells)


T = table({"dense": (60.0, 80.0, 50.0, 90.0),
           "q4": (57.1, 85.0, 45.0, 90.0),      # changes -2.9, +5, -5, 0
           "q3": (40.0, 81.0, 20.0, 88.0),      # changes -20, +1, -30, -2
           "rel": (-6.0, 5.1, -5.01, -7.0)})    # a relative row: the values are the changes


def claim(kind, pairs, **kw):
    return Claim("c", "text", kind, tuple(tuple(p) for p in pairs), kw.pop("columns", COLS), **kw)


def test_max_drop():
    assert claims.check(claim("max_drop", [["q4", "dense"]], threshold=5.0), T).verdict == "PASS"
    r = claims.check(claim("max_drop", [["q4", "dense"]], threshold=4.9), T)
    assert r.verdict == "FAIL" and "largest drop 5.0 (C)" in r.detail


def test_drops_over_and_gains_over():
    # q3 drops 20 (A) and 30 (C): two dimensions drop by more than 5, none by more than 30
    assert claims.check(claim("drops_over", [["q3", "dense"]], threshold=5.0, at_least=2), T).verdict == "PASS"
    assert claims.check(claim("drops_over", [["q3", "dense"]], threshold=5.0, at_least=3), T).verdict == "FAIL"
    assert claims.check(claim("drops_over", [["q3", "dense"]], threshold=30.0), T).verdict == "FAIL"
    # a relative row; -5.01 rounds to -5.0, which is not more than 5
    r = claims.check(claim("drops_over", [["rel"]], threshold=5.0, at_least=2), T)
    assert r.verdict == "PASS" and "2 of 4" in r.detail
    assert claims.check(claim("gains_over", [["rel"]], threshold=5.0), T).verdict == "PASS"
    assert claims.check(claim("gains_over", [["q4", "dense"]], threshold=5.0), T).verdict == "FAIL"


def test_lowest_mean_change():
    # mean change: q3 (-20+1-30-2)/4 = -12.75, q4 (-2.9+5-5+0)/4 = -0.725
    r = claims.check(claim("lowest_mean_change", [["q3", "dense"], ["q4", "dense"]]), T)
    assert r.verdict == "PASS" and "-12.75" in r.detail and "-0.72" in r.detail
    assert claims.check(claim("lowest_mean_change", [["q4", "dense"], ["q3", "dense"]]), T).verdict == "FAIL"


def test_change_near():
    assert claims.check(claim("change_near", [["q3", "dense"]], columns=("C",), expected=-30, threshold=0.05),
                        T).verdict == "PASS"
    assert claims.check(claim("change_near", [["q3", "dense"]], columns=("A",), expected=-18, threshold=1.9),
                        T).verdict == "FAIL"


def test_known_failure_is_warn_and_missing_cell_is_not_run():
    r = claims.check(claim("max_drop", [["q3", "dense"]], threshold=5.0, known="the paper says so"), T)
    assert (r.verdict, r.known) == ("WARN", "the paper says so")
    gap = table({"dense": (60.0, 80.0, 50.0, 90.0), "q4": (57.1, None, 45.0, 90.0)})
    assert claims.check(claim("max_drop", [["q4", "dense"]], threshold=5.0), gap).verdict == "NOT-RUN"


def test_paper_claims_on_the_replay(tmp_path):
    from artifact import report
    got = {c.id: c.verdict for name in ("table3", "fig2", "fig3")
           for c in report.run(name, "published", tmp_path).claims}
    assert got == {"4bit-keeps-trust-13b": "PASS", "7b-loses-most": "PASS", "7b-ood-ethics-fairness": "PASS",
                   "7b-mmlu-small-drop": "PASS", "pruning-2to4-loses-chat": "PASS",
                   "pruning-2to4-loses-base": "WARN", "8bit-keeps-everything": "PASS",
                   "7b-fairness-better": "PASS", "4bit-keeps-trust": "PASS", "3bit-gptq-collapses": "PASS",
                   "3bit-gptq-ood-30": "PASS", "3bit-gptq-toxicity-50": "PASS", "3bit-mmlu-awq-3": "PASS",
                   "3bit-mmlu-gptq-8": "PASS", "3bit-awq-fairness-10": "PASS", "text-ethics-dense": "WARN"}


def with_replicates(rows: dict[str, tuple], noise: float) -> TableResult:
    """Cells with 400 bootstrap replicates each: the value plus seeded normal noise of this standard deviation."""
    import random
    t = table(rows)
    for (k, c), cell in t.cells.items():
        rng = random.Random(f"{k}/{c}")
        cell.replicates = tuple(cell.value + rng.gauss(0, noise) for _ in range(400))
    return t


def test_closer_claim_uses_the_paired_bootstrap():
    rows = {"dense": (60.0, 80.0, 50.0, 90.0), "q4": (58.0, 81.0, 49.0, 90.0), "prune": (40.0, 70.0, 30.0, 85.0)}
    c = claim("closer", [["q4", "dense"], ["prune", "dense"]], finding=True)
    assert claims.check(c, table(rows)).verdict == "PASS"  # no replicates: the point estimates decide
    r = claims.check(c, with_replicates(rows, 0.5))
    assert r.verdict == "PASS" and "95% interval" in r.detail and r.finding
    r = claims.check(c, with_replicates(rows, 20.0))  # the same values on far fewer items
    assert r.verdict == "NOT-SIGNIFICANT" and "not significant at this size" in r.detail
    backwards = claim("closer", [["prune", "dense"], ["q4", "dense"]])
    assert claims.check(backwards, with_replicates(rows, 0.5)).verdict == "FAIL"


def test_a_finding_never_fails_the_run():
    from artifact.report.diff import exit_code
    fail = claims.ClaimResult("c", "t", "FAIL", "d")
    assert exit_code([], [fail]) == 1
    assert exit_code([], [claims.ClaimResult("c", "t", "FAIL", "d", finding=True)]) == 0


def test_changes_from_the_baseline_row_flag_those_beyond_their_interval():
    import dataclasses
    rows = {"dense": (60.0, 80.0, 50.0, 90.0), "prune": (40.0, 80.5, 30.0, 85.0)}
    t = with_replicates(rows, 2.0)
    t.recipe = dataclasses.replace(t.recipe, compare_to="dense")
    got = {c["column"]: c for c in claims.changes_from(t)}
    assert got["A"]["change"] == -20.0 and got["A"]["significant"] and got["A"]["ci95"][1] < 0
    assert got["B"]["change"] == 0.5 and not got["B"]["significant"]
    from artifact.report import render
    text = render.changes_table(claims.changes_from(t), "dense")
    assert "prune · A -20.0" in text and "prune · B" not in text.split("Changes larger")[1]
