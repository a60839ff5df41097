"""Magnitude pruning: drop the smallest |W|. No calibration data, no weight update.

Unstructured: one threshold over the whole layer. N:M: the smallest |W| in every group of M input columns.
"""
from __future__ import annotations

import torch

from ..sparsity import Sparsity, layer_mask, nm_mask


def magnitude_mask(weight: torch.Tensor, sparsity: Sparsity) -> torch.Tensor:
    score = weight.detach().abs().float()
    if sparsity.structured:
        return nm_mask(score, sparsity.n, sparsity.m)
    return layer_mask(score, sparsity.ratio)
