"""A GPTQ checkpoint as a dense one with the same weights: for engines that cannot run its kernels (vLLM refuses
activation-ordered GPTQ, desc_act=True, which ours are; on a CPU it runs no GPTQ in float32 at all).

Each quantized linear layer's weight is what gptqmodel's own kernel multiplies by: `dequantize_weight()` of the
module transformers loads (scale[g_idx] * (code - zero), computed in the scales' dtype, float16), stored in that
dtype, so no value is rounded twice. Every other tensor is copied with its stored dtype and bytes, shard by shard
(an index file is rewritten for the new keys); config.json loses its quantization_config, and quantize_config.json
is left out. Not a re-quantization: an activation-ordered GPTQ model cannot be re-packed without act-order (its
input permutation differs per layer, the residual stream is shared), so a dense copy is the one exact form.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

QUANT_SUFFIXES = ("qweight", "qzeros", "scales", "g_idx")
LEFT_OUT = {"quantize_config.json", "SHA256SUMS", "recipe.json"}


def dequantized_weights(src: Path) -> dict[str, "object"]:
    """{module name: dense weight (out, in)} of every quantized linear layer, through gptqmodel's kernel."""
    import torch
    from transformers import AutoModelForCausalLM
    model = AutoModelForCausalLM.from_pretrained(src, dtype=torch.float32, device_map="cpu").eval()
    out = {}
    with torch.inference_mode():
        for name, module in model.named_modules():
            if hasattr(module, "dequantize_weight") and hasattr(module, "qweight"):
                out[name] = module.dequantize_weight().T.contiguous().clone()
    del model
    return out


def dequantize_checkpoint(src: Path, out: Path) -> dict:
    """Write the dense copy of the GPTQ checkpoint in `src` into the empty folder `out`; returns its statistics."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    src, out = Path(src), Path(out)
    weights = dequantized_weights(src)
    shards = sorted(src.glob("*.safetensors"))
    if not shards or not weights:
        raise ValueError(f"{src} holds no GPTQ safetensors checkpoint (no quantized layers found)")
    where: dict[str, str] = {}
    done: set[str] = set()
    for shard in shards:
        tensors = {}
        with safe_open(shard, "pt") as f:
            for key in f.keys():
                prefix, _, suffix = key.rpartition(".")
                if suffix not in QUANT_SUFFIXES:
                    tensors[key] = f.get_tensor(key)
                elif prefix not in done:
                    if prefix not in weights:
                        raise ValueError(f"{shard.name}: {prefix} is quantized but no quantized module loaded for it")
                    tensors[f"{prefix}.weight"] = weights[prefix]
                    done.add(prefix)
        save_file(tensors, out / shard.name, metadata={"format": "pt"})
        where.update({k: shard.name for k in tensors})
    missing = sorted(set(weights) - done)
    if missing:
        raise ValueError(f"{len(missing)} quantized modules have no tensors in the checkpoint (first: {missing[0]})")
    for f in src.iterdir():
        if f.is_file() and f.suffix != ".safetensors" and f.name not in LEFT_OUT and not f.name.endswith(".index.json"):
            shutil.copyfile(f, out / f.name)
    for index in src.glob("*.safetensors.index.json"):
        data = json.loads(index.read_text(encoding="utf-8"))
        data["weight_map"] = dict(sorted(where.items()))
        (out / index.name).write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    config = json.loads((src / "config.json").read_text(encoding="utf-8"))
    quant = config.pop("quantization_config", {})
    (out / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    dtypes = sorted({str(w.dtype).removeprefix("torch.") for w in weights.values()})
    return {"layers_dequantized": len(weights), "weight_dtype": dtypes, "bits": quant.get("bits"),
            "group_size": quant.get("group_size"), "desc_act": quant.get("desc_act"),
            "bytes": sum(p.stat().st_size for p in out.iterdir() if p.is_file())}
