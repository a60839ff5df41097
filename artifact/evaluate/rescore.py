"""Rescore stored results with no generation: read samples.jsonl again, parse, aggregate, bootstrap, rewrite score.json.

`make rescore [MODEL=<id>]` (python -m artifact rescore) walks results/eval/<model>/<digest>/<perspective>/<hash>/.
A folder's requests are rebuilt from the data source its config.json names (every item of the perspective) and
matched to the stored replies by request key, which is stable across LIMITs. Toxicity replies are rated from the
scorer's cache (or by the same scorer where a text is missing from it). The score must come out as before unless the
scoring code changed, and the rescore says which. This is how a score.json from before intervals gets its interval.
"""
from __future__ import annotations

import logging
from pathlib import Path

from ..base.errors import ArtifactError
from ..base.provenance import rel, stamp
from ..base import results as results_mod
from ..base.results import Results

logger = logging.getLogger(__name__)



def _scorer(score: dict, settings):
    from . import scorers
    sid = (score.get("toxicity_scorer") or {}).get("id") or ""
    name = next((n for n in scorers.NAMES if sid.startswith(n)), None)
    if name is None:
        raise ArtifactError(f"the toxicity scorer {sid!r} of this result is not one of {', '.join(scorers.NAMES)}")
    return scorers.get(name, settings)


def rescore_folder(folder: Path, settings, resamples: int, data: str | None = None) -> dict | None:
    """Rescore one evaluation folder, holding it: refused while an evaluation is writing into it."""
    with Results(folder).claim():
        return _rescore_folder(folder, settings, resamples, data)


def _rescore_folder(folder: Path, settings, resamples: int, data: str | None) -> dict | None:
    from . import interval
    from .perspective_run import score_rows
    from .run import build
    res = Results(folder)
    try:
        config, old = res.read_config(), res.read_score()
        p = config["perspective"]
        kind = data or config["data"]["kind"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ArtifactError(f"{rel(folder)} is not a readable result folder ({e!r}); delete it and rerun make eval") \
            from None
    if kind == "local":
        raise ArtifactError(f"{rel(folder)} was scored on a local data folder; rescore it with DATA=<that folder>")
    if not old:  # no score.json: the evaluation was stopped before it finished, and a score of part of it is none
        logger.info(f"{rel(folder)}: {p} skipped: its evaluation has not finished (no score.json); rerun the same "
                    "`make eval` to complete it")
        return None
    built = build(p, kind, settings, None)
    entry, reqs, missing = built.entry, built.requests, built.missing
    if entry.judged:
        logger.info(f"{rel(folder)}: {p} skipped: a judged score is recomputed by rerunning the same `make eval` (its "
                    "replies and judgments are cached, nothing is asked twice)")
        return None
    samples = res.done()  # samples.jsonl and any shard files (make sweep)
    matched = [r for r in reqs if r.key in samples]
    unknown = len(samples) - len(matched)
    if not matched:
        raise ArtifactError(f"{rel(folder)} holds no reply to any request of {p} on DATA={kind}; nothing to rescore")
    scorer = _scorer(old, settings) if entry.rated else None
    rows = score_rows(entry, matched, samples, config.get("prompts", "fork"), scorer, res.toxicity_cache, False)
    partial = old.get("partial", True)
    score = entry.aggregate(rows, partial=partial, missing=old.get("missing", missing))
    ci = interval.bootstrap(entry, rows, resamples)
    before = old.get("score")
    same = before is None or score.score is None or abs(before - score.score) < 1e-9
    new = {**old, **score.as_dict(), "ci95": ci["ci95"], "items": len(rows), "interval": ci,
           "breakdown": entry.breakdown(score.details),
           "rescored": {**stamp(), "previous_score": before, "same_score": same,
                        "samples_without_request": unknown}}
    new.setdefault("model", folder.parents[2].name)
    new.setdefault("perspective", p)
    new.setdefault("dimension", p)
    res.write_score(new)
    hw = interval.half_width(ci["ci95"])
    logger.info(f"{rel(folder)}: {p} {'n/a' if score.score is None else f'{score.score:.2f}'}"
                + ("" if hw is None else f" ± {hw:.2f}") + f" ({len(rows)} items)"
                + ("" if same else f"; was {before:.2f}: the scoring code changed since") +
                (f"; {unknown} stored replies match no request of today's data" if unknown else ""))
    return new


def rescore(settings, model: str | None = None, resamples: int = 1000, data: str | None = None) -> list[dict]:
    from .run import EvalConfig
    EvalConfig(resamples=resamples).check()  # BOOTSTRAP= within bounds, before anything is read
    found = results_mod.result_folders(settings.results, model)
    if not found:
        where = results_mod.Layout(settings.results).eval / (model or "")
        raise ArtifactError(f"no evaluation results under {where}; run make eval first")
    return [r for r in (rescore_folder(f, settings, resamples, data) for f in found) if r is not None]
