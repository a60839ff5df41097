import pytest
import torch

from artifact.compress.sparsity import Sparsity, layer_mask, nm_mask, row_mask
from artifact.base.errors import ArtifactError


def test_parse_patterns_and_ratios():
    assert Sparsity.parse("2:4") == Sparsity(0.5, 2, 4)
    assert Sparsity.parse("1:4").ratio == 0.75
    assert Sparsity.parse(ratio=0.3) == Sparsity(0.3)
    for bad, message in (("4:2", "N must be"), ("2:2", "N must be"), ("0:4", "N must be"), ("2-4", "not N:M")):
        with pytest.raises(ArtifactError, match=message):
            Sparsity.parse(bad)
    with pytest.raises(ArtifactError, match="between 0 and 1"):
        Sparsity.parse(ratio=1.5)
    with pytest.raises(ArtifactError, match="do not split into groups of 8"):
        Sparsity.parse("4:8").check(12, "layer")


@pytest.mark.parametrize("n,m", [(2, 4), (1, 2), (4, 8), (1, 4)])
def test_nm_mask_prunes_exactly_the_lowest_m_minus_n_of_each_group(n, m):
    score = torch.rand(16, 8 * m, generator=torch.Generator().manual_seed(n * 10 + m))
    mask = nm_mask(score, n, m)
    groups, gmask = score.reshape(16, -1, m), mask.reshape(16, -1, m)
    assert torch.all(gmask.sum(-1) == m - n)  # exact pattern in every group
    assert mask.float().mean().item() == pytest.approx(1 - n / m)  # exact ratio
    kept_min = torch.where(gmask, torch.inf, groups).amin(-1)
    pruned_max = torch.where(gmask, groups, -torch.inf).amax(-1)
    assert torch.all(pruned_max <= kept_min)  # every pruned score is below every kept one


def test_row_and_layer_masks():
    score = torch.tensor([[4.0, 1.0, 3.0, 2.0], [0.5, 8.0, 7.0, 6.0]])
    assert row_mask(score, 0.5).tolist() == [[False, True, False, True], [True, False, False, True]]
    assert layer_mask(score, 0.5).tolist() == [[False, True, True, True], [True, False, False, False]]
