import pytest

from artifact.base.errors import FileFormatError
from artifact.report import sources, tolerances


def test_local_trust_tolerances_equal_their_derivation():
    tol = tolerances.load()
    derived = tolerances.derive_local(tol, sources.published())
    assert set(derived) == {"advglue", "ood", "adv_demo", "ethics", "fairness", "toxicity", "privacy", "stereotype"}
    for key, d in derived.items():
        assert d["groups"] == 4
        assert d["tolerance"] == tol.local[key], key


def test_derivation_by_hand_for_one_dimension():
    # Ethics (2-decimal website values): GPTQ-3bit 60.63 53.75 41.27, GPTQ-4bit 77.13 80.04 71.33,
    # AWQ-3bit 57.10 61.73 59.19, SparseGPT-2:4 43.73 33.05 65.62
    groups = [(60.63, 53.75, 41.27), (77.13, 80.04, 71.33), (57.10, 61.73, 59.19), (43.73, 33.05, 65.62)]
    def var(g):
        m = sum(g) / 3
        return sum((x - m) ** 2 for x in g) / 2
    pooled = (sum(var(g) for g in groups) / 4) ** 0.5
    assert round(2 * pooled, 1) == tolerances.load().local["ethics"] == 19.9


def test_cell_tolerance_by_source():
    tol = tolerances.load()
    assert tol.for_cell("published", "absolute", "Ethics") == (0.05, 0.0)
    assert tol.for_cell("published", "relative", "OOD") == (0.1, 0.0)
    assert tol.for_cell("local", "absolute", "Ethics") == (19.9, 39.8)
    assert tol.for_cell("local", "two_decimals", "3", metric="MT-Bench") == (0.3, 0.6)
    assert tol.for_cell("local", "relative", "Avg") == (5.0, 10.0)


def test_incomplete_tolerance_file_is_refused(tmp_path):
    bad = tmp_path / "tolerances.toml"
    text = tolerances.PATH.read_text().replace("mmlu = 1.0", "")
    bad.write_text(text)
    with pytest.raises(FileFormatError, match="lacks mmlu"):
        tolerances.load(bad)
