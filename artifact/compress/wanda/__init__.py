"""Wanda (Sun et al., 2023): prune by |W_ij| * ||X_j||_2, no weight update.

||X_j|| is the L2 norm of input feature j over every calibration token. Comparison groups are each output row
(unstructured) or each group of M input columns of a row (N:M), as in locuslab/wanda.
"""
from __future__ import annotations

import sys

import torch

from ..sparsity import Sparsity, nm_mask, row_mask


class InputNorms:
    """Running sum of squares of each input feature over all tokens fed to a linear layer."""

    def __init__(self, features: int, device=None):
        self.sumsq = torch.zeros(features, dtype=torch.float64, device=device)
        self.tokens = 0

    def add(self, x: torch.Tensor) -> None:
        x = x.detach().reshape(-1, x.shape[-1]).to(torch.float64)
        self.sumsq += (x * x).sum(dim=0)
        self.tokens += x.shape[0]

    @property
    def norms(self) -> torch.Tensor:
        return self.sumsq.sqrt()


def wanda_mask(weight: torch.Tensor, input_norms: torch.Tensor, sparsity: Sparsity) -> torch.Tensor:
    score = weight.detach().abs().double() * input_norms.reshape(1, -1).to(weight.device, torch.float64)
    if sparsity.structured:
        return nm_mask(score, sparsity.n, sparsity.m)
    return row_mask(score, sparsity.ratio)


def STATISTIC(features: int, device: str, where) -> InputNorms:  # noqa: N802 - what prune.py collects per projection
    """Each input feature's running sum of squares (float64 everywhere), on the tensor device `where`."""
    return InputNorms(features, device=where)


def apply(weight: torch.Tensor, statistic: InputNorms, sparsity: Sparsity) -> tuple[torch.Tensor, None]:
    """Prune `weight` in place from its inputs' norms; (mask, no reconstruction loss: Wanda updates no weight)."""
    mask = wanda_mask(weight, statistic.norms, sparsity)
    weight[mask] = 0
    return mask, None


def build(job, base_dir, out, sequences, sparsity, device: str, progress=None) -> dict:
    from ..prune import build_pruned
    return build_pruned(sys.modules[__name__], job, base_dir, out, sequences, sparsity, device, progress)
