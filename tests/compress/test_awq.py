import copy
import json

import pytest
import torch

from artifact.compress.awq import awq_model, dequantize_checkpoint, write_packed, _fold
from artifact.compress.awq.search import N_GRID, MAX_SHRINK, pseudo_quantize, search_clip, search_scale
from artifact.compress.layers import decoder_layers, linears

from tests.helpers import calibration_ids


@pytest.mark.parametrize("bits", [3, 4, 8])
def test_pseudo_quantize_levels_and_codes(bits):
    w = torch.randn(32, 128, generator=torch.Generator().manual_seed(bits))
    deq, codes, scales, zeros = pseudo_quantize(w, bits, 64, with_codes=True)
    groups = deq.reshape(32, 2, 64)
    assert max(len(torch.unique(groups[r, g])) for r in range(32) for g in range(2)) <= 2 ** bits
    assert codes.min() >= 0 and codes.max() <= 2 ** bits - 1
    rebuilt = (codes.reshape(32, 2, 64) - zeros.unsqueeze(-1)) * scales.unsqueeze(-1)
    assert torch.allclose(rebuilt.reshape(32, 128), deq, atol=1e-6)
    assert (w - deq).abs().max() <= scales.max() / 2 + 1e-6  # round to nearest within the group's range


def test_clip_search_equals_the_broadcast_definition():
    """The Gram-matrix evaluation must pick the same clip as llm-awq's literal error over tokens."""
    g = torch.Generator().manual_seed(3)
    w, x = torch.randn(48, 128, generator=g), torch.randn(300, 128, generator=g) * torch.linspace(0.2, 2, 128)
    got = search_clip(w, x, 4, 64)
    wg, xg = w.reshape(48, 1, 2, 64), x.reshape(1, 300, 2, 64)
    org_max = wg.abs().amax(-1, keepdim=True)
    ref_out = (xg * wg).sum(-1)
    best, best_err = org_max.clone(), torch.full_like(org_max, float("inf"))
    for k in range(int(MAX_SHRINK * N_GRID)):
        bound = org_max * (1 - k / N_GRID)
        q = pseudo_quantize(torch.clamp(wg, -bound, bound), 4, 64)
        err = ((xg * q).sum(-1) - ref_out).pow(2).mean(dim=1).reshape(best_err.shape)
        better = err < best_err
        best_err[better], best[better] = err[better], bound[better]
    assert torch.allclose(got, best.reshape(48, 2), rtol=1e-6)


@pytest.fixture(scope="module")
def tiny(tiny_llama, smol_tokenizer):
    from transformers import AutoModelForCausalLM
    return AutoModelForCausalLM.from_pretrained(tiny_llama, dtype=torch.float32), \
        calibration_ids(smol_tokenizer, n=4, length=64)


def test_folding_scales_preserves_the_unquantized_layer(tiny):
    base, seqs = tiny
    model = copy.deepcopy(base)
    layer = decoder_layers(model)[0]
    s = torch.linspace(0.5, 2.0, model.config.hidden_size)
    _fold(layer, "input_layernorm", ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"), s)
    _fold(layer, "post_attention_layernorm", ("mlp.gate_proj", "mlp.up_proj"), s)
    s2 = torch.linspace(0.5, 2.0, model.config.intermediate_size)
    _fold(layer, "mlp.up_proj", ("mlp.down_proj",), s2)
    ids = torch.tensor([seqs[0]])
    with torch.no_grad():
        assert torch.allclose(model(ids).logits, base(ids).logits, atol=1e-4)


def test_scale_search_never_loses_to_plain_quantization(tiny):
    base, seqs = tiny
    layer = copy.deepcopy(decoder_layers(base)[0])
    mlp, x = layer.mlp, torch.randn(256, base.config.hidden_size) * torch.linspace(0.1, 4, base.config.hidden_size)
    scales, ratio = search_scale(mlp, [mlp.gate_proj, mlp.up_proj], x, 4, 64)
    assert 0 <= ratio < 1 and torch.equal(mlp.gate_proj.weight, decoder_layers(base)[0].mlp.gate_proj.weight)

    def loss(s):
        m = copy.deepcopy(mlp)
        for fc in (m.gate_proj, m.up_proj):
            fc.weight.copy_(pseudo_quantize(fc.weight * s, 4, 64) / s)
        return (mlp(x) - m(x)).pow(2).mean().item()
    with torch.no_grad():
        assert loss(scales) <= loss(torch.ones_like(scales)) + 1e-12  # ratio 0 is in the grid


@pytest.mark.parametrize("bits", [3, 4, 8])
def test_awq_model_packs_and_round_trips(tiny, tmp_path, bits):
    from transformers import AutoModelForCausalLM
    base, seqs = tiny
    model = copy.deepcopy(base)
    quantized = awq_model(model, seqs, bits, 64)
    assert len(quantized) == 2 * 7
    for layer in decoder_layers(model):
        for mod in linears(layer).values():
            g = mod.weight.reshape(mod.weight.shape[0], -1, 64)
            assert max(len(torch.unique(g[r, j])) for r in range(0, g.shape[0], 7) for j in range(g.shape[1])) \
                <= 2 ** bits
    packed, dense = tmp_path / "packed", tmp_path / "dense"
    packed.mkdir()
    dense.mkdir()
    write_packed(model, quantized, bits, 64, packed)
    config = json.loads((packed / "config.json").read_text())["quantization_config"]
    assert (config["quant_method"], config["bits"], config["zero_point"], config["version"]) == ("awq", bits, True,
                                                                                                "gemm")
    dequantize_checkpoint(packed, dense, dtype="float32")
    again = AutoModelForCausalLM.from_pretrained(dense, dtype=torch.float32)
    for name, p in model.state_dict().items():
        q = again.state_dict()[name]
        assert torch.allclose(p, q, rtol=2e-3, atol=1e-4), name  # float16 scales in the packed format


def test_awq_needs_equal_length_blocks(tiny):
    base, seqs = tiny
    with pytest.raises(Exception, match="equal length"):
        awq_model(copy.deepcopy(base), [seqs[0], seqs[1][:10]], 4, 64)
