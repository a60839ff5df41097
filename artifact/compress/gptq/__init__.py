"""GPTQ (Frantar et al., 2023) as the paper ran it with auto-gptq: symmetric, act-order (desc_act), 1% dampening,
block 128, true-sequential within a layer, each calibration sequence its own batch. Writes the classic GPTQ
checkpoint (qweight / qzeros / scales / g_idx, `checkpoint_format: gptq`) that auto-gptq, gptqmodel and
transformers 5 (+ optimum) load; gptqmodel's kernels run it at evaluation.

Layer by layer: the sequences' inputs to the layer are recorded once; then for each group of projections in turn
(q/k/v, o, gate/up, down, auto-gptq's order for Llama) the layer runs on them while hooks fill each projection's
Hessian, and the group is quantized (algorithm.py), its weights replaced by their dequantized values, so the next
group and the next layer see the quantized ones. On a CPU the model and every statistic are float64 (layers.py:
bit-identical on any x86-64 CPU); on a GPU the paper's float16 model and float32 statistics.

Why not gptqmodel's GPTQ (which built these models before): its Hessians, workspaces and solves are float32 in
code, so its builds differ between CPUs (docs/compression.md measures by how much).
"""
from __future__ import annotations

from pathlib import Path

import torch

from ...base.errors import ArtifactError
from ..layers import _Stop, compute_dtype, decoder_layers, hidden_of, layer0_inputs, linears, model_dtype, precise, \
    with_hidden
from ..quantlib import phase
from . import pack
from .algorithm import Hessian, gptq

IMPLEMENTATION = "comp-trust-artifact:gptq-3"  # written into quantize_config.json's meta
# auto-gptq's inside_layer_modules for Llama: projections that share an input are quantized together
SEQUENTIAL = (("self_attn.k_proj", "self_attn.v_proj", "self_attn.q_proj"), ("self_attn.o_proj",),
              ("mlp.up_proj", "mlp.gate_proj"), ("mlp.down_proj",))


def groups_of(layer: torch.nn.Module) -> list[tuple[str, ...]]:
    """The layer's projections in auto-gptq's sequential groups; projections of another naming come last, together."""
    names = list(linears(layer))
    groups = [tuple(n for n in group if n in names) for group in SEQUENTIAL]
    rest = tuple(n for n in names if not any(n in g for g in groups))
    return [g for g in groups if g] + ([rest] if rest else [])


@torch.no_grad()
def gptq_model(model: torch.nn.Module, sequences: list[list[int]], bits: int, group_size: int, desc_act: bool,
               damp: float, device: str, progress=None, dtype: torch.dtype | None = None) -> tuple[dict, float]:
    """Quantize `model` in place (its projections hold the dequantized weights afterwards); returns
    ({module: (codes, scales, zeros, g_idx)}, summed loss). `dtype`: the statistics' precision, the device's by
    default (`make bench-gptq-dtype` passes float32 on a CPU to measure what float64 changes)."""
    dtype = dtype or compute_dtype(device)
    layers = decoder_layers(model)
    offload = device != "cpu"  # on a GPU one decoder layer at a time, as auto-gptq: a 70B model fits in 41 GB
    if offload:
        for child in model.model.children():
            if child is not layers:
                child.to(device)
    inputs = layer0_inputs(model, [torch.tensor([ids], device=device) for ids in sequences])
    out, loss = {}, 0.0
    for i, layer in enumerate(layers):
        if offload:
            layer.to(device)
        mods = linears(layer)
        for group in groups_of(layer):
            stats = {name: Hessian(mods[name].in_features, dtype, mods[name].weight.device) for name in group}
            seen: set[str] = set()

            def record(_m, inp, _o, name, stats=stats, seen=seen, group=group):  # the group's inputs; then the rest
                # of the layer is not needed (the hooks are removed before the next group binds its own)
                stats[name].add(inp[0][0])
                seen.add(name)
                if len(seen) == len(group):
                    raise _Stop
            handles = [mods[name].register_forward_hook(lambda m, i, o, n=name: record(m, i, o, n)) for name in group]
            try:
                for args, kwargs in inputs:
                    seen.clear()
                    try:
                        layer(*args, **kwargs)
                    except _Stop:
                        pass
            finally:
                for h in handles:
                    h.remove()
            for name in group:
                weight = mods[name].weight
                try:
                    q = gptq(weight.to(dtype), stats[name].matrix, bits, group_size, desc_act, damp)
                except torch.linalg.LinAlgError:
                    raise ArtifactError(f"GPTQ could not invert the Hessian of {name} in layer {i} at {damp:.0%} "
                                        "dampening; auto-gptq, which the paper used, stops here too: use more "
                                        "calibration samples") from None
                weight.copy_(q.weight.to(weight.dtype))
                out[f"model.layers.{i}.{name}"] = (q.codes.cpu(), q.scales.cpu(), q.zeros.cpu(), q.g_idx.cpu())
                loss += q.loss
        inputs = [with_hidden(a, k, hidden_of(layer(*a, **k))) for a, k in inputs]
        if offload:
            layer.to("cpu")
        if progress:
            progress(i + 1, len(layers))
    return out, loss


def quantize_gptq(base_dir: Path, out_dir: Path, sequences: list[list[int]], bits: int, group_size: int,
                  desc_act: bool = True, damp: float = 0.01, device: str = "cpu", progress=None) -> dict:
    from transformers import AutoModelForCausalLM

    timing: dict = {}
    with phase(timing, "load"):
        model = AutoModelForCausalLM.from_pretrained(base_dir, dtype=model_dtype(device)).eval()  # layers: CPU
    with phase(timing, "compress"), precise(model):
        quantized, loss = gptq_model(model, sequences, bits, group_size, desc_act, damp, device, progress)
    with phase(timing, "save"):
        config = pack.quantization_config(bits, group_size, desc_act, damp, IMPLEMENTATION)
        pack.write(base_dir, out_dir, quantized, config)
    del model
    return {"format": "gptq", "calibration_sequences": len(sequences), "modules": len(quantized),
            "compute_dtype": str(compute_dtype(device)).removeprefix("torch."),
            "mean_module_error": loss / max(len(quantized), 1), "timing": timing}  # auto-gptq's logged error


def build(job, base_dir: Path, out: Path, sequences, sparsity, device: str, progress=None) -> dict:
    """The build layer's entry point (compress.implementation("gptq").build): a catalog job's settings."""
    return quantize_gptq(base_dir, out, sequences, job.bits, job.group_size, job.desc_act, job.damp, device, progress)
