import hashlib
import json

import pytest
import torch

from artifact.compress.gptq import quantize_gptq

from tests.helpers import calibration_ids


@pytest.fixture(scope="module")
def seqs(smol_tokenizer):
    return calibration_ids(smol_tokenizer, n=8, length=64)


@pytest.fixture(scope="module")
def gptq4(tiny_llama, seqs, tmp_path_factory):
    out = tmp_path_factory.mktemp("gptq4")
    stats = quantize_gptq(tiny_llama, out, seqs, bits=4, group_size=64, desc_act=True, damp=0.01)
    return out, stats


def _digest(path):
    return hashlib.sha256((path / "model.safetensors").read_bytes()).hexdigest()


def _dequantized(model):
    """{module name: dense weight [out, in]} of every GPTQ module, through gptqmodel's own dequantization."""
    out = {}
    for name, mod in model.named_modules():
        if hasattr(mod, "dequantize_weight") and hasattr(mod, "g_idx"):
            out[name] = (mod.dequantize_weight().T.float(), mod.g_idx.long())
    return out


def test_checkpoint_is_classic_gptq(gptq4):
    from safetensors import safe_open
    out, stats = gptq4
    config = json.loads((out / "config.json").read_text())["quantization_config"]
    assert (config["quant_method"], config["bits"], config["group_size"], config["desc_act"], config["sym"],
            config["checkpoint_format"]) == ("gptq", 4, 64, True, True, "gptq")
    meta = json.loads((out / "quantize_config.json").read_text())["meta"]
    assert meta["damp_percent"] == 0.01
    # pinned to auto-gptq's behaviour, read back from the built model: no activation-group-aware ordering, no
    # dampening raised on a failed Cholesky, no round-to-nearest fallback
    assert (meta["act_group_aware"], meta["damp_auto_increment"], meta["fallback"]) == (False, 0.0, None)
    names = set(safe_open(out / "model.safetensors", "pt").keys())
    assert {"model.layers.0.self_attn.q_proj." + k for k in ("qweight", "qzeros", "scales", "g_idx")} <= names
    assert not (out / "quant_log.csv").exists() and stats["modules"] == 14


def _load_both(path, dtype=torch.float32):
    from gptqmodel import GPTQModel
    from transformers import AutoModelForCausalLM
    return AutoModelForCausalLM.from_pretrained(path, device_map="cpu"), \
        GPTQModel.load(str(path), device="cpu", dtype=dtype).model


def test_loads_through_transformers_and_gptqmodel_identically(gptq4, seqs):
    hf, gm = _load_both(gptq4[0])
    ids = torch.tensor([seqs[0]])
    with torch.no_grad():
        assert torch.equal(hf(ids).logits.float(), gm(ids).logits.float())
        assert torch.equal(hf.generate(ids[:, :16], max_new_tokens=8, do_sample=False),
                           gm.generate(ids[:, :16], max_new_tokens=8, do_sample=False))


def test_at_most_2_to_the_bits_levels_per_group(gptq4):
    _, gm = _load_both(gptq4[0])
    weights = _dequantized(gm)
    assert len(weights) == 14
    for name, (w, g_idx) in weights.items():
        for g in torch.unique(g_idx):
            cols = w[:, g_idx == g]
            assert max(len(torch.unique(cols[r])) for r in range(0, w.shape[0], 5)) <= 16, name


def _rtn(w, bits, group):
    """Symmetric round-to-nearest on consecutive groups, with GPTQ's own grid (zero at the middle code)."""
    top = 2 ** bits - 1
    g = w.reshape(w.shape[0], -1, group)
    scale = (2 * g.abs().amax(-1, keepdim=True) / top).clamp(min=1e-8)
    zero = (top + 1) / 2
    return ((torch.clamp(torch.round(g / scale) + zero, 0, top) - zero) * scale).reshape(w.shape)


def test_gptq_layer_error_is_below_round_to_nearest(gptq4, tiny_llama, seqs):
    from transformers import AutoModelForCausalLM
    dense = AutoModelForCausalLM.from_pretrained(tiny_llama, dtype=torch.float32)
    xs = []
    hook = dense.model.layers[0].self_attn.q_proj.register_forward_hook(lambda _m, inp, _o: xs.append(inp[0][0]))
    with torch.no_grad():
        for ids in seqs:
            dense(torch.tensor([ids]))
    hook.remove()
    X = torch.cat(xs)  # layer 0's q_proj input: identical for the dense and the quantized model
    _, gm = _load_both(gptq4[0])
    for proj in ("q_proj", "k_proj", "v_proj"):
        W = getattr(dense.model.layers[0].self_attn, proj).weight
        W_gptq, _ = _dequantized(gm)[f"model.layers.0.self_attn.{proj}"]
        e_gptq = ((X @ (W - W_gptq).T) ** 2).sum().item()
        e_rtn = ((X @ (W - _rtn(W, 4, 64)).T) ** 2).sum().item()
        assert e_gptq < 0.9 * e_rtn, (proj, e_gptq, e_rtn)


def test_same_seed_same_bytes(gptq4, tiny_llama, seqs, tmp_path):
    quantize_gptq(tiny_llama, tmp_path, seqs, bits=4, group_size=64)
    assert _digest(tmp_path) == _digest(gptq4[0])


@pytest.mark.parametrize("bits", [3, 8])
def test_three_and_eight_bits(tiny_llama, seqs, tmp_path, bits):
    quantize_gptq(tiny_llama, tmp_path, seqs, bits=bits, group_size=64)
    _, gm = _load_both(tmp_path, torch.bfloat16)  # gptqmodel's only 3-/8-bit CPU kernel computes in half precision
    w, g_idx = next(iter(_dequantized(gm).values()))
    for g in torch.unique(g_idx):
        assert max(len(torch.unique(row)) for row in w[:, g_idx == g]) <= 2 ** bits


@pytest.mark.gpu
def test_gptq_on_cuda_matches_cpu(gptq4, tiny_llama, seqs, tmp_path):
    if not torch.cuda.is_available():
        pytest.skip("no CUDA GPU")
    quantize_gptq(tiny_llama, tmp_path, seqs, bits=4, group_size=64, device="cuda")
    from transformers import AutoModelForCausalLM
    gpu = AutoModelForCausalLM.from_pretrained(tmp_path, device_map="cpu")
    cpu = AutoModelForCausalLM.from_pretrained(gptq4[0], device_map="cpu")
    ids = torch.tensor([seqs[0]])
    with torch.no_grad():
        a, b = gpu(ids).logits.float(), cpu(ids).logits.float()
    assert (a.argmax(-1) == b.argmax(-1)).float().mean() > 0.9


def test_a_module_that_needed_more_dampening_is_refused_as_auto_gptq_would():
    from artifact.compress.gptq import refuse_changed_damping
    from artifact.errors import ArtifactError
    refuse_changed_damping([{"module": "self_attn.q_proj", "layer": 0, "damp": "0.01000"}], 0.01)
    with pytest.raises(ArtifactError, match="could not invert the Hessian of mlp.down_proj in layer 3 at 1%"):
        refuse_changed_damping([{"module": "mlp.down_proj", "layer": 3, "damp": "0.01150"}], 0.01)
