"""kill -9 at each point of a store commit, in a real process: the next claim of the name leaves the old model or
the new one, complete and verified, and no folder behind."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from artifact.base import store

from tests.helpers import ROOT

pytestmark = pytest.mark.fault


def build_in_a_process(root, payload: bytes, fault: str | None):
    code = textwrap.dedent(f"""
        from pathlib import Path
        from artifact.base import store
        root = Path({str(root)!r})
        with store.claim(root, "m"):
            with store.staging(root, "m") as tmp:
                (tmp / "model.safetensors").write_bytes({payload!r})
                (tmp / "config.json").write_text("{{}}")
                store.commit(tmp, store.folder(root, "m"), {{"recipe_key": {payload.decode()!r}}})
    """)
    env = {"PATH": "/usr/bin:/bin", **({"ARTIFACT_FAULT": fault} if fault else {})}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, timeout=120)


@pytest.mark.parametrize("point, first, after", [
    ("store.staged", True, None),  # nothing committed yet: no model, and the next run builds it
    ("store.swap", True, "new"),  # a first build has no old model to move aside: the point is never reached
    ("store.cleanup", True, "new"),
    ("store.staged", False, "old"),
    ("store.swap", False, "old"),  # the old model was moved aside: moved back
    ("store.cleanup", False, "new"),  # the new model is in place: the old copy is deleted
])
def test_a_kill_anywhere_in_a_commit_leaves_one_whole_model(tmp_path, point, first, after):
    if not first:
        assert build_in_a_process(tmp_path, b"old", None).returncode == 0
    killed = build_in_a_process(tmp_path, b"new", point)
    assert killed.returncode == (0 if first and point == "store.swap" else -9), killed.stderr
    with store.claim(tmp_path, "m"):  # what every rebuild, pull and conversion does first
        pass
    folder = store.folder(tmp_path, "m")
    if after is None:
        assert not folder.exists()
    else:
        assert (folder / "model.safetensors").read_bytes() == after.encode() and store.verify(folder) == []
        assert store.read_recipe(folder)["recipe_key"] == after
    assert store.leftovers(tmp_path) == []  # no staging folder, no old copy
    assert build_in_a_process(tmp_path, b"new", None).returncode == 0  # and the rerun completes
    assert (folder / "model.safetensors").read_bytes() == b"new" and store.leftovers(tmp_path) == []
