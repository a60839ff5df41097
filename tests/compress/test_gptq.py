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
    assert meta["damp_percent"] == 0.01 and meta["quantizer"] == ["comp-trust-artifact:gptq-3"]
    # auto-gptq's behaviour, stated in the checkpoint: no activation-group-aware ordering, no dampening raised on a
    # failed Cholesky, no round-to-nearest fallback
    assert (meta["act_group_aware"], meta["damp_auto_increment"], meta["fallback"]) == (False, 0.0, None)
    names = set(safe_open(out / "model.safetensors", "pt").keys())
    assert {"model.layers.0.self_attn.q_proj." + k for k in ("qweight", "qzeros", "scales", "g_idx")} <= names
    assert "model.layers.0.self_attn.q_proj.weight" not in names and "model.embed_tokens.weight" in names
    assert stats["modules"] == 14 and stats["compute_dtype"] == "float64"


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
    quantize_gptq(tiny_llama, tmp_path, seqs, bits=4, group_size=64, device="cuda")
    from transformers import AutoModelForCausalLM
    gpu = AutoModelForCausalLM.from_pretrained(tmp_path, device_map="cpu")
    cpu = AutoModelForCausalLM.from_pretrained(gptq4[0], device_map="cpu")
    ids = torch.tensor([seqs[0]])
    with torch.no_grad():
        a, b = gpu(ids).logits.float(), cpu(ids).logits.float()
    assert (a.argmax(-1) == b.argmax(-1)).float().mean() > 0.9


def test_a_hessian_that_cannot_be_inverted_is_refused_as_auto_gptq_would(tiny_llama, seqs, tmp_path, monkeypatch):
    from artifact.compress import gptq as driver
    from artifact.base.errors import ArtifactError

    def singular(weight, hessian, *args):
        raise torch.linalg.LinAlgError("not positive-definite")
    monkeypatch.setattr(driver, "gptq", singular)
    with pytest.raises(ArtifactError, match="could not invert the Hessian of self_attn.k_proj in layer 0 at 1%"):
        driver.quantize_gptq(tiny_llama, tmp_path, seqs, bits=4, group_size=64)


@pytest.mark.parametrize("bits", [2, 3, 4, 8])
def test_pack_is_a_little_endian_bit_stream_and_unpacks(bits):
    from artifact.compress.gptq.pack import pack, unpack
    g = torch.Generator().manual_seed(bits)
    codes = torch.randint(0, 2 ** bits, (64, 5), generator=g)
    words = pack(codes, bits)
    assert words.dtype == torch.int32 and words.shape == (64 * bits // 32, 5)
    assert torch.equal(unpack(words, bits), codes)
    # value j of a run of 32 starts at bit j * bits of the stream: check the first words of column 0 by hand
    stream = sum(int(codes[j, 0]) << (j * bits) for j in range(32))
    assert [int(w) & 0xFFFFFFFF for w in words[:bits, 0]] == [(stream >> (32 * k)) & 0xFFFFFFFF for k in range(bits)]
    with pytest.raises(ValueError, match="multiple of 32"):
        pack(codes[:40], bits)


@pytest.mark.parametrize("bits", [2, 3, 4, 8])
def test_gptqmodel_reads_back_exactly_the_codes_written(tiny_llama, seqs, tmp_path, bits):
    """Our checkpoint, loaded by transformers + gptqmodel, dequantizes to scale16 * (code - zero) for every column,
    with the codes and zero points the quantizer chose (so no float division sits between decision and bytes)."""
    from safetensors import safe_open
    from transformers import AutoModelForCausalLM

    from artifact.compress.gptq import gptq_model
    from artifact.compress.gptq.pack import unpack
    from artifact.compress.layers import precise
    model = AutoModelForCausalLM.from_pretrained(tiny_llama, dtype=torch.float64)
    with precise(model):
        quantized, _ = gptq_model(model, seqs, bits, 64, True, 0.01, "cpu")
    quantize_gptq(tiny_llama, tmp_path, seqs, bits=bits, group_size=64)
    f = safe_open(tmp_path / "model.safetensors", "pt")
    loaded = _dequantized(AutoModelForCausalLM.from_pretrained(tmp_path, device_map="cpu"))
    assert len(loaded) == len(quantized) == 14
    for name, (codes, scales, zeros, g_idx) in quantized.items():
        assert torch.equal(unpack(f.get_tensor(f"{name}.qweight"), bits), codes.T.long())
        assert torch.equal(unpack(f.get_tensor(f"{name}.qzeros").T.contiguous(), bits).T + 1, zeros.T.long())
        assert torch.equal(f.get_tensor(f"{name}.g_idx"), g_idx)
        s16 = scales.to(torch.float16)
        expected = (s16[:, g_idx.long()] * (codes - zeros[:, g_idx.long()]).to(torch.float16)).float()
        w, _ = loaded[name]
        assert torch.equal(w, expected), (name, float((w - expected).abs().max()))


def test_a_structural_tie_rounds_half_to_even_whatever_the_last_bits():
    """The symmetric grid puts a group's most negative weight exactly on -7.5 steps; its float quotient lands an ulp
    to either side depending on the weight's last bits. In float64 both round to the tie's even neighbour."""
    from artifact.compress.gptq.algorithm import code, grid
    from artifact.compress.quantlib import round_half_even
    base = torch.tensor([[-0.7, 0.3, 0.1, -0.2]], dtype=torch.float64)
    up, down, values = base[0, 0].clone(), base[0, 0].clone(), [float(base[0, 0])]
    for _ in range(40):
        up, down = torch.nextafter(up, torch.tensor(1.0, dtype=up.dtype)), torch.nextafter(down, -up.abs() - 1)
        values += [float(up), float(down)]
    codes, plain = set(), set()
    for v in values:
        w = base.clone()
        w[0, 0] = v
        scale, zero = grid(w, 4)
        codes.add(int(code(w[:, :1], scale, zero, 4)))
        plain.add(int(torch.clamp(torch.round(w[0, 0] / scale[0, 0]) + zero[0, 0], 0, 15)))
    assert codes == {0}  # -8 + 8, every time
    assert plain == {0, 1}  # rounded as computed, the last bits decide
    r = torch.tensor([2.5, 3.5, -2.5, 2.5 + 1e-12, 2.5 + 1e-6, 7.4999999999999], dtype=torch.float64)
    assert round_half_even(r).tolist() == [2.0, 4.0, -2.0, 2.0, 3.0, 8.0]
    above = torch.nextafter(torch.tensor([2.5]), torch.tensor([3.0]))  # float32 (a GPU's precision): as torch rounds
    assert round_half_even(above).tolist() == [3.0] and round_half_even(torch.tensor([2.5])).tolist() == [2.0]


def test_every_column_of_a_group_shares_the_groups_grid_and_act_order_sets_g_idx(tiny_llama, seqs):
    from artifact.compress.gptq.algorithm import Hessian, gptq
    torch.manual_seed(0)
    W = torch.randn(32, 128, dtype=torch.float64)
    X = torch.randn(400, 128, dtype=torch.float64) * torch.linspace(0.1, 3, 128, dtype=torch.float64)
    H = Hessian(128, torch.float64)
    for chunk in X.split(100):
        H.add(chunk)
    assert torch.allclose(H.matrix, 2 * X.T @ X / 4, rtol=1e-12)  # auto-gptq's running mean over 4 "sequences"
    q = gptq(W, H.matrix, 4, 64)
    order = torch.argsort(torch.diag(H.matrix), descending=True, stable=True)
    assert torch.equal(q.g_idx[order], torch.arange(128) // 64)  # act-order: the first 64 by H_jj share group 0
    deq = q.scales[:, q.g_idx.long()] * (q.codes - q.zeros[:, q.g_idx.long()])
    assert torch.equal(deq, q.weight) and int(q.codes.min()) >= 0 and int(q.codes.max()) <= 15
    assert (q.zeros == 8).all()
