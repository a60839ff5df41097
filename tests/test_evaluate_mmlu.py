import pytest

from artifact.evaluate import mmlu

from .evalhelp import req, subset


def test_prompt_is_the_classic_five_shot_layout():
    reqs, missing = mmlu.requests(subset("mmlu"), limit=2)
    assert len(reqs) == 10 and "52 of 57" in missing[0]
    p = next(r for r in mmlu.requests(subset("mmlu"))[0] if r.key == "abstract_algebra/0").messages
    assert p.startswith("The following are multiple choice questions (with answers) about abstract algebra.\n\n"
                        "Find all c in Z_3 such that Z_3[x]/(x^2 + c) is a field.\nA. 0\nB. 1\nC. 2\nD. 3\nAnswer: B\n\n")
    assert p.count("Answer:") == 6 and p.endswith("\nAnswer:")


def test_crlf_files_and_a_missing_final_newline_parse():
    dev = mmlu.rows(subset("mmlu"), "moral_scenarios", "dev")
    assert len(dev) == 5 and all(len(c) == 4 and a in "ABCD" for _, c, a in dev)


@pytest.mark.parametrize("reply,prediction", [(" B\n\nQuestion", "B"), ("c", "C"), ("The answer", None), ("", None)])
def test_first_letter_scoring(reply, prediction):
    got = mmlu.parse(req({"label": "B"}), reply)
    assert got["prediction"] == prediction and got["refused"] == (prediction is None)


def test_question_weighted_accuracy():
    rows = [{"subject": "a", "correct": True, "refused": False}] * 3 + \
           [{"subject": "b", "correct": False, "refused": True}]
    s = mmlu.aggregate(rows, partial=True)
    assert s.score == pytest.approx(75.0) and s.refusal == pytest.approx(25.0)  # not the subject mean (50)
    assert mmlu.aggregate(rows).score is None
