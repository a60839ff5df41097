"""What a local rerun of a table costs and how sure it will be: the dry run of `make <table> SOURCE=local`.

For each perspective the table needs: the models that still lack a local score, the items one model is asked at
this LIMIT (a seeded sample per task of the full benchmark; every item without one), the expected half-width of the
score's 95% interval (artifact/evaluate/interval.py: the variance bound over the full benchmark's tasks), and the
GPU-hours, from the run engine's per-13B estimate scaled by the share of items asked and by each model's size.
Nothing is downloaded: the full benchmark's task sizes are constants of the perspectives, and prompt lengths come
from the vendored subset.
"""
from __future__ import annotations

from .base import catalog
from .base.dimensions import BY_KEY
from .evaluate.throughput import ASSUMED_PARAMS  # the run engine's GPU-hour estimates are for this model's size


def plan(recipe, scores, settings, limit: int | None) -> list[dict]:
    from .evaluate import get, interval
    from .evaluate.run import plan as eval_plan
    from .report.build import needs
    missing = needs(recipe, scores)
    columns = recipe.perspectives
    rows, probe = [], catalog.get("smollm2-135m-instruct")  # any catalog model: prompt lengths come from the data
    for key in dict.fromkeys(columns):
        if key not in BY_KEY:
            continue
        sized = interval.full_plan(get(key), limit)
        full_h = eval_plan(probe, key, settings, None, "subset")[0]["full_gpu_hours"]
        per_13b = None if full_h is None or sized["share"] is None else full_h * sized["share"]
        models = missing.get(key, [])
        archs = [catalog.get(m).base.arch for m in models]
        scale = [a.params / ASSUMED_PARAMS if a else 1.0 for a in archs]
        rows.append({"perspective": key, "limit": limit, "items": sized["items"], "half_width": sized["half_width"],
                     "gpu_hours_13b": per_13b, "models": models,
                     "gpu_hours": None if per_13b is None else per_13b * sum(scale)})
    return rows
