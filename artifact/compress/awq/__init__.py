"""AWQ (Lin et al., 2024) as mit-han-lab/llm-awq runs it, and exported the way the paper released its AWQ models.

Layer by layer, on all calibration blocks as one batch: record each projection's input, compute the layer's
output (the next layer's input, from the unquantized layer, as llm-awq does), then
  1. search activation-aware scales for the four groups of a Llama layer (q/k/v after the input norm, o_proj
     after v_proj when their shapes agree, gate/up after the post-attention norm, down after up) and fold them
     into the preceding op: output-preserving before quantization;
  2. search a clipping bound per weight group for every projection but q and k, and clip;
  3. quantize every projection group-wise with zero points.
The paper's AWQ models are llm-awq's `--q_backend fake` dumps: dense checkpoints holding the dequantized weights
(export "fake", the default). Export "packed" writes the same quantized weights as an AutoAWQ GEMM checkpoint
(qweight / qzeros / scales) through gptqmodel's packer, loadable by gptqmodel.

Why not gptqmodel's own AWQ: on a CPU it runs its search in bfloat16 broadcast products (about 17 min for the
demo's 768 calibration tokens here), and for calibration sequences of different lengths it keeps only the last
sequence's activations. This implementation follows llm-awq's algorithm with matrix products, in float32 on a GPU
and in float64 on a CPU (bit-identical across CPUs: artifact/compress/layers.py, search.py).
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from torch import nn

from ...base import store
from ...base.errors import ArtifactError
from ..layers import decoder_layers, hidden_of, layer0_inputs, linears, model_dtype, precise, with_hidden
from .search import NO_CLIP, clip_, precision, pseudo_quantize, search_clip, search_scale

EXPORTS = ("fake", "packed")
SIDE_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "special_tokens_map.json",
              "generation_config.json", "chat_template.jinja")
# (op before the group, projections scaled together, module whose output the scale search compares)
LLAMA_GROUPS = (
    ("input_layernorm", ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"), "self_attn"),
    ("self_attn.v_proj", ("self_attn.o_proj",), "self_attn.o_proj"),
    ("post_attention_layernorm", ("mlp.gate_proj", "mlp.up_proj"), "mlp"),
    ("mlp.up_proj", ("mlp.down_proj",), "mlp.down_proj"),
)


def _block_fn(layer: nn.Module, name: str, kwargs: dict):
    module = layer.get_submodule(name)
    if name == "self_attn":
        extra = {k: kwargs[k] for k in ("position_embeddings", "attention_mask", "position_ids") if k in kwargs}
        return lambda x: module(hidden_states=x, **extra)[0]
    return module


@torch.no_grad()
def _fold(layer: nn.Module, prev_name: str, names: tuple, scales: torch.Tensor) -> None:
    prev = layer.get_submodule(prev_name)
    s = scales.to(prev.weight.dtype)
    if isinstance(prev, nn.Linear):  # scale the rows (outputs) feeding the group
        prev.weight.div_(s.reshape(-1, 1))
        if prev.bias is not None:
            prev.bias.div_(s)
    else:  # an RMSNorm weight
        prev.weight.div_(s)
    for name in names:
        layer.get_submodule(name).weight.mul_(s.reshape(1, -1))


@torch.no_grad()
def awq_model(model: nn.Module, sequences: list[list[int]], bits: int, group_size: int, device: str = "cpu",
              progress=None) -> dict[str, tuple]:
    """Quantize `model` in place (dense, dequantized weights); returns {module: (codes, scales, zeros)}."""
    if len({len(s) for s in sequences}) != 1:
        raise ArtifactError("AWQ calibration must be blocks of equal length (llm-awq concatenates and cuts them)")
    [(args, kwargs)] = layer0_inputs(model, [torch.tensor(sequences, device=device)])
    layers = decoder_layers(model)
    out = {}
    for i, layer in enumerate(layers):
        mods = linears(layer)
        feats: dict[str, torch.Tensor] = {}
        hooks = [m.register_forward_hook(lambda _m, inp, _o, n=n, f=feats: f.__setitem__(n, inp[0].detach()))
                 for n, m in mods.items()]
        try:
            next_hidden = hidden_of(layer(*args, **kwargs))
        finally:
            for h in hooks:
                h.remove()
        found = []
        for prev_name, names, block_name in LLAMA_GROUPS:
            if prev_name == "self_attn.v_proj" and mods["self_attn.v_proj"].weight.shape != \
                    mods["self_attn.o_proj"].weight.shape:
                continue  # grouped-query attention: llm-awq does not scale o_proj
            scales, _ = search_scale(_block_fn(layer, block_name, kwargs), [mods[n] for n in names],
                                     feats[names[0]], bits, group_size)
            found.append((prev_name, names, scales))
        for prev_name, names, scales in found:
            _fold(layer, prev_name, names, scales)
            for n in names:
                feats[n] = feats[n] / scales.to(feats[n].dtype)
        for name, mod in mods.items():
            if not any(t in name for t in NO_CLIP):
                clip_(mod.weight, search_clip(mod.weight, feats[name], bits, group_size), group_size)
        for name, mod in mods.items():
            deq, codes, scales, zeros = pseudo_quantize(mod.weight.to(precision(mod.weight)), bits, group_size,
                                                        with_codes=True)
            mod.weight.copy_(deq.to(mod.weight.dtype))
            out[f"model.layers.{i}.{name}"] = (codes, scales, zeros)
        args, kwargs = with_hidden(args, kwargs, next_hidden)
        if progress:
            progress(i + 1, len(layers))
    return out


def quantize_awq(base_dir: Path, out_dir: Path, sequences: list[list[int]], bits: int, group_size: int,
                 device: str = "cpu", export: str = "fake", progress=None) -> dict:
    from transformers import AutoModelForCausalLM

    from ..quantlib import phase

    timing: dict = {}
    with phase(timing, "load"):
        model = AutoModelForCausalLM.from_pretrained(base_dir, dtype="auto").to(device)
        stored = model.dtype  # searched in float64 on a CPU (layers.py), saved as stored
        model = model.to(model_dtype(device) if device == "cpu" else stored)
    with phase(timing, "compress"), precise(model):
        quantized = awq_model(model, sequences, bits, group_size, device, progress)
    with phase(timing, "save"):
        model = model.to(stored)
        if export == "fake":
            model.save_pretrained(out_dir)
        else:
            write_packed(model, quantized, bits, group_size, out_dir)
        store.copy_tokenizer(base_dir, out_dir)
    return {"format": f"awq-{export}", "calibration_blocks": len(sequences), "modules": len(quantized),
            "timing": timing}


def write_packed(model: nn.Module, quantized: dict, bits: int, group_size: int, out_dir: Path) -> None:
    """An AutoAWQ GEMM checkpoint (float16 scales) of AWQ-quantized projections."""
    from safetensors.torch import save_file

    from ..quantlib import gptqmodel
    gptqmodel()
    from gptqmodel.quantization.awq.utils.packing_utils import pack_awq

    tensors = {k: v.detach().to(torch.float16) if v.is_floating_point() else v
               for k, v in model.state_dict().items()}
    if model.config.tie_word_embeddings:
        tensors.pop("lm_head.weight", None)
    for name, (codes, scales, zeros) in quantized.items():
        del tensors[f"{name}.weight"]
        qweight, qzeros = pack_awq(codes.t().contiguous(), zeros.t().contiguous(), bits)
        tensors[f"{name}.qweight"], tensors[f"{name}.qzeros"] = qweight, qzeros
        tensors[f"{name}.scales"] = scales.t().contiguous().to(torch.float16)
    save_file({k: v.contiguous() for k, v in tensors.items()}, str(out_dir / "model.safetensors"),
              metadata={"format": "pt"})
    config = model.config.to_dict()
    config["dtype"] = "float16"
    config["quantization_config"] = {"quant_method": "awq", "method": "awq", "bits": bits, "group_size": group_size,
                                     "zero_point": True, "version": "gemm", "format": "gemm",
                                     "checkpoint_format": "gemm", "desc_act": False, "lm_head": False,
                                     "pack_dtype": "int32"}
    (out_dir / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    model.generation_config.save_pretrained(out_dir)


def dequantize_checkpoint(packed: Path, out: Path, dtype: str = "bfloat16") -> None:
    """A dense checkpoint of an AutoAWQ GEMM checkpoint: every qweight / qzeros / scales triple becomes the
    dequantized `weight`; the config loses its quantization block."""
    from safetensors.torch import load_file, save_file

    from ..quantlib import gptqmodel
    gptqmodel()
    from gptqmodel.quantization.awq.utils.packing_utils import dequantize_gemm

    config = json.loads((packed / "config.json").read_text())
    q = config.pop("quantization_config")
    target = getattr(torch, dtype)
    tensors = {}
    for shard in sorted(packed.glob("*.safetensors")):
        tensors.update(load_file(shard))
    dense = {}
    for key, value in tensors.items():
        if key.endswith(".qweight"):
            prefix = key[: -len(".qweight")]
            w = dequantize_gemm(value, tensors[prefix + ".qzeros"], tensors[prefix + ".scales"], q["bits"],
                                q["group_size"])
            dense[prefix + ".weight"] = w.T.contiguous().to(target)
        elif not key.endswith((".qzeros", ".scales")):
            dense[key] = value.to(target) if value.is_floating_point() else value
    save_file(dense, str(out / "model.safetensors"), metadata={"format": "pt"})
    config["dtype"] = dtype
    (out / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
    for name in SIDE_FILES:
        if (packed / name).is_file():
            shutil.copy(packed / name, out / name)


__all__ = ["EXPORTS", "awq_model", "dequantize_checkpoint", "quantize_awq", "write_packed"]


def build(job, base_dir: Path, out: Path, sequences, sparsity, device: str, progress=None) -> dict:
    """The build layer's entry point (compress.implementation("awq").build): a catalog job's settings."""
    return quantize_awq(base_dir, out, sequences, job.bits, job.group_size, device, job.export, progress)
