"""The compression methods: one registry entry each, the only place a method's facts for building live. The names
are the catalog's (artifact/catalog/spec.py, METHODS without "none"); tests/compress/test_registry.py keeps the two
equal. Table 1's facts about each method (as the paper states them) are artifact/catalog/methods.py.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Method:
    name: str
    kind: str  # "quantization" | "pruning"
    driver: str  # how compress/__init__.py runs it: "gptq" (gptqmodel), "awq" (awq/), "prune" (prune.py, layer-wise)
    implementation: int  # bumped whenever the code changes the bytes it writes: part of every recipe key
    libraries: tuple[str, ...]  # whose versions decide the output bytes (also part of the key)
    gpu_minutes_per_billion: float  # rough minutes per billion linear weights, one A100-class GPU, 128 sequences
    sampler: str | None  # the calibration sampler (calibration.py); None: no calibration data

    @property
    def quantization(self) -> bool:
        return self.kind == "quantization"


# implementation: gptq 2 = Alpaca records rendered as comp-trust's gptq.py does (space-joined input, no blank lines in
# `default`), gptqmodel's extras beyond auto-gptq off (written into quantize_config.json).
# gpu_minutes_per_billion: GPTQ/AWQ from the paper (about 0.5 h for a 13b model to 4 bits on one 48 GB A40);
# SparseGPT about 4 h for OPT-175B on one A100 (SparseGPT paper); Wanda a few calibration forward passes;
# magnitude no data.
_TORCH = ("torch", "transformers")
METHODS: dict[str, Method] = {m.name: m for m in (
    Method("gptq", "quantization", "gptq", 2, (*_TORCH, "gptqmodel"), 2.4, "records"),
    Method("awq", "quantization", "awq", 1, _TORCH, 2.4, "blocks"),
    Method("magnitude", "pruning", "prune", 1, _TORCH, 0.05, None),
    Method("sparsegpt", "pruning", "prune", 1, _TORCH, 1.5, "windows"),
    Method("wanda", "pruning", "prune", 1, _TORCH, 0.4, "windows"),
)}
