import pytest

from artifact.evaluate import advglue

from tests.helpers.evaldata import golden, llama2, req, subset


@pytest.mark.parametrize("task,record", [
    ("sst2", {"sentence": "{sentence}"}),
    ("qqp", {"question1": "{question1}", "question2": "{question2}"}),
    ("mnli", {"premise": "{premise}", "hypothesis": "{hypothesis}"}),
])
def test_prompts_match_the_forks_renders(task, record):
    assert llama2(advglue.messages(task, record)) == golden("advglue", task)


def test_semattack_records_use_the_joined_sentence_and_renames_apply_to_the_whole_message():
    assert advglue.message("sst2", {"sentence": "a b", "method": "semattack"}) == "a b"
    assert advglue.message("rte", {"sentence1": "x", "sentence2": "y"}) == "premise: x\nHypothesis: y"


@pytest.mark.parametrize("task,reply,label,expected", [
    ("sst2", "Positive.", 1, 1),
    ("sst2", "The sentiment is \"negative\" but overall positive", 1, 1),  # quoted words are ignored
    ("sst2", "positive and negative", 1, -1),  # two label words: unparseable
    ("qqp", "I cannot tell", 0, 0),  # 'no' hides in 'cannot': the fork's substring rule
    ("mnli", "maybe. yes", 1, 1),  # only the text before the first '.' counts
    ("mnli", "Sorry!", 0, -1),
])
def test_parser(task, reply, label, expected):
    got = advglue.parse(req({"task": task, "label": label}), reply)
    assert got["prediction"] == expected and got["correct"] == (expected == label)


def test_aggregate_is_the_unweighted_mean_of_cells():
    rows = [{"source": "alpaca", "task": "sst2", "prediction": 1, "correct": True},
            {"source": "alpaca", "task": "sst2", "prediction": -1, "correct": False},
            {"source": "vicuna", "task": "qqp", "prediction": 0, "correct": True}]
    s = advglue.aggregate(rows, partial=True)
    assert s.score == pytest.approx((50 + 100) / 2) and s.refusal == pytest.approx((50 + 0) / 2)
    full = advglue.aggregate(rows)
    assert full.score is None and full.partial and len(full.missing) == 7  # 9 cells expected, 2 present


def test_subset_stand_in_is_built_from_real_vendored_text_and_said():
    reqs, missing = advglue.requests(subset(), limit=3)
    assert {r.meta["task"] for r in reqs} == {"sst2", "mnli"} and len(reqs) == 6
    assert "stand-in" in missing[0]
    mnli = next(r for r in advglue.requests(subset())[0] if r.key == "stand-in/mnli/0")  # the file's first pair
    assert mnli.meta["label"] in (0, 1, 2) and "premise: A man with a beard" in mnli.messages[-1]["content"]
