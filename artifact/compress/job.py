"""A compression job: what to make, checked before anything runs, and what it will cost (the dry-run plan)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..base import catalog, ledger
from ..base.catalog import Calibration, ModelSpec
from ..base.catalog.spec import weight_bytes
from ..base.errors import ArtifactError
from .awq import EXPORTS
from .calibration import DATASETS
from .quantlib import SUPPORTED_BITS
from .sparsity import Sparsity

from ..base.catalog.methods import METHODS


@dataclass(frozen=True)
class Job:
    name: str  # the store folder
    model_id: str  # the catalog id it reproduces
    base_model: ModelSpec  # the dense catalog model it starts from (its `.base` is that model's Base facts)
    method: str
    bits: int | None = None
    group_size: int | None = None
    desc_act: bool = True
    damp: float = 0.01
    pattern: str | None = None
    ratio: float | None = None
    calibration: Calibration | None = None
    export: str = "fake"  # AWQ: "fake" (dense, as the paper released) or "packed"

    @classmethod
    def from_spec(cls, spec: ModelSpec) -> "Job":
        if spec.method == "none":
            raise ArtifactError(f"{spec.name} is a dense model, there is nothing to rebuild; `make pull MODEL="
                                f"{spec.name}` downloads it")
        if METHODS[spec.method].calibrated and spec.calibration is None:
            raise ArtifactError(f"{spec.name} cannot be rebuilt: its calibration set is not recorded; "
                                f"`make pull MODEL={spec.name}` downloads it")
        base = catalog.base_of(spec)
        return cls(spec.name, spec.id, base, spec.method, bits=None if spec.pattern else spec.bits,
                   group_size=spec.group_size, desc_act=bool(spec.desc_act), pattern=spec.pattern,
                   ratio=spec.sparsity, calibration=spec.calibration)

    @property
    def quantization(self) -> bool:
        return METHODS[self.method].quantization

    def parameters(self) -> dict:
        """The settings that make up the recipe, as the method lists them (catalog/methods.py)."""
        method = METHODS[self.method]
        fixed = dict(method.fixed)
        return {p: fixed[p] if p in fixed else getattr(self, p) for p in method.parameters}


def validate(job: Job) -> Sparsity | None:
    """Refuse a job that cannot produce the model it names, before any work or any write."""
    if job.method not in METHODS:
        raise ArtifactError(f"unknown compression method {job.method!r}; use one of {', '.join(METHODS)}")
    arch = job.base_model.base.arch
    if job.base_model.method != "none" or arch is None:
        raise ArtifactError(f"{job.base_model.name} cannot be a base model: compression starts from a dense catalog "
                            "model")
    widths = {"hidden": arch.hidden, "intermediate": arch.intermediate}
    sparsity = None
    if job.quantization:
        if job.bits not in SUPPORTED_BITS:
            raise ArtifactError(f"{job.bits}-bit is not supported: {job.method.upper()} here quantizes to "
                                f"{', '.join(map(str, SUPPORTED_BITS))} bits")
        for what, width in widths.items():
            if not job.group_size or width % job.group_size:
                raise ArtifactError(f"group size {job.group_size} does not divide the {what} width {width} of "
                                    f"{job.base_model.name}; choose a divisor of both {arch.hidden} and "
                                    f"{arch.intermediate} (e.g. 64)")
        if "export" in METHODS[job.method].parameters and job.export not in EXPORTS:
            raise ArtifactError(f"AWQ export must be one of {', '.join(EXPORTS)}, not {job.export!r}")
    else:
        sparsity = Sparsity.parse(job.pattern, None if job.pattern else job.ratio)
        for what, width in widths.items():
            sparsity.check(width, f"{job.base_model.name} {what} width")
    if METHODS[job.method].calibrated:
        if job.calibration is None:
            raise ArtifactError(f"{job.method} needs calibration data, and {job.name} names none")
        if job.calibration.dataset not in DATASETS:
            raise ArtifactError(f"unknown calibration set {job.calibration.dataset!r}; use one of "
                                f"{', '.join(DATASETS)}")
        if job.calibration.samples < 1:
            raise ArtifactError("the calibration size must be at least 1")
    return sparsity


def estimate(job: Job) -> dict:
    """Output size and rough GPU time: what a dry run promises."""
    arch = job.base_model.base.arch
    dense_bytes = 4 if job.base_model.base.embedded else 2  # the demo base is stored in float32
    size, kind = weight_bytes(arch, job.method, job.bits, job.group_size, job.export, dense_bytes)
    scale = job.calibration.samples / 128 if job.calibration else 1
    minutes = METHODS[job.method].gpu_minutes_per_billion * arch.linear_params / 1e9 * max(scale, 0.05)
    half = arch.params * 2 / 1e9
    # GPTQ moves one decoder layer at a time to the GPU (as auto-gptq); the pruning and AWQ drivers keep the whole model
    memory = max(16.0, 0.3 * half) if METHODS[job.method].layerwise_gpu else half * 1.2
    return {"output_bytes": int(size), "output_kind": kind, "gpu_minutes": minutes, "gpu_memory_gb": memory,
            "needs_gpu": arch.needs_gpu}


def _source(key: str, checksums: Path | None) -> str:
    ds = DATASETS[key]
    if ds.vendored:
        return f"vendored artifact/data/calibration/{ds.vendored} (sha256 {ds.sha256[:12]}…)"
    pinned = ledger.read_lock(checksums, "calibration", key) if checksums else None
    if pinned:
        digest = pinned["files"].get(ds.filename) or "?"
        return f"Hub {ds.repo} {ds.filename} @ {pinned['revision'][:12]} (sha256 {digest[:12]}…)"
    return f"Hub {ds.repo} {ds.filename} @ main (not pinned yet: the first fetch records revision and sha256)"


def describe(job: Job, checksums: Path | None = None) -> list[tuple[str, str]]:
    """The plan of a job, line by line."""
    base, cal, est = job.base_model, job.calibration, estimate(job)
    gated = " (gated on the Hub: accept its licence first)" if base.base.gated else ""
    origin = f"the {base.base.embedded} wheel, converted once" if base.base.embedded else \
        f"{base.source} (your model; `make pull MODEL={base.source}` puts it in the store)" if base.source else \
        f"{base.id} @ main{gated}; `make pull MODEL={base.name}` puts it in the store"
    params = ", ".join(f"{k} {v}" for k, v in job.parameters().items() if v is not None)
    lines = [("model", f"{job.model_id}"), ("base model", origin), ("method", f"{job.method}: {params}")]
    if cal:
        lines.append(("calibration", f"{cal.dataset}: {cal.samples} sequences, seed "
                      f"{'0 (the paper recorded none)' if cal.seed is None else cal.seed}, "
                      f"{METHODS[job.method].sampler} sampler, {cal.seqlen or 'record-length'} tokens"
                      + (f", rendered with the {cal.template} template" if cal.template else "")))
        lines.append(("data", _source(cal.dataset, checksums)))
    else:
        lines.append(("calibration", "none (magnitude pruning uses the weights only)"))
    lines.append(("output", f"{est['output_kind']}, about {est['output_bytes'] / 1e9:.2f} GB"))
    if est["needs_gpu"]:
        lines.append(("time", f"about {est['gpu_minutes']:.0f} min on one A100-class GPU with at least "
                      f"{est['gpu_memory_gb']:.0f} GB (rough estimate)"))
    else:
        lines.append(("time", f"about {max(est['gpu_minutes'] * 60, 1):.0f} s on one GPU (rough estimate); "
                      "minutes on a CPU (`make bench-compress` measures it)"))
    return lines
