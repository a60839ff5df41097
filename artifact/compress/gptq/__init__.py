"""GPTQ (Frantar et al., 2023) with gptqmodel, set up as the paper's auto-gptq run: symmetric, act-order
(desc_act), sequential within a layer, 1% dampening. Writes the classic GPTQ checkpoint (qweight / qzeros /
scales / g_idx, `checkpoint_format: gptq`) that auto-gptq, gptqmodel and transformers 5 (+ optimum) all load.

gptqmodel's extras beyond auto-gptq are switched off (AUTO_GPTQ, also written into quantize_config.json):
activation-group-aware ordering, raising the dampening when a Hessian is not positive definite (auto-gptq stops
there), and the round-to-nearest fallback for modules that saw too little calibration data. A module that still
needed a larger dampening is refused with one sentence, as auto-gptq would have refused it."""
from __future__ import annotations

from pathlib import Path

from ...errors import ArtifactError
from ..quantlib import batches, drop_timing_log, dtype_for, gptqmodel, phase

AUTO_GPTQ = {"act_group_aware": False, "damp_auto_increment": 0.0, "fallback": None}


def quantize_gptq(base_dir: Path, out_dir: Path, sequences: list[list[int]], bits: int, group_size: int,
                  desc_act: bool = True, damp: float = 0.01, device: str = "cpu") -> dict:
    import torch

    gm = gptqmodel()
    config = gm.GPTQConfig(bits=bits, group_size=group_size, desc_act=desc_act, damp_percent=damp, sym=True,
                           true_sequential=True, offload_to_disk=False, **AUTO_GPTQ)
    timing: dict = {}
    # float32 on CPU, no disk offload: with gptqmodel's defaults (bfloat16, offload) the demo took 157 s, not 57 s
    with phase(timing, "load"):
        model = gm.GPTQModel.load(str(base_dir), config, device=device, dtype=dtype_for(device, torch.float32))
    with phase(timing, "compress"):
        model.quantize(batches(sequences), batch_size=1)
    refuse_changed_damping(model.quant_log, damp)
    with phase(timing, "save"):
        model.save(str(out_dir))
    stats = {"format": "gptq", "calibration_sequences": len(sequences), "timing": timing}
    drop_timing_log(out_dir, stats)
    return stats


def refuse_changed_damping(quant_log: list[dict], damp: float) -> None:
    """auto-gptq quantized every module at the configured dampening or stopped: so do we."""
    for entry in quant_log or []:
        try:
            used = float(entry.get("damp"))
        except (TypeError, ValueError):
            continue
        if abs(used - damp) > 1e-9:
            raise ArtifactError(f"GPTQ could not invert the Hessian of {entry.get('module')} in layer "
                                f"{entry.get('layer')} at {damp:.0%} dampening (it needed {used:.5f}); auto-gptq, "
                                "which the paper used, stops here too: use more calibration samples")
