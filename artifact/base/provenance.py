"""Where a number came from: code commit, library versions, file checksums, time."""
from __future__ import annotations

import hashlib
import platform
import subprocess
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from .settings import ROOT

# The packages whose versions can change a number we print.
TRACKED = ("torch", "transformers", "gptqmodel", "optimum", "accelerate", "datasets",
           "huggingface-hub", "safetensors", "tokenizers", "numpy", "tabulate")


def canonical_digest(obj) -> str:
    """sha256 of an object's canonical JSON (sorted keys, no spaces): the key of a recipe or of a run's config."""
    import json
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def sha256_file(path: Path | str, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def rel(path: Path) -> str:
    """A path as provenance records it: relative to the repository when inside it, else absolute."""
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def file_record(path: Path) -> dict:
    return {"file": rel(path), "sha256": sha256_file(path)}


def code_commit(root: Path = ROOT) -> str:
    """HEAD of the checkout, with `+dirty` when tracked files differ from it; `unknown` outside git."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                              check=True, timeout=10).stdout.strip()
    try:
        head = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "platform": f"{sys.platform}-{platform.machine()}"}
    for name in TRACKED:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def now_utc() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def stamp() -> dict:
    """The run-level provenance block every output file carries."""
    return {"code_commit": code_commit(), "time": now_utc(), "versions": library_versions()}


def cpu_model() -> str:
    """The CPU this runs on (another CPU may flip near-tie tokens: the reason verdicts use intervals)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or platform.machine()
