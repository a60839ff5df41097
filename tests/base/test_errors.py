"""One typed hierarchy (artifact/base/errors.py): each error says what to do, with the right fix for where it happened,
and no code decides anything by reading an exception's text."""
from __future__ import annotations

import re

import pytest

from artifact import evaluate
from artifact.base.dimensions import PERSPECTIVES
from artifact.base.errors import (ArtifactError, BadInputError, ChecksumMismatchError, FileFormatError, HubError,
                             HubNotFoundError, NotInStoreError, UnknownPerspectiveError)
from artifact.base.settings import ROOT


def test_the_hierarchy():
    for e in (BadInputError, HubError, HubNotFoundError, ChecksumMismatchError, NotInStoreError, FileFormatError):
        assert issubclass(e, ArtifactError) and e.exit_code == 2
    assert issubclass(HubNotFoundError, HubError) and issubclass(ChecksumMismatchError, FileFormatError)


def test_a_damaged_repository_file_is_restored_by_git_and_anything_else_by_its_command(tmp_path):
    assert "git checkout -- " in str(FileFormatError(ROOT / "reproduce" / "table3.toml", 3, "bad"))
    outside = str(FileFormatError(tmp_path / "score.json", None, "bad"))
    results = str(FileFormatError(ROOT / "results" / "x.json", None, "bad"))
    assert "git" not in outside and "git" not in results and "rerun the command that wrote it" in outside


def test_a_checksum_mismatch_names_the_fix_not_git(tmp_path):
    e = ChecksumMismatchError(tmp_path / "model.safetensors", "sha256 differs", "pull again to retry")
    assert str(e).endswith("sha256 differs; pull again to retry") and "git" not in str(e) and e.path.endswith(
        "model.safetensors")


def test_not_in_store_says_how_to_get_it(tmp_path):
    assert "`make pull MODEL=m` or `make rebuild MODEL=m`" in str(NotInStoreError("m", tmp_path, "rebuild"))
    assert "rebuild" not in str(NotInStoreError("m", tmp_path))


def test_unknown_perspective_lists_the_registry():
    with pytest.raises(UnknownPerspectiveError) as e:
        evaluate.names("toxcity")
    assert "'toxicity'" in str(e.value) and all(p in str(e.value) for p in PERSPECTIVES)
    with pytest.raises(BadInputError, match="PERSPECTIVE is empty"):
        evaluate.names(" ")


def test_no_code_branches_on_the_text_of_an_exception():
    pattern = re.compile(r"in str\((e|err|exc|error)\)|str\((e|err|exc|error)\)\.(startswith|find)|\.args\[0\] ==")
    hits = [f"{p.relative_to(ROOT)}:{i}" for p in (ROOT / "artifact").rglob("*.py")
            for i, line in enumerate(p.read_text().splitlines(), 1) if pattern.search(line)]
    assert hits == []
