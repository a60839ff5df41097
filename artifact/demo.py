"""`make demo`: the embedded default main job, offline on a CPU.

SmolLM2-135M-Instruct (converted from its PyPI wheel) and its five compressed variants (built with the real
algorithms if missing) are scored on all eight DecodingTrust dimensions and MMLU at LIMIT=1, SAMPLES=1 and
replies capped at 32 tokens, on the
vendored data, toxicity by the offline scorer. The result is a table shaped like Table 3, diffed against the numbers
this project recorded (reproduce/demo/reference/demo.csv, `make demo-record` rewrites them on purpose); the Makefile
then replays the paper's tables. Results live under results/demo/, apart from full runs.
"""
from __future__ import annotations

import csv
import dataclasses
import json
import time

from . import catalog, embedded, report, store
from .bench import DEMOS
from .provenance import stamp
from .settings import REPRODUCE, Settings

MODELS = ("smollm2-135m-instruct", *DEMOS)
LIMIT, SAMPLES, MAX_TOKENS, SCORER = 1, 1, 32, "profanity"  # sized to fit 15 minutes on 2 CPU cores
ROOT = REPRODUCE / "demo"


def ensure_models(settings: Settings, log=print) -> None:
    from . import compress
    for name in MODELS:
        spec = catalog.get(name)
        if spec.method == "none":
            embedded.ensure(spec, settings.store, log)
        elif store.read_recipe(store.folder(settings.store, name)) is None:
            log(f"demo: building {name} (not in the store yet)")
            compress.rebuild(spec, settings)


def run(settings: Settings, progress: bool = True, record_new: bool = False, log=print):
    from .evaluate import run as ev
    t0 = time.perf_counter()
    ensure_models(settings, log)
    demo = dataclasses.replace(settings, results=settings.results / "demo", toxicity_scorer=SCORER)
    for i, name in enumerate(MODELS, 1):
        log(f"demo [{i}/{len(MODELS)}] {name}: all perspectives, LIMIT={LIMIT}, SAMPLES={SAMPLES}, "
            f"MAX_TOKENS={MAX_TOKENS}")
        ev.evaluate(catalog.get(name), "all", demo, limit=LIMIT, samples=SAMPLES, max_tokens=MAX_TOKENS,
                    progress=progress, log=log)
    if record_new:
        from .report import build, recipes, sources
        log(f"demo: recorded {record(build.build(recipes.load('demo', ROOT), sources.get('demo', settings.results)))}")
    rep = report.run("demo", "demo", settings.results, ROOT)
    report.write(rep, settings.results / "demo")
    log(f"demo: {time.perf_counter() - t0:.0f} s in all")
    return rep


def record(result) -> str:
    """Write the demo's numbers (a built TableResult) as its new reference (on purpose only)."""
    path = ROOT / "reference" / "demo.csv"
    recipe = result.recipe
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow([*recipe.labels, *recipe.columns, "source"])
        for key, labels in result.rows:
            w.writerow([*labels, *(f"{result.cells[(key, c)].value:.2f}" for c in recipe.columns),
                        "comp-trust-demo"])
    (ROOT / "reference" / "demo-record.json").write_text(json.dumps(
        {"limit": LIMIT, "samples": SAMPLES, "max_tokens": MAX_TOKENS, "toxicity_scorer": SCORER,
         "provenance": stamp()}, indent=2) + "\n", encoding="utf-8")
    return str(path)
