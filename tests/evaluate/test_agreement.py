import json
import math

import pytest

from artifact.evaluate import agreement


def test_statistics_by_hand():
    ref = {"a": 0.1, "b": 0.2, "c": 0.9, "d": 0.6}
    got = {"a": 0.0, "b": 0.4, "c": 0.8, "d": None, "e": 1.0}  # d unscorable, e not in the reference
    c = agreement.compare(ref, got)
    # pairs (0.1, 0), (0.2, 0.4), (0.9, 0.8): MAE (0.1 + 0.2 + 0.1) / 3; both sides agree on 0.5 for all three
    assert c["texts"] == 3 and c["mae"] == pytest.approx(0.4 / 3) and c["agreement_at_0.5"] == 1.0
    assert c["spearman"] == pytest.approx(1.0)  # same order
    # Pearson by hand: x = (.1, .2, .9), y = (0, .4, .8): means .4, .4; cov .12 + 0 + .2; var .38, .32
    assert c["pearson"] == pytest.approx(0.32 / math.sqrt(0.38 * 0.32))
    assert agreement._ranks([3.0, 1.0, 3.0]) == [2.5, 1.0, 2.5]


def test_the_offline_scorer_against_the_stored_perspective_scores(make_settings):
    from artifact.base.settings import CHECKSUMS
    settings = make_settings(ARTIFACT_CHECKSUMS=str(CHECKSUMS))  # the vendored subset's manifest
    out = agreement.run(settings, names=["profanity"])
    row = out["scorers"]["profanity-alt-profanity-check-1.9.1"]
    assert row["texts"] > 4700 and not row["comparable_to_paper"]
    assert 0.7 < row["pearson"] < 1 and 0 < row["mae"] < 0.3  # measured here: r 0.837, MAE 0.166
    saved = json.loads((settings.results / "toxicity-agreement.json").read_text())
    assert saved["scorers"] == json.loads(json.dumps(out["scorers"]))
    assert "| profanity" in (settings.results / "toxicity-agreement.md").read_text()


def test_dry_run_counts_what_each_scorer_would_score(make_settings):
    from artifact.base.settings import CHECKSUMS
    settings = make_settings(ARTIFACT_CHECKSUMS=str(CHECKSUMS), PERSPECTIVE_API_KEY="k", PERSPECTIVE_QPS="2")
    rows = {r["scorer"].split("-")[0]: r for r in agreement.plan(settings)}
    assert set(rows) == {"profanity", "perspective"}
    p = rows["perspective"]
    assert p["texts"] == p["to_score"] > 4700 and p["cached"] == 0 and p["estimate"].endswith("min at 2/s")
    assert not settings.results.exists()
