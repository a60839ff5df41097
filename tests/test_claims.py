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
