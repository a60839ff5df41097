"""Recorded runs: small, fixed evaluation profiles on the embedded SmolLM2 models, diffed against numbers this
project recorded (reproduce/<profile>/reference/<profile>.csv; `--record` rewrites them, on purpose only).

demo   `make demo`, the embedded default main job, offline on a CPU: SmolLM2-135M-Instruct (converted from its PyPI
       wheel) and its five compressed variants (built with the real algorithms if missing) on all eight
       DecodingTrust dimensions and MMLU at LIMIT=1, SAMPLES=1, replies capped at 16 tokens, the vendored data,
       toxicity by the offline scorer; a table shaped like Table 3. The Makefile then replays the paper's tables.
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
from .bench import DEMOS
from .provenance import stamp
from .settings import REPRODUCE, Settings

DENSE = "smollm2-135m-instruct"
# measured on 2 CPU cores (README, "The demo"): minutes to build each method's SmolLM2 variant
MINUTES_TO_BUILD = {"none": 0.5, "magnitude": 0.1, "wanda": 0.2, "sparsegpt": 0.8, "gptq": 1.0, "awq": 1.0}


@dataclass(frozen=True)
class Profile:
    name: str  # results/<name>/, reproduce/<name>/, the [<name>] tolerance and the SOURCE of its table
    models: tuple[str, ...]
    perspectives: str  # "all" or a comma list, as `make eval PERSPECTIVE=`
    limit: int | None
    samples: int | None
    max_tokens: int | None
    scorer: str | None  # toxicity scorer; None where toxicity is not scored
    minutes_per_eval: float  # per model on 2 CPU cores, measured (README)

    @property
    def root(self) -> Path:
        return REPRODUCE / self.name

    def describe(self) -> str:
        caps = [f"{k}={v}" for k, v in (("LIMIT", self.limit), ("SAMPLES", self.samples),
                                        ("MAX_TOKENS", self.max_tokens)) if v is not None]
        return f"{self.perspectives}" + (f", {', '.join(caps)}" if caps else "") + \
            (f", toxicity by {self.scorer}" if self.scorer else "")


# LIMIT/SAMPLES/MAX_TOKENS sized to fit 15 minutes on 2 CPU cores from an empty store
DEMO = Profile("demo", (DENSE, *DEMOS), "all", 1, 1, 16, "profanity", 1.8)
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
                     "minutes": profile.minutes_per_eval + (0 if present else MINUTES_TO_BUILD[spec.method])})
    return rows


def run(profile: Profile, settings: Settings, progress: bool = True, record_new: bool = False, log=print):
    from .evaluate import run as ev
    t0 = time.perf_counter()
    ensure_models(profile, settings, log)
    scoped = dataclasses.replace(settings, results=settings.results / profile.name,
                                 toxicity_scorer=profile.scorer or settings.toxicity_scorer)
    for i, name in enumerate(profile.models, 1):
        log(f"{profile.name} [{i}/{len(profile.models)}] {name}: {profile.describe()}")
        ev.evaluate(catalog.get(name), profile.perspectives, scoped, limit=profile.limit, samples=profile.samples,
                    max_tokens=profile.max_tokens, progress=progress, log=log)
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
    (profile.root / "reference" / f"{profile.name}-record.json").write_text(json.dumps(
        {"limit": profile.limit, "samples": profile.samples, "max_tokens": profile.max_tokens,
         "toxicity_scorer": profile.scorer, "perspectives": profile.perspectives, "provenance": stamp()},
        indent=2) + "\n", encoding="utf-8")
    return str(path)
