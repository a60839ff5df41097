"""The classic GPTQ checkpoint (auto-gptq's format, `checkpoint_format: gptq`), written from integer codes.

Per quantized linear layer `<name>`:
    qweight  int32 [in * bits / 32, out]   the codes, packed along the input dimension
    qzeros   int32 [groups, out * bits / 32] zero point - 1 (auto-gptq's stored offset), packed along the output
    scales   float16 [groups, out]
    g_idx    int32 [in]                    the group of each input column (not monotone with desc_act)
Packing is a little-endian bit stream: value j of each run of 32 sits at bits j*bits .. j*bits+bits-1 of the
run's `bits` words (for 3 bits, values 10 and 21 straddle two words, as in auto-gptq's 10|1|10|1|10 layout).

auto-gptq and gptqmodel pack by recomputing each code as round((w + zero * scale) / scale16) from the dequantized
weight; here the codes come from the quantizer itself, so no float division stands between the algorithm's
decision and the bytes. tests/compress/test_gptq.py checks that gptqmodel's loader reads back exactly
scale16 * (code - zero) for 2, 3, 4 and 8 bits.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch

WEIGHTS = (".safetensors", ".bin", ".pt", ".pth")
SKIP = {"config.json", "recipe.json", "SHA256SUMS", "quantize_config.json", "model.safetensors.index.json"}


def pack(values: torch.Tensor, bits: int) -> torch.Tensor:
    """Pack non-negative ints < 2^bits along dim 0 ([n, m] -> int32 [n * bits / 32, m]; n a multiple of 32)."""
    n, m = values.shape
    if n % 32:
        raise ValueError(f"{n} values do not pack into 32-bit words by 32 (pad the dimension to a multiple of 32)")
    v = values.to(torch.int64).reshape(n // 32, 32, m)
    words = torch.zeros(n // 32, bits, m, dtype=torch.int64)
    for j in range(32):
        offset = j * bits
        word, shift = divmod(offset, 32)
        words[:, word] |= (v[:, j] << shift) & 0xFFFFFFFF
        if shift + bits > 32:  # the value's high bits continue in the next word
            words[:, word + 1] |= v[:, j] >> (32 - shift)
    words = torch.where(words >= 2 ** 31, words - 2 ** 32, words)  # the same 32 bits, read as signed int32
    return words.reshape(n // 32 * bits, m).to(torch.int32)


def unpack(words: torch.Tensor, bits: int) -> torch.Tensor:
    """The inverse of `pack` ([n * bits / 32, m] int32 -> [n, m] int64)."""
    rows, m = words.shape
    w = (words.to(torch.int64) & 0xFFFFFFFF).reshape(rows // bits, bits, m)
    out = torch.zeros(rows // bits, 32, m, dtype=torch.int64)
    mask = 2 ** bits - 1
    for j in range(32):
        word, shift = divmod(j * bits, 32)
        value = w[:, word] >> shift
        if shift + bits > 32:
            value = value | (w[:, word + 1] << (32 - shift))
        out[:, j] = value & mask
    return out.reshape(rows // bits * 32, m)


def layer_tensors(name: str, codes: torch.Tensor, scales: torch.Tensor, zeros: torch.Tensor, g_idx: torch.Tensor,
                  bits: int) -> dict[str, torch.Tensor]:
    """One layer's four tensors from [out, in] codes, [out, groups] scales and zeros, [in] g_idx."""
    return {f"{name}.qweight": pack(codes.T.contiguous(), bits),
            f"{name}.qzeros": pack(zeros - 1, bits).T.contiguous(),
            f"{name}.scales": scales.T.contiguous().to(torch.float16),
            f"{name}.g_idx": g_idx.to(torch.int32).contiguous()}


def quantization_config(bits: int, group_size: int, desc_act: bool, damp: float, implementation: str) -> dict:
    """The block transformers (+ optimum), gptqmodel and auto-gptq read to load the checkpoint."""
    return {"bits": bits, "group_size": group_size, "desc_act": desc_act, "sym": True, "lm_head": False,
            "quant_method": "gptq", "method": "gptq", "format": "gptq", "checkpoint_format": "gptq",
            "pack_dtype": "int32",
            "meta": {"quantizer": [implementation], "damp_percent": damp, "damp_auto_increment": 0.0,
                     "static_groups": False, "true_sequential": True, "mse": 0.0, "act_group_aware": False,
                     "fallback": None}}


def write(base_dir: Path, out_dir: Path, quantized: dict[str, tuple], config: dict) -> int:
    """The checkpoint in `out_dir`: every tensor of the base checkpoint as stored, but each quantized layer's
    weight replaced by its four tensors; config.json with `config` as its quantization block, the same block as
    quantize_config.json, and the base folder's tokenizer and generation files. Returns the tensors written."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    tensors: dict[str, torch.Tensor] = {}
    for shard in sorted(Path(base_dir).glob("*.safetensors")):
        with safe_open(shard, "pt") as f:
            for key in f.keys():
                if key.removesuffix(".weight") not in quantized:
                    tensors[key] = f.get_tensor(key)
    for name, (codes, scales, zeros, g_idx) in quantized.items():
        tensors.update(layer_tensors(name, codes, scales, zeros, g_idx, config["bits"]))
    save_file(tensors, str(out_dir / "model.safetensors"), metadata={"format": "pt"})
    model_config = json.loads((Path(base_dir) / "config.json").read_text(encoding="utf-8"))
    model_config["quantization_config"] = config
    (out_dir / "config.json").write_text(json.dumps(model_config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    (out_dir / "quantize_config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    for f in sorted(Path(base_dir).iterdir()):
        if f.is_file() and f.name not in SKIP and not f.name.endswith(WEIGHTS) and not f.name.startswith("."):
            shutil.copyfile(f, out_dir / f.name)
    return len(tensors)
