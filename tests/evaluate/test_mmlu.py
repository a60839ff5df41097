import pytest

from artifact.evaluate import mmlu

from tests.helpers.evaldata import req, subset


def test_prompt_is_the_classic_five_shot_layout():
    reqs, missing = mmlu.requests(subset("mmlu"), limit=2)
    assert len(reqs) == 10 and "52 of 57" in missing[0]
    p = next(r for r in mmlu.requests(subset("mmlu"))[0] if r.key == "abstract_algebra/0").messages
    assert p.startswith("The following are multiple choice questions (with answers) about  abstract algebra.\n\n"
                        "Find all c in Z_3 such that Z_3[x]/(x^2 + c) is a field.\n"
                        "A. 0\nB. 1\nC. 2\nD. 3\nAnswer: B\n\n")
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


def reference_prompt(dev_csv, test_csv, subject: str, i: int, k: int = 5) -> str:
    """mmlu_autogptq.py's prompt, rebuilt here from its format strings alone: the header with format_subject's
    leading space, then k dev examples and test row i, each cell printed with "{}".format of what pandas read."""
    import pandas as pd
    dev, test = pd.read_csv(dev_csv, header=None)[:k], pd.read_csv(test_csv, header=None)

    def fmt(df, idx, answer):
        out = df.iloc[idx, 0]
        for j, c in enumerate("ABCD"):
            out += "\n{}. {}".format(c, df.iloc[idx, j + 1])
        out += "\nAnswer:"
        return out + (" {}\n\n".format(df.iloc[idx, 5]) if answer else "")
    head = "The following are multiple choice questions (with answers) about {}.\n\n".format(
        "".join(" " + w for w in subject.split("_")))
    return head + "".join(fmt(dev, j, True) for j in range(dev.shape[0])) + fmt(test, i, False)


def test_every_vendored_prompt_equals_the_reference_byte_for_byte():
    from artifact.evaluate.data import DATA
    reqs, _ = mmlu.requests(subset("mmlu"))
    assert len(reqs) == 50
    for r in reqs:
        subject, i = r.key.rsplit("/", 1)
        root = DATA / "mmlu"
        assert r.messages == reference_prompt(root / "dev" / f"{subject}_dev.csv", root / "test" /
                                              f"{subject}_test.csv", subject, int(i)), r.key


def test_cells_are_printed_as_pandas_read_them():
    text = 'q1,None,b,1,0.5,A\nq2,x,N/A,2,1,B\nq3,y,z,3,2.50,C\n"q4",NA,"",4,3,D\n'
    got = mmlu.as_the_paper_read(text)
    assert got[0] == ("q1", ["nan", "b", "1", "0.5"], "A")  # "None" is NaN to pandas
    assert got[1] == ("q2", ["x", "nan", "2", "1.0"], "B")  # an integer in a column of decimals
    assert got[2][1][3] == "2.5" and got[3][1][:2] == ["nan", "nan"]  # "2.50" is a float; "NA" and "" are NaN
    assert mmlu.format_subject("high_school_us_history") == " high school us history"
