"""What a hostile but careful user tried after the first fault suite (a helper's pass, 2026-11-26), replayed: a
lock file deleted under a live run, damaged recipe.json and SHA256SUMS, an empty ARTIFACT_STORE, a full disk seen
only through a library's own error, rescoring an unfinished evaluation."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from artifact.base import store
from artifact.base.results import Results
from artifact.cli import main
from artifact.base.errors import BusyError

from tests.helpers import ROOT

pytestmark = pytest.mark.fault


def _build(root, name="m"):
    with store.staging(root, name) as tmp:
        (tmp / "model.safetensors").write_bytes(b"weights")
        store.commit(tmp, store.folder(root, name), {"recipe_key": "k"})
    return store.folder(root, name)


def test_a_live_runs_staging_folder_survives_its_lock_file_being_deleted(tmp_path):
    live = tmp_path / f".m.tmp-{os.getppid()}-live"  # named after a running process (pytest's parent)
    dead = tmp_path / ".m.tmp-99999999-dead"
    live.mkdir()
    dead.mkdir()
    with store.claim(tmp_path, "m"):
        pass
    assert live.is_dir() and not dead.exists()


def test_an_evaluation_folder_stays_locked_when_its_lock_file_is_deleted(tmp_path):
    folder = tmp_path / "eval-folder"
    folder.mkdir()
    code = textwrap.dedent(f"""
        import time
        from pathlib import Path
        from artifact.base.results import Results
        with Results(Path({str(folder)!r})).claim():
            print("held", flush=True)
            time.sleep(600)
    """)
    p = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "held"
        (folder / ".lock").unlink()  # the owner's note goes; the lock is on the folder itself
        with pytest.raises(BusyError, match="another run is using the evaluation folder"):
            with Results(folder).claim():  # what `make eval` and `make rescore` take
                pass
    finally:
        p.send_signal(signal.SIGKILL)
        p.wait()


@pytest.mark.parametrize("recipe", ['"x"', '{"recipe_key": 5}', "[]", "null", "{not json"])
def test_a_damaged_recipe_is_a_fail_in_verify_and_is_rebuilt_over(tmp_path, monkeypatch, capsys, recipe):
    folder = _build(tmp_path / "store")
    _build(tmp_path / "store", "other")
    (folder / store.RECIPE).write_text(recipe)
    monkeypatch.setenv("ARTIFACT_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("ARTIFACT_CHECKSUMS", str(tmp_path / "checksums"))
    assert main(["verify"]) == 1
    out = capsys.readouterr().out
    assert "| m " in out and "FAIL" in out and "recipe.json" in out and "| other " in out  # the others are checked
    assert store.read_recipe(folder) == {}  # no recipe matches it: a rebuild or pull replaces the model


@pytest.mark.parametrize("manifest", [b"garbage\n", bytes(range(256)) * 2])
def test_a_damaged_manifest_is_a_fail_not_a_stop(tmp_path, monkeypatch, capsys, manifest):
    folder = _build(tmp_path / "store")
    (folder / store.MANIFEST).write_bytes(manifest)
    assert store.verify(folder)[0].startswith("SHA256SUMS: damaged")
    monkeypatch.setenv("ARTIFACT_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("ARTIFACT_CHECKSUMS", str(tmp_path / "checksums"))
    assert main(["verify"]) == 1 and "SHA256SUMS: damaged" in capsys.readouterr().out


def test_an_empty_folder_variable_means_its_default_not_the_current_folder():
    from artifact.base import settings
    assert settings.load({"ARTIFACT_STORE": "", "ARTIFACT_RESULTS": ""}).store == settings.load({}).store
    assert settings.load({"ARTIFACT_RESULTS": ""}).results == settings.ROOT / "results"


def test_a_full_disk_behind_a_librarys_own_error_is_one_sentence(monkeypatch, capsys):
    import shutil
    from collections import namedtuple

    from artifact.cli import tables

    def save(args, settings):
        raise RuntimeError("Error while serializing: IoError(Os { code: 28, kind: StorageFull })")
    monkeypatch.setattr(tables, "cmd_table", save)
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _: usage(10 ** 9, 10 ** 9, 1000))
    assert main(["table", "table3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: RuntimeError with ") and "full; free space" in err and "Traceback" not in err


def test_rescore_skips_an_unfinished_evaluation(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "results" / "eval" / "m" / "0123456789abcdef" / "ethics" / "c0ffee"
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"perspective": "ethics", "data": {"kind": "subset"}}))
    (folder / "samples.jsonl").write_text(json.dumps({"key": "a", "replies": ["yes"]}) + "\n")
    monkeypatch.setenv("ARTIFACT_RESULTS", str(tmp_path / "results"))
    assert main(["rescore"]) == 0
    out = capsys.readouterr().out
    assert "skipped: its evaluation has not finished" in out and "rescored 0 result(s)" in out
    assert not (folder / "score.json").exists()


def test_an_internal_valueerror_is_a_bug_with_its_traceback_not_a_users_value(monkeypatch, capsys):
    """#31: any uncaught ValueError exited 2, "a value this command read"; the values a user gives are checked where
    they enter (exit 2, one sentence), so one that reaches the edge is a bug: exit 3, its traceback saved."""
    from artifact.cli import tables

    def broken(args, settings):
        int("not a number")
    monkeypatch.setattr(tables, "cmd_table", broken)
    assert main(["table", "table3"]) == 3
    err = capsys.readouterr().err
    assert "ValueError" in err and "this is a bug" in err and "traceback in" in err
    saved = err.rsplit("traceback in ", 1)[1].rstrip(")\n")
    assert "int(\"not a number\")" in open(saved).read()
