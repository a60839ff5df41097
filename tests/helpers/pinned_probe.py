"""Functions that tests/compress/test_pinned.py runs in the fixed-kernel-path child (artifact/compress/pinned.py)."""
from __future__ import annotations

import os

from artifact.base.errors import ArtifactError


def environment(*, progress):
    """What the child runs on; prints on stdout between progress reports (a library would)."""
    import torch
    progress(1, 2)
    print("a library's line on stdout")
    progress(2, 2)
    return {"capability": torch.backends.cpu.get_cpu_capability(), "threads": torch.get_num_threads(),
            "mkl": os.environ.get("MKL_CBWR"), "onednn": os.environ.get("ONEDNN_MAX_CPU_ISA")}


def refuse(message, *, progress):
    raise ArtifactError(message)


def bug(*, progress):
    raise KeyError("an internal bug")


def die(*, progress):
    progress(1, 3)
    os._exit(9)


def missing(folder, *, progress):
    from artifact.base.errors import ChecksumMismatchError
    raise ChecksumMismatchError(folder, "the base model fails its sha256 check", "pull it again")
