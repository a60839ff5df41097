"""`make check`: the reviewer's kick-the-tires run, minutes on one GPU.

  1. environment  Python, torch and its CUDA build, the GPU and its driver, the image, installed versions vs pins
  2. models       SmolLM2 converted from its wheel, and its GPTQ 4-bit rebuilt here (on the GPU where there is one)
  3. checksums    both store folders re-hashed against their manifests and checksums/models/
  4. score        MMLU on the 50 vendored questions (the CHECK profile below, run by artifact/pipeline.py)
  5. diff         against the numbers recorded on a CPU, with the [check] tolerance

Every step says PASS, WARN or FAIL, and what to do on a FAIL; the report is also written to
results/check/check-report.md. Without a GPU the check stops at step 1, unless ARTIFACT_DEVICE=cpu asks for the
(slower, still valid) CPU run.
"""
from __future__ import annotations

import logging
import platform
import shutil
import subprocess
import time
from dataclasses import dataclass

from . import pipeline
from .base import catalog, ledger, store
from .base.errors import ArtifactError
from .pipeline import Profile
from .base.settings import Settings

logger = logging.getLogger(__name__)

# the dense SmolLM2 and its GPTQ 4-bit build on the vendored MMLU questions, no caps; ≈1 minute per model on 2 cores
CHECK = Profile("check", ("smollm2-135m-instruct", "smollm2-135m-instruct-gptq-4bit-s0"), "mmlu", None, None, None,
                None, 1.0)


STEPS = ("environment", "versions", "gpu", "models", "checksums", "score", "diff")
GPU_MINUTES = "≈5 minutes"  # an estimate: not yet measured on a GPU (docs/image.md, "make check step by step")


@dataclass
class Step:
    name: str
    verdict: str  # PASS | WARN | FAIL
    detail: str
    fix: str = ""

    def line(self) -> str:
        return f"{self.verdict:<4}  {self.name:<12} {self.detail}" + (f"\n      fix: {self.fix}" if self.fix else "")


def gpu_info() -> dict:
    """What torch and the driver report; {} fields where there is no GPU."""
    import torch
    info = {"torch": torch.__version__, "cuda_build": torch.version.cuda or "none (CPU build)",
            "gpu": None, "driver": None}
    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        info["gpu"] = f"{p.name}, {p.total_memory / 2**30:.0f} GiB, compute capability {p.major}.{p.minor}"
        info["gpus"] = torch.cuda.device_count()
    if shutil.which("nvidia-smi"):
        r = subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                           capture_output=True, text=True)
        info["driver"] = r.stdout.strip().splitlines()[0] if r.returncode == 0 and r.stdout.strip() else None
    return info


def environment(settings: Settings, info: dict, mismatches: list[str]) -> list[Step]:
    where = f"image {settings.image}" if settings.image else "local environment (MODE=local)"
    steps = [Step("environment", "PASS", f"Python {platform.python_version()}, torch {info['torch']} "
                                         f"(CUDA {info['cuda_build']}), {where}")]
    steps.append(Step("versions", "FAIL", "; ".join(mismatches), "reinstall the pins: `make setup` (local) or "
                                                                  "`make image` (docker)") if mismatches else
                 Step("versions", "PASS", "every installed version equals its pin in pyproject.toml"))
    if info["gpu"]:
        steps.append(Step("gpu", "PASS", f"{info['gpu']}, driver {info['driver'] or 'unknown'}"))
    elif settings.device == "cpu":
        steps.append(Step("gpu", "WARN", "none; ARTIFACT_DEVICE=cpu: checking on the CPU (the GPU paths, CUDA "
                                         "kernels and bfloat16, are not exercised)"))
    else:
        steps.append(Step("gpu", "FAIL", "torch sees no CUDA GPU", "on the host, `nvidia-smi` must list the GPU; "
                          "in the image, run with MODE=docker and the NVIDIA Container Toolkit installed; to check "
                          "on a CPU anyway set ARTIFACT_DEVICE=cpu"))
    return steps


def checksums(settings: Settings, on_gpu: bool) -> Step:
    problems, expected = [], []
    for name in CHECK.models:
        v = ledger.check(store.folder(settings.store, catalog.get(name).name), settings.checksums)
        # WARN: built by the same recipe on a GPU (which rounds in float32; a CPU build computes in float64 and
        # matches the record on any x86-64 CPU) or by changed libraries, and its own manifest verifies; FAIL: damage
        (expected if v.status == "WARN" else problems if v.status == "FAIL" else []).extend(
            f"{name}: {p}" for p in v.problems)
    if problems:
        return Step("checksums", "FAIL", "; ".join(problems), "a stored file is damaged: `make rebuild MODEL=<id> "
                                                              "FORCE=1` rebuilds it")
    if expected:
        where = "the GPU build rounds differently from" if on_gpu else \
            "this CPU's build differs (a CPU build should not: are the pinned libraries installed?) from"
        return Step("checksums", "WARN", f"{where} the machine that recorded checksums/models/ ({len(expected)} "
                                         "models differ); its own manifest verifies, and the scores below say "
                                         "whether it matters")
    return Step("checksums", "PASS", "every file matches its manifest and checksums/models/")


def run(settings: Settings, progress: bool = True, record_new: bool = False, backend: str = "hf"):
    """(steps, diff report or None where the check stopped early, environment info)."""
    from .base.pins import installed_mismatches
    pipeline.check_backend(CHECK, backend, record_new)  # before the environment report and any build
    t0 = time.perf_counter()
    info = gpu_info()
    steps = environment(settings, info, installed_mismatches())
    for s in steps:
        logger.info(s.line())
    if any(s.verdict == "FAIL" for s in steps):
        return steps, None, info
    try:
        t = time.perf_counter()
        pipeline.ensure_models(CHECK, settings)
        steps.append(Step("models", "PASS", f"{', '.join(CHECK.models)} in {settings.store} "
                                            f"({time.perf_counter() - t:.0f} s)"))
    except ArtifactError as e:
        steps.append(Step("models", "FAIL", str(e), "fix what the message says, then rerun `make check`"))
        logger.info(steps[-1].line())
        return steps, None, info
    logger.info(steps[-1].line())
    steps.append(checksums(settings, bool(info["gpu"])))
    logger.info(steps[-1].line())
    t = time.perf_counter()
    rep = pipeline.run(CHECK, settings, progress=progress, record_new=record_new, backend=backend)
    counts = {v: sum(c.verdict == v for c in rep.cells) for v in ("PASS", "WARN", "FAIL", "NOT-RUN")}
    cells = ", ".join(f"{c.row} {'not run' if c.reproduced is None else f'{c.reproduced:.1f}'} (recorded "
                      f"{c.reference})" for c in rep.cells)
    steps.append(Step("score", "PASS", f"MMLU with BACKEND={backend}: {cells} ({time.perf_counter() - t:.0f} s)"))
    verdict = "FAIL" if counts["FAIL"] or counts["NOT-RUN"] else "WARN" if counts["WARN"] else "PASS"
    steps.append(Step("diff", verdict, f"{counts['PASS']} PASS, {counts['WARN']} WARN, {counts['FAIL']} FAIL, "
                                       f"{counts['NOT-RUN']} not run; {rep.tolerance_text}",
                      "" if verdict != "FAIL" else "the model answers differently from the recorded run beyond the "
                      "tolerance: look at results/check/tables/check.md; a near-zero score means a broken kernel "
                      "or model"))
    logger.info(steps[-1].line())
    logger.info(f"make check: {time.perf_counter() - t0:.0f} s for every step")
    return steps, rep, info


def verdict(steps: list[Step]) -> str:
    return "FAIL" if any(s.verdict == "FAIL" for s in steps) else \
        "WARN" if any(s.verdict == "WARN" for s in steps) else "PASS"


def markdown(steps: list[Step], info: dict, rep) -> str:
    lines = ["# make check", "", f"**{verdict(steps)}**", "", "| step | verdict | detail | fix |",
             "| --- | --- | --- | --- |"]
    lines += [f"| {s.name} | {s.verdict} | {s.detail} | {s.fix} |" for s in steps]
    lines += ["", "## Environment", "", *[f"- {k}: {v}" for k, v in info.items()]]
    if rep is not None:
        lines += ["", rep.summary()]
    return "\n".join(lines) + "\n"
