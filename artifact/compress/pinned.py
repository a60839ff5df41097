"""A CPU build on one fixed kernel path, whatever the CPU: a child process of this one, with
`settings.BUILD_KERNEL_PATH` in its environment (torch's scalar kernels, MKL's compatible branch, one thread), for
the methods whose facts ask for it (catalog/methods.py: `fixed_kernel_path`).

float64 (layers.py) shrinks the differences between kernel paths to about 1e-16, which no 4-bit code or N:M choice
falls inside in practice, but a method that writes reconstructed float values (SparseGPT's updated weights, in the
base's float32) rounds tens of millions of them, and a handful land within 1e-16 of a rounding boundary: measured on
the demo's SparseGPT 2:4 model, 5 of 67 million weights differed by one float32 ulp between two kernel paths. The
fixed path takes the same instructions in the same order on every x86-64 CPU (docs/compression.md says which CPUs
and what it costs), so the bytes are the same everywhere. The switches are read when torch and MKL load, hence the
child process; a GPU build keeps the paper's float32 and runs in this one.

The parent sends the build's arguments (pickled, on stdin: our own process, never a file) and reads progress and
the result from a private pipe; anything the libraries print goes to stderr.
"""
from __future__ import annotations

import base64
import importlib
import json
import os
import pickle
import subprocess
import sys
import traceback
from pathlib import Path

from ..base.errors import ArtifactError
from ..base.settings import BUILD_KERNEL_PATH, kernel_env


def active() -> bool:
    """Whether this process already runs on the fixed kernel path."""
    return all(os.environ.get(k) == v for k, v in BUILD_KERNEL_PATH.items())


def call(target: str, args: tuple, progress=None):
    """`module:function` called as function(*args, progress=...) in a child process on the fixed kernel path (a
    method's build: `artifact.compress.sparsegpt:build`); what it returns (JSON), or its exception raised here."""
    read, write = os.pipe()
    child = subprocess.Popen([sys.executable, "-c", f"from {__name__} import _main; _main({write})"],
                             stdin=subprocess.PIPE, env=kernel_env(BUILD_KERNEL_PATH), pass_fds=(write,))
    os.close(write)
    result = None
    try:
        child.stdin.write(pickle.dumps((target, args)))
        child.stdin.close()
        with os.fdopen(read, "r", encoding="utf-8") as lines:
            read = None
            for line in lines:
                kind, _, rest = line.rstrip("\n").partition(" ")
                if kind == "progress" and progress:
                    progress(*map(int, rest.split()))
                elif kind in ("result", "error"):
                    result = (kind, rest)
        code = child.wait()
    finally:
        if read is not None:
            os.close(read)
        if child.poll() is None:
            child.kill()
            child.wait()
    if result and result[0] == "result":
        return json.loads(result[1])
    if result and result[0] == "error":
        raise pickle.loads(base64.b64decode(result[1]))
    raise ArtifactError(f"the build process ({target}) ended with exit code {code} before it finished; its output is "
                        "above")


def _main(fd: int) -> None:
    from ..base import liblog
    from ..base.settings import yes_no
    if os.environ.get(liblog.ENV):  # the libraries' messages into the caller's log file
        liblog.attach(Path(os.environ[liblog.ENV]), yes_no("VERBOSE", os.environ.get("VERBOSE")))
    target, args = pickle.loads(sys.stdin.buffer.read())
    with os.fdopen(fd, "w", encoding="utf-8", buffering=1) as out:
        def progress(i, n):
            out.write(f"progress {i} {n}\n")

        os.dup2(2, 1)  # a library's print must not mix with the protocol
        try:
            module, _, function = target.partition(":")
            stats = getattr(importlib.import_module(module), function)(*args, progress=progress)
        except Exception as exc:  # noqa: BLE001 - handed to the parent, which raises it
            if not isinstance(exc, ArtifactError):
                traceback.print_exc()  # a bug: its traceback where the parent's output is
            try:
                blob = pickle.dumps(exc)
                pickle.loads(blob)  # an exception whose __init__ takes other arguments than its args cannot return
            except Exception:  # noqa: BLE001
                blob = pickle.dumps(ArtifactError(f"{type(exc).__name__}: {exc}"))
            out.write("error " + base64.b64encode(blob).decode() + "\n")
            raise SystemExit(1) from None
        out.write("result " + json.dumps(stats) + "\n")
