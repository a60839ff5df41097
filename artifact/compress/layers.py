"""Walking a Llama-family model one decoder layer at a time, as every calibrated method does (GPTQ, AWQ, Wanda,
SparseGPT): capture what the first layer receives, run a layer on captured inputs, hand its outputs on.

And the precision a CPU build computes in. A float32 calibration run gives different bytes on different x86-64
CPUs: vector width, BLAS code path and thread count change the float32 rounding of every matrix product, norm and
activation, and a compressed model is a long chain of rounding decisions (4-bit codes, N:M masks, scale choices)
on top of them. On a CPU every build therefore loads the model in float64 (`precise`): a float32 base becomes
float64 exactly, every forward pass, statistic and solve runs in float64, and the differences between kernel paths
shrink from about 1e-7 to about 1e-16, inside which a rounding decision almost never falls. transformers' Llama
computes its RMSNorm and its rotary embedding in float32 whatever the model's dtype; `precise` makes both keep the
input's dtype while it is active. On a GPU the paper's precision stays (a float16 model, float32 statistics):
`compute_dtype` / `model_dtype` say which. docs/compression.md states the deviation and its measured effect.
"""
from __future__ import annotations

import types
from contextlib import contextmanager

import torch
from torch import nn

from ..base.errors import ArtifactError


def compute_dtype(device: str) -> torch.dtype:
    """Statistics, Hessians and solves: float64 on a CPU (bit-identical across CPUs), float32 on a GPU (the paper's)."""
    return torch.float64 if device == "cpu" else torch.float32


def model_dtype(device: str) -> torch.dtype:
    """The calibration forward passes: float64 on a CPU, float16 on a GPU (auto-gptq and llm-awq load fp16)."""
    return torch.float64 if device == "cpu" else torch.float16


class _Stop(Exception):
    pass


def decoder_layers(model: nn.Module):
    layers = getattr(getattr(model, "model", None), "layers", None)
    if layers is None:
        raise ArtifactError(f"{type(model).__name__} is not a Llama-family model with model.layers; compressing it "
                            "needs one")
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


def _rms_norm(self, hidden_states: torch.Tensor) -> torch.Tensor:
    """transformers' RMSNorm, in the input's dtype when that is float64 (it casts to float32 otherwise)."""
    if hidden_states.dtype != torch.float64:
        return type(self).forward(self, hidden_states)
    variance = hidden_states.pow(2).mean(-1, keepdim=True)
    return self.weight * (hidden_states * torch.rsqrt(variance + self.variance_epsilon))


def _rotary(self, x: torch.Tensor, position_ids: torch.Tensor):
    """The rotary embedding's cos and sin computed in float64 for a float64 model (transformers forces float32)."""
    if x.dtype != torch.float64:
        return type(self).forward(self, x, position_ids)
    inv_freq = self.inv_freq.to(torch.float64)
    theta = (getattr(self.config, "rope_parameters", None) or {}).get("rope_theta")
    if getattr(self, "rope_type", "default") == "default" and theta:
        dim = inv_freq.numel() * 2  # the float32 buffer came from a float32 power: recomputed, not upcast
        inv_freq = 1.0 / (float(theta) ** (torch.arange(0, dim, 2, dtype=torch.float64, device=x.device) / dim))
    freqs = position_ids.to(torch.float64)[:, :, None] * inv_freq[None, None, :]
    emb = torch.cat((freqs, freqs), dim=-1)
    scale = float(getattr(self, "attention_scaling", 1.0))
    return emb.cos() * scale, emb.sin() * scale


@contextmanager
def precise(model: nn.Module):
    """While active, a float64 `model` computes every op in float64 (its RMSNorms and rotary embedding included)."""
    patched = []
    for module in model.modules():
        name = type(module).__name__
        if name.endswith("RMSNorm") and hasattr(module, "variance_epsilon"):
            patched.append(module)
            module.forward = types.MethodType(_rms_norm, module)
        elif name.endswith("RotaryEmbedding") and hasattr(module, "inv_freq"):
            patched.append(module)
            module.forward = types.MethodType(_rotary, module)
    try:
        yield model
    finally:
        for module in patched:
            del module.forward
