"""The evaluation engine: model from the store -> requests -> batched generation -> samples -> score.

`make eval MODEL=<id> PERSPECTIVE=<name|all> [LIMIT=n] [DATA=subset|hub|<dir>] [PROMPTS=fork|intended]`
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
import hashlib
import time

from .. import faults, guard, store
from ..catalog.spec import ModelSpec
from ..errors import ArtifactError, BadInputError, BusyError, NotInStoreError
from ..provenance import rel, stamp
from ..settings import Settings, pick_device
from . import LIMIT_SAMPLING, get, interval, names
from .data import source
from .. import results as results_mod
from ..results import digest

CPU_OK_PARAMS = 2e9  # models above this size need a GPU unless ARTIFACT_ALLOW_CPU=1
LIMIT_TEXT = ("a seeded random sample of this many items per task (stratified; the first n of a permutation "
              "seeded by the task name), not the first n")


def model_folder(spec: ModelSpec, settings: Settings, log=print):
    """The model's store folder. Evaluation only reads the store: the caller puts the model there first
    (artifact/pipeline.py: the embedded model is converted, a missing SmolLM2 build is made)."""
    folder = store.folder(settings.store, spec.name)
    if store.read_recipe(folder) is None:
        raise NotInStoreError(spec.name, settings.store, "rebuild" if spec.method != "none" else "pull")
    return folder


def limit_for(limit, perspective: str) -> int | None:
    """LIMIT is one number for every perspective, or (a profile's) a dict by perspective; checked here."""
    n = limit.get(perspective) if isinstance(limit, dict) else limit
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise BadInputError(f"LIMIT={n} asks for no items; give a positive whole number of items per task, or "
                            "leave LIMIT unset for all of them")
    return n


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
    batch_size: int | None = None  # BATCH_SIZE=: requests padded together (None: the backend's default)
    device: str | None = None  # None: ARTIFACT_DEVICE, else CUDA where torch sees a GPU
    backend: str | None = None  # BACKEND=: hf | vllm (None: vllm where installed and it serves the model, else hf)
    shard: tuple[int, int] | None = None  # SHARD=i/k: generate only shard i of k, into its own file; no score

    def check(self) -> None:
        if self.resamples < 1:
            raise BadInputError(f"BOOTSTRAP={self.resamples} asks for no resamples; give a positive number "
                                f"(default {interval.RESAMPLES})")
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
          max_tokens: int | None = None):
    """(registry entry, data source, requests, missing parts, capped); `samples` caps the samples of multi-sample
    requests and `max_tokens` the tokens of every reply (quick runs: `capped` is then true and the score partial)."""
    limit = limit_for(limit, perspective)
    mod = get(perspective)
    own = getattr(mod.module, "source", None)  # a perspective with its own data (MT-Bench's vendored files)
    src = own(data, settings) if own else source(mod.benchmark, data, settings)
    reqs, missing = mod.requests(src, limit)
    capped = False
    if samples is not None and any(r.n > samples for r in reqs):
        most = max(r.n for r in reqs)
        reqs = [dataclasses.replace(r, n=samples) if r.n > samples else r for r in reqs]
        missing, capped = [*missing, f"{samples} samples per prompt instead of up to {most} (SAMPLES=)"], True
    if max_tokens is not None and any(r.max_tokens > max_tokens for r in reqs):
        reqs = [dataclasses.replace(r, max_tokens=max_tokens) if r.max_tokens > max_tokens else r for r in reqs]
        missing, capped = [*missing, f"replies capped at {max_tokens} tokens (MAX_TOKENS=)"], True
    return mod, src, reqs, missing, capped


def plan(spec: ModelSpec, perspectives: str, settings: Settings, limit, data: str, samples: int | None = None,
         max_tokens: int | None = None, log=print, backend: str | None = None) -> list[dict]:
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
        mod, src, reqs, missing, _ = build(p, data, settings, limit, samples, max_tokens)
        prompt_tok = [sum(len(m["content"]) for m in r.messages) / 4 if not isinstance(r.messages, str)
                      else len(r.messages) / 4 for r in reqs]  # ~4 characters per token
        avg = sum(prompt_tok) / len(prompt_tok) if prompt_tok else 0
        full, gens = mod.full_requests, mod.full_generations  # requests and replies of the full run
        full_tokens = (gens * (avg + mod.max_tokens)) if full else None
        gpu_h = None
        if full and reqs:  # the full run's replies, priced like this run's first request, for a 13B model
            like = dataclasses.replace(reqs[0], n=1, max_tokens=mod.max_tokens)
            gpu_h = gens * throughput.hours(full_rates, [like], [avg], throughput.ASSUMED_PARAMS)
        rows.append({"perspective": p, "requests": len(reqs), "tokens": int(sum(
                     t * r.n + r.n * r.max_tokens for t, r in zip(prompt_tok, reqs, strict=True))),
                     "gpu_hours": throughput.hours(rates, reqs, prompt_tok, params),
                     "half_width": interval.expected(mod, [r.meta for r in reqs]),
                     "limit": limit_for(limit, p),
                     "full_requests": full, "full_tokens": full_tokens and int(full_tokens),
                     "full_gpu_hours": gpu_h, "data": src.kind, "missing": missing,
                     "basis": rates.basis, "full_basis": full_rates.basis, "backend": engine, "device": device})
    return rows


@dataclass
class _Run:
    """What every perspective of one evaluation shares: the model, its backend, the settings and the config."""

    spec: ModelSpec
    config: EvalConfig
    settings: Settings
    backend: object
    model_sha: str
    recipe: dict
    scorer: object
    progress: bool
    log: object
    judge: object = None
    loaded: bool = False

    def load(self) -> None:
        """The model loads before the first batch to generate, not before: a run whose samples are all on disk
        (a finished run asked again, a resumed one that only scores) never loads it (a minute for vLLM's start)."""
        if self.loaded:
            return
        t0 = time.perf_counter()
        self.backend.load()
        self.loaded = True
        self.log(f"loaded {self.spec.name} on {self.backend.device} in {time.perf_counter() - t0:.1f}s (template "
                 f"{self.spec.chat_template}, prompts {self.config.mode}, batch {self.backend.batch_size})")


@dataclass(frozen=True)
class Prepared:
    """Every input of an evaluation, checked: the requests per perspective, the toxicity scorer, the device."""

    builds: dict
    scorer: object
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
        b[0].rated for b in builds.values()) else None  # a missing key fails before generation
    device = config.device or pick_device(settings)
    judge = None
    if any(b[0].judged for b in builds.values()):
        from . import judge as judge_mod
        judge = judge_mod.make(settings, device, config.max_tokens)  # a missing key fails before generation
    if device == "cpu" and spec.base.arch and spec.base.arch.params > CPU_OK_PARAMS and not settings.allow_cpu:
        raise ArtifactError(f"{spec.name} has {spec.base.arch.params / 1e9:.0f}B parameters and no CUDA GPU is "
                            "visible; run on a GPU machine (`make check` reports what it sees) or set "
                            "ARTIFACT_ALLOW_CPU=1 to wait days")
    return Prepared(builds, scorer, device, judge)


def evaluate(spec: ModelSpec, config: EvalConfig, settings: Settings, progress: bool = True, log=print,
             prepared: Prepared | None = None) -> list[dict]:
    """Score `spec` as `config` says (perspectives, LIMIT, data, prompts, caps, seed, bootstrap); every input is
    checked (`prepare`) before the model loads. Reads the model from the store and never writes to it."""
    prepared = prepared or prepare(spec, config, settings)
    builds, scorer, device = prepared.builds, prepared.scorer, prepared.device
    folder = model_folder(spec, settings, log)
    bad = store.verify(folder)
    if bad:
        raise ArtifactError(f"{spec.name} in the store fails its sha256 check ({bad[0]}); run `make verify "
                            f"MODEL={spec.name}` and re-pull or rebuild it")
    recipe = store.read_recipe(folder) or {}
    model_sha = store.manifest_sha(folder)
    name, why, served = choose_backend(config.backend, folder, device)
    log(f"backend: {name} ({why})")
    backend = load_backend(name, served, device, spec.chat_template, config.mode, config.batch_size, load=False)
    if served != folder:
        backend.served = {"weights": "dense copy", "folder": served.name,
                          "manifest_sha256": store.manifest_sha(served)}
    run = _Run(spec, config, settings, backend, model_sha, recipe, scorer, progress, log, prepared.judge)
    where = {p: _where(run, p, src, reqs) for p, (_, src, reqs, _, _) in builds.items()}
    for res, *_ in where.values():  # a folder another run holds: refused before the model loads
        owner = guard.busy(res.folder) if res.folder.is_dir() else None
        if owner:
            raise BusyError(f"another run is using the evaluation folder {res}: {owner}; wait for it to finish or "
                            "stop it, then run this again")
    return [_one(run, p, where[p], *built) for p, built in builds.items()]


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


def load_backend(name: str, folder, device: str, template: str, mode: str, batch_size, load: bool = True):
    if name == "vllm":
        from .vllm_backend import VllmBackend
        return VllmBackend(folder, device, template, mode, batch_size, load=load)
    from .backend import Backend
    return Backend(folder, device, template, mode, batch_size, load=load)


def _where(run: _Run, p: str, src, reqs):
    """(results folder, config, config hash, rendered prompts) of one perspective: what decides its folder."""
    backend, spec = run.backend, run.spec
    limit, seed = limit_for(run.config.limit, p), run.config.seed
    texts = {r.key: backend.render(r.messages) for r in reqs}
    gen = sorted({(r.max_tokens, r.temperature, r.n, (*r.stop, *backend.stop_str)) for r in reqs})
    config = {"perspective": p, "prompts": backend.mode, "template": spec.chat_template, "limit": limit,
              **({"limit_sampling": LIMIT_SAMPLING} if limit is not None else {}),
              "data": {"kind": src.kind, "files": dict(sorted(src.used.items()))}, "seed": seed,
              "generation": [{"max_tokens": m, "temperature": t, "n": n, "greedy": t == 0, "stop": list(st)}
                             for m, t, n, st in gen],
              "requests": digest([[r.key, texts[r.key]] for r in reqs]),
              **({"backend": backend.describe()} if backend.name != "hf" else {})}  # hf: the folders of before
    chash = digest(config)[:16]
    return results_mod.folder(run.settings.results, spec.name, run.model_sha, p, chash), config, chash, texts


def _generate(run: _Run, p: str, mine, texts, shas, done, write, meter, part: str, total: int, res) -> int:
    """Generate every request of `mine` not in `done`, batch by batch, each appended as it finishes; returns how
    many requests were generated."""
    backend = run.backend
    todo = [b for b in backend.batches(mine, texts) if any(r.key not in done for r in b)]
    left = sum(len(b) for b in todo)
    log = run.log
    log(f"{p}: {total} requests{part}, {len(mine) - left} already done, {left} to generate -> {res}")
    if todo:
        run.load()
    bar = _bar(left, p, run.progress)
    for b in todo:
        replies, ntok = backend.generate(b, texts, run.config.seed)
        write([{"key": r.key, "prompt_sha256": shas[r.key],
                "replies": rs} for r, rs in zip(b, replies, strict=True) if r.key not in done])
        faults.point("eval.batch")
        rate = meter.add(ntok)
        if bar is not None:
            bar.update(len(b))
            bar.set_postfix_str(f"{rate:.1f} tok/s")
    if bar is not None:
        bar.close()
    return left


def _one(run: _Run, p: str, where, mod, src, reqs, missing, capped: bool) -> dict:
    from .backend import Meter
    spec, backend, log, progress = run.spec, run.backend, run.log, run.progress
    limit, scorer = limit_for(run.config.limit, p), run.scorer
    model_sha, recipe = run.model_sha, run.recipe
    res, config, chash, texts = where  # _where's (folder, config, hash, rendered prompts), computed once
    special = tuple(backend.tokenizer.all_special_tokens)  # removed from MT-Bench answers, as FastChat does
    shas = {k: hashlib.sha256(t.encode()).hexdigest() for k, t in texts.items()}
    shard = run.config.shard
    if shard:  # generation only, of this shard's requests, into the shard's own file (the scoring run merges them)
        mine = shard_of(reqs, *shard)
        lock, write = res.claim_shard(*shard), (lambda rows: res.append(rows, shard))
    else:  # one run per evaluation folder: a second is refused, naming this one
        mine, lock, write = reqs, res.claim(), res.append
    with lock:
        res.start(config)
        done = res.done()
        meter, t0 = Meter(), time.perf_counter()
        left = _generate(run, p, mine, texts, shas, done, write, meter, f" (shard {shard[0]}/{shard[1]}: "
                         f"{len(mine)})" if shard else "", len(reqs), res)
        follow = getattr(mod.module, "followups", None)  # a second turn asked after the first (MT-Bench)
        if follow:
            second = follow(mine, res.done(), special)
            texts.update({r.key: backend.render(r.messages) for r in second})
            shas.update({r.key: hashlib.sha256(texts[r.key].encode()).hexdigest() for r in second})
            left += _generate(run, p, second, texts, shas, res.done(), write, meter, " (second turns)",
                              len(second), res)
            if not shard:
                reqs = reqs + second
        if shard:
            return {"model": spec.name, "perspective": p, "shard": f"{shard[0]}/{shard[1]}", "requests": len(mine),
                    "generated": left, "generated_tokens": meter.tokens, "results": str(res)}
        done = res.done()
        for r in reqs:
            if done[r.key]["prompt_sha256"] != shas[r.key]:
                raise ArtifactError(f"{res.samples} holds a different prompt for {r.key}; delete that folder and rerun")
        if mod.judged:
            from . import judge as judge_mod
            rows = [{**r.meta, "answer": done[r.key]["replies"][0], "key": r.key} for r in reqs]
            rows = judge_mod.rate(rows, run.judge, res.judgments, special, progress, log)
        else:
            rows = score_rows(mod, reqs, done, backend.mode, scorer, res.toxicity_cache, progress, log)
        named = f"{mod.scorer}; toxicity scored by {scorer.id}" if mod.rated else \
            f"{mod.scorer}; judged by {run.judge.id}" if mod.judged else mod.scorer
        partial = src.partial or limit is not None or capped
        score = mod.aggregate(rows, partial=partial, missing=missing)
        ci = interval.bootstrap(mod, rows, run.config.resamples)
        result = {"model": spec.name, "perspective": p, "dimension": p, "scorer": named, **score.as_dict(),
                  "ci95": ci["ci95"], "items": len(rows), "interval": ci, "breakdown": mod.breakdown(score.details),
                  "limit": None if limit is None else {"per_task": limit, "sampling": LIMIT_TEXT},
                  "toxicity_scorer": {"id": scorer.id, "comparable_to_paper": scorer.comparable}
                  if mod.rated else None,
                  **({"judge": run.judge.describe()} if mod.judged else {}),
                  "revision": recipe.get("commit") or model_sha, "requests": len(reqs),
                  "generated_tokens": meter.tokens, "wall_time_s": round(time.perf_counter() - t0, 2),
                  "tokens_per_s": round(meter.tokens / max(time.perf_counter() - t0, 1e-9), 2),
                  "config_hash": chash, "config": config,
                  "model_revision": {"store_manifest_sha256": model_sha, "recipe_key": recipe.get("recipe_key"),
                                     "hub_commit": recipe.get("commit"), "id": spec.id},
                  "data": src.describe(), "batch_size": backend.batch_size, "device": backend.device,
                  "backend": backend.describe(),
                  "provenance": stamp(), "results": rel(res.folder)}
        faults.point("eval.scored")
        res.write_score(result)
        if score.details.get("fork_would_stop"):
            log(f"{p}: the fork would have stopped here: {score.details['fork_would_stop']['note']} "
                f"({', '.join(score.details['fork_would_stop']['settings'])})")
    hw = interval.half_width(ci["ci95"])
    shown = "n/a" if score.score is None else f"{score.score:.2f}" + ("" if hw is None else f" ± {hw:.2f}") + \
        f" ({len(rows)} items)"
    log(f"{p}: score {shown}, refusal {score.refusal if score.refusal is None else round(score.refusal, 2)}"
        f"{' (partial: ' + '; '.join(score.missing or ['LIMIT or subset data']) + ')' if score.partial else ''}")
    return result


def score_rows(mod, reqs, done: dict[str, dict], mode: str, scorer=None, cache=None, progress=False,
               log=print) -> list[dict]:
    """The rows aggregate() reads: each request's meta, its stored replies as the perspective parses them, and the
    prompt mode; toxicity texts are then rated by `scorer` through its cache folder. The engine and the rescore
    (rescore.py) both score stored replies with this."""
    mod = get(mod)
    rows = [{**r.meta, **mod.parse(r, done[r.key]["replies"]), "key": r.key, "prompts": mode} for r in reqs]
    if mod.rated:
        from . import scorers
        scores = scorers.rate([t for r in rows for t in r["texts"]], scorer, cache, progress, log)
        rows = [mod.rate(r, scores) for r in rows]
    return rows


def _bar(total: int, desc: str, enabled: bool):
    if not enabled or total == 0:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=desc, unit="req", dynamic_ncols=True)


def shard_of(reqs, i: int, k: int) -> list:
    """Shard i of k (1-based): every k-th request in key order, so the shards partition the requests whatever the
    perspective and two shards never hold one request."""
    return [r for j, r in enumerate(sorted(reqs, key=lambda r: r.key)) if j % k == i - 1]


def summary(results: list[dict]) -> list[tuple]:
    return [(r["perspective"], f"shard {r['shard']}: {r['generated']} generated", "-", "-", "-", r["requests"], "-",
             r["results"]) if "shard" in r else (r["perspective"], "n/a" if r["score"] is None else f"{r['score']:.2f}",
             "n/a" if r.get("ci95") is None else f"{r['ci95'][0]:.2f} to {r['ci95'][1]:.2f}", r.get("items"),
             "n/a" if r["refusal"] is None else f"{r['refusal']:.2f}", r["requests"], "yes" if r["partial"] else "no",
             r["results"]) for r in results]


