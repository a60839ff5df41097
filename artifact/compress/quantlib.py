"""What GPTQ and AWQ share: starting gptqmodel the way this machine needs, and feeding it calibration data."""
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


def batches(sequences: list[list[int]]) -> list[dict]:
    return [{"input_ids": s, "attention_mask": [1] * len(s)} for s in sequences]


def dtype_for(device: str, cpu_dtype):
    """CPU: the dtype the CPU kernels need; GPU: float16, as auto-gptq and llm-awq ran."""
    import torch
    return cpu_dtype if device == "cpu" else torch.float16


def drop_timing_log(out_dir, stats: dict) -> None:
    """gptqmodel writes quant_log.csv with per-module wall times, which would make two identical builds differ
    byte for byte: keep its losses in the recipe and remove the file."""
    log = out_dir / "quant_log.csv"
    if log.is_file():
        import csv
        losses = []
        for row in csv.DictReader(open(log, newline="")):
            try:
                losses.append(float(row.get("loss")))
            except (TypeError, ValueError):  # AWQ logs "not applicable" for some modules
                pass
        if losses:
            stats["modules"] = len(losses)
            stats["mean_layer_loss"] = sum(losses) / len(losses)
        log.unlink()
