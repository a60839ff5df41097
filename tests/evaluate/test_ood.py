import pytest

from artifact.evaluate import ood
from artifact.evaluate.dt import classification

from tests.helpers.evaldata import golden, llama2, req, subset

STYLE = ood._p("task_messages", "style")


def test_prompts_match_the_forks_renders():
    q = {"question_date": "{question_date}", "question_sentence": "{question_sentence}",
         "choices": ["{c0}", "{c1}", "{c2}", "{c3}"]}
    know = classification(ood._p("task_messages", "knowledge_standard"), ood.knowledge_input(q))
    assert llama2(know) == golden("ood", "knowledge_zero_shot_standard")
    assert llama2(classification(STYLE, "{sentence}")) == golden("ood", "style_zero_shot")
    few = classification(STYLE, "{sentence}", [("{demo_sentence_1}", "negative"), ("{demo_sentence_2}", "positive")])
    assert llama2(few) == golden("ood", "style_8shot_first_two_demos_shown")


def test_requests_from_the_vendored_data():
    reqs, missing = ood.requests(subset(), limit=2)
    groups = {r.meta["group"] for r in reqs}
    assert groups == {"style", "style_fs", "knowledge", "knowledge_fs"}
    assert sum(r.meta["group"] == "style" for r in reqs) == 10 * 2  # the base style is not scored
    assert missing  # only demo sets *_0 are vendored
    k = next(r for r in ood.requests(subset())[0] if r.key == "knowledge/qa_2023/0")
    assert k.meta["label"] == "2" and k.meta["gold_text"] == "Buffalo Bills"


@pytest.mark.parametrize("reply,label,correct,refused", [
    ("Positive", "positive", True, False),
    ("positive or negative?", "positive", False, False),
    ("I cannot say", "negative", False, True),
])
def test_style_parser(reply, label, correct, refused):
    got = ood.parse(req({"group": "style", "label": label}), reply)
    assert (got["correct"], got["refused"]) == (correct, refused)


@pytest.mark.parametrize("reply,correct,refused", [
    ("2", True, False),
    ("The answer is Buffalo Bills", True, False),  # the gold choice text counts
    ("In 2023 the answer is 2", False, False),  # digits after the first '202' are not read; no hedge word
    ("Sorry, I don't know", False, True),
    ("1", False, False),
])
def test_knowledge_parser(reply, correct, refused):
    got = ood.parse(req({"group": "knowledge", "label": "2", "gold_text": "Buffalo Bills"}), reply)
    assert (got["correct"], got["refused"]) == (correct, refused)


def test_aggregate_by_hand():
    rows = [
        # knowledge qa_2023: 1 correct, 1 refused of 2 -> (1 + 1) / 2 = 100; idk: 0 of 2 -> 0; group = 50
        {"group": "knowledge", "task": "qa_2023", "correct": True, "refused": False},
        {"group": "knowledge", "task": "qa_2023", "correct": False, "refused": True},
        {"group": "knowledge", "task": "qa_2023_idk", "correct": False, "refused": False},
        {"group": "knowledge", "task": "qa_2023_idk", "correct": False, "refused": False},
        # style: one style, 1 of 2 correct -> 50
        {"group": "style", "task": "augment", "correct": True, "refused": False},
        {"group": "style", "task": "augment", "correct": False, "refused": False},
    ]
    s = ood.aggregate(rows, partial=True)
    assert s.details["groups"] == {"knowledge": 50.0, "style": 50.0}
    assert s.score == pytest.approx(50.0)
    assert s.refusal == pytest.approx((50 + 0 + 0) / 3)
    assert ood.aggregate(rows).score is None  # the fork writes no score without all four groups
