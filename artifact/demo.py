"""`make demo`, the embedded default main job, offline on a CPU: SmolLM2-135M-Instruct (converted from its PyPI
wheel), its magnitude 2:4 and GPTQ 4-bit variants (built with the real algorithms if missing) on all eight
DecodingTrust dimensions and MMLU on a seeded sample of items per task (DEMO_LIMITS), SAMPLES=1, replies capped at
16 tokens, the vendored data, toxicity by the offline scorer; a table shaped like Table 3 with intervals, the
changes from the dense model, and the paper's headline claim in miniature, diffed against the numbers this project
recorded (reproduce/demo/reference/demo.csv; `--record` rewrites them, on purpose only). The Makefile then replays
the paper's tables. The run itself is artifact/pipeline.py's.
"""
from __future__ import annotations

import logging
from .pipeline import Profile
from .base.results import Layout

logger = logging.getLogger(__name__)

DENSE = "smollm2-135m-instruct"
# Sized to fit 15 minutes on 2 CPU cores from an empty store with items enough per column that a change larger
# than the noise can show (docs/evaluation.md, "The demo"): items per task by perspective, one sample, 16-token replies.
DEMO_LIMITS = {"advglue": 10, "ood": 5, "adv_demo": 6, "ethics": 5, "fairness": 20, "toxicity": 5, "privacy": 1,
               "stereotype": 1, "mmlu": 6}
DEMO = Profile("demo", (DENSE, "smollm2-135m-instruct-magnitude-2to4", "smollm2-135m-instruct-gptq-4bit-s0"), "all",
               DEMO_LIMITS, 1, 16, "profanity", 2.9, replies=True)


def seeded_rows(profile: Profile = DEMO) -> list[tuple[str, list]]:
    """(row, the other calibration seeds' specs) of each row of the profile's table made by one seed-0 model."""
    from .base import catalog
    from .report import recipes
    out = []
    for row in recipes.load(profile.name, profile.root).rows:
        spec = catalog.get(row.models[0]) if len(row.models) == 1 else None
        if spec is not None and spec.seed == 0:
            others = [s for s in catalog.load().filter([f"base={spec.base.key}", f"method={spec.method}"])
                      if s.seed not in (None, 0) and s.bits == spec.bits and s.pattern == spec.pattern]
            out.append((row.key, others))
    return out


def record_seeds(settings, profile: Profile = DEMO, progress: bool = True):
    """Build and evaluate the other calibration seeds of each seeded row with the profile's caps, and record their
    cells as reference/seeds.csv: the spread that a build whose bytes differ from the recorded one is judged
    against (artifact/report/replies.py). Once, on purpose (`make demo-seeds`)."""
    import csv

    from . import pipeline
    from .base.dimensions import BY_LABEL
    from .evaluate import run as ev
    from .report import recipes, sources
    config, scoped = pipeline.eval_config(profile), pipeline.scoped_settings(profile, settings)
    columns = recipes.load(profile.name, profile.root).columns
    rows = []
    for row, specs in seeded_rows(profile):
        for spec in specs:
            pipeline.ensure_model(spec, settings, who=f"{profile.name} seeds")
            ev.evaluate(spec, config, scoped, progress=progress)
            scores = sources.get(profile.name, settings.results)
            rows.append([row, spec.name, *(f"{scores.lookup(spec, BY_LABEL[c]).value:.2f}" for c in columns)])
    path = profile.root / "reference" / "seeds.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([["row", "model", *columns], *rows])
    return path


def _demo_eval(name: str) -> None:
    """Evaluate one demo model with the demo's caps into this process's results folder (ARTIFACT_RESULTS)."""
    from . import pipeline
    from .base.catalog import get
    from .evaluate import run as ev
    from .base.settings import load
    settings = load()
    ev.evaluate(get(name), pipeline.eval_config(DEMO), pipeline.scoped_settings(DEMO, settings), progress=False)


def flips(settings) -> int:
    """How often greedy decoding in float32 flips a near tie on another CPU: the demo's dense model evaluated with
    the demo's caps under each kernel-path switch (a process each, its own results folder) and its replies compared
    with the recorded run's (reproduce/demo/reference/replies.jsonl). The largest share measured is the demo's
    `reply_flips` allowance in reproduce/tolerances.toml."""
    import json
    import subprocess
    import sys
    import time

    from tabulate import tabulate

    from . import pipeline, report
    from .base.catalog import get
    from .base.provenance import stamp
    from .report import replies
    from .base.settings import KERNEL_PATHS, REPRODUCE, ROOT, kernel_env
    out = Layout(settings.results).bench / "demo-flips"
    pipeline.ensure_model(get(DENSE), settings)
    rows, records = [], []
    for name, switch in {"plain": {}, **KERNEL_PATHS}.items():
        where = out / name.replace("=", "-")
        print(f"{DENSE} under {name} ...", flush=True)
        started = time.time()
        r = subprocess.run([sys.executable, "-c", f"from artifact import demo; demo._demo_eval({DENSE!r})"],
                           cwd=ROOT, env={**kernel_env(switch), "ARTIFACT_RESULTS": str(where)}, text=True,
                           capture_output=True)
        if r.returncode:
            print(r.stderr[-3000:], file=sys.stderr)
            return r.returncode
        rep = report.run("demo", "demo", where, DEMO.root, REPRODUCE / "tolerances.toml")
        agreement = replies.compare(DEMO.root, rep.result, settings.store, 0.0)
        if agreement is None:
            print("no recorded replies (reproduce/demo/reference/replies.jsonl): run `make demo-record` first",
                  file=sys.stderr)
            return 2
        cells = [c for c in agreement.cells.values() if c.model == DENSE]
        total, same = sum(c.total for c in cells), sum(c.same for c in cells)
        differing = [f"{c.column} {d['key']}" for c in cells for d in c.differing]
        rows.append((name, f"{same}/{total}", f"{100 * (total - same) / total:.2f}%", f"{time.time() - started:.0f}"))
        records.append({"switch": name, "replies": total, "identical": same, "differing": differing})
    print(tabulate(rows, headers=["kernel path", "identical replies", "differ", "s"], tablefmt="github"))
    worst = max((r["replies"] - r["identical"]) / r["replies"] for r in records)
    print(f"\nlargest share of replies that differ: {100 * worst:.2f}% (reply_flips in reproduce/tolerances.toml "
          "[demo] allows this much)")
    out.mkdir(parents=True, exist_ok=True)
    (out / "demo-flips.json").write_text(json.dumps({**stamp(), "model": DENSE, "runs": records,
                                                     "largest_share": worst}, indent=2) + "\n")
    return 0
