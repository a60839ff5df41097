
import pytest

from artifact import store
from artifact.errors import ArtifactError


def _build(root, name, payload: bytes, recipe: dict):
    with store.staging(root, name) as tmp:
        (tmp / "model.safetensors").write_bytes(payload)
        (tmp / "config.json").write_text("{}")
        return store.commit(tmp, store.folder(root, name), recipe)


def test_commit_writes_recipe_and_manifest_and_replaces_atomically(tmp_path):
    entries = _build(tmp_path, "m", b"one", {"recipe_key": "a"})
    folder = tmp_path / "m"
    assert store.read_recipe(folder) == {"recipe_key": "a"}
    assert set(entries) == {"model.safetensors", "config.json"} and store.verify(folder) == []
    _build(tmp_path, "m", b"two", {"recipe_key": "b"})
    assert (folder / "model.safetensors").read_bytes() == b"two" and store.read_recipe(folder)["recipe_key"] == "b"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]  # no staging or old folders left


def test_failed_build_and_leftovers_leave_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with store.staging(tmp_path, "m") as tmp:
            (tmp / "part").write_bytes(b"x")
            raise KeyboardInterrupt  # a killed run
    assert list(tmp_path.iterdir()) == []
    (tmp_path / ".m.tmp-deadbeef").mkdir()  # what a hard kill leaves behind
    with store.staging(tmp_path, "m"):
        assert not (tmp_path / ".m.tmp-deadbeef").exists()
    with pytest.raises(ArtifactError, match="empty model"):
        with store.staging(tmp_path, "e") as tmp:
            store.commit(tmp, tmp_path / "e", {})


def test_verify_finds_corrupt_missing_and_extra_files(tmp_path):
    _build(tmp_path, "m", b"weights", {})
    folder = tmp_path / "m"
    (folder / "model.safetensors").write_bytes(b"weightz")
    (folder / "config.json").unlink()
    (folder / "extra.bin").write_bytes(b"?")
    assert store.verify(folder) == ["config.json: missing", "extra.bin: not in the manifest",
                                    "model.safetensors: sha256 differs"]


def test_recipe_keys_ignore_key_order():
    assert store.recipe_key({"a": 1, "b": 2}) == store.recipe_key({"b": 2, "a": 1})


def test_bad_manifest_line_names_the_line(tmp_path):
    (tmp_path / "SHA256SUMS").write_text("a" * 64 + "  ok\nnot a line\n")
    with pytest.raises(Exception, match="SHA256SUMS:2"):
        store.parse_manifest(tmp_path / "SHA256SUMS")
