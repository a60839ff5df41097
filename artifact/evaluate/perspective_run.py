"""One perspective of one evaluation, in three steps: generate (every request not yet on disk, batch by batch,
appended as it finishes), score (the stored replies, parsed, rated or judged, aggregated with an interval) and
record (score.json with its provenance). The engine (run.py) prepares the requests and the session; the results
folder a perspective writes to is decided here (`destination`) from everything that changes its replies.
"""
from __future__ import annotations

import logging
import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ..base import faults
from ..base.catalog.spec import ModelSpec
from ..base.errors import ArtifactError
from ..base.provenance import rel, stamp
from ..base.results import Layout, Results, digest
from ..base.settings import Settings
from . import LIMIT_SAMPLING, Request, get, interval
from .api import Perspective
from .backend import Engine, Meter
from .data import Source

logger = logging.getLogger(__name__)

LIMIT_TEXT = ("a seeded random sample of this many items per task (stratified; the first n of a permutation "
              "seeded by the task name), not the first n")


def limit_for(limit, perspective: str) -> int | None:
    """LIMIT is one number for every perspective, or (a profile's) a dict by perspective; checked here."""
    n = limit.get(perspective) if isinstance(limit, dict) else limit
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        from ..base.errors import BadInputError
        raise BadInputError(f"LIMIT={n} asks for no items; give a positive whole number of items per task, or leave "
                            "LIMIT unset for all of them")
    return n


@dataclass(frozen=True)
class Built:
    """One perspective's requests, made and checked before the model loads (run.build)."""

    entry: Perspective  # the registry entry: its module's pure parts and facts
    source: Source  # the data they were made from
    requests: list[Request]
    missing: list[str]  # parts that could not be asked, in words (a partial score)
    capped: bool  # SAMPLES or MAX_TOKENS cut the requests short (a partial score)


@dataclass
class Session:
    """What every perspective of one evaluation shares: the model, its backend, the settings and the config."""

    spec: ModelSpec
    config: object  # run.EvalConfig
    settings: Settings
    backend: Engine
    model_sha: str  # the store manifest's digest: the model revision the results folder is named by
    recipe: dict  # the model's recipe.json
    scorer: object | None  # scorers.Scorer, where a perspective's replies are rated for toxicity
    progress: bool
    judge: object | None = None  # judge.Judge, where a perspective is judged (MT-Bench)
    loaded: bool = False

    def load(self) -> None:
        """The model loads before the first batch to generate, not before: a run whose samples are all on disk
        (a finished run asked again, a resumed one that only scores) never loads it (a minute for vLLM's start)."""
        if self.loaded:
            return
        t0 = time.perf_counter()
        self.backend.load()
        self.loaded = True
        logger.info(f"loaded {self.spec.name} on {self.backend.device} in {time.perf_counter() - t0:.1f}s (template "
                    f"{self.spec.chat_template}, prompts {self.config.mode}, batch {self.backend.batch_size})")


@dataclass
class Destination:
    """Where one perspective's run goes and what decides it: the folder is named by the config's hash."""

    results: Results
    config: dict  # what the hash covers: prompts mode, template, data, limit, seed, generation, the requests
    config_hash: str
    texts: dict[str, str]  # each request's rendered prompt, by key
    shas: dict[str, str] = field(default_factory=dict)  # their sha256, stored with each reply

    def add(self, backend: Engine, requests) -> None:
        self.texts.update({r.key: backend.render(r.messages) for r in requests})
        self.shas.update({r.key: hashlib.sha256(self.texts[r.key].encode()).hexdigest() for r in requests})


def destination(session: Session, p: str, built: Built) -> Destination:
    backend, spec, reqs = session.backend, session.spec, built.requests
    limit, seed = limit_for(session.config.limit, p), session.config.seed
    texts = {r.key: backend.render(r.messages) for r in reqs}
    gen = sorted({(r.max_tokens, r.temperature, r.n, (*r.stop, *backend.stop_str)) for r in reqs})
    config = {"perspective": p, "prompts": backend.mode, "template": spec.chat_template, "limit": limit,
              **({"limit_sampling": LIMIT_SAMPLING} if limit is not None else {}),
              "data": {"kind": built.source.kind, "files": dict(sorted(built.source.used.items()))}, "seed": seed,
              "generation": [{"max_tokens": m, "temperature": t, "n": n, "greedy": t == 0, "stop": list(st)}
                             for m, t, n, st in gen],
              "requests": digest([[r.key, texts[r.key]] for r in reqs]),
              **({"backend": backend.describe()} if backend.name != "hf" else {})}  # hf: the folders of before
    chash = digest(config)[:16]
    dest = Destination(Layout(session.settings.results).run(spec.name, session.model_sha, p, chash), config, chash,
                       {})
    dest.add(backend, reqs)
    return dest


@dataclass
class Generation:
    """The running state of one perspective's generation: where replies go and how fast they come."""

    session: Session
    perspective: str
    dest: Destination
    write: Callable[[list[dict]], None]  # appends finished rows (the shard's own file under SHARD=)
    meter: Meter = field(default_factory=Meter)
    started: float = field(default_factory=time.perf_counter)

    def run(self, requests, done: dict, label: str, total: int) -> int:
        """Generate every request not in `done`, batch by batch, each appended as it finishes; how many were."""
        backend = self.session.backend
        todo = [b for b in backend.batches(requests, self.dest.texts) if any(r.key not in done for r in b)]
        left = sum(len(b) for b in todo)
        logger.info(f"{self.perspective}: {total} requests{label}, {len(requests) - left} already done, {left} to "
                    f"generate -> {self.dest.results}")
        if todo:
            self.session.load()
        bar = _bar(left, self.perspective, self.session.progress)
        for b in todo:
            replies, ntok = backend.generate(b, self.dest.texts, self.session.config.seed)
            self.write([{"key": r.key, "prompt_sha256": self.dest.shas[r.key], "replies": rs}
                        for r, rs in zip(b, replies, strict=True) if r.key not in done])
            faults.point("eval.batch")
            rate = self.meter.add(ntok)
            if bar is not None:
                bar.update(len(b))
                bar.set_postfix_str(f"{rate:.1f} tok/s")
        if bar is not None:
            bar.close()
        return left


def run_perspective(session: Session, p: str, dest: Destination, built: Built) -> dict:
    """Generate, score and record one perspective (or, under SHARD=, generate one shard's requests only)."""
    res, shard = dest.results, session.config.shard
    if shard:  # generation only, of this shard's requests, into the shard's own file (the scoring run merges them)
        mine = shard_of(built.requests, *shard)
        lock, write = res.claim_shard(*shard), (lambda rows: res.append(rows, shard))
    else:  # one run per evaluation folder: a second is refused, naming this one
        mine, lock, write = built.requests, res.claim(), res.append
    with lock:
        res.start(dest.config)
        gen = Generation(session, p, dest, write)
        label = f" (shard {shard[0]}/{shard[1]}: {len(mine)})" if shard else ""
        generated = gen.run(mine, res.done(), label, len(built.requests))
        reqs, generated = _second_turns(gen, built, mine, generated)
        if shard:
            return {"model": session.spec.name, "perspective": p, "shard": f"{shard[0]}/{shard[1]}",
                    "requests": len(mine), "generated": generated, "generated_tokens": gen.meter.tokens,
                    "results": str(res)}
        rows = score(session, built, reqs, dest)
        result, score_ = record(session, p, built, reqs, rows, dest, gen)
    hw = interval.half_width(result["ci95"])
    shown = "n/a" if score_.score is None else f"{score_.score:.2f}" + ("" if hw is None else f" ± {hw:.2f}") + \
        f" ({len(rows)} items)"
    refusal = score_.refusal if score_.refusal is None else round(score_.refusal, 2)
    partly = f" (partial: {'; '.join(score_.missing or ['LIMIT or subset data'])})" if score_.partial else ""
    logger.info(f"{p}: score {shown}, refusal {refusal}{partly}")
    return result


def _second_turns(gen: Generation, built: Built, mine, generated: int) -> tuple[list, int]:
    """A perspective with a second turn asked after the first (MT-Bench: `followups`) generates it now; the
    requests to score then include it."""
    follow = getattr(built.entry.module, "followups", None)
    if not follow:
        return built.requests, generated
    res, backend = gen.dest.results, gen.session.backend
    second = follow(mine, res.done(), tuple(backend.tokenizer.all_special_tokens))
    gen.dest.add(backend, second)
    generated += gen.run(second, res.done(), " (second turns)", len(second))
    return (built.requests if gen.session.config.shard else built.requests + second), generated


def score(session: Session, built: Built, reqs, dest: Destination) -> list[dict]:
    """The scored rows of every request: parsed from the stored replies, then rated (toxicity) or judged."""
    res, entry = dest.results, built.entry
    done = res.done()
    for r in reqs:
        if done[r.key]["prompt_sha256"] != dest.shas[r.key]:
            raise ArtifactError(f"{res.samples} holds a different prompt for {r.key}; delete that folder and rerun")
    if entry.judged:
        from . import judge as judge_mod
        special = tuple(session.backend.tokenizer.all_special_tokens)  # removed from answers, as FastChat does
        rows = [{**r.meta, "answer": done[r.key]["replies"][0], "key": r.key} for r in reqs]
        return judge_mod.rate(rows, session.judge, res.judgments, special, session.progress)
    return score_rows(entry, reqs, done, session.backend.mode, session.scorer, res.toxicity_cache, session.progress)


def record(session: Session, p: str, built: Built, reqs, rows: list[dict], dest: Destination, gen: Generation):
    """score.json: the score, its interval and everything it came from; (the record, the Score)."""
    entry, spec, backend, scorer = built.entry, session.spec, session.backend, session.scorer
    limit, recipe, model_sha = limit_for(session.config.limit, p), session.recipe, session.model_sha
    named = f"{entry.scorer}; toxicity scored by {scorer.id}" if entry.rated else \
        f"{entry.scorer}; judged by {session.judge.id}" if entry.judged else entry.scorer
    partial = built.source.partial or limit is not None or built.capped
    result_score = entry.aggregate(rows, partial=partial, missing=built.missing)
    ci = interval.bootstrap(entry, rows, session.config.resamples)
    elapsed = time.perf_counter() - gen.started
    result = {"model": spec.name, "perspective": p, "dimension": p, "scorer": named, **result_score.as_dict(),
              "ci95": ci["ci95"], "items": len(rows), "interval": ci,
              "breakdown": entry.breakdown(result_score.details),
              "limit": None if limit is None else {"per_task": limit, "sampling": LIMIT_TEXT},
              "toxicity_scorer": {"id": scorer.id, "comparable_to_paper": scorer.comparable} if entry.rated else None,
              **({"judge": session.judge.describe()} if entry.judged else {}),
              "revision": recipe.get("commit") or model_sha, "requests": len(reqs),
              "generated_tokens": gen.meter.tokens, "wall_time_s": round(elapsed, 2),
              "tokens_per_s": round(gen.meter.tokens / max(elapsed, 1e-9), 2),
              "config_hash": dest.config_hash, "config": dest.config,
              "model_revision": {"store_manifest_sha256": model_sha, "recipe_key": recipe.get("recipe_key"),
                                 "hub_commit": recipe.get("commit"), "id": spec.id},
              "data": built.source.describe(), "batch_size": backend.batch_size, "device": backend.device,
              "backend": backend.describe(), "provenance": stamp(), "results": rel(dest.results.folder)}
    faults.point("eval.scored")
    dest.results.write_score(result)
    stop = result_score.details.get("fork_would_stop")
    if stop:
        logger.info(f"{p}: the fork would have stopped here: {stop['note']} ({', '.join(stop['settings'])})")
    return result, result_score


def score_rows(entry, reqs, done: dict[str, dict], mode: str, scorer=None, cache=None, progress=False) -> list[dict]:
    """The rows aggregate() reads: each request's meta, its stored replies as the perspective parses them, and the
    prompt mode; toxicity texts are then rated by `scorer` through its cache folder. The engine and the rescore
    (rescore.py) both score stored replies with this."""
    entry = get(entry)
    rows = [{**r.meta, **entry.parse(r, done[r.key]["replies"]), "key": r.key, "prompts": mode} for r in reqs]
    if entry.rated:
        from . import scorers
        scores = scorers.rate([t for r in rows for t in r["texts"]], scorer, cache, progress)
        rows = [entry.rate(r, scores) for r in rows]
    return rows


def shard_of(reqs, i: int, k: int) -> list:
    """Shard i of k (1-based): every k-th request in key order, so the shards partition the requests whatever the
    perspective and two shards never hold one request."""
    return [r for j, r in enumerate(sorted(reqs, key=lambda r: r.key)) if j % k == i - 1]


def _bar(total: int, desc: str, enabled: bool):
    if not enabled or total == 0:
        return None
    from tqdm.auto import tqdm
    return tqdm(total=total, desc=desc, unit="req", dynamic_ncols=True)
