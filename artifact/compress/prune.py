"""Prune a Llama-family model layer by layer, as locuslab/wanda runs Wanda and SparseGPT.

The calibration sequences go through the embeddings once; then for each decoder layer in turn: run the layer on
its inputs while hooks collect each linear projection's input statistics (Wanda: input norms; SparseGPT: the
Hessian), prune every projection of the layer from those statistics, and run the now-pruned layer again to make
the next layer's inputs. Each layer therefore sees the outputs of the already-pruned layers before it.
Magnitude pruning needs no data and prunes every projection directly. Embeddings and lm_head are never pruned.
"""
from __future__ import annotations

import importlib
from types import ModuleType

import torch
from torch import nn

from ..base.catalog.methods import METHODS
from ..base.errors import ArtifactError
from .layers import decoder_layers, hidden_of, layer0_inputs, linears, model_dtype, precise, with_hidden
from .sparsity import Sparsity


def _check_shapes(model: nn.Module, sparsity: Sparsity) -> None:
    for i, layer in enumerate(decoder_layers(model)):
        for name, mod in linears(layer).items():
            sparsity.check(mod.in_features, f"layer {i} {name}")


def pruner(method: str) -> ModuleType:
    """A pruning method's package (magnitude/, wanda/, sparsegpt/): its STATISTIC (None: no calibration data) and
    `apply(weight, statistic, sparsity) -> (mask, reconstruction loss or None)`, which prunes in place."""
    if method not in METHODS or METHODS[method].quantization:
        from ..base.catalog.methods import PRUNING
        raise ArtifactError(f"unknown pruning method {method!r}; use {', '.join(PRUNING)}")
    return importlib.import_module(f".{method}", __package__)


@torch.no_grad()
def prune_model(model: nn.Module, method: str, sparsity: Sparsity, sequences: list[list[int]] | None = None,
                device: str = "cpu", progress=None) -> dict:
    """Prune `model` in place; returns per-method statistics (pruned fraction, reconstruction error)."""
    how = pruner(method)
    _check_shapes(model, sparsity)
    layers = decoder_layers(model)
    zeros = total = 0
    if how.STATISTIC is None:  # data-free: every projection directly
        for i, layer in enumerate(layers):
            for mod in linears(layer).values():
                mask, _ = how.apply(mod.weight, None, sparsity)
                zeros, total = zeros + int(mask.sum()), total + mask.numel()
            if progress:
                progress(i + 1, len(layers))
        return {"pruned_fraction": zeros / total}
    if not sequences:
        raise ArtifactError(f"{method} needs calibration sequences")

    inputs = layer0_inputs(model, [torch.tensor([ids], device=device) for ids in sequences])
    error, reconstructed = 0.0, False
    for i, layer in enumerate(layers):
        mods = linears(layer)
        stats = {name: how.STATISTIC(mod.in_features, device, mod.weight.device) for name, mod in mods.items()}
        handles = [mod.register_forward_hook(lambda _m, inp, _out, s=stats[name]: s.add(inp[0]))
                   for name, mod in mods.items()]
        try:
            for args, kwargs in inputs:
                layer(*args, **kwargs)
        finally:
            for h in handles:
                h.remove()
        for name, mod in mods.items():
            mask, loss = how.apply(mod.weight, stats[name], sparsity)
            if loss is not None:  # SparseGPT: the layer loss, summed over every projection in order
                error, reconstructed = error + loss, True
            zeros, total = zeros + int(mask.sum()), total + mask.numel()
        inputs = [with_hidden(a, k, hidden_of(layer(*a, **k))) for a, k in inputs]
        if progress:
            progress(i + 1, len(layers))
    out = {"pruned_fraction": zeros / total, "calibration_sequences": len(sequences)}
    if reconstructed:
        out["reconstruction_loss"] = error
    return out


def build_pruned(how: ModuleType, job, base_dir, out, sequences, sparsity: Sparsity, device: str,
                 progress=None) -> dict:
    """A pruning method's build (its package's `build` calls this): load the base, prune it layer by layer (in
    float64 on a CPU when calibrated), save it in the base's dtype with the base's tokenizer."""
    from transformers import AutoModelForCausalLM

    from ..base import store
    from .quantlib import phase
    timing: dict = {}
    with phase(timing, "load"):
        model = AutoModelForCausalLM.from_pretrained(base_dir, dtype="auto").to(device)
        stored = model.dtype  # a calibrated method computes in float64 on a CPU; the weights are saved as stored
        if sequences is not None:
            model = model.to(model_dtype(device) if device == "cpu" else stored)
    with phase(timing, "compress"), precise(model):
        stats = prune_model(model, job.method, sparsity, sequences, device, progress)
    with phase(timing, "save"):
        model.to(stored).save_pretrained(out)
        store.copy_tokenizer(base_dir, out)
    stats["timing"] = timing
    del model
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    return stats


def sparsity_of(model: nn.Module) -> float:
    """Fraction of exact zeros in the decoder layers' linear projections."""
    zeros = total = 0
    for layer in decoder_layers(model):
        for mod in linears(layer).values():
            zeros += int((mod.weight == 0).sum())
            total += mod.weight.numel()
    return zeros / total
