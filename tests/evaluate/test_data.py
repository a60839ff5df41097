import shutil

import pytest

from artifact.base.errors import ArtifactError, FileFormatError, UnknownPerspectiveError
from artifact.evaluate import names
from artifact.evaluate.data import DATA, Source, read_json, read_jsonl, read_manifest, source
from artifact.base.settings import load


def test_the_vendored_subset_is_verified_file_by_file(tmp_path):
    src = source("decodingtrust", "subset", load({}))
    assert read_json(src, "ood/knowledge.json")["test"]["qa_2023"]
    assert list(src.used) == ["ood/knowledge.json"] and len(src.used["ood/knowledge.json"]) == 64
    corrupt = tmp_path / "dt"
    shutil.copytree(DATA / "decodingtrust" / "ood", corrupt / "ood")
    (corrupt / "ood" / "knowledge.json").chmod(0o644)
    with open(corrupt / "ood" / "knowledge.json", "a") as f:
        f.write(" ")
    bad = Source(src.benchmark, "subset", corrupt, src.checksums)
    with pytest.raises(FileFormatError, match=r"knowledge\.json.*differs from the manifest"):
        bad.path("ood/knowledge.json")


def test_a_local_copy_is_checked_against_the_forks_manifest(tmp_path):
    (tmp_path / "ood").mkdir()
    shutil.copy(DATA / "decodingtrust" / "ood" / "style.json", tmp_path / "ood" / "style.json")
    src = source("decodingtrust", str(tmp_path), load({}))
    with pytest.raises(FileFormatError, match=r"style\.json.*differs from the manifest"):
        src.path("ood/style.json")  # the vendored slice is not the fork's full file
    with pytest.raises(ArtifactError, match=r"input file ood/knowledge\.json is not in DATA="):
        src.path("ood/knowledge.json")
    (tmp_path / "toxicity" / "user_prompts").mkdir(parents=True)
    shutil.copy(DATA / "decodingtrust" / "toxicity" / "user_prompts" / "toxic.jsonl",
                tmp_path / "toxicity" / "user_prompts" / "toxic.jsonl")
    assert src.path("toxicity/user_prompts/toxic.jsonl").is_file()  # vendored whole, so it matches the fork


def test_bad_data_and_perspective_names():
    with pytest.raises(ArtifactError, match="not a directory"):
        source("decodingtrust", "/nonexistent/dt", load({}))
    with pytest.raises(UnknownPerspectiveError, match="did you mean 'fairness'"):
        names("fairnes")
    assert names("all")[0] == "advglue" and names("mmlu,ood") == ["ood", "mmlu"]


# ---------------------------------------------------------------- DATA=hub against the loopback Hub
TOXIC = "toxicity/user_prompts/toxic.jsonl"  # vendored whole: the same bytes as the fork's file
KNOWLEDGE = "ood/knowledge.json"  # vendored as a slice: not the fork's file


def _hub_settings(hub, make_settings, tmp_path):
    from tests.helpers import HUB_TOKEN
    (tmp_path / "checksums" / "decodingtrust").mkdir(parents=True)
    shutil.copy(DATA.parents[1] / "checksums" / "decodingtrust" / "MANIFEST.sha256",
                tmp_path / "checksums" / "decodingtrust" / "MANIFEST.sha256")
    return make_settings(HF_ENDPOINT=hub.url, HF_TOKEN=HUB_TOKEN, HF_HUB_CACHE=str(tmp_path / "hf-cache"))


@pytest.fixture
def dt_hub(hub, make_settings, tmp_path):
    files = {rel: (DATA / "decodingtrust" / rel).read_bytes() for rel in (TOXIC, KNOWLEDGE)}
    commit = hub.state.add("dataset", "AI-Secure/DecodingTrust", files)
    return hub, _hub_settings(hub, make_settings, tmp_path), commit


def test_hub_data_is_pinned_checked_against_the_fork_and_locked(dt_hub, capsys):
    import json
    hub, settings, commit = dt_hub
    src = source("decodingtrust", "hub", settings)
    assert read_jsonl(src, TOXIC) == read_jsonl(source("decodingtrust", "subset", load({})), TOXIC)
    lock_path = settings.checksums / "decodingtrust" / "hub.json"
    lock = json.loads(lock_path.read_text())
    assert lock["revision"] == commit and lock["differs_from_fork"] == []
    assert lock["files"][TOXIC] == read_manifest(settings.checksums / "decodingtrust" / "MANIFEST.sha256")[0][TOXIC]
    assert "not the fork's file" not in capsys.readouterr().out

    read_json(src, KNOWLEDGE)  # the Hub's copy differs from the fork's: used, recorded and said so
    assert "the Hub's ood/knowledge.json is not the fork's file" in capsys.readouterr().out
    lock = json.loads(lock_path.read_text())
    assert lock["differs_from_fork"] == [KNOWLEDGE] and len(lock["files"][KNOWLEDGE]) == 64
    assert src.describe()["revision"] == commit and src.describe()["differs_from_fork"] == [KNOWLEDGE]

    hub.state.add("dataset", "AI-Secure/DecodingTrust", {KNOWLEDGE: b'{"test": {}}'})  # main moves on
    again = source("decodingtrust", "hub", settings)
    assert read_json(again, KNOWLEDGE)["test"]["qa_2023"]  # still the locked revision
    lock["files"][TOXIC] = "0" * 64
    lock_path.write_text(json.dumps(lock))
    with pytest.raises(FileFormatError, match=r"toxic\.jsonl.*differs from the manifest"):
        source("decodingtrust", "hub", settings).path(TOXIC)


def test_a_corrupt_hub_download_is_dropped_and_fetched_again(dt_hub):
    hub, settings, _ = dt_hub
    hub.state.corrupt.add(TOXIC)
    with pytest.raises(FileFormatError, match=r"does not match the Hub's sha256"):
        source("decodingtrust", "hub", settings).path(TOXIC)
    assert not (settings.checksums / "decodingtrust" / "hub.json").exists()  # nothing recorded
    hub.state.corrupt.clear()
    assert read_jsonl(source("decodingtrust", "hub", settings), TOXIC)[0]["prompt"]["text"]


def test_hub_errors_are_one_sentence(dt_hub, make_settings, tmp_path):
    hub, settings, _ = dt_hub
    with pytest.raises(ArtifactError, match=r"has no adv-glue-plus-plus/data/alpaca\.json at .*DATA=<dir>"):
        source("decodingtrust", "hub", settings).path("adv-glue-plus-plus/data/alpaca.json")
    offline = make_settings(HF_ENDPOINT="http://127.0.0.1:9", HF_HUB_CACHE=str(tmp_path / "hf2"))
    with pytest.raises(ArtifactError, match="cannot reach the Hub"):
        source("decodingtrust", "hub", offline).path(TOXIC)


def test_mmlu_parquet_from_the_hub_reads_like_the_csv_slice(hub, make_settings, tmp_path):
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from artifact.evaluate import mmlu
    subset = source("mmlu", "subset", load({}))
    files = {}
    for split in ("dev", "test"):
        rows = mmlu.rows(subset, "college_biology", split)
        table = pa.table({"question": [q for q, _, _ in rows], "subject": ["college_biology"] * len(rows),
                          "choices": [c for _, c, _ in rows], "answer": ["ABCD".index(a) for _, _, a in rows]})
        buf = io.BytesIO()
        pq.write_table(table, buf)
        files[f"college_biology/{split}-00000-of-00001.parquet"] = buf.getvalue()
    hub.state.add("dataset", "cais/mmlu", files)
    src = source("mmlu", "hub", _hub_settings(hub, make_settings, tmp_path))
    for split in ("dev", "test"):
        assert mmlu.rows(src, "college_biology", split) == mmlu.rows(subset, "college_biology", split)
    assert sorted(src.describe()["files"]) == sorted(files)  # not in any manifest: locked on first fetch
