
import pytest

from artifact.base import store
from artifact.base.errors import ArtifactError


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


@pytest.mark.fault
def test_failed_build_and_leftovers_leave_nothing(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        with store.staging(tmp_path, "m") as tmp:
            (tmp / "part").write_bytes(b"x")
            raise KeyboardInterrupt  # a killed run
    assert list(tmp_path.iterdir()) == []
    (tmp_path / ".m.tmp-99999999-deadbeef").mkdir()  # what a hard kill leaves behind: staging no longer touches it
    with store.staging(tmp_path, "m"):
        assert (tmp_path / ".m.tmp-99999999-deadbeef").exists()
    with store.claim(tmp_path, "m"):  # claiming the name (nobody else holds it) removes it
        assert not (tmp_path / ".m.tmp-99999999-deadbeef").exists()
    with pytest.raises(ArtifactError, match="empty model"):
        with store.staging(tmp_path, "e") as tmp:
            store.commit(tmp, tmp_path / "e", {})


@pytest.mark.fault
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


@pytest.mark.fault
def test_a_model_stranded_mid_swap_is_moved_back_and_dead_leftovers_go(tmp_path, said):
    _build(tmp_path, "m", b"one", {"recipe_key": "a"})
    (tmp_path / "m").rename(tmp_path / ".m.old-1-aaaa")  # a kill between the two renames of a commit
    (tmp_path / ".m.tmp-99999998-bbbb").mkdir()  # a killed forced rebuild's staging folder
    (tmp_path / ".m.tmp-99999998-bbbb" / "model.safetensors").write_bytes(b"x" * 1000)
    (tmp_path / ".m.pull-c0ffee").mkdir()  # a killed pull: its resume state, kept
    left = {x["kind"]: x for x in store.leftovers(tmp_path)}
    assert set(left) == {"old", "staging", "partial pull"} and left["staging"]["bytes"] == 1000
    assert all(x["name"] == "m" and x["owner"] is None for x in left.values())
    logs = said
    with store.claim(tmp_path, "m"):
        pass
    assert (tmp_path / "m" / "model.safetensors").read_bytes() == b"one" and store.verify(tmp_path / "m") == []
    assert [x["kind"] for x in store.leftovers(tmp_path)] == ["partial pull"]
    assert any("recovered" in line for line in logs) and any(".m.tmp-99999998-bbbb" in line for line in logs)
    (tmp_path / ".m.old-3-cccc").mkdir()  # killed after the swap, before the old copy was deleted
    with store.claim(tmp_path, "m"):
        pass
    assert not (tmp_path / ".m.old-3-cccc").exists() and (tmp_path / "m").is_dir()


@pytest.mark.fault
def test_a_live_run_keeps_its_staging_folder_and_its_name(tmp_path):
    from tests.base.test_guard import holder
    p = holder(store.lock_file(tmp_path, "m"))
    try:
        (tmp_path / ".m.tmp-99-live").mkdir()  # the live run's staging folder
        with pytest.raises(ArtifactError, match=f"another run is using m in the store .*pid {p.pid}"):
            with store.claim(tmp_path, "m"):
                pass
        assert (tmp_path / ".m.tmp-99-live").is_dir()
        assert [x["owner"] is not None for x in store.leftovers(tmp_path)] == [True]
    finally:
        p.kill()
        p.wait()
