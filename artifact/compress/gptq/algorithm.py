"""GPTQ for one linear layer (Frantar et al., 2023), step for step as auto-gptq 0.7 runs it (`GPTQ.add_batch`,
`GPTQ.fasterquant` and its `Quantizer`), the tool the paper used; a pure function of the weight and the Hessian.

    H      = 2/N * sum over the N calibration sequences of X^T X, kept as a running mean (add_batch)
    dead   = columns never activated: H_jj = 1, W_:j = 0
    order  = columns by decreasing H_jj (desc_act, "act-order"); groups of `group_size` consecutive columns of that
             order share a scale, so g_idx maps each original column to its group
    Hinv   = upper Cholesky factor of (H + damp * mean(diag H) * I)^-1
    blocks of 128 columns, left to right: quantize a column to the group's grid, spread its error over the block's
           remaining columns through Hinv, then the block's errors over every column to its right

The grid is symmetric (auto-gptq's `sym=True`): scale = 2 max|w| / (2^bits - 1) per output row of the group, zero
at the middle code. Everything is computed in the weight's and the Hessian's dtype; the wrapper passes float64 on a
CPU and float32 on a GPU (artifact/compress/layers.py). One choice auto-gptq leaves open is fixed: columns of equal
H_jj (dead columns) keep their original order (a stable sort), so the order never depends on a sorting kernel.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..quantlib import round_half_even

BLOCK = 128


class Hessian:
    """auto-gptq's running estimate of H = 2/N sum X^T X, one calibration sequence ([tokens, features]) at a time."""

    def __init__(self, features: int, dtype: torch.dtype, device=None):
        self.matrix = torch.zeros(features, features, dtype=dtype, device=device)
        self.samples = 0

    def add(self, x: torch.Tensor) -> None:
        x = x.detach().reshape(-1, x.shape[-1]).to(self.matrix.dtype)
        self.matrix *= self.samples / (self.samples + 1)
        self.samples += 1
        x = math.sqrt(2 / self.samples) * x
        self.matrix += x.T @ x


@dataclass
class Quantized:
    weight: torch.Tensor  # [out, in] the dequantized weight (scale * (code - zero)), in the compute dtype
    codes: torch.Tensor  # [out, in] int32 codes in 0 .. 2^bits - 1
    scales: torch.Tensor  # [out, groups] in the compute dtype (stored as float16)
    zeros: torch.Tensor  # [out, groups] int32 zero points (2^(bits-1) for the symmetric grid)
    g_idx: torch.Tensor  # [in] int32 group of each original column
    loss: float  # auto-gptq's summed (w - q)^2 / Hinv_jj^2 / 2


def grid(w: torch.Tensor, bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric per-row scale and zero of the columns `w` ([out, n]): auto-gptq's Quantizer.find_params, sym=True."""
    top = 2 ** bits - 1
    zero_ = torch.zeros(w.shape[0], dtype=w.dtype, device=w.device)
    xmin, xmax = torch.minimum(w.min(1).values, zero_), torch.maximum(w.max(1).values, zero_)
    xmax = torch.maximum(xmin.abs(), xmax)
    xmin = torch.where(xmin < 0, -xmax, xmin)
    flat = (xmin == 0) & (xmax == 0)
    xmin, xmax = torch.where(flat, -1.0, xmin), torch.where(flat, 1.0, xmax)
    scale = (xmax - xmin) / top
    return scale.reshape(-1, 1), torch.full_like(scale, (top + 1) / 2).reshape(-1, 1)


def code(w: torch.Tensor, scale: torch.Tensor, zero: torch.Tensor, bits: int) -> torch.Tensor:
    return torch.clamp(round_half_even(w / scale) + zero, 0, 2 ** bits - 1)


def gptq(weight: torch.Tensor, hessian: torch.Tensor, bits: int, group_size: int, desc_act: bool = True,
         damp: float = 0.01, block: int = BLOCK) -> Quantized:
    """Quantize one layer's weight ([out, in]) given its Hessian ([in, in]); neither input is modified. Raises
    torch.linalg.LinAlgError where the damped Hessian is not positive definite (auto-gptq stops there too)."""
    W, H = weight.detach().clone(), hessian.detach().clone()
    rows, cols = W.shape
    group_size = group_size if group_size > 0 else cols
    dead = torch.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    perm = torch.argsort(torch.diag(H), descending=True, stable=True) if desc_act else \
        torch.arange(cols, device=W.device)
    W, H = W[:, perm], H[perm][:, perm]
    H[range(cols), range(cols)] += damp * torch.mean(torch.diag(H))
    Hinv = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(H)), upper=True)

    Q, C, losses = torch.zeros_like(W), torch.zeros_like(W), torch.zeros_like(W)
    scales, zeros = [], []
    for i1 in range(0, cols, block):
        i2 = min(i1 + block, cols)
        W1, Hinv1 = W[:, i1:i2].clone(), Hinv[i1:i2, i1:i2]
        Err1 = torch.zeros_like(W1)
        for i in range(i2 - i1):
            if (i1 + i) % group_size == 0:  # a new group: auto-gptq reads its grid from W, which holds the
                scale, zero = grid(W[:, i1 + i:i1 + i + group_size], bits)  # earlier blocks' updates, not this one's
                scales.append(scale)
                zeros.append(zero)
            w, d = W1[:, i], Hinv1[i, i]
            c = code(w.unsqueeze(1), scale, zero, bits)
            q = (scale * (c - zero)).flatten()
            Q[:, i1 + i], C[:, i1 + i] = q, c.flatten()
            err = (w - q) / d
            losses[:, i1 + i] = err ** 2 / 2  # auto-gptq's (w - q)^2 / d^2 / 2
            W1[:, i:] -= err.unsqueeze(1) @ Hinv1[i, i:].unsqueeze(0)
            Err1[:, i] = err
        W[:, i2:] -= Err1 @ Hinv[i1:i2, i2:]

    inverse = torch.argsort(perm)
    g_idx = (torch.arange(cols, device=W.device) // group_size)[inverse]
    return Quantized(Q[:, inverse], C[:, inverse].to(torch.int32), torch.cat(scales, dim=1),
                     torch.cat(zeros, dim=1).to(torch.int32), g_idx.to(torch.int32), float(losses.sum()))
