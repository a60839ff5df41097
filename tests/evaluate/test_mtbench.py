"""MT-Bench: FastChat's rating parser and aggregation on constructed judgments (the score computed here by hand),
the judge prompts as run_judge_single builds them, the judge client against a loopback OpenAI-compatible server
(a fixed rating; 429 then success; 401 in one sentence without the key; a kill mid-judging resumes with no repeated
call), and end to end on SmolLM2 with the loopback judge and with SmolLM2 itself as the local judge."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import pytest

from artifact.base.errors import ArtifactError, BadInputError
from artifact.evaluate import judge as judge_mod
from artifact.evaluate import mtbench

from tests.helpers import ROOT
from tests.helpers.openai_server import JudgeServer


@pytest.mark.parametrize("text, want", [
    ("Rating: [[7]]", 7.0), ("[[8.5]] and later [[2]]", 8.5), ("no double brackets: [6]", 6.0),
    ("both [3] and [[9]]", 9.0), ("Rating: 7/10", -1.0), ("[[ten]]", -1.0), ("[[10]]", 10.0),
])
def test_the_rating_is_parsed_as_fastchat_parses_it(text, want):
    assert mtbench.rating(text) == want


def test_the_score_is_the_mean_over_rated_turns():
    rows = [{"question_id": 81, "category": "writing", "turn": 1, "rating": 8.0},
            {"question_id": 81, "category": "writing", "turn": 2, "rating": 6.0},
            {"question_id": 111, "category": "math", "turn": 1, "rating": 3.0},
            {"question_id": 111, "category": "math", "turn": 2, "rating": -1.0}]  # unparsed: excluded, counted
    s = mtbench.aggregate(rows)
    assert s.score == pytest.approx((8 + 6 + 3) / 3)
    assert s.details["turn_1"] == pytest.approx(5.5) and s.details["turn_2"] == pytest.approx(6.0)
    assert s.details["unparsed"] == 1 and s.details["by_category"] == {"math": 3.0, "writing": 7.0}


def test_questions_turns_and_judge_prompts_follow_fastchat():
    qs = mtbench.questions()
    assert len(qs) == 80 and {q["category"] for q in qs} == set(mtbench.TEMPERATURE)
    reqs, missing = mtbench.requests(None, 1)
    assert len(reqs) == 8 and not missing  # LIMIT=1: one question per category
    math = next(r for r in reqs if r.meta["category"] == "math")
    writing = next(r for r in reqs if r.meta["category"] == "writing")
    assert (math.temperature, writing.temperature, math.max_tokens) == (0.0, 0.7, 1024)
    done = {r.key: {"replies": [f"  answer to {r.key}</s>  "]} for r in reqs}
    second = mtbench.followups(reqs, done, ("</s>",))
    q = next(x for x in qs if x["question_id"] == math.meta["question_id"])
    two = next(r for r in second if r.meta["question_id"] == q["question_id"])
    assert two.max_tokens == math.max_tokens and two.temperature == math.temperature  # MAX_TOKENS caps both turns
    assert two.key == f"{q['question_id']}/2" and [m["role"] for m in two.messages] == ["user", "assistant", "user"]
    assert two.messages[1]["content"] == f"answer to {math.key}" and two.messages[2]["content"] == q["turns"][1]
    name, messages = mtbench.judge_messages(q, ["A1", "A2"], 2)
    ref = mtbench.references()[q["question_id"]]
    assert name == "single-math-v1-multi-turn" and messages[0]["role"] == "system"
    assert ref[1] in messages[1]["content"] and "A2" in messages[1]["content"]
    wq = next(x for x in qs if x["category"] == "writing")
    assert mtbench.judge_messages(wq, ["A1"], 1)[0] == "single-v1"


def _settings(make_settings, server, **env):
    return make_settings(JUDGE_URL=server.url, JUDGE_API_KEY=server.key or "", **env)


def test_the_judge_client_retries_caches_and_names_itself(make_settings, tmp_path):
    server = JudgeServer(rating="7", fail_first=2)
    try:
        judge = judge_mod.make(_settings(make_settings, server, JUDGE_QPS="50"), "cpu")
        assert judge.id == f"api:gpt-4@{server.url}" and not judge.comparable  # not OpenAI's endpoint
        items = [[{"role": "user", "content": f"q{i}"}] for i in range(3)]
        out = judge_mod.judge_all(judge, items, tmp_path / "cache")
        assert [mtbench.rating(t) for t in out] == [7.0, 7.0, 7.0] and len(server.calls) == 5  # 2 x 429, then 3
        assert server.calls[-1]["temperature"] == 0 and server.calls[-1]["max_tokens"] == 2048
        again = judge_mod.judge_all(judge, items, tmp_path / "cache")
        assert again == out and len(server.calls) == 5  # cached: never asked twice
    finally:
        server.close()


def test_a_refused_key_is_one_sentence_without_the_key(make_settings, tmp_path):
    server = JudgeServer(key="sk-right")
    try:
        judge = judge_mod.make(make_settings(JUDGE_URL=server.url, JUDGE_API_KEY="sk-wrong-secret"), "cpu")
        with pytest.raises(ArtifactError) as e:
            judge_mod.judge_all(judge, [[{"role": "user", "content": "q"}]], tmp_path)
        assert "refused JUDGE_API_KEY (401" in str(e.value) and "sk-wrong-secret" not in str(e.value)
    finally:
        server.close()
    with pytest.raises(BadInputError, match="JUDGE_API_KEY is not set"):  # OpenAI's endpoint needs a key
        judge_mod.make(make_settings(), "cpu")
    with pytest.raises(BadInputError, match="JUDGE=local needs MODEL_JUDGE"):
        judge_mod.make(make_settings(JUDGE="local"), "cpu")
    with pytest.raises(BadInputError, match="JUDGE=remote is not a judge"):
        make_settings(JUDGE="remote")


def _eval(tmp_path, store, env_extra, *args):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "ARTIFACT_STORE": str(store), "ARTIFACT_DEVICE": "cpu",
           "ARTIFACT_RESULTS": str(tmp_path / "r"), **env_extra}
    return subprocess.Popen([sys.executable, "-m", "artifact", "eval", "smollm2-135m-instruct", "--no-progress",
                             "--backend", "hf", "--perspective", "mtbench", "--limit", "1", "--max-tokens", "8",
                             *args], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


SMALL_TABLE4 = """title = "Table 4 in miniature: MT-Bench of SmolLM2 (test)"
paper = "not in the paper"
kind = "scores"
labels = ["Method"]
columns = ["16"]

[[rows]]
labels = ["dense"]
metric = "MT-Bench"
[rows.cells]
"16" = ["smollm2-135m-instruct"]
"""


def test_mtbench_end_to_end_with_a_loopback_judge_resumes_without_asking_twice(tmp_path, session_store, smol_base,
                                                                                recipes_copy):
    server = JudgeServer(rating="6")
    env = {"JUDGE_URL": server.url, "JUDGE_API_KEY": server.key, "JUDGE_QPS": "100"}
    try:
        killed = _eval(tmp_path, session_store, {**env, "ARTIFACT_FAULT": "eval.judged:5"})  # killed mid-judging
        killed.communicate(timeout=900)
        assert killed.returncode == -signal.SIGKILL and len(server.calls) == 5
        p = _eval(tmp_path, session_store, env)
        out, err = p.communicate(timeout=900)
        assert p.returncode == 0, err[-2000:]
        # LIMIT=1: 8 questions x 2 turns, each judged exactly once over the two runs
        assert len(server.calls) == 16 and "5 judgments cached, 11 to ask" in out
        again = _eval(tmp_path, session_store, env)  # a rerun asks nothing
        assert again.wait(timeout=900) == 0 and len(server.calls) == 16
    finally:
        server.close()
    (score_file,) = (tmp_path / "r").glob("eval/smollm2-135m-instruct/*/mtbench/*/score.json")
    score = json.loads(score_file.read_text())
    assert score["score"] == 6.0 and score["items"] == 16 and score["details"]["unparsed"] == 0
    assert score["judge"]["id"] == f"api:gpt-4@{server.url}" and score["judge"]["comparable_to_paper"] is False
    samples = [json.loads(x) for x in (score_file.parent / "samples.jsonl").read_text().splitlines()]
    assert sorted(r["key"].split("/")[1] for r in samples) == ["1"] * 8 + ["2"] * 8
    rescored = subprocess.run([sys.executable, "-m", "artifact", "rescore"], cwd=ROOT, capture_output=True, text=True,
                              env={"PATH": os.environ["PATH"], "HOME": str(tmp_path),
                                   "ARTIFACT_RESULTS": str(tmp_path / "r")}, timeout=300)
    assert rescored.returncode == 0 and "mtbench skipped: a judged score is recomputed by rerunning" in rescored.stdout
    assert json.loads(score_file.read_text())["score"] == 6.0  # untouched
    # Table 4's local path, in miniature: the cell is the local score, marked as judged by another judge
    (recipes_copy / "table4-smol.toml").write_text(SMALL_TABLE4)
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "ARTIFACT_RESULTS": str(tmp_path / "r"),
           "ARTIFACT_RECIPES": str(recipes_copy)}
    built = subprocess.run([sys.executable, "-m", "artifact", "table", "table4-smol", "--source", "local-partial"],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    cell = json.loads((tmp_path / "r" / "tables" / "table4-smol.json").read_text())
    text = json.dumps(cell)
    assert '"value": 6.0' in text and "not GPT-4 as in the paper: not comparable to the paper" in text


@pytest.mark.slow
def test_the_local_judge_is_a_stored_model(tmp_path, session_store, smol_base, recipes_copy):
    p = _eval(tmp_path, session_store, {"JUDGE": "local", "MODEL_JUDGE": "smollm2-135m-instruct"})
    out, err = p.communicate(timeout=1800)
    assert p.returncode == 0, err[-2000:]
    (score_file,) = (tmp_path / "r").glob("eval/smollm2-135m-instruct/*/mtbench/*/score.json")
    score = json.loads(score_file.read_text())
    assert score["judge"]["id"].startswith("local:smollm2-135m-instruct@") and score["items"] == 16
    assert score["details"]["rated"] + score["details"]["unparsed"] == 16  # a small judge often gives no rating
    assert len(list((tmp_path / "r" / "eval" / "_judgments").glob("*/*.json"))) == 16
    (recipes_copy / "table4-smol.toml").write_text(SMALL_TABLE4)  # Table 4's local path with the local judge
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "ARTIFACT_RESULTS": str(tmp_path / "r"),
           "ARTIFACT_RECIPES": str(recipes_copy)}
    built = subprocess.run([sys.executable, "-m", "artifact", "table", "table4-smol", "--source", "local-partial"],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr[-2000:]
    cell = json.loads((tmp_path / "r" / "tables" / "table4-smol.json").read_text())["cells"][0]
    if score["details"]["rated"]:  # the cell is the local judge's score, marked as not the paper's judge
        assert cell["value"] == pytest.approx(score["score"]) and "judged by local:smollm2-135m-instruct@" in \
            cell["caveat"] and "not comparable to the paper" in cell["caveat"]
    else:  # with 8 tokens SmolLM2 rarely writes a [[rating]]: no score, so the cell stays empty, never made up
        assert score["score"] is None and cell["value"] is None


@pytest.mark.fault
@pytest.mark.parametrize("answer", [b'{"choices": "nope"}', b'{"choices": []}', b"<html>busy</html>",
                                    b'{"choices": [{"message": {"content": 7}}]}'])
def test_a_judge_answer_with_nothing_to_read_is_one_sentence_naming_the_judge(make_settings, tmp_path, answer):
    server = JudgeServer(answer=answer)
    try:
        judge = judge_mod.make(_settings(make_settings, server, JUDGE_QPS="50"), "cpu")
        with pytest.raises(ArtifactError, match=rf"the judge at {re.escape(server.url)} answered"):
            judge_mod.judge_all(judge, [[{"role": "user", "content": "q"}]], tmp_path)
        assert not list(tmp_path.rglob("*.json"))  # nothing cached from it
    finally:
        server.close()


@pytest.mark.fault
def test_a_judge_cache_entry_under_the_wrong_key_is_not_used(make_settings, tmp_path):
    """An entry is used only for the question it names (its messages_sha256) and the judge that made it."""
    server = JudgeServer(rating="7")
    try:
        judge = judge_mod.make(_settings(make_settings, server, JUDGE_QPS="50"), "cpu")
        items = [[{"role": "user", "content": "q1"}], [{"role": "user", "content": "q2"}]]
        judge_mod.judge_all(judge, items, tmp_path)
        entries = sorted(tmp_path.rglob("*.json"))
        first = json.loads(entries[0].read_text())
        planted = {**json.loads(entries[1].read_text()), "judgment": "Rating: [[1]]"}
        entries[0].write_text(json.dumps({**planted, "messages_sha256": planted["messages_sha256"]}))  # other key
        server.rating = "7"
        out = judge_mod.judge_all(judge, items, tmp_path)
        assert [mtbench.rating(t) for t in out] == [7.0, 7.0] and len(server.calls) == 3  # asked again, once
        assert json.loads(entries[0].read_text())["messages_sha256"] == first["messages_sha256"]
    finally:
        server.close()
