"""The three pieces of AWQ, as mit-han-lab/llm-awq defines them (reimplemented from the algorithm, in float32 or, on a
CPU, float64: artifact/compress/layers.py).

pseudo_quantize  group-wise asymmetric quantization with a zero point (llm-awq's `zero_point=True`):
                 s = (max - min) / (2^b - 1), z = clamp(-round(min / s)), q = clamp(round(w / s) + z), w' = (q - z) s
search_scale     for ratio r in 0, 1/20, ..., 19/20: per-input-channel scales a^r (a = mean |activation|),
                 normalised by sqrt(max * min); quantize W * s, divide by s, run the block on the calibration
                 activations; keep the scales of the lowest output MSE against the unquantized block
search_clip      for shrink k in 0 .. 9: clip each weight group to (1 - k/20) of its max |w|, quantize, and keep the
                 clip of the lowest output MSE per (output channel, group), on at most ~512 calibration tokens
The clip errors are evaluated through each group's input Gram matrix instead of llm-awq's broadcast-and-sum
(the same quantity, see search_clip).

Bit-identical on any CPU: in float64, quotients at a half step round as exact ties (quantlib.round_half_even; a
clipped group's zero point is -round(-bound / (2 bound / 15)) = -round(-7.5)), and the chosen scales are rounded to
float32 values, so every weight written is an exact function of the base weights, the scales and the decisions.
"""
from __future__ import annotations

import torch

from ..quantlib import round_half_even

N_GRID = 20
MAX_SHRINK = 0.5
CLIP_TOKENS = 512
NO_CLIP = ("q_proj", "k_proj", "query", "key", "Wqkv")  # llm-awq skips them: q·k products are hard to clip


def pseudo_quantize(w: torch.Tensor, bits: int, group_size: int, with_codes: bool = False):
    shape = w.shape
    g = w.reshape(-1, group_size)
    top = 2 ** bits - 1
    hi, lo = g.amax(dim=1, keepdim=True), g.amin(dim=1, keepdim=True)
    scales = (hi - lo).clamp(min=1e-5) / top
    zeros = (-round_half_even(lo / scales)).clamp(0, top)
    codes = (round_half_even(g / scales) + zeros).clamp(0, top)
    deq = ((codes - zeros) * scales).reshape(shape)
    if not with_codes:
        return deq
    rows = shape[0]
    return deq, codes.reshape(shape).to(torch.int32), scales.reshape(rows, -1), zeros.reshape(rows, -1).to(torch.int32)


def precision(t: torch.Tensor) -> torch.dtype:
    """The search's dtype: the tensor's own, at least float32 (float16 activations on a GPU are searched in float32)."""
    return torch.promote_types(t.dtype, torch.float32)


@torch.no_grad()
def search_scale(block, linears: list, x: torch.Tensor, bits: int, group_size: int) -> tuple[torch.Tensor, float]:
    """(best per-input-channel scales, best ratio) for `linears`, which all read `x` inside `block(x)`. The scales
    hold float32 values (in float64 on a CPU: the product of a float32 weight and a scale is then exact)."""
    dt = precision(x)
    x_max = x.abs().reshape(-1, x.shape[-1]).to(dt).mean(dim=0)
    reference = block(x).to(dt)
    originals = [fc.weight.detach().clone() for fc in linears]
    best = (float("inf"), None, None)
    try:
        for i in range(N_GRID):
            ratio = i / N_GRID
            s = x_max.pow(ratio).clamp(min=1e-4)
            s = (s / (s.max() * s.min()).sqrt()).to(torch.float32).to(dt)
            for fc, w0 in zip(linears, originals, strict=True):
                scaled = w0.to(dt) * s.reshape(1, -1)
                fc.weight.copy_((pseudo_quantize(scaled, bits, group_size) / s.reshape(1, -1)).to(w0.dtype))
            loss = (reference - block(x).to(dt)).pow(2).mean().item()
            if loss < best[0]:
                best = (loss, s.clone(), ratio)
    finally:
        for fc, w0 in zip(linears, originals, strict=True):
            fc.weight.copy_(w0)
    return best[1], best[2]


@torch.no_grad()
def search_clip(w: torch.Tensor, x: torch.Tensor, bits: int, group_size: int, out_chunk: int = 2048) -> torch.Tensor:
    """Best clipping bound per (output channel, group): shape [out_features, in_features // group_size].

    llm-awq's error for a candidate is the mean over tokens of (x_g . (q - w))^2 per output channel and group;
    that equals d G d^T with d = q - w and G = x_g^T x_g / tokens, which is what is computed here."""
    out_f, in_f = w.shape
    groups = in_f // group_size
    x = x.reshape(-1, in_f).to(precision(x))
    x = x[:: max(1, x.shape[0] // CLIP_TOKENS)]
    xg = x.reshape(-1, groups, group_size)
    gram = torch.einsum("tgk,tgl->gkl", xg, xg) / xg.shape[0]  # [groups, group_size, group_size]
    best_all = []
    for start in range(0, out_f, out_chunk):
        wb = w[start:start + out_chunk].to(x.dtype).reshape(-1, groups, group_size)  # [out, groups, group_size]
        org_max = wb.abs().amax(dim=-1, keepdim=True)  # [out, groups, 1]
        best = org_max.clone()
        min_err = torch.full_like(org_max, float("inf"))
        for k in range(int(MAX_SHRINK * N_GRID)):
            bound = org_max * (1 - k / N_GRID)
            d = pseudo_quantize(torch.clamp(wb, -bound, bound), bits, group_size) - wb
            err = (torch.einsum("ogk,gkl->ogl", d, gram) * d).sum(dim=-1, keepdim=True)
            better = err < min_err
            min_err[better] = err[better]
            best[better] = bound[better]
        best_all.append(best)
    return torch.cat(best_all).squeeze(-1)


def clip_(weight: torch.Tensor, bound: torch.Tensor, group_size: int) -> None:
    out_f, in_f = weight.shape
    g = weight.data.reshape(out_f, -1, group_size)
    b = bound.reshape(out_f, -1, 1).to(g.dtype)
    weight.data.copy_(torch.maximum(torch.minimum(g, b), -b).reshape(out_f, in_f))
