"""Recorded runs: small, fixed evaluation profiles on the embedded SmolLM2 models, diffed against numbers this
project recorded (reproduce/<profile>/reference/<profile>.csv; `--record` rewrites them, on purpose only).

demo   `make demo`, the embedded default main job, offline on a CPU: SmolLM2-135M-Instruct (converted from its PyPI
       wheel), its magnitude 2:4 and GPTQ 4-bit variants (built with the real algorithms if missing) on all eight
       DecodingTrust dimensions and MMLU on a seeded sample of items per task (DEMO_LIMITS), SAMPLES=1, replies
       capped at 16 tokens, the vendored data, toxicity by the offline scorer; a table shaped like Table 3 with
       intervals, the changes from the dense model, and the paper's headline claim in miniature. The Makefile
       then replays the paper's tables.
check  `make check`'s scoring step (artifact/check.py): the dense model and its GPTQ 4-bit build on the 50 vendored
       MMLU questions, on the GPU where there is one.

Each profile's results live under results/<profile>/, apart from full runs.
"""
from __future__ import annotations

import csv
import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path

from . import catalog, embedded, report, store
from .provenance import stamp
from .settings import REPRODUCE, Settings

DENSE = "smollm2-135m-instruct"
# measured on 2 CPU cores (README, "The demo"): minutes to build each method's SmolLM2 variant
MINUTES_TO_BUILD = {"none": 0.5, "magnitude": 0.1, "wanda": 0.2, "sparsegpt": 0.8, "gptq": 1.0, "awq": 1.0}
# measured on 2 CPU cores: a pruned model's replies run to the token cap (1.2x the dense time); gptqmodel's CPU
# kernel dequantizes on every step (1.9x)
EVAL_FACTOR = {"magnitude": 1.2, "wanda": 1.2, "sparsegpt": 1.2, "gptq": 1.9, "awq": 1.9}


@dataclass(frozen=True)
class Profile:
    name: str  # results/<name>/, reproduce/<name>/, the [<name>] tolerance and the SOURCE of its table
    models: tuple[str, ...]
    perspectives: str  # "all" or a comma list, as `make eval PERSPECTIVE=`
    limit: int | dict | None  # items per task: one number, or by perspective
    samples: int | None
    max_tokens: int | None
    scorer: str | None  # toxicity scorer; None where toxicity is not scored
    minutes_per_eval: float  # per model on 2 CPU cores, measured (README); GPTQ's CPU kernel takes EVAL_FACTOR x

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


# Sized to fit 15 minutes on 2 CPU cores from an empty store with items enough per column that a change larger
# than the noise can show (README, "The demo"): items per task by perspective, one sample, 16-token replies.
DEMO_LIMITS = {"advglue": 10, "ood": 5, "adv_demo": 6, "ethics": 5, "fairness": 20, "toxicity": 5, "privacy": 1,
               "stereotype": 1, "mmlu": 6}
DEMO = Profile("demo", (DENSE, "smollm2-135m-instruct-magnitude-2to4", "smollm2-135m-instruct-gptq-4bit-s0"), "all",
               DEMO_LIMITS, 1, 16, "profanity", 2.9)
CHECK = Profile("check", (DENSE, "smollm2-135m-instruct-gptq-4bit-s0"), "mmlu", None, None, None, None, 1.0)
PROFILES = {p.name: p for p in (DEMO, CHECK)}


def ensure_models(profile: Profile, settings: Settings, log=print) -> None:
    from . import compress
    for name in profile.models:
        spec = catalog.get(name)
        if spec.method == "none":
            embedded.ensure(spec, settings.store, log)
        elif store.read_recipe(store.folder(settings.store, name)) is None:
            log(f"{profile.name}: building {name} (not in the store yet)")
            compress.rebuild(spec, settings)


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
                     "minutes": profile.minutes_per_eval * EVAL_FACTOR.get(spec.method, 1.0) +
                                (0 if present else MINUTES_TO_BUILD[spec.method])})
    return rows


def run(profile: Profile, settings: Settings, progress: bool = True, record_new: bool = False, log=print,
        batch_size: int | None = None):
    """Build what is missing, evaluate every model, diff against the recorded numbers. `batch_size` changes how
    requests are padded together, which perturbs float sums the way another CPU does (tests/test_demo_noise.py)."""
    from .evaluate import run as ev
    t0 = time.perf_counter()
    ensure_models(profile, settings, log)
    scoped = dataclasses.replace(settings, results=settings.results / profile.name,
                                 toxicity_scorer=profile.scorer or settings.toxicity_scorer)
    for i, name in enumerate(profile.models, 1):
        log(f"{profile.name} [{i}/{len(profile.models)}] {name}: {profile.describe()}")
        ev.evaluate(catalog.get(name), profile.perspectives, scoped, limit=profile.limit, samples=profile.samples,
                    max_tokens=profile.max_tokens, progress=progress, log=log, batch_size=batch_size)
    if record_new:
        from .report import build, recipes, sources
        result = build.build(recipes.load(profile.name, profile.root), sources.get(profile.name, settings.results))
        log(f"{profile.name}: recorded {record(profile, result)}")
    rep = report.run(profile.name, profile.name, settings.results, profile.root, REPRODUCE / "tolerances.toml")
    report.write(rep, scoped.results)
    log(f"{profile.name}: {time.perf_counter() - t0:.0f} s in all")
    return rep


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


def cpu_model() -> str:
    """The CPU a recording ran on (another CPU may flip near-tie tokens: the reason verdicts use intervals)."""
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or platform.machine()
