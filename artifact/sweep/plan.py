"""The jobs a table's missing cells need, in order: nothing is run, loaded or written here.

    table recipe + local scores -> models lacking a score per perspective (report.build.needs)
        -> per model: one model job (pull it, or rebuild a SmolLM2 variant) unless the store holds it
        -> per (model, perspective): K shard jobs (`eval --shard i/K`, generation only) after the model job,
           then one scoring job (`eval`, which merges the shards) after every shard

K is the smallest number of shards whose estimated hours fit 80% of the queue's time limit. Hours come from the
evaluation engine's estimates (measured by `make bench-eval` on this machine where it ran, else the 13B/H100
assumption; artifact/evaluate/throughput.py), scaled by each model's size.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..base import catalog, store
from ..evaluate.throughput import ASSUMED_PARAMS
from ..report import build, recipes, sources
from ..base.provenance import code_commit
from ..base.results import read_scores
from ..base.settings import Settings

FIT = 0.8  # a shard is planned to use at most this share of the time limit


@dataclass(frozen=True)
class Job:
    id: str  # stable across plans: model:<name>, shard:<model>:<perspective>:<i>of<k>, score:<model>:<perspective>
    kind: str  # model | shard | score
    model: str
    argv: tuple[str, ...]  # `python -m artifact` arguments
    after: tuple[str, ...] = ()  # ids of the jobs this one waits for (Slurm afterok)
    perspective: str | None = None
    hours: float | None = None  # estimated GPU-hours (None: unknown)

    def to_dict(self) -> dict:
        return {"id": self.id, "kind": self.kind, "model": self.model, "perspective": self.perspective,
                "argv": list(self.argv), "after": list(self.after), "hours": self.hours}


@dataclass
class Plan:
    table: str
    jobs: list[Job] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # what the results or the store already hold
    notes: list[str] = field(default_factory=list)  # what the user should know before submitting
    basis: str = ""  # where the hours come from

    @property
    def hours(self) -> float:
        return sum(j.hours or 0 for j in self.jobs)


def _eval_args(model: str, perspective: str, limit, data: str, backend: str | None) -> tuple[str, ...]:
    args = ["eval", model, "--perspective", perspective, "--data", data, "--no-progress"]
    if limit is not None:
        args += ["--limit", str(limit)]
    if backend:
        args += ["--backend", backend]
    return tuple(args)


def make(table: str, settings: Settings, limit: int | None = None, data: str = "hub", terms: list[str] = (),
         time_limit_h: float = 12.0, backend: str | None = None) -> Plan:
    """The plan of `make sweep TABLE=<table>`: every job the table's local cells still need."""
    from ..evaluate.run import plan as eval_plan
    recipe = recipes.load(table, settings.recipes)
    needs = build.needs(recipe, sources.get(source_for(data), settings.results, settings.recipes))
    wanted = {s.name for s in catalog.load().filter(list(terms))} if terms else None
    table_models = {m for row in recipe.rows for m in (*row.models, *row.fallback, *row.baseline,
                                                        *(x for ms in row.cells.values() for x in ms))}
    out, rows, probe = Plan(table), {}, catalog.get("llama-2-13b-chat")  # the 13B reference of the estimates
    here = code_commit()
    older = [r for r in read_scores(settings.results) if r.model in table_models and
             (r.data.get("provenance") or {}).get("code_commit") != here]
    if older:
        out.notes.append(f"{len(older)} local scores of this table's models were computed at other code commits "
                         f"(first: {older[0].path}); they are used as they are, and a cell mixing commits says so. "
                         "To recompute them under this commit, use a fresh ARTIFACT_RESULTS")
    by_model: dict[str, list[str]] = {}
    for perspective, models in sorted(needs.items()):
        for m in models:
            if wanted is None or m in wanted:
                by_model.setdefault(m, []).append(perspective)
    for name in sorted(by_model):
        spec = catalog.get(name)
        after: tuple[str, ...] = ()
        if store.read_recipe(store.folder(settings.store, name)) is None:
            verb = "rebuild" if spec.base.embedded and spec.method != "none" else "pull"
            out.jobs.append(Job(f"model:{name}", "model", name, (verb, name)))
            after = (f"model:{name}",)
        else:
            out.skipped.append(f"{name}: in the store")
        for perspective in by_model[name]:
            if perspective not in rows:  # hours scale with parameters: one estimate per perspective, for 13B
                rows[perspective] = eval_plan(probe, perspective, settings, limit,
                                              data if data != "hub" else "subset", backend=backend)[0]
            row = rows[perspective]
            hours = row["gpu_hours"] if limit is not None else row["full_gpu_hours"]
            hours = None if hours is None else hours * _scale(spec)
            out.basis = row["basis"] if limit is not None else row["full_basis"]
            k = max(1, math.ceil((hours or 0) / (time_limit_h * FIT)))
            args = _eval_args(name, perspective, limit, data, backend)
            shards = [Job(f"shard:{name}:{perspective}:{i}of{k}", "shard", name, (*args, "--shard", f"{i}/{k}"),
                          after, perspective, None if hours is None else hours / k) for i in range(1, k + 1)]
            out.jobs += shards
            out.jobs.append(Job(f"score:{name}:{perspective}", "score", name, args, tuple(j.id for j in shards),
                                perspective, 0.0))
    return out


def source_for(data: str) -> str:
    """The scores a sweep fills: local (the full benchmark) or, on other data (the vendored subset), local-partial."""
    return "local" if data == "hub" else "local-partial"


def _scale(spec) -> float:
    """The full-run hours are for a 13B model; other sizes scale by parameters."""
    arch = spec.base.arch
    return arch.params / ASSUMED_PARAMS if arch else 1.0
