"""Owner-named locks and atomic writes (artifact/base/guard.py), across real processes."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from artifact.base import guard
from artifact.base.errors import BusyError

from tests.helpers import ROOT


def holder(path, *extra) -> subprocess.Popen:
    """Another process that takes the lock, says so on stdout, and holds it until killed."""
    code = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from artifact.base import guard
        with guard.lock(Path({str(path)!r}), "the thing"):
            print("held", flush=True)
            time.sleep(600)
    """)
    p = subprocess.Popen([sys.executable, "-c", code, *extra], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "held"
    return p


@pytest.mark.fault
def test_a_second_process_is_refused_with_the_owner_named_and_the_lock_dies_with_its_owner(tmp_path):
    path = tmp_path / ".m.lock"
    p = holder(path, "make-rebuild-smol")
    try:
        with pytest.raises(BusyError, match=rf"another run is using the model m: pid {p.pid} on .*make-rebuild-smol"):
            with guard.lock(path, "the model m"):
                pass
        assert guard.owner(path)["pid"] == p.pid and f"pid {p.pid}" in guard.busy(path)
    finally:
        p.send_signal(signal.SIGKILL)  # kill -9: no cleanup runs, and yet the lock is free
        p.wait()
    assert guard.owner(path) is None and guard.busy(path) is None
    with guard.lock(path, "the model m"):
        assert guard.owner(path)["pid"] == os.getpid()


def test_the_lock_is_reentrant_in_one_process(tmp_path):
    path = tmp_path / "x.lock"
    with guard.lock(path, "x"):
        with guard.lock(path, "x"):
            pass
        assert guard.owner(path)["pid"] == os.getpid()  # still held after the inner block
    assert guard.owner(path) is None


def test_an_atomic_write_leaves_no_temporary_file_and_names_are_unique(tmp_path):
    target = tmp_path / "score.json"
    guard.write_text(target, "one")
    guard.write_text(target, "two")
    assert target.read_text() == "two" and [p.name for p in tmp_path.iterdir()] == ["score.json"]
    assert guard.temp_name(target) != guard.temp_name(target)
    assert guard.temp_name(target).name.startswith(f".score.json.tmp-{os.getpid()}-")


@pytest.mark.fault
def test_a_failed_write_keeps_the_old_bytes(tmp_path, monkeypatch):
    target = tmp_path / "t.json"
    target.write_text("old")

    def full(*_):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OSError):
        guard.write_text(target, "new")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["t.json"]
