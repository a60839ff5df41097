"""Another CPU's float32 rounding, reproduced on this one: the environment switches that make torch, MKL and oneDNN
take other kernel paths (vector width, BLAS branch, thread count). A build that is bit-identical under every switch
is bit-identical on other x86-64 CPUs; a float32 probe tells whether a switch changes anything here at all."""
from __future__ import annotations

import subprocess
import sys

from artifact.base.settings import KERNEL_PATHS, kernel_env  # noqa: F401 (kernel_env: for the tests)

from tests.helpers import ROOT


def _flags() -> set[str]:
    try:
        text = open("/proc/cpuinfo", encoding="utf-8").read()
    except OSError:
        return set()
    line = next((ln for ln in text.splitlines() if ln.startswith("flags")), "")
    return set(line.split(":", 1)[-1].split())


SWITCHES = {**KERNEL_PATHS, **({"ATEN_CPU_CAPABILITY=avx512": {"ATEN_CPU_CAPABILITY": "avx512"}}
                                if "avx512f" in _flags() else {})}
ALL = {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

# a float32 product, its Cholesky and a GELU: the probe of whether a switch changes float32 bytes here
PROBE = """
import hashlib, torch
torch.manual_seed(0)
a = torch.randn(700, 300)
h = a.T @ a
out = torch.cat([h.flatten(), torch.linalg.cholesky(h + 300 * torch.eye(300)).flatten(),
                 torch.nn.functional.gelu(a).flatten(), torch.nn.functional.silu(a).flatten(),
                 torch.softmax(a, dim=-1).flatten()])
print(hashlib.sha256(out.numpy().tobytes()).hexdigest())
"""


def python(code: str, switch: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=kernel_env(switch), capture_output=True,
                          text=True, timeout=timeout)


def float32_changes() -> list[str]:
    """The switches under which the float32 probe gives other bytes than the defaults on this machine."""
    plain = python(PROBE, {}).stdout.strip()
    return [name for name, sw in SWITCHES.items() if python(PROBE, sw).stdout.strip() != plain]
