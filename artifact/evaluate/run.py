"""The evaluation engine: model from the store -> requests -> batched generation -> samples -> score.

`make eval MODEL=<id> PERSPECTIVE=<name|all> [LIMIT=n] [DATA=subset|hub|<dir>] [PROMPTS=fork|intended]`

This module checks everything first (`prepare`: the config, each perspective's requests as a `Built`, the scorer,
the judge, the device), chooses and loads the backend, and hands each perspective to perspective_run.py
(generate, score, record); `plan` is the dry run.
"""
from __future__ import annotations

import logging
import dataclasses
from dataclasses import dataclass

from ..base import guard, store
from ..base.catalog.spec import ModelSpec
from ..base.errors import ArtifactError, BadInputError, BusyError, HubError
from ..base.settings import Settings, pick_device
from . import get, interval, names
from .data import source
from .perspective_run import (LIMIT_TEXT, Built, Session, destination, limit_for, run_perspective,  # noqa: F401
                              score_rows, shard_of)

logger = logging.getLogger(__name__)

MAX_RESAMPLES = 100_000  # BOOTSTRAP=: more only costs memory (2e9 was a MemoryError), not precision


def model_folder(spec: ModelSpec, settings: Settings):
    """The model's store folder. Evaluation only reads the store: the caller puts the model there first
    (artifact/pipeline.py: the embedded model is converted, a missing SmolLM2 build is made)."""
    folder = store.folder(settings.store, spec.name)
    if store.read_recipe(folder) is None:
        from ..base import guard
        holder = guard.busy(store.lock_file(settings.store, spec.name))
        if holder:  # a rebuild or pull is writing it (or swapping it in) right now
            raise BusyError(f"{spec.name} is being built or pulled into the store right now ({holder}); wait for that "
                            "to finish, then run this again")
        store.require(settings.store, spec.name, spec.made_by)
    return folder


@dataclass(frozen=True)
class EvalConfig:
    """One evaluation's settings (`make eval` variables); checked before any model loads."""

    perspectives: str = "all"  # PERSPECTIVE=: all, one name, or a comma list
    limit: int | dict | None = None  # LIMIT=: items per task, one number or (a profile's) a dict by perspective
    data: str = "subset"  # DATA=: subset | hub | <dir>
    mode: str = "fork"  # PROMPTS=: fork (the paper's prompts, quirks included) | intended
    samples: int | None = None  # SAMPLES=: cap on samples per multi-sample request
    max_tokens: int | None = None  # MAX_TOKENS=: cap on every reply's tokens
    seed: int = 0  # sampling seed
    resamples: int = interval.RESAMPLES  # BOOTSTRAP=: resamples of the interval
    # BATCH=: requests padded together by transformers, or samples per engine call with vLLM (None: the backend's
    # default: 8 on a CPU and 32 on a GPU with transformers, 256 and 4096 with vLLM)
    batch_size: int | None = None
    device: str | None = None  # None: ARTIFACT_DEVICE, else CUDA where torch sees a GPU
    backend: str | None = None  # BACKEND=: hf | vllm (None: vllm where installed and it serves the model, else hf)
    shard: tuple[int, int] | None = None  # SHARD=i/k: generate only shard i of k, into its own file; no score

    def check(self) -> None:
        if self.resamples < 1:
            raise BadInputError(f"BOOTSTRAP={self.resamples} asks for no resamples; give a positive number "
                                f"(default {interval.RESAMPLES})")
        if self.resamples > MAX_RESAMPLES:
            raise BadInputError(f"BOOTSTRAP={self.resamples} asks for more than {MAX_RESAMPLES:,} resamples, which "
                                f"only cost memory; the default {interval.RESAMPLES:,} gives the 95% interval to a "
                                "tenth of a point")
        if self.mode not in ("fork", "intended"):
            raise BadInputError(f"PROMPTS={self.mode} is not a prompt mode; use fork (the paper's) or intended")
        if self.samples is not None and self.samples < 1:
            raise BadInputError(f"SAMPLES={self.samples} asks for no samples; give a positive number, or leave it "
                                "unset")
        if self.batch_size is not None and self.batch_size < 1:
            raise BadInputError(f"BATCH={self.batch_size} puts no request in a batch; give a positive number, or "
                                "leave it unset (8 on a CPU, 32 on a GPU)")
        if self.backend not in (None, *BACKENDS):
            raise BadInputError(f"BACKEND={self.backend} is not a backend; use {' or '.join(BACKENDS)}, or leave it "
                                "unset (vllm where installed, else hf)")
        if self.shard is not None and not (isinstance(self.shard, tuple) and len(self.shard) == 2 and
                                           1 <= self.shard[0] <= self.shard[1]):
            raise BadInputError(f"SHARD={self.shard} is not a shard; give i/k with 1 <= i <= k, e.g. SHARD=2/4")
        if self.max_tokens is not None and self.max_tokens < 1:
            raise BadInputError(f"MAX_TOKENS={self.max_tokens} allows no reply; give a positive number, or leave it "
                                "unset")


def build(perspective: str, data: str, settings: Settings, limit, samples: int | None = None,
          max_tokens: int | None = None) -> Built:
    """A perspective's requests on `data`; `samples` caps the samples of multi-sample requests and `max_tokens` the
    tokens of every reply (quick runs: `capped` is then true and the score partial)."""
    limit = limit_for(limit, perspective)
    entry = get(perspective)
    own_source = getattr(entry.module, "source", None)  # a perspective with its own data (MT-Bench's vendored files)
    src = own_source(data, settings) if own_source else source(entry.benchmark, data, settings)
    reqs, missing = entry.requests(src, limit)
    capped = False
    if samples is not None and any(r.n > samples for r in reqs):
        most = max(r.n for r in reqs)
        reqs = [dataclasses.replace(r, n=samples) if r.n > samples else r for r in reqs]
        missing, capped = [*missing, f"{samples} samples per prompt instead of up to {most} (SAMPLES=)"], True
    if max_tokens is not None and any(r.max_tokens > max_tokens for r in reqs):
        reqs = [dataclasses.replace(r, max_tokens=max_tokens) if r.max_tokens > max_tokens else r for r in reqs]
        missing, capped = [*missing, f"replies capped at {max_tokens} tokens (MAX_TOKENS=)"], True
    return Built(entry, src, reqs, missing, capped)


def plan(spec: ModelSpec, perspectives: str, settings: Settings, limit, data: str, samples: int | None = None,
         max_tokens: int | None = None, backend: str | None = None) -> list[dict]:
    """Dry run: request counts and token and time estimates for this run and for the full benchmark; nothing is
    loaded. A request with n samples costs n prompts and n replies. Hours come from `make bench-eval`'s measured
    throughput of the backend on this machine where it was run (artifact/evaluate/throughput.py), else from the
    13B/H100 assumption; every row says which (`basis`)."""
    from . import throughput, vllm_backend
    device = settings.device or pick_device(settings)
    engine = backend or ("vllm" if vllm_backend.installed() else "hf")
    rates = throughput.load(settings.results, engine, device)
    full_rates = rates if rates.measured and device.startswith("cuda") else throughput.Rates()
    params = spec.base.arch.params if spec.base.arch else None
    rows = []
    for p in names(perspectives):
        try:
            built, unseen = build(p, data, settings, limit, samples, max_tokens), None
        except HubError as e:  # a dry run prices what it knows: the vendored subset's prompts, the known counts
            if data != "hub":
                raise
            built, unseen = build(p, "subset", settings, limit, samples, max_tokens), str(e)
        entry, src, reqs, missing = built.entry, built.source, built.requests, built.missing
        prompt_tok = [throughput.estimated_tokens(r.messages) for r in reqs]
        avg = sum(prompt_tok) / len(prompt_tok) if prompt_tok else 0
        full, gens = entry.full_requests, entry.full_generations  # requests and replies of the full run
        full_tokens = (gens * (avg + entry.max_tokens)) if full else None
        gpu_h = None
        if full and reqs:  # the full run's replies, priced like this run's first request, for a 13B model
            like = dataclasses.replace(reqs[0], n=1, max_tokens=entry.max_tokens)
            gpu_h = gens * throughput.hours(full_rates, [like], [avg], throughput.ASSUMED_PARAMS)
        tokens = sum(t * r.n + r.n * r.max_tokens for t, r in zip(prompt_tok, reqs, strict=True))
        hours, count = throughput.hours(rates, reqs, prompt_tok, params), len(reqs)
        if unseen is not None:
            scale = full / count if full and count and limit_for(limit, p) is None else 1.0
            count, tokens, hours = round(count * scale), tokens * scale, hours and hours * scale
            missing = [f"the Hub's data was not seen ({unseen.removesuffix('.')}); priced from the vendored "
                       "subset's prompts" + (" and the full benchmark's request count" if scale != 1.0 else
                                             ", at least this many requests at this LIMIT"), *missing]
        rows.append({"perspective": p, "requests": count, "tokens": int(tokens),
                     "gpu_hours": hours,
                     "half_width": None if unseen is not None else interval.expected(entry, [r.meta for r in reqs]),
                     "limit": limit_for(limit, p),
                     "full_requests": full, "full_tokens": full_tokens and int(full_tokens),
                     "full_gpu_hours": gpu_h, "data": src.kind if unseen is None else "hub (not seen)",
                     "missing": missing,
                     "basis": rates.basis, "full_basis": full_rates.basis, "backend": engine, "device": device})
    return rows


@dataclass(frozen=True)
class Prepared:
    """Every input of an evaluation, checked: the requests per perspective, the toxicity scorer, the device."""

    builds: dict[str, Built]  # by perspective
    scorer: object  # scorers.Scorer, where a perspective is rated for toxicity
    device: str
    judge: object = None  # MT-Bench's judge (judge.py), where a judged perspective is asked


def prepare(spec: ModelSpec, config: EvalConfig, settings: Settings) -> Prepared:
    """Check every input (values, data files, perspectives, the toxicity scorer's key, the device) before anything
    is loaded or written: bad input fails here, with the store and results untouched."""
    config.check()
    builds = {p: build(p, config.data, settings, config.limit, config.samples, config.max_tokens)
              for p in names(config.perspectives)}
    from . import scorers
    scorer = scorers.get(settings.toxicity_scorer, settings) if any(
        b.entry.rated for b in builds.values()) else None  # a missing key fails before generation
    device = config.device or pick_device(settings)
    judge = None
    if any(b.entry.judged for b in builds.values()):
        from . import judge as judge_mod
        judge = judge_mod.make(settings, device, config.max_tokens)  # a missing key fails before generation
    if device == "cpu" and spec.base.arch and spec.base.arch.needs_gpu and not settings.allow_cpu:
        raise ArtifactError(f"{spec.name} has {spec.base.arch.params / 1e9:.0f}B parameters and no CUDA GPU is "
                            "visible; run on a GPU machine (`make check` reports what it sees) or set "
                            "ARTIFACT_ALLOW_CPU=1 to wait days")
    return Prepared(builds, scorer, device, judge)


def evaluate(spec: ModelSpec, config: EvalConfig, settings: Settings, progress: bool = True,
             prepared: Prepared | None = None) -> list[dict]:
    """Score `spec` as `config` says (perspectives, LIMIT, data, prompts, caps, seed, bootstrap); every input is
    checked (`prepare`) before the model loads. Reads the model from the store and never writes to it."""
    prepared = prepared or prepare(spec, config, settings)
    builds, scorer, device = prepared.builds, prepared.scorer, prepared.device
    folder = model_folder(spec, settings)
    bad = store.verify(folder)
    if bad:
        raise ArtifactError(f"{spec.name} in the store fails its sha256 check ({bad[0]}); run `make verify "
                            f"MODEL={spec.name}` and re-pull or rebuild it")
    recipe = store.read_recipe(folder) or {}
    model_sha = store.manifest_sha(folder)
    name, why, served = choose_backend(config.backend, folder, device)
    logger.info(f"backend: {name} ({why})")
    backend = load_backend(name, served, device, spec.chat_template, config.mode, config.batch_size, load=False,
                           gpu_memory=settings.vllm_gpu_memory)
    if served != folder:
        backend.served = {"weights": "dense copy", "folder": served.name,
                          "manifest_sha256": store.manifest_sha(served)}
    session = Session(spec, config, settings, backend, model_sha, recipe, scorer, progress, prepared.judge)
    dests = {p: destination(session, p, built) for p, built in builds.items()}
    for dest in dests.values():  # a folder another run holds: refused before the model loads
        owner = guard.busy(dest.results.folder) if dest.results.folder.is_dir() else None
        if owner:
            raise BusyError(f"another run is using the evaluation folder {dest.results}: {owner}; wait for it to "
                            "finish or stop it, then run this again")
    return [run_perspective(session, p, dests[p], built) for p, built in builds.items()]


BACKENDS = ("hf", "vllm")


def choose_backend(asked: str | None, folder, device: str) -> tuple[str, str, object]:
    """(backend, why, folder it loads): the one asked for, checked; or vllm where it is installed and serves this
    model, else hf. A GPTQ model that vLLM cannot run is served from its dense copy when the store holds one made
    from these bytes (`make eval BACKEND=vllm` makes it, artifact/compress/dense_copy.py)."""
    from . import vllm_backend
    if asked == "hf":
        return "hf", "BACKEND=hf", folder
    why_not = vllm_backend.unsupported(folder, device)
    copy = store.dense_copy(folder) if why_not and vllm_backend.convertible(folder) else None
    if copy is not None:
        why_not = vllm_backend.unsupported(copy, device)
    served = copy or folder
    via = f", serving its dense copy {copy.name}" if copy is not None else ""
    if asked == "vllm":
        vllm_backend.require()
        if why_not and vllm_backend.convertible(folder):
            raise ArtifactError(f"vLLM cannot serve this model on {device}: {why_not}, and its dense copy is not in "
                                "the store; `make eval BACKEND=vllm` makes it once, or use BACKEND=hf")
        if why_not:
            raise ArtifactError(f"vLLM cannot serve this model on {device}: {why_not}; use BACKEND=hf")
        return "vllm", f"BACKEND=vllm{via}", served
    if not vllm_backend.installed():
        return "hf", f"transformers; vLLM is not installed (`{vllm_backend.INSTALL}` adds it)", folder
    if why_not:
        more = "; BACKEND=vllm serves its dense copy, made once" if vllm_backend.convertible(folder) else ""
        return "hf", f"transformers; vLLM is installed but {why_not}{more}", folder
    return "vllm", f"vLLM is installed and serves this model{via}; BACKEND=hf for transformers", served


def load_backend(name: str, folder, device: str, template: str, mode: str, batch_size, load: bool = True,
                 gpu_memory: float = 0.9):
    if name == "vllm":
        from .vllm_backend import VllmBackend
        return VllmBackend(folder, device, template, mode, batch_size, load=load, gpu_memory=gpu_memory)
    from .backend import Backend
    return Backend(folder, device, template, mode, batch_size, load=load)


def summary(results: list[dict]) -> list[tuple]:
    return [(r["perspective"], f"shard {r['shard']}: {r['generated']} generated", "-", "-", "-", r["requests"], "-",
             r["results"]) if "shard" in r else (r["perspective"], "n/a" if r["score"] is None else f"{r['score']:.2f}",
             "n/a" if r.get("ci95") is None else f"{r['ci95'][0]:.2f} to {r['ci95'][1]:.2f}", r.get("items"),
             "n/a" if r["refusal"] is None else f"{r['refusal']:.2f}", r["requests"], "yes" if r["partial"] else "no",
             r["results"]) for r in results]


