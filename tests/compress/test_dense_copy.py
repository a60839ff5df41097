"""The dense copy of a GPTQ model (for vLLM, which refuses activation-ordered GPTQ): its weights are the GPTQ
weights, unpacked here independently from the raw checkpoint; it is made once in the store, verified, and never
served for other bytes than those it was made from."""
from __future__ import annotations

import json

import pytest
import torch
from safetensors import safe_open

from artifact.base import store
from artifact.compress.dense_copy import dense_copy
from artifact.compress.gptq import quantize_gptq
from artifact.compress.gptq.dense import dequantize_checkpoint
from artifact.base.errors import ChecksumMismatchError, NotInStoreError
from artifact.evaluate import run as ev
from artifact.evaluate import vllm_backend

from tests.helpers import calibration_ids


@pytest.fixture(scope="module")
def gptq(tiny_llama, smol_tokenizer, tmp_path_factory):
    out = {}
    for bits in (3, 4):
        path = tmp_path_factory.mktemp(f"gptq{bits}")
        quantize_gptq(tiny_llama, path, calibration_ids(smol_tokenizer, n=8, length=64), bits=bits, group_size=64,
                      desc_act=True, damp=0.01)
        out[bits] = path
    return out


def _unpack_4bit(f, prefix):
    """W[out, in] = scale[g] * (q - (z + 1)), g = g_idx[in]: the classic (v1) GPTQ layout, 8 codes per int32,
    read from the raw tensors with no gptqmodel code."""
    qweight, qzeros = f.get_tensor(prefix + ".qweight"), f.get_tensor(prefix + ".qzeros")
    scales, g_idx = f.get_tensor(prefix + ".scales"), f.get_tensor(prefix + ".g_idx").long()
    shifts = torch.arange(8, dtype=torch.int32) * 4
    q = ((qweight.unsqueeze(1) >> shifts.view(1, 8, 1)) & 15).reshape(-1, qweight.shape[1])  # [in, out]
    z = ((qzeros.unsqueeze(2) >> shifts.view(1, 1, 8)) & 15).reshape(qzeros.shape[0], -1)  # [groups, out]
    w = scales[g_idx] * (q - (z[g_idx] + 1)).to(scales.dtype)
    return w.T


def test_the_dense_weights_are_the_gptq_weights(gptq, tmp_path):
    out = tmp_path / "dense"
    out.mkdir()
    stats = dequantize_checkpoint(gptq[4], out)
    assert stats["layers_dequantized"] == 14 and stats["weight_dtype"] == ["float16"] and stats["desc_act"] is True
    with safe_open(gptq[4] / "model.safetensors", "pt") as src, safe_open(out / "model.safetensors", "pt") as dst:
        prefixes = {k.rpartition(".")[0] for k in src.keys() if k.endswith(".qweight")}
        assert len(prefixes) == 14
        for p in prefixes:
            assert torch.equal(dst.get_tensor(p + ".weight"), _unpack_4bit(src, p)), p
        # every other tensor is copied with its dtype and bytes; no GPTQ tensor is left
        for k in src.keys():
            if k.rpartition(".")[2] not in ("qweight", "qzeros", "scales", "g_idx"):
                assert torch.equal(dst.get_tensor(k), src.get_tensor(k)) and \
                    dst.get_tensor(k).dtype == src.get_tensor(k).dtype
        assert not [k for k in dst.keys() if k.rpartition(".")[2] in ("qweight", "qzeros", "scales", "g_idx")]
    config = json.loads((out / "config.json").read_text())
    assert "quantization_config" not in config and not (out / "quantize_config.json").exists()
    assert vllm_backend.unsupported(out, "cpu") is None and not vllm_backend.convertible(out)


def test_three_bit_codes_across_word_boundaries_round_trip(gptq, tmp_path):
    """3-bit codes straddle int32 words; the copy's model gives the GPTQ model's outputs through the unfused kernel."""
    from transformers import AutoModelForCausalLM
    out = tmp_path / "dense3"
    out.mkdir()
    dequantize_checkpoint(gptq[3], out)
    q = AutoModelForCausalLM.from_pretrained(gptq[3], dtype=torch.float32, device_map="cpu").eval()
    d = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32, device_map="cpu").eval()
    quantized = [(name, mod) for name, mod in q.named_modules() if hasattr(mod, "qweight")]
    assert len(quantized) == 14  # every projection of the two layers is a GPTQ module, and each is checked
    with torch.inference_mode():
        for name, mod in quantized:
            dense, x = d.get_submodule(name), torch.randn(3, mod.in_features)
            ref = x @ mod.dequantize_weight().float()
            assert torch.allclose(dense(x), ref, atol=1e-5), name


def test_made_once_served_only_for_its_source_and_remade_when_stale(gptq, make_settings, tmp_path, monkeypatch, said):
    settings = make_settings()
    name = "tiny-gptq"
    with store.claim(settings.store, name), store.staging(settings.store, name) as tmp:
        for f in gptq[4].iterdir():
            (tmp / f.name).write_bytes(f.read_bytes())
        store.commit(tmp, store.folder(settings.store, name), {"recipe_key": "k1"})
    src = store.folder(settings.store, name)
    assert store.dense_copy(src) is None
    copy = dense_copy(name, settings)
    assert copy.name == name + "+dense" and store.dense_copy(src) == copy and not store.verify(copy)
    recipe = store.read_recipe(copy)
    assert recipe["derived_from"] == name and recipe["source_manifest_sha256"] == store.manifest_sha(src)
    made = (copy / "model.safetensors").stat().st_mtime_ns
    assert dense_copy(name, settings) == copy and "up to date" in said[-1]
    assert (copy / "model.safetensors").stat().st_mtime_ns == made  # nothing computed twice

    # choose_backend serves the copy to vLLM, and names it; transformers keeps the GPTQ model
    monkeypatch.setattr(vllm_backend, "installed", lambda: True)
    backend, why, served = ev.choose_backend("vllm", src, "cpu")
    assert (backend, served) == ("vllm", copy) and copy.name in why
    assert ev.choose_backend("hf", src, "cpu")[2] == src
    auto = ev.choose_backend(None, src, "cpu")
    assert (auto[0], auto[2]) == ("vllm", copy)

    # a damaged copy is not served, and is made again
    with open(copy / "model.safetensors", "r+b") as f:
        f.seek(1000)
        f.write(b"\x00\x01\x02")
    assert store.dense_copy(src) is None
    with pytest.raises(Exception, match="dense copy is not in the store; `make eval BACKEND=vllm` makes it"):
        ev.choose_backend("vllm", src, "cpu")
    dense_copy(name, settings)
    assert store.dense_copy(src) == copy

    # a source with other bytes (rebuilt) makes the copy stale; a damaged source is refused
    (src / "SHA256SUMS").write_text((src / "SHA256SUMS").read_text() + "")
    with open(src / "generation_config.json", "a") as f:
        f.write(" ")
    assert store.dense_copy(src) is not None  # its manifest is unchanged: the source is damaged, not rebuilt
    with pytest.raises(ChecksumMismatchError, match="rebuild or pull tiny-gptq again"):
        (copy / "recipe.json").write_text(json.dumps({**recipe, "source_manifest_sha256": "0" * 64}))
        dense_copy(name, settings)
    with pytest.raises(NotInStoreError, match="make rebuild MODEL=missing"):
        dense_copy("missing", settings)
