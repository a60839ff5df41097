"""What GPTQ and AWQ share: rounding to a grid the same way on every CPU, starting gptqmodel the way this machine
needs, timing the phases of a build."""
from __future__ import annotations

import os
import time
from contextlib import contextmanager

SUPPORTED_BITS = (2, 3, 4, 8)


def gptqmodel():
    """Import gptqmodel after giving it the CPU worker count it insists on (it refuses to start on 2 cores
    without one)."""
    os.environ.setdefault("GPTQMODEL_CPU_WORKERS", str(os.cpu_count() or 1))
    import gptqmodel
    return gptqmodel


@contextmanager
def phase(timing: dict, name: str):
    """Add the seconds spent in a block to timing[name] (load / compress / save breakdowns in recipe.json)."""
    started = time.perf_counter()
    try:
        yield
    finally:
        timing[f"{name}_s"] = round(timing.get(f"{name}_s", 0) + time.perf_counter() - started, 2)


TIE = 1e-9  # float64 quotients this close (relative) to a half step are ties in exact arithmetic


def round_half_even(r):
    """torch.round, except that in float64 a quotient within TIE of a half step is rounded as the exact tie it is.

    The symmetric grid puts each group's extreme weight exactly on a tie: w / (2 max|w| / 15) = ±7.5 in exact
    arithmetic, and the float quotient lands a few ulps to either side depending on the last bits of max|w|, which
    differ between CPUs after any rounding upstream. Rounded as computed, the extreme weight's code is a coin flip
    (0 or 1), and GPTQ carries the flip's error through the rest of the row: 271 codes in 8 rows of one SmolLM2
    projection flipped under a 1e-16 change to its Hessian. In float32 (a GPU, the paper's precision) TIE is 0:
    auto-gptq's rounding exactly."""
    import torch
    if r.dtype != torch.float64:
        return torch.round(r)
    low = torch.floor(r)
    tie = ((r - low) - 0.5).abs() <= TIE * torch.clamp(r.abs(), min=1.0)
    return torch.where(tie, torch.round(low + 0.5), torch.round(r))
