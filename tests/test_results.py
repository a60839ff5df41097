"""The results contract (artifact/results.py): the layout, the versioned score record, and the report reading local
scores only through it."""
from __future__ import annotations

import json
import re

import pytest

from artifact import catalog, results
from artifact.acquire.card import model_card
from artifact.errors import FileFormatError
from artifact.report import sources
from artifact.settings import ROOT

MODEL = "llama-2-13b-chat"


def _write(tmp_path, score: dict, perspective="ethics", chash="c0ffee"):
    res = results.folder(tmp_path, MODEL, "ab" * 32, perspective, chash)
    res.start({"perspective": perspective})
    res.write_score({"model": MODEL, "dimension": perspective, "score": 61.5, "config_hash": chash, **score})
    return res


def test_a_written_record_has_the_layout_and_schema_and_reads_back(tmp_path):
    res = _write(tmp_path, {"ci95": [60.0, 63.0], "items": 40, "interval": {"replicates": [61.0, 62.0]}})
    assert res.folder == tmp_path / "eval" / MODEL / ("ab" * 8) / "ethics" / "c0ffee"
    assert json.loads(res.score.read_text())["schema"] == results.SCHEMA
    [rec] = results.read_scores(tmp_path)
    assert (rec.model, rec.dimension, rec.score, rec.ci95, rec.items) == (MODEL, "ethics", 61.5, (60.0, 63.0), 40)
    assert rec.replicates == (61.0, 62.0) and rec.origin()["file"].endswith("score.json")
    assert results.result_folders(tmp_path) == [res.folder] and res.toxicity_cache == tmp_path / "eval" / "_toxicity"


def test_a_record_from_before_versioning_is_read_and_a_newer_one_refused(tmp_path):
    res = _write(tmp_path, {})
    data = json.loads(res.score.read_text())
    del data["schema"]
    res.score.write_text(json.dumps(data))
    assert results.read_scores(tmp_path)[0].score == 61.5
    res.score.write_text(json.dumps({**data, "schema": results.SCHEMA + 1}))
    with pytest.raises(FileFormatError, match="newer than this code reads"):
        results.read_scores(tmp_path)


@pytest.mark.parametrize("bad, says", [
    ({"score": "high"}, "is not a finite number"), ({"score": True}, "is not a finite number"),
    ({"score": float("nan")}, "is not a finite number"), ({"model": None}, "has no 'model'"),
    ({"ci95": 5.0}, "ci95 5.0 is not a .low, high. pair"), ({"interval": [1, 2]}, "interval is not a JSON object"),
    ({"interval": {"replicates": "abcde"}}, "interval.replicates is not a list of numbers"),
    ({"interval": {"replicates": ["1", "2"]}}, "interval.replicates is not a list of numbers"),
    ({"breakdown": {"a/b": "12.5"}}, "per-scenario value 'a/b' is '12.5', not a finite number"),
    ({"breakdown": {"a/b": float("inf")}}, "per-scenario value 'a/b' is inf"),
    ({"interval": {"breakdown": {"a/b": [1, 2]}}}, "interval.breakdown.a/b is not a JSON object"),
    ({"interval": {"breakdown": {"a/b": {"ci95": 5.0}}}}, "interval.breakdown.a/b.ci95 5.0 is not"),
    ({"interval": {"breakdown": {"a/b": {"replicates": [[1.0]]}}}}, "interval.breakdown.a/b.replicates is not"),
])
def test_an_impossible_record_is_named_not_used(tmp_path, bad, says):
    _write(tmp_path, bad)
    with pytest.raises(FileFormatError, match=says):
        sources.get("local", tmp_path)


def test_a_corrupt_record_is_one_sentence_for_the_model_card_too(tmp_path):
    res = _write(tmp_path, {})
    res.score.write_text("{torn")
    with pytest.raises(FileFormatError, match="not a readable score file"):
        model_card(catalog.get(MODEL), {}, {}, tmp_path)


def test_the_report_reads_results_only_through_the_contract():
    report = ROOT / "artifact" / "report"
    for path in report.glob("*.py"):
        code = "\n".join(line.split("#")[0] for line in path.read_text().splitlines())
        code = re.sub(r'"""[\s\S]*?"""', "", code)  # docstrings may describe the layout
        assert "score.json" not in code and '"eval"' not in code, f"{path.name} reaches into the results layout"
        assert not re.search(r"[\"'](demo|check)[\"']", code), f"{path.name} names a recorded profile"


@pytest.mark.fault
@pytest.mark.parametrize("line", ['not json', '{"prompt_sha256": "x", "replies": ["a"]}', '[1, 2]'])
def test_a_bad_samples_line_is_named_with_its_line_number(tmp_path, line):
    res = results.folder(tmp_path, MODEL, "ab" * 32, "ethics", "c0ffee")
    res.append([{"key": "a", "replies": ["x"]}])
    with open(res.samples, "a") as f:
        f.write(line + "\n" + json.dumps({"key": "b", "replies": ["y"]}) + "\n")
    with pytest.raises(FileFormatError, match=r"samples.jsonl:2: .*delete the line"):
        res.done()


@pytest.mark.fault
def test_a_torn_last_line_is_still_cut_off_quietly(tmp_path):
    res = results.folder(tmp_path, MODEL, "ab" * 32, "ethics", "c0ffee")
    res.append([{"key": "a", "replies": ["x"]}])
    with open(res.samples, "a") as f:
        f.write('{"key": "b", "repl')
    assert list(res.done()) == ["a"]


@pytest.mark.fault
@pytest.mark.parametrize("score", [7.5, -0.1, "high", True])
def test_an_impossible_cached_toxicity_score_is_never_folded_in(tmp_path, score):
    from artifact.evaluate import scorers
    path = tmp_path / "cache" / "x.jsonl"
    path.parent.mkdir()
    path.write_text(json.dumps({"sha256": "s1", "score": 0.5}) + "\n" + json.dumps({"sha256": "s2", "score": score})
                    + "\n")
    with pytest.raises(FileFormatError, match=r"x.jsonl:2: score .* is not a probability"):
        scorers.Cache(tmp_path / "cache", "x")


def test_a_damaged_breakdown_is_refused_with_the_file(tmp_path):
    import json

    from artifact.errors import FileFormatError
    from artifact.results import ScoreRecord
    path = tmp_path / "score.json"
    path.write_text(json.dumps({"model": "m", "dimension": "ood", "score": 1.0, "breakdown": ["not", "a", "dict"]}))
    with pytest.raises(FileFormatError, match="score.json.*breakdown.*make rescore"):
        _ = ScoreRecord.read(path).breakdown
    path.write_text(json.dumps({"model": "m", "dimension": "ood", "score": 1.0, "breakdown": {"style/accuracy": 40.0},
                                "interval": {"breakdown": {"style/accuracy": {"ci95": [30.0, 50.0],
                                                                              "replicates": [40.0, 35.0]}}}}))
    assert ScoreRecord.read(path).breakdown == {"style/accuracy": (40.0, (30.0, 50.0), (40.0, 35.0))}
    path.write_text(json.dumps({"model": "m", "dimension": "ood", "score": 1.0}))  # written before breakdowns
    assert ScoreRecord.read(path).breakdown == {}


def test_score_files_keep_each_list_of_numbers_on_one_line(tmp_path):
    """1,000 resamples are one line, not 1,000; text that merely looks like a list is never touched."""
    from artifact.results import write_atomic
    obj = {"interval": {"replicates": [50.0, 49.5, None, -3e-05] * 250, "breakdown": {"a/b": {"ci95": [1.0, 2.0]}}},
           "text": ["x [1,  2]", "y"], "empty": [], "nested": [[1, 2], [3, 4]]}
    path = tmp_path / "score.json"
    write_atomic(path, obj)
    text = path.read_text()
    assert json.loads(text) == obj
    assert '"replicates": [50.0, 49.5, null, -3e-05, 50.0' in text and '"ci95": [1.0, 2.0]' in text
    assert '"x [1,  2]"' in text and len(text.splitlines()) < 30
