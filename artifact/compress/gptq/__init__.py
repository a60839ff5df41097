"""GPTQ (Frantar et al., 2023) with gptqmodel, set up as the paper's auto-gptq run: symmetric, act-order
(desc_act), sequential within a layer, 1% dampening. Writes the classic GPTQ checkpoint (qweight / qzeros /
scales / g_idx, `checkpoint_format: gptq`) that auto-gptq, gptqmodel and transformers 5 (+ optimum) all load."""
from __future__ import annotations

from pathlib import Path

from ..quantlib import batches, drop_timing_log, dtype_for, gptqmodel, phase


def quantize_gptq(base_dir: Path, out_dir: Path, sequences: list[list[int]], bits: int, group_size: int,
                  desc_act: bool = True, damp: float = 0.01, device: str = "cpu") -> dict:
    import torch

    gm = gptqmodel()
    config = gm.GPTQConfig(bits=bits, group_size=group_size, desc_act=desc_act, damp_percent=damp, sym=True,
                           true_sequential=True, offload_to_disk=False)
    timing: dict = {}
    # float32 on CPU, no disk offload: with gptqmodel's defaults (bfloat16, offload) the demo took 157 s, not 57 s
    with phase(timing, "load"):
        model = gm.GPTQModel.load(str(base_dir), config, device=device, dtype=dtype_for(device, torch.float32))
    with phase(timing, "compress"):
        model.quantize(batches(sequences), batch_size=1)
    with phase(timing, "save"):
        model.save(str(out_dir))
    stats = {"format": "gptq", "calibration_sequences": len(sequences), "timing": timing}
    drop_timing_log(out_dir, stats)
    return stats
