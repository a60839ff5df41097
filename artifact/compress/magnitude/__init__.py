"""Magnitude pruning: drop the smallest |W|. No calibration data, no weight update.

Unstructured: one threshold over the whole layer. N:M: the smallest |W| in every group of M input columns.
"""
from __future__ import annotations

import sys

import torch

from ..sparsity import Sparsity, layer_mask, nm_mask


def magnitude_mask(weight: torch.Tensor, sparsity: Sparsity) -> torch.Tensor:
    score = weight.detach().abs().float()
    if sparsity.structured:
        return nm_mask(score, sparsity.n, sparsity.m)
    return layer_mask(score, sparsity.ratio)


STATISTIC = None  # no calibration data: prune.py prunes every projection directly


def apply(weight: torch.Tensor, statistic, sparsity: Sparsity) -> tuple[torch.Tensor, None]:
    """Prune `weight` in place; (mask, no reconstruction loss)."""
    mask = magnitude_mask(weight, sparsity)
    weight[mask] = 0
    return mask, None


def build(job, base_dir, out, sequences, sparsity, device: str, progress=None) -> dict:
    from ..prune import build_pruned
    return build_pruned(sys.modules[__name__], job, base_dir, out, sequences, sparsity, device, progress)
