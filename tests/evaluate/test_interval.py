"""The bootstrap interval of a local score (artifact/evaluate/interval.py) and the stratified LIMIT sample
(artifact/evaluate/pick), on constructed rows scored by the perspectives' own aggregate()."""
import math

import pytest

from artifact.evaluate import fairness, interval, mmlu, ood, pick, privacy, stereotype, toxicity


def mmlu_rows(correct: list[bool], subjects=("anatomy",)) -> list[dict]:
    return [{"subject": subjects[i % len(subjects)], "label": "A", "prediction": "A" if c else "B", "correct": c,
             "refused": False, "key": f"k{i}"} for i, c in enumerate(correct)]


def test_a_thousand_items_give_the_binomial_width():
    rows = mmlu_rows([i % 10 < 6 for i in range(1000)], subjects=("anatomy", "virology"))  # 60% right
    ci = interval.bootstrap(mmlu, rows)
    half = (ci["ci95"][1] - ci["ci95"][0]) / 2
    assert ci["items"] == 1000 and ci["resamples"] == 1000 and len(ci["replicates"]) == 1000
    assert half == pytest.approx(1.96 * 100 * math.sqrt(0.6 * 0.4 / 1000), abs=0.4)  # ±3.0 points
    assert ci["ci95"][0] < 60 < ci["ci95"][1]
    assert interval.bootstrap(mmlu, rows) == ci  # fixed seed: the same interval every time


def test_one_item_has_no_spread_and_says_so():
    ci = interval.bootstrap(mmlu, mmlu_rows([True]))
    assert ci["ci95"] == [100.0, 100.0] and ci["strata"] == 1 and "no spread" in ci["why"]


def test_two_disagreeing_items_span_the_whole_scale():
    ci = interval.bootstrap(mmlu, mmlu_rows([True, False]))
    assert ci["ci95"] == [0.0, 100.0]


def test_no_items_is_no_interval_not_a_crash():
    ci = interval.bootstrap(mmlu, [])
    assert ci["ci95"] is None and ci["items"] == 0 and "no scored items" in ci["why"]
    with pytest.raises(ValueError):
        interval.bootstrap(mmlu, mmlu_rows([True]), resamples=0)


def test_lone_items_join_their_parent_stratum():
    rows = [{"part": "enron", "set": f"s{i}"} for i in range(4)] + [{"part": "pii", "set": "x"}] * 3
    groups = interval.strata(privacy, rows)
    assert groups == {("enron",): [0, 1, 2, 3], ("pii", "x"): [4, 5, 6]}
    assert interval.strata(privacy, [{"part": "understanding", "set": "a"}]) == {(): [0]}


def test_two_models_on_the_same_items_are_resampled_alike():
    a = mmlu_rows([i % 3 == 0 for i in range(90)], subjects=("anatomy", "virology", "astronomy"))
    b = mmlu_rows([i % 2 == 0 for i in range(90)], subjects=("anatomy", "virology", "astronomy"))
    ra, rb = interval.bootstrap(mmlu, a)["replicates"], interval.bootstrap(mmlu, b)["replicates"]
    same = interval.bootstrap(mmlu, a)["replicates"]
    # identical rows: every paired difference is 0; different rows: a real distribution of differences
    assert [x - y for x, y in zip(ra, same, strict=True)] == [0.0] * 1000
    assert len(set(x - y for x, y in zip(ra, rb, strict=True))) > 10


def test_fairness_interval_recomputes_dpd_and_eod():
    # group 1 is predicted positive far more often (0.8 vs 0.3): DPD 0.5, a score well inside the scale
    rows = [{"setting": "adult", "gt": i % 2, "sensitive": g, "prediction": int(i % 10 < (8 if g else 3)),
             "parsed": True, "key": f"{g}/{i}"} for g in (0, 1) for i in range(40)]
    score = fairness.aggregate(rows, partial=True).score
    ci = interval.bootstrap(fairness, rows)
    assert ci["ci95"][0] < score < ci["ci95"][1] and ci["ci95"][1] - ci["ci95"][0] > 5
    assert set(ci["subscores_ci95"]) == {"mean_dpd", "mean_eod", "fairness_score_dpd_only"}


def test_toxicity_interval_uses_the_expected_maximum():
    rows = [{"setting": f"toxic-template-{t}", "toxicity": [0.9 if i % 4 == 0 else 0.1], "refused": [False],
             "texts": ["x"]} for t in (0, 1) for i in range(40)]
    ci = interval.bootstrap(toxicity, rows)
    assert toxicity.aggregate(rows, partial=True).score == pytest.approx(70.0)  # 100 (1 - mean EMT 0.3)
    assert ci["ci95"][0] < 70 < ci["ci95"][1] and {"emt/toxic-template-0", "emt/toxic-template-1"} <= set(
        ci["subscores_ci95"])


def test_stereotype_interval_goes_through_the_rounded_agreement_index():
    rows = [{"type": t, "topic": f"topic{k}", "group": f"g{j}", "classes": ["AGREE" if (j + k) % 3 == 0 else
                                                                           "DISAGREE"]}
            for t in stereotype.TYPES for k in range(4) for j in range(6)]
    ci = interval.bootstrap(stereotype, rows)
    assert ci["ci95"][0] <= stereotype.aggregate(rows, partial=True).score <= ci["ci95"][1]
    assert ci["ci95"][1] > ci["ci95"][0]


def test_expected_width_from_the_variance_bound():
    metas = [{"subject": s} for s in ("anatomy", "virology") for _ in range(50)]
    assert interval.expected(mmlu, metas) == pytest.approx(1.959964 * 50 / 10)  # pooled: sd 50 over 100 items
    # OOD: mean of groups, then of tasks: two groups of one task each, 25 items: sqrt(2 x 0.25 x 2500 / 25)
    metas = [{"group": g, "task": "t"} for g in ("style", "knowledge") for _ in range(25)]
    assert interval.expected(ood, metas) == pytest.approx(1.959964 * math.sqrt(2 * 0.25 * 2500 / 25))
    # privacy's fixed part weights 0.4 / 0.3 (renormalised over the parts present)
    w = interval.weights(privacy, [("enron", "a"), ("enron", "b"), ("pii", "x")])
    assert w == pytest.approx({("enron", "a"): 0.4 / 0.7 / 2, ("enron", "b"): 0.4 / 0.7 / 2, ("pii", "x"): 0.3 / 0.7})
    assert interval.expected(mmlu, []) is None


def test_limit_is_a_seeded_stratified_sample_with_stable_keys():
    items = list(range(100))
    five, ten = pick(items, 5, "task-a"), pick(items, 10, "task-a")
    assert len(five) == 5 and all(i == v for i, v in five) and [i for i, _ in five] == sorted(i for i, _ in five)
    assert set(five) <= set(ten)  # a larger LIMIT keeps the smaller one's items
    assert pick(items, 5, "task-a") == five and pick(items, 5, "task-b") != five  # seeded per task
    assert [i for i, _ in five] != [0, 1, 2, 3, 4]  # not the first n
    assert pick(items, None, "t") == pick(items, 500, "t") == list(enumerate(items))


@pytest.mark.parametrize("perspective", ["advglue", "ood", "adv_demo", "ethics", "fairness", "toxicity", "privacy",
                                         "stereotype", "mmlu"])
def test_a_limited_run_asks_items_of_the_full_run_unchanged(perspective, make_settings):
    """LIMIT picks items; it never changes what an item is asked (ethics' 32-shot demos and privacy's PII values
    are drawn as in the full run) or its key."""
    from artifact.evaluate.run import build
    from artifact.base.settings import CHECKSUMS
    settings = make_settings(ARTIFACT_CHECKSUMS=str(CHECKSUMS))
    full = {r.key: r for r in build(perspective, "subset", settings, None).requests}
    some = build(perspective, "subset", settings, 2).requests
    assert some and len(some) < len(full)
    for r in some:
        assert r.key in full and r.messages == full[r.key].messages and r.meta == full[r.key].meta, r.key
