"""The compression methods: one object each, the only place a method's facts live. Everything else asks it: the
catalog (names, kinds, default seeds), the build layer (compress/: its implementation is the package of the same
name, `compress.implementation(name)`; its calibration sampler; the version of its code), the cost estimates
(pipeline, bench, dry runs) and Tables 1 and 2 (the paper's own statements about each method).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Method:
    key: str
    display: str
    type: str  # "Pruning" | "Quantization"
    # Table 1, as the paper states it
    weight_update: bool  # calibration data update the kept weights
    criterion: str  # what decides which weights to prune / how to update them
    hardware_friendly: bool
    # Table 2, what the method's own paper evaluated on: (task, citation) pairs, written "prefix t1, t2, and t3 suffix"
    evaluated_on: tuple[tuple[str, str], ...] = ()
    eval_prefix: str = ""
    eval_suffix: str = ""
    # building (compress/)
    sampler: str | None = None  # the calibration sampler (compress/calibration.py); None: no calibration data
    default_seed: int | None = None  # the seed the method's own tool uses when none is given
    implementation: int = 1  # bumped whenever the code changes the bytes it writes: part of every recipe key
    libraries: tuple[str, ...] = ("torch", "transformers")  # whose versions decide the output bytes (in the key too)
    layerwise_gpu: bool = False  # moves one decoder layer at a time to the GPU (else the whole model sits there)
    fixed_kernel_path: bool = False  # a CPU build runs on settings.BUILD_KERNEL_PATH (compress/pinned.py)
    # the settings that make up its recipe, in order: a build job's fields, or FIXED's constants
    parameters: tuple[str, ...] = ("pattern", "ratio")
    fixed: tuple[tuple[str, object], ...] = ()
    # the paper's settings for this method, the defaults of `make rebuild BASE=<your model> METHOD=<key>`
    paper_recipe: tuple[tuple[str, object], ...] = ()
    # costs
    gpu_minutes_per_billion: float = 1.0  # rough minutes per billion linear weights, one A100-class GPU, 128 sequences
    cpu_build_seconds: float = 60.0  # the SmolLM2 build's compress step on 2 CPU cores, measured (make bench-compress)
    cpu_target_seconds: float = 60.0  # what make bench-compress holds it to (the compression issue's target)
    cpu_eval_factor: float = 1.0  # how much longer its SmolLM2 model takes to evaluate on a CPU than the dense one

    @property
    def quantization(self) -> bool:
        return self.type == "Quantization"

    @property
    def calibrated(self) -> bool:
        return self.sampler is not None

    def seqlen(self, arch) -> int | None:
        """Tokens per calibration sequence, as the method's own tool cuts them: llm-awq's 512-token blocks of
        pile-val, locuslab/wanda's windows of the model's full context (C4), comp-trust's gptq.py keeps each Alpaca
        record whole (None)."""
        return {"blocks": 512, "windows": arch.max_positions if arch else None}.get(self.sampler)

    def evaluation(self) -> str:
        parts = [f"{task} ({cite})" for task, cite in self.evaluated_on]
        listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + ", and " + parts[-1]
        return " ".join(p for p in (self.eval_prefix, listed + self.eval_suffix) if p)


_ZERO_SHOT = (("LAMBADA", "Paperno et al., 2016"), ("ARC (Easy and Challenge)", "Boratko et al., 2018"),
              ("PIQA", "Tata & Patel, 2003"))

# implementation: gptq 2 = Alpaca records rendered as comp-trust's gptq.py does (space-joined input, no blank lines in
# `default`), gptqmodel's extras beyond auto-gptq off (written into quantize_config.json); gptq 3 = this project's
# auto-gptq algorithm (compress/gptq/), and every calibrated method 2 (awq, sparsegpt, wanda) or 3 (gptq) = float64
# on a CPU with exact ties (compress/layers.py): bit-identical on any x86-64 CPU (issue #30); sparsegpt 3 = its CPU
# build on one fixed kernel path as well.
# fixed_kernel_path: a method whose CPU build writes millions of computed float values (SparseGPT's reconstructed
# weights) at the base's full precision, where float64 alone left 5 of 67 million an ulp apart between kernel paths;
# the others write codes, masks and a few scales, which float64 keeps identical (compress/pinned.py).
# paper_recipe: the settings of the paper's released models (table.py): 4-bit, group 128, 128 calibration sequences,
# 2:4 for the pruning methods; seed 0 as in the seeded releases, 42 for AWQ (llm-awq's own shuffle).
# default_seed: locuslab/wanda's --seed default (0, SparseGPT and Wanda) and llm-awq's fixed shuffle of pile-val (42);
# the unseeded GPTQ runs drew calibration data without a seed.
# gpu_minutes_per_billion: GPTQ/AWQ from the paper (about 0.5 h for a 13b model to 4 bits on one 48 GB A40);
# SparseGPT about 4 h for OPT-175B on one A100 (SparseGPT paper); Wanda a few calibration forward passes;
# magnitude no data.
# cpu_build_seconds: make bench-compress on a 2-core AMD EPYC (docs/compression.md; SparseGPT's on its fixed kernel
# path, one core, measured by a rebuild's recipe: 48.9 s before on both cores); cpu_target_seconds: the
# compression issue's targets. cpu_eval_factor, measured on 2 CPU cores: a pruned model's replies run to the token
# cap more often (1.2x the dense time); gptqmodel's CPU kernel dequantizes on every step (1.9x).
METHODS: dict[str, Method] = {m.key: m for m in (
    Method("magnitude", "Magnitude", "Pruning", False, "weight", True,
           paper_recipe=(("pattern", "2:4"),),
           gpu_minutes_per_billion=0.05, cpu_build_seconds=1.7, cpu_target_seconds=5, cpu_eval_factor=1.2),
    Method("sparsegpt", "SparseGPT", "Pruning", True, "weight", True, _ZERO_SHOT, "Zero-shot classification on",
           sampler="windows", default_seed=0, implementation=3, fixed_kernel_path=True, gpu_minutes_per_billion=1.5,
           paper_recipe=(("pattern", "2:4"), ("calibration", "c4"), ("samples", 128), ("seed", 0)),
           cpu_build_seconds=201.9, cpu_target_seconds=60, cpu_eval_factor=1.2),
    Method("wanda", "Wanda", "Pruning", False, "weight × act.", True,
           (("BoolQ", "Clark et al., 2019"), ("RTE", "Wang et al., 2019"), ("HellaSwag", "Zellers et al., 2019"),
            ("WinoGrande", "Sakaguchi et al., 2021"), ("ARC", "Boratko et al., 2018"),
            ("OBQA", "Mihaylov et al., 2018")), eval_suffix=" datasets",
           sampler="windows", default_seed=0, implementation=2, gpu_minutes_per_billion=0.4,
           paper_recipe=(("pattern", "2:4"), ("calibration", "c4"), ("samples", 128), ("seed", 0)),
           cpu_build_seconds=15.5, cpu_target_seconds=15, cpu_eval_factor=1.2),
    Method("gptq", "GPTQ", "Quantization", True, "weight", True, _ZERO_SHOT, "Zero-shot classification on",
           sampler="records", default_seed=None, implementation=3, layerwise_gpu=True,
           parameters=("bits", "group_size", "desc_act", "damp", "sym"), fixed=(("sym", True),),
           paper_recipe=(("bits", 4), ("group_size", 128), ("desc_act", True), ("calibration", "alpaca-cleaned"),
                         ("samples", 128), ("seed", 0)),
           gpu_minutes_per_billion=2.4,
           cpu_build_seconds=60.3, cpu_target_seconds=60, cpu_eval_factor=1.9),
    Method("awq", "AWQ", "Quantization", True, "act.", True, (("MMLU", "Hendrycks et al., 2020"),),
           sampler="blocks", default_seed=42, implementation=2,
           parameters=("bits", "group_size", "zero_point", "export"), fixed=(("zero_point", True),),
           paper_recipe=(("bits", 4), ("group_size", 128), ("calibration", "pile-val"), ("samples", 128),
                         ("seed", 42)),
           gpu_minutes_per_billion=2.4,
           cpu_build_seconds=113.7, cpu_target_seconds=90, cpu_eval_factor=1.9),
)}
QUANTIZATION = tuple(k for k, m in METHODS.items() if m.quantization)
PRUNING = tuple(k for k, m in METHODS.items() if not m.quantization)
