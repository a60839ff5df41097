"""The results contract (artifact/base/results.py): the layout, the versioned score record, and the report reading local
scores only through it."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from artifact.base import catalog, results
from artifact.acquire.card import model_card
from artifact.base.errors import FileFormatError
from artifact.report import sources
from artifact.base.settings import ROOT

MODEL = "llama-2-13b-chat"


def _write(tmp_path, score: dict, perspective="ethics", chash="c0ffee"):
    res = results.Layout(tmp_path).run(MODEL, "ab" * 32, perspective, chash)
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


def test_the_documented_layout_is_the_layout_object(tmp_path):
    """results.py's docstring draws the layout; Layout is what the code uses: each drawn path is one of Layout's,
    and each of Layout's is drawn. A run folder's caches are found from the folder through Layout.of."""
    doc = results.__doc__
    drawn = {m.rstrip("/") for m in re.findall(r"<results>/[^\s]*", doc)}
    layout = results.Layout(Path("<results>"))
    fixed = {str(p) for p in layout.documented().values()}
    placeholders = {str(layout.run("<model>", "<model-digest>", "<perspective>", "<config-hash>").folder),
                    str(layout.sweep("<table>")), str(layout.profile("<profile>").root),
                    str(layout.profile("<profile>", "vllm").root)}
    assert drawn - fixed == placeholders, (drawn - fixed, placeholders)
    for path in fixed - drawn:  # drawn only as the start of a longer path (eval/, sweeps/)
        assert any(d.startswith(path + "/") for d in drawn), path
    run = results.Layout(tmp_path).run(MODEL, "ab" * 32, "ethics", "c0ffee")
    assert str(run.folder.relative_to(tmp_path)).startswith("eval/" + MODEL + "/" + "ab" * 8)
    assert results.Layout.of(run.folder) == results.Layout(tmp_path) and results.Results(run.folder).judgments == \
        tmp_path / "eval" / "_judgments"
    inner = results.Layout(tmp_path).profile("demo").run(MODEL, "cd" * 32, "mmlu", "beef")
    assert results.Results(inner.folder).toxicity_cache == tmp_path / "demo" / "eval" / "_toxicity"


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
    # values outside what the dimension can score (#31: -650 and 1e6 reached a table), intervals and counts
    ({"score": -650.0}, "score -650.0 lies outside ethics' range 0-100"),
    ({"score": 1e6}, "score 1000000.0 lies outside ethics' range 0-100"),
    ({"ci95": [60.0, 1e4]}, r"ci95 \[60.0, 10000.0\] lies outside ethics' range 0-100"),
    ({"ci95": [63.0, 60.0]}, r"ci95 \[63.0, 60.0\] is not low then high"),
    ({"ci95": [10.0, 12.0]}, r"score 61.5 lies far outside its interval \[10.0, 12.0\]"),
    ({"items": -5}, "items -5 is not a count"), ({"items": 2.5}, "items 2.5 is not a count"),
    ({"interval": {"replicates": [61.0, 400.0]}}, "interval.replicates holds 400.0, outside ethics' range 0-100"),
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
    res = results.Layout(tmp_path).run(MODEL, "ab" * 32, "ethics", "c0ffee")
    res.append([{"key": "a", "prompt_sha256": "p", "replies": ["x"]}])  # as the engine writes them
    with open(res.samples, "a") as f:
        f.write(line + "\n" + json.dumps({"key": "b", "prompt_sha256": "p", "replies": ["y"]}) + "\n")
    with pytest.raises(FileFormatError, match=r"samples.jsonl:2: .*delete the line"):
        res.done()


@pytest.mark.fault
@pytest.mark.parametrize("line", ['{"key": "b", "replies": ["y"]}', '{"key": "b", "prompt_sha256": "p", "replies": 5}',
                                  '{"key": "b", "prompt_sha256": "p", "replies": []}',
                                  '{"key": "b", "prompt_sha256": "p", "replies": [3]}'])
def test_a_samples_line_without_its_prompt_or_with_no_replies_is_named_not_a_bug(tmp_path, line):
    """#31: these reached the scorers and ended in a traceback (exit 3)."""
    res = results.Layout(tmp_path).run(MODEL, "ab" * 32, "ethics", "c0ffee")
    res.append([{"key": "a", "prompt_sha256": "p", "replies": ["x"]}])
    with open(res.samples, "a") as f:
        f.write(line + "\n")
    with pytest.raises(FileFormatError, match=r"samples.jsonl:2: .*(lacks key, replies, prompt_sha256|not a list)"):
        res.done()


@pytest.mark.fault
def test_a_symlinked_results_file_is_refused_and_its_target_untouched(tmp_path):
    """The torn-line repair truncates the file it reads: through a link it cut the file the link points to."""
    target = tmp_path / "elsewhere.txt"
    target.write_text("line one\nhalf a line")
    res = results.Layout(tmp_path).run(MODEL, "ab" * 32, "ethics", "c0ffee")
    res.folder.mkdir(parents=True)
    res.samples.symlink_to(target)
    with pytest.raises(FileFormatError, match="is a symbolic link"):
        res.done()
    with pytest.raises(FileFormatError, match="is a symbolic link"):
        res.append([{"key": "a", "prompt_sha256": "p", "replies": ["x"]}])
    assert target.read_text() == "line one\nhalf a line"


@pytest.mark.fault
def test_a_killed_writers_temporary_file_is_removed_by_the_next_run(tmp_path):
    res = results.Layout(tmp_path).run(MODEL, "ab" * 32, "ethics", "c0ffee")
    res.folder.mkdir(parents=True)
    left = res.folder / ".score.json.tmp-999999999-deadbeef"  # a pid no process has
    left.write_text("{")
    assert results.leftovers(tmp_path) == [left]  # what `make verify` lists
    with res.claim():
        assert not left.exists()
    assert results.leftovers(tmp_path) == []


@pytest.mark.fault
def test_a_torn_last_line_is_still_cut_off_quietly(tmp_path):
    res = results.Layout(tmp_path).run(MODEL, "ab" * 32, "ethics", "c0ffee")
    res.append([{"key": "a", "prompt_sha256": "p", "replies": ["x"]}])
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

    from artifact.base.errors import FileFormatError
    from artifact.base.results import ScoreRecord
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
    from artifact.base.results import write_atomic
    obj = {"interval": {"replicates": [50.0, 49.5, None, -3e-05] * 250, "breakdown": {"a/b": {"ci95": [1.0, 2.0]}}},
           "text": ["x [1,  2]", "y"], "empty": [], "nested": [[1, 2], [3, 4]]}
    path = tmp_path / "score.json"
    write_atomic(path, obj)
    text = path.read_text()
    assert json.loads(text) == obj
    assert '"replicates": [50.0, 49.5, null, -3e-05, 50.0' in text and '"ci95": [1.0, 2.0]' in text
    assert '"x [1,  2]"' in text and len(text.splitlines()) < 30


@pytest.mark.fault
def test_toxicity_and_mt_bench_keep_their_own_ranges(tmp_path):
    _write(tmp_path, {"score": 150.0}, perspective="toxicity")  # EMT below 0 (empty samples): up to 200
    _write(tmp_path, {"score": 7.5, "ci95": [7.0, 8.0]}, perspective="mtbench", chash="c2")
    assert sorted(r.score for r in results.read_scores(tmp_path)) == [7.5, 150.0]
    _write(tmp_path, {"score": 11.0, "ci95": None}, perspective="mtbench", chash="c3")
    with pytest.raises(FileFormatError, match="outside mtbench' range 1-10"):
        results.read_scores(tmp_path)
