"""SparseGPT (Frantar & Alistarh, 2023): prune and reconstruct a linear layer from its input Hessian.

Columns are processed left to right in blocks of 128. Within a block the mask is chosen by w^2 / [H^-1]_jj^2
(the whole block at once when unstructured, every M columns when N:M); each pruned column's error is spread
onto the not-yet-processed columns through the inverse Hessian's Cholesky factor (the OBS update), and the
block's accumulated error onto the columns to its right. Dampening: 1% of the mean Hessian diagonal. These are
the settings of locuslab/wanda's SparseGPT, which the paper ran.
"""
from __future__ import annotations

import sys

import torch

from ..sparsity import Sparsity, layer_mask, nm_mask


class Hessian:
    """H = 2/N * sum over calibration tokens of x x^T, N = number of calibration sequences seen."""

    def __init__(self, features: int, dtype: torch.dtype = torch.float32, device=None):
        self.sum = torch.zeros(features, features, dtype=dtype, device=device)
        self.sequences = 0

    def add(self, x: torch.Tensor, sequences: int = 1) -> None:
        x = x.detach().reshape(-1, x.shape[-1]).to(self.sum.dtype)
        self.sum += x.T @ x
        self.sequences += sequences

    @property
    def matrix(self) -> torch.Tensor:
        return self.sum * (2.0 / max(self.sequences, 1))


def sparsegpt_prune(weight: torch.Tensor, hessian: torch.Tensor, sparsity: Sparsity, blocksize: int = 128,
                    percdamp: float = 0.01) -> tuple[torch.Tensor, torch.Tensor]:
    """(pruned and reconstructed weight, prune mask) for one linear layer; inputs are not modified. Computed in the
    Hessian's dtype (at least float32): float64 on a CPU (artifact/compress/layers.py), float32 on a GPU."""
    dtype = torch.promote_types(hessian.dtype, torch.float32)
    W = weight.detach().clone().to(dtype)
    H = hessian.detach().clone().to(dtype)
    rows, cols = W.shape
    if sparsity.structured and blocksize % sparsity.m:
        raise ValueError(f"block size {blocksize} must be a multiple of M={sparsity.m}")
    dead = torch.diag(H) == 0
    H[dead, dead] = 1
    W[:, dead] = 0
    H += percdamp * torch.mean(torch.diag(H)) * torch.eye(cols, dtype=H.dtype, device=H.device)
    Hinv = torch.linalg.cholesky(torch.cholesky_inverse(torch.linalg.cholesky(H)), upper=True)
    mask = torch.zeros_like(W, dtype=torch.bool)

    for i1 in range(0, cols, blocksize):
        i2 = min(i1 + blocksize, cols)
        W1, Hinv1 = W[:, i1:i2].clone(), Hinv[i1:i2, i1:i2]
        d = torch.diag(Hinv1)
        Q1, Err1 = torch.zeros_like(W1), torch.zeros_like(W1)
        if sparsity.structured:
            mask1 = torch.zeros_like(W1, dtype=torch.bool)
        else:
            mask1 = layer_mask(W1 ** 2 / d.reshape(1, -1) ** 2, sparsity.ratio)
        for i in range(i2 - i1):
            if sparsity.structured and i % sparsity.m == 0:
                j = i + sparsity.m
                mask1[:, i:j] = nm_mask(W1[:, i:j] ** 2 / d[i:j].reshape(1, -1) ** 2, sparsity.n, sparsity.m)
            w = W1[:, i]
            q = torch.where(mask1[:, i], torch.zeros_like(w), w)
            Q1[:, i] = q
            err = (w - q) / Hinv1[i, i]
            W1[:, i:] -= err.unsqueeze(1) @ Hinv1[i, i:].unsqueeze(0)
            Err1[:, i] = err
        W[:, i1:i2] = Q1
        mask[:, i1:i2] = mask1
        W[:, i2:] -= Err1 @ Hinv[i1:i2, i2:]
    return W.to(weight.dtype), mask


def STATISTIC(features: int, device: str, where) -> Hessian:  # noqa: N802 - what prune.py collects per projection
    """The layer's input Hessian on the tensor device `where`: float64 on a CPU, float32 on a GPU (layers.py)."""
    from ..layers import compute_dtype
    return Hessian(features, compute_dtype(device), device=where)


def apply(weight: torch.Tensor, statistic: Hessian, sparsity: Sparsity) -> tuple[torch.Tensor, float]:
    """Prune and reconstruct `weight` in place; (mask, the layer's reconstruction loss sum_rows d H d^T)."""
    H = statistic.matrix
    new, mask = sparsegpt_prune(weight, H, sparsity)
    delta = new.to(H.dtype) - weight.to(H.dtype)
    loss = float(torch.einsum("ij,jk,ik->", delta, H, delta))
    weight.copy_(new)
    return mask, loss


def build(job, base_dir, out, sequences, sparsity, device: str, progress=None) -> dict:
    from ..prune import build_pruned
    return build_pruned(sys.modules[__name__], job, base_dir, out, sequences, sparsity, device, progress)
