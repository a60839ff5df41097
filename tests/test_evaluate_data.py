import shutil

import pytest

from artifact.errors import ArtifactError, FileFormatError, UnknownPerspectiveError
from artifact.evaluate import names
from artifact.evaluate.data import DATA, Source, read_json, source
from artifact.settings import load


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
