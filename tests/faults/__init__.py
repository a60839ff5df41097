"""The fault-injection suite (issue #18): kills at the points artifact/base/faults.py names, corruptions planted by the
test, a hostile loopback Hub, two runs at once, bad input, sentinel secrets. Every test here and the fault tests
that live beside the module they exercise carry the `fault` marker; `make test-faults` runs them all."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT


def env_for(tmp_path: Path, **extra) -> dict:
    """A run's environment: its own store, results and checksums under tmp_path, the CPU."""
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
            "ARTIFACT_STORE": str(tmp_path / "store"), "ARTIFACT_RESULTS": str(tmp_path / "results"),
            "ARTIFACT_CHECKSUMS": str(tmp_path / "checksums"), "ARTIFACT_DEVICE": "cpu",
            "HF_HUB_DISABLE_XET": "1", "HF_HUB_CACHE": str(tmp_path / "hf-cache"), **extra}


def start(args: list[str], env: dict, fault: str | None = None) -> subprocess.Popen:
    """`python -m artifact <args>` in the background, with ARTIFACT_FAULT set where given."""
    env = {**env, **({"ARTIFACT_FAULT": fault} if fault else {})}
    return subprocess.Popen([sys.executable, "-m", "artifact", *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def run(args: list[str], env: dict, fault: str | None = None, timeout: int = 900) -> subprocess.CompletedProcess:
    p = start(args, env, fault)
    out, err = p.communicate(timeout=timeout)
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


def until_held(p: subprocess.Popen) -> str:
    """Read the run's stderr until it says it is holding at its fault point (it then waits to be killed)."""
    seen = []
    for line in p.stderr:
        seen.append(line)
        if line.startswith("fault: holding at"):
            return "".join(seen)
    raise AssertionError(f"the run ended (exit {p.wait()}) without reaching its fault point:\n{''.join(seen)[-2000:]}")


def one_sentence(r: subprocess.CompletedProcess) -> bool:
    """Exit 2, one `error:` line on stderr, no traceback."""
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    return r.returncode == 2 and lines[-1:] and lines[-1].startswith("error: ") and "Traceback" not in r.stderr
