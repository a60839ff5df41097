import copy

import pytest
import torch

from artifact.compress.layers import decoder_layers, linears
from artifact.compress.magnitude import magnitude_mask
from artifact.compress.prune import prune_model, sparsity_of
from artifact.compress.sparsegpt import Hessian, sparsegpt_prune
from artifact.compress.sparsity import Sparsity
from artifact.compress.wanda import InputNorms, wanda_mask

from tests.helpers import calibration_ids

TWO_FOUR = Sparsity.parse("2:4")


def test_wanda_mask_by_hand():
    W = torch.tensor([[1.0, -2.0, 3.0, -4.0], [4.0, 3.0, -2.0, 1.0]])
    # two tokens whose per-feature L2 norms are (4, 1, 1, 0.5)
    X = torch.tensor([[4.0, 0.0, 1.0, 0.3], [0.0, 1.0, 0.0, 0.4]])
    norms = InputNorms(4)
    norms.add(X[:1])
    norms.add(X[1:])  # accumulates across batches
    assert torch.allclose(norms.norms, torch.tensor([4.0, 1.0, 1.0, 0.5], dtype=torch.float64))
    # |W| * ||X||: row 0 = (4, 2, 3, 2) -> prune features 1 and 3; row 1 = (16, 3, 2, 0.5) -> prune 2 and 3
    expected = [[False, True, False, True], [False, False, True, True]]
    assert wanda_mask(W, norms.norms, TWO_FOUR).tolist() == expected
    assert wanda_mask(W, norms.norms, Sparsity.parse(ratio=0.5)).tolist() == expected  # per-row groups
    # magnitude alone would prune differently: row 0 keeps -4 and 3
    assert magnitude_mask(W, TWO_FOUR).tolist() == [[True, True, False, False], [False, False, True, True]]


def _layer_problem(seed=0, out_f=64, in_f=128, tokens=512):
    g = torch.Generator().manual_seed(seed)
    W = torch.randn(out_f, in_f, generator=g)
    mix = torch.randn(in_f, in_f, generator=g) / in_f ** 0.5
    X = torch.randn(tokens, in_f, generator=g) @ mix * torch.linspace(0.1, 3.0, in_f)  # correlated, uneven
    return W, X


def _error(W, W_hat, X):
    return ((X @ (W - W_hat).T) ** 2).sum().item()


@pytest.mark.parametrize("pattern", ["2:4", "4:8", None])
def test_sparsegpt_reconstructs_better_than_magnitude(pattern):
    W, X = _layer_problem()
    sparsity = Sparsity.parse(pattern) if pattern else Sparsity.parse(ratio=0.5)
    H = Hessian(W.shape[1])
    H.add(X[:256])
    H.add(X[256:])
    assert torch.allclose(H.matrix, 2 / 2 * X.T @ X, rtol=1e-4, atol=1e-3)  # 2/N * sum x x^T, N = 2 batches
    W_s, mask = sparsegpt_prune(W, H.matrix, sparsity)
    assert torch.all(W_s[mask] == 0) and mask.any()
    assert mask.float().mean().item() == pytest.approx(0.5)
    if pattern:
        n, m = sparsity.n, sparsity.m
        assert torch.all((W_s.reshape(W.shape[0], -1, m) != 0).sum(-1) <= n)
    W_m = W.masked_fill(magnitude_mask(W, sparsity), 0)
    W_w = W.masked_fill(wanda_mask(W, X.pow(2).sum(0).sqrt(), sparsity), 0)
    e_s, e_m, e_w = _error(W, W_s, X), _error(W, W_m, X), _error(W, W_w, X)
    assert e_s < 0.8 * e_m and e_s < e_w  # the OBS update pays off
    assert torch.equal(W, _layer_problem()[0])  # the input weight is not modified


def test_sparsegpt_zeroes_dead_inputs():
    W, X = _layer_problem(seed=1)
    X[:, 5] = 0  # a feature that never fires
    W_s, _ = sparsegpt_prune(W, 2 * X.T @ X, TWO_FOUR)
    assert torch.all(W_s[:, 5] == 0)


@pytest.fixture(scope="module")
def tiny(tiny_llama, smol_tokenizer):
    from transformers import AutoModelForCausalLM
    return AutoModelForCausalLM.from_pretrained(tiny_llama, dtype=torch.float32), \
        calibration_ids(smol_tokenizer, n=8, length=64)


@pytest.mark.parametrize("method", ["magnitude", "wanda", "sparsegpt"])
def test_prune_model_exact_pattern_and_untouched_embeddings(tiny, method):
    base, seqs = tiny
    model = copy.deepcopy(base)
    stats = prune_model(model, method, TWO_FOUR, None if method == "magnitude" else seqs)
    assert stats["pruned_fraction"] == 0.5 and sparsity_of(model) == 0.5
    for layer in decoder_layers(model):
        for mod in linears(layer).values():
            assert torch.all((mod.weight.reshape(mod.weight.shape[0], -1, 4) != 0).sum(-1) <= 2)
    assert torch.equal(model.model.embed_tokens.weight, base.model.embed_tokens.weight)
    assert torch.equal(model.model.norm.weight, base.model.norm.weight)


def test_each_layer_is_calibrated_on_the_previous_pruned_layer(tiny):
    """Wanda's layer-1 mask must come from activations of the *pruned* layer 0, as locuslab/wanda feeds them."""
    base, seqs = tiny
    pruned = copy.deepcopy(base)
    prune_model(pruned, "wanda", TWO_FOUR, seqs)

    def layer1_q_norms(model):
        norms = InputNorms(model.config.hidden_size)
        h = decoder_layers(model)[1].self_attn.q_proj.register_forward_hook(lambda _m, inp, _o: norms.add(inp[0]))
        with torch.no_grad():
            for ids in seqs:
                model(torch.tensor([ids]))
        h.remove()
        return norms.norms

    halfway = copy.deepcopy(base)  # layer 0 pruned, layer 1 still dense
    decoder_layers(halfway)[0].load_state_dict(decoder_layers(pruned)[0].state_dict())
    q_dense = decoder_layers(base)[1].self_attn.q_proj.weight
    got = decoder_layers(pruned)[1].self_attn.q_proj.weight == 0
    assert torch.equal(got, wanda_mask(q_dense, layer1_q_norms(halfway), TWO_FOUR))
    assert not torch.equal(got, wanda_mask(q_dense, layer1_q_norms(base), TWO_FOUR))


def test_pruned_model_saves_and_reloads_with_identical_logits(tiny, tmp_path):
    from transformers import AutoModelForCausalLM
    base, seqs = tiny
    model = copy.deepcopy(base)
    prune_model(model, "sparsegpt", TWO_FOUR, seqs)
    model.save_pretrained(tmp_path)
    again = AutoModelForCausalLM.from_pretrained(tmp_path, dtype=torch.float32)
    ids = torch.tensor([seqs[0]])
    with torch.no_grad():
        assert torch.equal(model(ids).logits, again(ids).logits)
