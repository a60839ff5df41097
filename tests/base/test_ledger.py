"""The ledger (artifact/base/ledger.py): the only writer of checksums/, one versioned schema, old records migrated."""
from __future__ import annotations

import json
import re

import pytest

from artifact.base import ledger
from artifact.base.errors import FileFormatError
from artifact.base.settings import CHECKSUMS, ROOT

SHA = "a" * 64


def test_a_build_record_follows_the_recipe(tmp_path):
    entries = {"model.safetensors": SHA}
    assert ledger.record_build(tmp_path, "m", entries, "k1") == "recorded"
    assert ledger.record_build(tmp_path, "m", entries, "k1") == "matches"
    assert ledger.record_build(tmp_path, "m", {"model.safetensors": "b" * 64}, "k1") == "differs"
    assert ledger.record_build(tmp_path, "m", {"model.safetensors": "b" * 64}, "k2") == "recorded"
    data = json.loads((tmp_path / "models" / "m.json").read_text())
    assert data == {"schema": ledger.SCHEMA, "model": "m", "recipe_key": "k2", "hub": None}


def test_a_hub_record_keeps_repo_commit_and_source(tmp_path):
    ledger.record_hub(tmp_path, "m", {"a.bin": SHA}, "org/m", "main", "c" * 40, "push", "2026-11-25", "k1")
    r = ledger.model_record(tmp_path, "m")
    assert r.recipe_key == "k1" and r.hub["commit"] == "c" * 40 and r.hub["source"] == "push"
    assert ledger.model_manifest(tmp_path, "m") == {"a.bin": SHA}


@pytest.mark.parametrize("old, key, hub", [
    ({"model": "m", "recipe_key": "k"}, "k", None),  # a rebuild's record
    ({"model": "m", "repo": "o/m", "revision": "main", "commit": "c1", "source": "hub metadata",
      "recorded": "t"}, None, {"repo": "o/m", "revision": "main", "commit": "c1", "source": "hub metadata",
                               "recorded": "t"}),  # make checksums
    ({"model": "m", "recipe_key": "k", "repo": "o/m", "revision": "b", "commit": "c2", "pushed": "t2"}, "k",
     {"repo": "o/m", "revision": "b", "commit": "c2", "source": "push", "recorded": "t2"}),  # make push
])
def test_records_from_before_versioning_are_read_and_migrated(tmp_path, old, key, hub):
    side = tmp_path / "models" / "m.json"
    side.parent.mkdir()
    side.write_text(json.dumps(old))
    r = ledger.model_record(tmp_path, "m")
    assert (r.recipe_key, r.hub) == (key, hub)
    assert ledger.migrate(tmp_path) == [side] and ledger.migrate(tmp_path) == []
    assert json.loads(side.read_text()) == {"schema": 1, "model": "m", "recipe_key": key, "hub": hub}


def test_a_newer_schema_or_garbage_is_one_sentence(tmp_path):
    side = tmp_path / "models" / "m.json"
    side.parent.mkdir()
    side.write_text(json.dumps({"schema": ledger.SCHEMA + 1, "model": "m"}))
    with pytest.raises(FileFormatError, match="newer than this code reads"):
        ledger.model_record(tmp_path, "m")
    side.write_text("{")
    with pytest.raises(FileFormatError, match="not valid JSON"):
        ledger.model_record(tmp_path, "m")


def test_a_calibration_lock_from_before_versioning_is_read_in_the_one_shape(tmp_path):
    old = tmp_path / "calibration" / "c4.json"
    old.parent.mkdir()
    old.write_text(json.dumps({"repo": "allenai/c4", "filename": "f.json.gz", "revision": "r1", "sha256": SHA}))
    want = {"schema": 1, "repo": "allenai/c4", "revision": "r1", "files": {"f.json.gz": SHA}}
    assert ledger.read_lock(tmp_path, "calibration", "c4") == want
    assert ledger.migrate(tmp_path) == [old] and json.loads(old.read_text()) == want


def test_locks_carry_the_schema(tmp_path):
    p = ledger.write_lock(tmp_path, "calibration", "c4", {"repo": "allenai/c4", "sha256": SHA})
    assert p == tmp_path / "calibration" / "c4.json" and ledger.read_lock(tmp_path, "calibration", "c4")["schema"] == 1
    p = ledger.write_lock(tmp_path, "data", "decodingtrust", {"revision": "r", "files": {}})
    assert p == tmp_path / "decodingtrust" / "hub.json"


def test_every_committed_record_is_in_the_current_schema():
    files = sorted((CHECKSUMS / "models").glob("*.json"))
    assert files and all(json.loads(f.read_text()).get("schema") == ledger.SCHEMA for f in files)
    assert ledger.migrate(CHECKSUMS) == []  # nothing left in an old form (and nothing rewritten)


def test_no_module_but_the_ledger_writes_checksums():
    writes = re.compile(r"\.(write_text|write_bytes|mkdir|unlink)\(|open\([^)]*[\"'][wa]")
    for path in (ROOT / "artifact").rglob("*.py"):
        if path.name == "ledger.py":
            continue
        for i, line in enumerate(path.read_text().splitlines(), 1):
            code = line.split("#")[0]
            assert not ("checksums" in code and writes.search(code)), f"{path.relative_to(ROOT)}:{i} writes checksums/"


def _stored(root, recipe: dict, payload: bytes = b"weights"):
    from artifact.base import store
    with store.staging(root, "m") as tmp:
        (tmp / "model.safetensors").write_bytes(payload)
        return store.commit(tmp, store.folder(root, "m"), recipe)


@pytest.mark.fault
def test_verify_tells_a_build_on_another_cpu_from_damage(tmp_path):
    checksums, root = tmp_path / "checksums", tmp_path / "store"
    entries = _stored(root, {"recipe_key": "k1"})
    ledger.record_build(checksums, "m", {"model.safetensors": "b" * 64}, "k1")  # recorded on another machine
    v = ledger.check(root / "m", checksums)
    assert v.status == "WARN" and "own SHA256SUMS verifies" in v.problems[0] and "built on a GPU" in v.problems[0]
    ledger.record_build(checksums, "m", entries, "k2")  # a record of another recipe says nothing about this model
    assert ledger.check(root / "m", checksums) == ledger.Verdict("ok", [])
    (root / "m" / "model.safetensors").write_bytes(b"weightz")  # a flipped byte on disk
    v = ledger.check(root / "m", checksums)
    assert v.status == "FAIL" and v.problems == ["model.safetensors: sha256 differs"]


@pytest.mark.fault
def test_a_pulled_model_that_differs_from_its_hub_record_fails(tmp_path):
    checksums, root = tmp_path / "checksums", tmp_path / "store"
    _stored(root, {"kind": "pulled", "commit": "c" * 40})
    ledger.record_hub(checksums, "m", {"model.safetensors": "b" * 64}, "o/m", "main", "c" * 40, "push", "t")
    v = ledger.check(root / "m", checksums)
    assert v.status == "FAIL" and "differs from m.sha256" in v.problems[0]


@pytest.mark.fault
@pytest.mark.parametrize("name", ["../../../../etc/hostname", "/etc/hostname", "sub/../../x"])
def test_a_record_that_names_a_path_outside_the_model_is_damage_not_rounding(tmp_path, name):
    checksums, root = tmp_path / "checksums", tmp_path / "store"
    entries = _stored(root, {"recipe_key": "k1"})
    ledger.record_build(checksums, "m", {**entries, name: "c" * 64}, "k1")
    v = ledger.check(root / "m", checksums)
    assert v.status == "FAIL" and any("outside the model folder" in p for p in v.problems), v
