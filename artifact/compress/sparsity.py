"""Sparsity targets and the masks they select. A mask is a bool tensor shaped like the weight, True = prune.

N:M means at most N non-zero weights in every M consecutive weights of a row (along the input dimension): the
M - N smallest by the method's score are pruned. locuslab/wanda counts the other way (its `prune_n` is the number
pruned), which is the same thing for the paper's 50% patterns 1:2, 2:4 and 4:8.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..base.errors import ArtifactError


@dataclass(frozen=True)
class Sparsity:
    ratio: float  # fraction of weights pruned
    n: int | None = None  # keep n ...
    m: int | None = None  # ... of every m consecutive input columns

    @classmethod
    def parse(cls, pattern: str | None = None, ratio: float | None = None) -> "Sparsity":
        if pattern:
            try:
                n, m = (int(x) for x in pattern.split(":"))
            except ValueError:
                raise ArtifactError(f"sparsity pattern {pattern!r} is not N:M (for example 2:4)") from None
            if not 0 < n < m:
                raise ArtifactError(f"sparsity pattern {pattern}: N must be at least 1 and below M (keep N of M)")
            return cls(1 - n / m, n, m)
        if ratio is None or not 0 < ratio < 1:
            raise ArtifactError(f"unstructured sparsity ratio must be between 0 and 1, not {ratio}")
        return cls(float(ratio))

    @property
    def structured(self) -> bool:
        return self.n is not None

    def check(self, in_features: int, name: str = "layer") -> None:
        if self.structured and in_features % self.m:
            raise ArtifactError(f"{name}: {in_features} input features do not split into groups of {self.m}")

    def __str__(self) -> str:
        return f"{self.n}:{self.m}" if self.structured else f"{self.ratio:g} unstructured"


def nm_mask(score: torch.Tensor, n: int, m: int) -> torch.Tensor:
    """Prune the m - n lowest scores of every m consecutive columns of each row."""
    rows, cols = score.shape
    groups = score.reshape(rows, cols // m, m)
    low = torch.topk(groups, m - n, dim=-1, largest=False).indices
    mask = torch.zeros_like(groups, dtype=torch.bool).scatter_(-1, low, True)
    return mask.reshape(rows, cols)


def row_mask(score: torch.Tensor, ratio: float) -> torch.Tensor:
    """Prune the lowest `ratio` of each row (Wanda's per-output comparison group)."""
    k = int(score.shape[1] * ratio)
    low = torch.sort(score, dim=-1, stable=True).indices[:, :k]
    return torch.zeros_like(score, dtype=torch.bool).scatter_(1, low, True)


def layer_mask(score: torch.Tensor, ratio: float) -> torch.Tensor:
    """Prune the lowest `ratio` of the whole matrix (magnitude pruning's layer-wise threshold)."""
    k = int(score.numel() * ratio)
    low = torch.sort(score.flatten(), stable=True).indices[:k]
    mask = torch.zeros(score.numel(), dtype=torch.bool, device=score.device)
    mask[low] = True
    return mask.reshape(score.shape)
