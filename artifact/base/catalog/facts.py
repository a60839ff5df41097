"""What a model folder says about itself: config.json (architecture and shape, for size and time estimates), its
`quantization_config`, its chat template, and the sparsity of its weights (measured once, when it enters the store).

Each check refuses in one sentence (exit 2): no config.json, not a causal LM, an architecture this artifact does not
build or estimate, a quantization format it does not load, a model that needs its own code (trust_remote_code).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import BadInputError
from .spec import Arch

# decoders with the Llama module layout (q/k/v/o and gate/up/down projections in model.layers): what the five
# compression methods walk and the size estimates count. Llama is tested here (a tiny random Llama, SmolLM2).
ARCHITECTURES = {"llama": "LlamaForCausalLM", "mistral": "MistralForCausalLM"}
QUANT_FORMATS = ("gptq", "awq")  # quantization_config.quant_method values a stored model may have
DTYPES = ("float32", "float16", "bfloat16")


@dataclass(frozen=True)
class Facts:
    model_type: str
    arch: Arch
    dtype: str | None
    method: str = "none"  # from quantization_config: gptq | awq; measured sparsity leaves it "none"
    bits: int = 16
    group_size: int | None = None
    desc_act: bool | None = None
    has_chat_template: bool = False


def config(folder: Path, what: str) -> dict:
    path = folder / "config.json"
    if not path.is_file():
        raise BadInputError(f"{what} has no config.json, so it is not a Hugging Face model folder; point MODEL= at "
                            "the folder that holds config.json and the weights")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise BadInputError(f"{what}: config.json is not JSON; the folder is damaged or not a model") from None
    if not isinstance(data, dict):
        raise BadInputError(f"{what}: config.json is not a JSON object; the folder is damaged or not a model")
    return data


def check(cfg: dict, what: str) -> Facts:
    """The facts of a config.json, or one sentence saying why this artifact cannot take the model."""
    archs = cfg.get("architectures") or []
    if cfg.get("auto_map"):
        raise BadInputError(f"{what} needs its own Python code (auto_map in config.json); this artifact never runs a "
                            "model's code (trust_remote_code stays off): use a model transformers supports natively")
    if not any(isinstance(a, str) and a.endswith("ForCausalLM") for a in archs):
        raise BadInputError(f"{what} is not a causal language model (config.json architectures: "
                            f"{', '.join(map(str, archs)) or 'none'}); the trust perspectives score generated text")
    model_type = cfg.get("model_type")
    if model_type not in ARCHITECTURES:
        raise BadInputError(f"{what} is a {model_type!r} model; this artifact builds and estimates decoders with the "
                            f"Llama layout: {', '.join(ARCHITECTURES.values())}")
    try:
        heads = int(cfg["num_attention_heads"])
        hidden = int(cfg["hidden_size"])
        arch = Arch(int(cfg["num_hidden_layers"]), hidden, int(cfg["intermediate_size"]),
                    hidden // heads * int(cfg.get("num_key_value_heads") or heads), int(cfg["vocab_size"]),
                    int(cfg.get("max_position_embeddings") or 2048), bool(cfg.get("tie_word_embeddings", False)))
    except (KeyError, TypeError, ValueError, ZeroDivisionError) as e:
        raise BadInputError(f"{what}: config.json lacks a usable {e} for a {model_type} model") from None
    dtype = cfg.get("torch_dtype") or cfg.get("dtype")
    dtype = dtype if dtype in DTYPES else None
    quant = cfg.get("quantization_config")
    if not quant:
        return Facts(model_type, arch, dtype)
    fmt = str(quant.get("quant_method", "unknown")).lower() if isinstance(quant, dict) else "unknown"
    if fmt not in QUANT_FORMATS:
        raise BadInputError(f"{what} is quantized as {fmt!r}, a format this artifact does not load; it takes dense "
                            f"models and {', '.join(f.upper() for f in QUANT_FORMATS)} models")
    bits = quant.get("bits") or quant.get("w_bit")
    group = quant.get("group_size") or quant.get("q_group_size")
    if not isinstance(bits, int):
        raise BadInputError(f"{what}: its quantization_config names no bits; the folder is damaged or incomplete")
    return Facts(model_type, arch, "float16", fmt, bits, group if isinstance(group, int) else None,
                 bool(quant.get("desc_act")) if fmt == "gptq" else None)


def read(folder: Path, what: str) -> Facts:
    facts = check(config(folder, what), what)
    tok = folder / "tokenizer_config.json"
    template = (folder / "chat_template.jinja").is_file()
    if not template and tok.is_file():
        try:
            template = bool(json.loads(tok.read_text(encoding="utf-8")).get("chat_template"))
        except (ValueError, UnicodeDecodeError, AttributeError):
            template = False
    return Facts(**{**facts.__dict__, "has_chat_template": template})


def measure_sparsity(folder: Path) -> dict:
    """The share of zeros in the decoder layers' linear weights, and whether every group of 4 holds at least 2 (the
    2:4 pattern): {"sparsity": 0.5, "pattern": "2:4" | None}. Reads the safetensors once, tensor by tensor."""
    from safetensors import safe_open
    zeros = total = 0
    two_four = True
    for shard in sorted(folder.glob("*.safetensors")):
        with safe_open(str(shard), framework="pt") as f:
            for key in f.keys():
                if ".layers." not in key or not key.endswith("proj.weight"):
                    continue
                w = f.get_tensor(key)
                z = w == 0
                zeros += int(z.sum())
                total += z.numel()
                if two_four and w.shape[-1] % 4 == 0:
                    two_four = bool((z.reshape(-1, 4).sum(-1) >= 2).all())
    if not total:
        return {"sparsity": None, "pattern": None}
    share = zeros / total
    return {"sparsity": round(share, 4), "pattern": "2:4" if two_four and share >= 0.45 else None}


def template_for(name: str, has_chat_template: bool) -> str | None:
    """The conversation template the paper's fork would pick for this name (FastChat's adapters: llama-2 chat,
    vicuna), else the tokenizer's own chat template; None when neither applies (TEMPLATE= must say)."""
    low = name.lower()
    if ("llama-2" in low or "llama2" in low) and "chat" in low:
        return "llama-2"
    if "vicuna" in low:
        return "vicuna_v1.1"
    return "tokenizer" if has_chat_template else None
