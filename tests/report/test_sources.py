import json

import pytest

from artifact.base import catalog
from artifact.base.dimensions import BY_KEY, DIMENSIONS
from artifact.base.errors import ArtifactError, FileFormatError
from artifact.report import sources

from tests.helpers import ROOT

WEBSITE = ROOT / "reproduce" / "reference" / "website"


def test_published_prefers_two_decimal_values():
    pub = sources.published()
    spec = catalog.get("llama-2-13b-chat-gptq-4bit-s0")
    ethics = pub.lookup(spec, BY_KEY["ethics"])
    assert ethics.value == 77.13 and ethics.origin["source"] == "website-leaderboard_full"
    assert ethics.origin["as_published"] == ("hf/efficient-llm/llama-2-13b-chat-gptq-larger-caliset-llama2-temp"
                                             "@4bit_128g_0seed")
    mmlu = pub.lookup(spec, BY_KEY["mmlu"])  # only the 1-decimal sheet has MMLU
    assert mmlu.value == 52.1 and mmlu.origin["source"] == "website-num_sheet" and mmlu.origin["line"] > 1
    assert len(mmlu.origin["sha256"]) == 64
    assert pub.lookup(spec, BY_KEY["mtbench"]) is None


def test_two_decimal_values_round_to_the_sheet():
    pub = sources.published()
    checked = 0
    for (model, dim), v in pub.full.items():
        sheet = pub.sheet[(model, dim)].value
        assert abs(v.value - sheet) <= 0.05 + 1e-9, (model, dim, v.value, sheet)
        checked += 1
    assert checked == 41 * 8  # 41 models x 8 trust dimensions


def test_every_published_model_is_in_the_catalog():
    pub = sources.published()
    assert len({m for m, _ in pub.sheet}) == 50
    assert {m for m, _ in pub.full} <= {m for m, _ in pub.sheet}


def test_malformed_website_file_names_file_and_line(tmp_path):
    (tmp_path / "num_sheet.csv").write_text(
        (WEBSITE / "num_sheet.csv").read_text().replace("hf/lmsys/vicuna-7b-v1.3,0.6", "hf/lmsys/vicuna-9b,0.6"))
    (tmp_path / "leaderboard_full.csv").write_text((WEBSITE / "leaderboard_full.csv").read_text())
    with pytest.raises(FileFormatError) as e:
        sources.PublishedScores(tmp_path)
    lines = (tmp_path / "num_sheet.csv").read_text().splitlines()
    bad = next(i for i, line in enumerate(lines, 1) if "vicuna-9b" in line)
    assert e.value.line == bad and "num_sheet.csv" in str(e.value) and "not in the catalog" in str(e.value)


def test_non_numeric_score_is_refused(tmp_path):
    text = (WEBSITE / "leaderboard_full.csv").read_text().replace(",23.31,", ",n/a,", 1)
    (tmp_path / "leaderboard_full.csv").write_text(text)
    (tmp_path / "num_sheet.csv").write_text((WEBSITE / "num_sheet.csv").read_text())
    with pytest.raises(FileFormatError, match=r"leaderboard_full.csv:2: column 'Toxicity' holds 'n/a'"):
        sources.PublishedScores(tmp_path)


def test_same_model_twice_is_refused(tmp_path):
    lines = (WEBSITE / "leaderboard_full.csv").read_text().splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("hf/efficient-llm/"))
    dup = lines[first].replace("hf/efficient-llm/", "hf/compressed-llm/")  # another spelling of the same model
    (tmp_path / "leaderboard_full.csv").write_text("\n".join(lines + [dup]) + "\n")
    (tmp_path / "num_sheet.csv").write_text((WEBSITE / "num_sheet.csv").read_text())
    with pytest.raises(FileFormatError, match=f"same catalog model as line {first + 1}"):
        sources.PublishedScores(tmp_path)


def _score(path, model, dim, score, config="abc"):
    path.mkdir(parents=True)
    (path / "score.json").write_text(json.dumps({"model": model, "dimension": dim, "score": score,
                                                 "revision": "deadbeef", "config_hash": config}))


def test_local_scores_are_read_from_results(tmp_path):
    _score(tmp_path / "eval" / "a" / "ethics", "hf/compressed-llm/llama-2-13b-chat-wanda@0.5_2to4", "ethics", 31.0)
    local = sources.get("local", tmp_path)
    v = local.lookup(catalog.get("llama-2-13b-chat-wanda-2to4"), BY_KEY["ethics"])
    assert v.value == 31.0 and v.origin["revision"] == "deadbeef" and v.origin["source"] == "local"
    assert local.lookup(catalog.get("llama-2-13b-chat-wanda-2to4"), BY_KEY["ood"]) is None


def test_partial_local_scores_are_left_out(tmp_path):
    _score(tmp_path / "eval" / "a", "llama-2-13b-chat", "ood", 58.0)
    data = json.loads((tmp_path / "eval" / "a" / "score.json").read_text())
    (tmp_path / "eval" / "a" / "score.json").write_text(json.dumps({**data, "partial": True}))
    local = sources.get("local", tmp_path)
    assert local.lookup(catalog.get("llama-2-13b-chat"), BY_KEY["ood"]) is None and len(local.partial) == 1


def test_local_results_with_different_configs_are_not_mixed(tmp_path):
    _score(tmp_path / "eval" / "a", "llama-2-13b-chat", "ood", 58.0, "one")
    _score(tmp_path / "eval" / "b", "llama-2-13b-chat", "ood", 57.0, "two")
    with pytest.raises(ArtifactError, match="different configs"):
        sources.get("local", tmp_path)


def test_unreadable_local_score_names_the_file(tmp_path):
    (tmp_path / "eval" / "x").mkdir(parents=True)
    (tmp_path / "eval" / "x" / "score.json").write_text("{not json")
    with pytest.raises(FileFormatError, match="score.json"):
        sources.get("local", tmp_path)


def test_unknown_source():
    with pytest.raises(ArtifactError, match="SOURCE=published"):
        sources.get("website", ROOT)


def test_dimensions_match_the_website_columns():
    header = (WEBSITE / "num_sheet.csv").read_text().splitlines()[0].split(",")
    named = [d for d in DIMENSIONS if d.website]
    assert len(named) == 9  # MMLU and the eight trust dimensions each name their website column
    for d in named:
        assert d.website in header, d.name
