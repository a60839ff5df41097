"""Owner-named locks and atomic writes: two runs never write one model or one evaluation folder at once, and no
reader ever sees a half-written file.

lock(path, what)      an exclusive `flock` on a small file next to what it guards (or on the folder it guards, so
                      no file can be deleted from under it), with who owns it (pid, host, command, start). The
                      kernel drops the lock when its owner exits, however it exits (kill -9 included), so a lock
                      is never stale and there is nothing to clean up. A second run is refused at once with
                      BusyError naming the owner. Re-entrant within one process.
owner(path)           who holds a lock now, or None when nobody does (a leftover's owner is gone).
write_text(path, s)   write a uniquely named sibling, fsync it, rename it over `path`: readers see the old bytes or
                      the new ones, and two writers never share a temporary file.
"""
from __future__ import annotations

import fcntl
import json
import os
import socket
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

from .errors import BusyError

_held: dict[str, list] = {}  # lock path -> [descriptor, depth]: this process's own locks (re-entrant)


def _describe(info: dict) -> str:
    if not info:
        return "another process (it has not said who it is yet)"
    since = time.strftime("%H:%M:%S", time.localtime(info.get("since", 0)))
    return f"pid {info.get('pid')} on {info.get('host')} (`{info.get('command', '?')}`, since {since})"


def _info_path(path: Path) -> Path:
    """Where the owner is written: the lock file itself, or `.lock` inside a locked folder."""
    return path / ".lock" if path.is_dir() else path


def _read_owner(path: Path) -> dict:
    try:
        return json.loads(_info_path(path).read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}


def _open(path: Path) -> int:
    """A descriptor to flock: the folder itself, or the lock file (made if missing)."""
    if path.is_dir():
        return os.open(path, os.O_RDONLY)
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)


@contextmanager
def lock(path: Path, what: str):
    """Hold `path` (a lock file, or a folder) exclusively while the block runs; BusyError names the owner when
    another process holds it."""
    key = str(path.absolute())
    if key in _held:
        _held[key][1] += 1
        try:
            yield
        finally:
            _held[key][1] -= 1
        return
    tries = 0
    while True:
        fd = _open(path)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            tries += 1
            if tries < 5:  # `make verify` probing the lock holds it for microseconds: not a reason to refuse
                time.sleep(0.05)
                continue
            raise BusyError(f"another run is using {what}: {_describe(_read_owner(path))}; wait for it to finish or "
                            "stop it, then run this again") from None
        try:  # a lock file deleted (and made anew) between our open and our flock is no lock: take it again
            if os.fstat(fd).st_ino == os.stat(path).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    info = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": time.time(),
                       "command": " ".join(sys.argv[-6:])[:200]})
    if path.is_dir():
        write_text(path / ".lock", info)
    else:
        os.ftruncate(fd, 0)
        os.pwrite(fd, info.encode(), 0)
    _held[key] = [fd, 1]
    try:
        yield
    finally:
        del _held[key]
        os.close(fd)  # closing the descriptor drops the lock


def owner(path: Path) -> dict | None:
    """Who holds the lock at `path` now ({pid, host, command, since}, or {} when unsaid), None when nobody does."""
    if not path.exists():
        return None
    if str(path.absolute()) in _held:
        return {"pid": os.getpid(), "host": socket.gethostname(), "command": "this run"}
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)  # shared: a run starting now is not refused because of us
    except BlockingIOError:
        return _read_owner(path)
    finally:
        os.close(fd)
    return None


def busy(path: Path) -> str | None:
    """The owner of the lock at `path` in words, or None when it is free."""
    info = owner(path)
    return None if info is None else _describe(info)


def temp_name(path: Path) -> Path:
    """A sibling of `path` no other writer uses (`.<name>.tmp-<pid>-<random>`)."""
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")


def write_text(path: Path, text: str) -> None:
    """Replace `path` with `text` atomically and durably."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_name(path)
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
