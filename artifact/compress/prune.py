"""Prune a Llama-family model layer by layer, as locuslab/wanda runs Wanda and SparseGPT.

The calibration sequences go through the embeddings once; then for each decoder layer in turn: run the layer on
its inputs while hooks collect each linear projection's input statistics (Wanda: input norms; SparseGPT: the
Hessian), prune every projection of the layer from those statistics, and run the now-pruned layer again to make
the next layer's inputs. Each layer therefore sees the outputs of the already-pruned layers before it.
Magnitude pruning needs no data and prunes every projection directly. Embeddings and lm_head are never pruned.
"""
from __future__ import annotations

import torch
from torch import nn

from ..errors import ArtifactError
from .magnitude import magnitude_mask
from .sparsegpt import Hessian, sparsegpt_prune
from .sparsity import Sparsity
from .wanda import InputNorms, wanda_mask


class _Stop(Exception):
    pass


def decoder_layers(model: nn.Module):
    layers = getattr(getattr(model, "model", None), "layers", None)
    if layers is None:
        raise ArtifactError(f"{type(model).__name__} is not a Llama-family model with model.layers; pruning needs one")
    return layers


def linears(layer: nn.Module) -> dict[str, nn.Linear]:
    return {name: mod for name, mod in layer.named_modules() if isinstance(mod, nn.Linear)}


@torch.no_grad()
def layer0_inputs(model: nn.Module, batches: list[torch.Tensor]) -> list[tuple[tuple, dict]]:
    """(args, kwargs) that the first decoder layer receives for each batch of token ids ([batch, tokens])."""
    captured = []

    def grab(_module, args, kwargs):
        captured.append((args, kwargs))
        raise _Stop

    handle = decoder_layers(model)[0].register_forward_pre_hook(grab, with_kwargs=True)
    try:
        for ids in batches:
            try:
                model(ids, use_cache=False)
            except _Stop:
                pass
    finally:
        handle.remove()
    return captured


def hidden_of(out):
    return out[0] if isinstance(out, tuple) else out


def with_hidden(args: tuple, kwargs: dict, hidden: torch.Tensor) -> tuple[tuple, dict]:
    """The same layer call with other hidden states."""
    if args:
        return (hidden, *args[1:]), kwargs
    return args, {**kwargs, "hidden_states": hidden}


def hidden_in(args: tuple, kwargs: dict) -> torch.Tensor:
    return args[0] if args else kwargs["hidden_states"]


def _check_shapes(model: nn.Module, sparsity: Sparsity) -> None:
    for i, layer in enumerate(decoder_layers(model)):
        for name, mod in linears(layer).items():
            sparsity.check(mod.in_features, f"layer {i} {name}")


@torch.no_grad()
def prune_model(model: nn.Module, method: str, sparsity: Sparsity, sequences: list[list[int]] | None = None,
                device: str = "cpu", progress=None) -> dict:
    """Prune `model` in place; returns per-method statistics (pruned fraction, reconstruction error)."""
    _check_shapes(model, sparsity)
    layers = decoder_layers(model)
    zeros = total = 0
    if method == "magnitude":
        for i, layer in enumerate(layers):
            for mod in linears(layer).values():
                mask = magnitude_mask(mod.weight, sparsity)
                mod.weight[mask] = 0
                zeros, total = zeros + int(mask.sum()), total + mask.numel()
            if progress:
                progress(i + 1, len(layers))
        return {"pruned_fraction": zeros / total}
    if method not in ("wanda", "sparsegpt"):
        raise ArtifactError(f"unknown pruning method {method!r}; use magnitude, wanda or sparsegpt")
    if not sequences:
        raise ArtifactError(f"{method} needs calibration sequences")

    inputs = layer0_inputs(model, [torch.tensor([ids], device=device) for ids in sequences])
    error = 0.0
    for i, layer in enumerate(layers):
        mods = linears(layer)
        stats = {name: (InputNorms if method == "wanda" else Hessian)(mod.in_features, device=mod.weight.device)
                 for name, mod in mods.items()}
        handles = [mod.register_forward_hook(lambda _m, inp, _out, s=stats[name]: s.add(inp[0]))
                   for name, mod in mods.items()]
        try:
            for args, kwargs in inputs:
                layer(*args, **kwargs)
        finally:
            for h in handles:
                h.remove()
        for name, mod in mods.items():
            if method == "wanda":
                mask = wanda_mask(mod.weight, stats[name].norms, sparsity)
                mod.weight[mask] = 0
            else:
                H = stats[name].matrix
                new, mask = sparsegpt_prune(mod.weight, H, sparsity)
                delta = (new.float() - mod.weight.float())
                error += float(torch.einsum("ij,jk,ik->", delta, H, delta))  # sum_rows d H d^T, the layer loss
                mod.weight.copy_(new)
            zeros, total = zeros + int(mask.sum()), total + mask.numel()
        inputs = [with_hidden(a, k, hidden_of(layer(*a, **k))) for a, k in inputs]
        if progress:
            progress(i + 1, len(layers))
    out = {"pruned_fraction": zeros / total, "calibration_sequences": len(sequences)}
    if method == "sparsegpt":
        out["reconstruction_loss"] = error
    return out


def sparsity_of(model: nn.Module) -> float:
    """Fraction of exact zeros in the decoder layers' linear projections."""
    zeros = total = 0
    for layer in decoder_layers(model):
        for mod in linears(layer).values():
            zeros += int((mod.weight == 0).sum())
            total += mod.weight.numel()
    return zeros / total
