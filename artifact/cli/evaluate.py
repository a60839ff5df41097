"""Verbs about scoring: eval (one model, one or all perspectives)."""
from __future__ import annotations

import argparse

from tabulate import tabulate

from ..base import store
from ..base.errors import BadInputError, NotInStoreError
from ..base.dimensions import PERSPECTIVES
from ..base.results import Layout

EXAMPLES = """examples:
  python -m artifact eval smollm2-135m-instruct --perspective all --limit 5       # the embedded model, CPU
  python -m artifact eval smollm2-135m-instruct-gptq-4bit-s0 --perspective ood,mmlu --limit 20
  python -m artifact eval llama-2-13b-chat-gptq-4bit-s0 --perspective all --data hub --dry-run
  python -m artifact eval llama-2-13b-chat --perspective ood,ethics --data hub --limit 50 --dry-run  # cost vs ±95%
  python -m artifact eval llama-2-13b-chat --perspective fairness --data ~/DecodingTrust/data --prompts intended
  JUDGE_API_KEY=... python -m artifact eval llama-2-13b-chat --perspective mtbench   # Table 4, GPT-4 judge
  JUDGE=local MODEL_JUDGE=smollm2-135m-instruct python -m artifact eval smollm2-135m-instruct \
      --perspective mtbench --limit 1 --max-tokens 16                             # a local judge, no API
  python -m artifact eval smollm2-135m-instruct --perspective toxicity,stereotype --limit 2 --samples 2 \
      --toxicity-scorer profanity                                                 # offline toxicity scorer
"""


PLAN_NOTE = ("Hours count every reply at its token cap (an upper bound); tokens are counted as characters / 4. "
             "`make bench-eval` on this machine makes the hours here measured ones. ±95% is the expected "
             "half-width of the score's 95% interval at this LIMIT, in score points, from the item count per task "
             "and the largest spread an item can have (50 points for a rate: a coin-flip item); real runs are "
             "narrower where items agree. "
             "LIMIT=n asks n items per task, a seeded random sample.")


def _h(x, digits=2) -> str:
    return "unknown" if x is None else f"{x:.{digits}f}"


def plan_table(rows: list[dict]) -> str:
    return tabulate([(r["perspective"], r["data"], r["limit"] or "all", r["requests"], r["tokens"],
                      _h(r["gpu_hours"], 3), _h(r["half_width"], 1), r["full_requests"] or "unknown",
                      r["full_tokens"] or "unknown", _h(r["full_gpu_hours"])) for r in rows],
                    headers=["perspective", "data", "LIMIT", "requests", "≈tokens", "≈hours here", "±95%",
                             "requests (full)", "≈tokens (full)", "≈GPU-hours (full, 13B, one H100)"],
                    tablefmt="github")


def _shard(text: str) -> tuple[int, int]:
    i, sep, k = text.partition("/")
    if not sep or not i.isdigit() or not k.isdigit() or not 1 <= int(i) <= int(k):
        raise argparse.ArgumentTypeError(f"SHARD={text} is not a shard; give i/k with 1 <= i <= k, e.g. 2/4")
    return int(i), int(k)


def cmd_eval(args, settings) -> int:
    import dataclasses

    from .. import pipeline
    from ..evaluate import run

    from .. import yours
    spec = yours.take(args.model, settings, args.template, bring=not args.dry_run)
    if spec.source and not args.dry_run and store.read_recipe(store.folder(settings.store, spec.name)) is None:
        raise NotInStoreError(spec.source, settings.store)  # a Hub model is pulled first, like the paper's
    if spec.yours or args.template:
        print(f"{spec.name}: conversation template {yours.template_reason(spec)}")
        if spec.chat_template is None:
            raise BadInputError(f"{spec.name} has no conversation template: give TEMPLATE= (one of "
                                f"{', '.join(yours.TEMPLATES)}); it is saved in the model's file and every score "
                                "records it")
    if args.toxicity_scorer:
        settings = dataclasses.replace(settings, toxicity_scorer=args.toxicity_scorer)
    if args.dry_run:
        rows = run.plan(spec, args.perspective, settings, args.limit, args.data, args.samples, args.max_tokens,
                        backend=args.backend)
        print(f"eval {spec.name} (dry run: no model is loaded, nothing is generated or written)")
        print(plan_table(rows))
        if rows:
            print(f"hours here ({rows[0]['backend']} on {rows[0]['device']}): {rows[0]['basis']}")
            print(f"full-run hours: {rows[0]['full_basis']}")
        for r in rows:
            for m in r["missing"]:
                print(f"  note: {r['perspective']}: {m}")
        print(PLAN_NOTE)
        return 0
    config = run.EvalConfig(args.perspective, limit=args.limit, data=args.data, mode=args.prompts,
                            samples=args.samples, max_tokens=args.max_tokens, seed=args.seed,
                            resamples=args.bootstrap, batch_size=args.batch_size, backend=args.backend,
                            shard=args.shard)
    prepared = run.prepare(spec, config, settings)  # bad input fails before anything is converted or written
    pipeline.ensure_model(spec, settings, build=False)  # the embedded model is converted once; others must be there
    pipeline.ensure_served(spec, settings, config.backend, prepared.device)  # BACKEND=vllm: a GPTQ model's dense copy
    results = run.evaluate(spec, config, settings, progress=not args.no_progress, prepared=prepared)
    print(tabulate(run.summary(results), headers=["perspective", "score", "95% interval", "items", "refusal %",
                                                   "requests", "partial", "results"], tablefmt="github"))
    if any(r.get("partial") for r in results):
        print("partial: computed on LIMIT items, fewer SAMPLES or the vendored subset; not comparable to the paper's "
              "numbers.")
    for r in results:
        if r.get("toxicity_scorer") and not r["toxicity_scorer"]["comparable_to_paper"]:
            print(f"toxicity scored by {r['toxicity_scorer']['id']}, not the Perspective API the paper used; "
                  "`make toxicity-agreement` says how close it comes.")
    return 0


def register(sub, epilog: str) -> None:
    e = sub.add_parser("eval", help="score one model on DecodingTrust perspectives and MMLU",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Score a model from the store the way the paper did (the DecodingTrust fork at "
                                   "0cf3fc1 with its patched scoring, and the paper's generative MMLU). Samples "
                                   "are appended as they finish: kill the run and start it again to resume.")
    e.add_argument("model", metavar="MODEL", help="a catalog id (name, Hub id or alias), your model's name, "
                                                  "hf:<org>/<name> (pulled first) or a model folder")
    e.add_argument("--template", metavar="NAME", help="your model's conversation template (saved in its model file)")
    e.add_argument("--perspective", default="all", metavar="NAME",
                   help=f"{', '.join(PERSPECTIVES)}, a comma-separated list, or all (default); mtbench only when "
                        "named (it needs a judge: JUDGE_URL/JUDGE_MODEL/JUDGE_API_KEY, or JUDGE=local MODEL_JUDGE=)")
    e.add_argument("--limit", type=int, metavar="N", help="N items of every task, a seeded random sample (a "
                                                          "partial score; the dry run shows the interval to expect)")
    e.add_argument("--data", default="subset", metavar="SOURCE",
                   help="subset (the vendored real slices, default), hub (the full benchmark from the Hub, pinned "
                        "in checksums/), or a directory laid out like the benchmark's data/")
    e.add_argument("--prompts", default="fork", choices=["fork", "intended"],
                   help="fork: render chat templates exactly as the paper's DecodingTrust fork did (default); "
                        "intended: as the templates' authors meant them")
    e.add_argument("--batch-size", type=int, metavar="N", help="requests per generate call (default 8 CPU, 32 GPU); "
                   "with vLLM, samples per engine call (the resume granularity)")
    e.add_argument("--shard", type=_shard, metavar="I/K", help="generate only shard I of K of each perspective's "
                   "requests, into its own file, and score nothing (make sweep runs the shards as separate jobs, "
                   "then one run without --shard scores them all)")
    e.add_argument("--backend", metavar="NAME", help="hf (transformers) or vllm; default: vllm where installed and "
                   "it serves the model, else hf")
    e.add_argument("--samples", type=int, metavar="N",
                   help="at most N samples per prompt where the paper draws several (toxicity and stereotype 25, "
                        "privacy understanding 100): a partial score, for quick runs")
    e.add_argument("--max-tokens", type=int, metavar="N",
                   help="cap every reply at N tokens (the paper allows 16-150 by task): a partial score, for quick "
                        "runs")
    e.add_argument("--toxicity-scorer", choices=["perspective", "toxic-bert", "profanity"],
                   help="who scores toxicity (default: perspective with PERSPECTIVE_API_KEY, else toxic-bert where its "
                        "weights are placed, else profanity; only perspective is comparable to the paper)")
    e.add_argument("--seed", type=int, default=0, help="base seed of sampled generations (default 0)")
    e.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                   help="resamples of the score's 95%% bootstrap interval (default 1000)")
    e.add_argument("--no-progress", action="store_true", help="no progress bar")
    e.add_argument("--dry-run", action="store_true",
                   help="print request counts, token and GPU-hour estimates, and do nothing")
    e.set_defaults(func=cmd_eval)
    register_agreement(sub)
    register_rescore(sub)


def cmd_agreement(args, settings) -> int:
    from ..evaluate import agreement

    if args.dry_run:
        rows = agreement.plan(settings, args.data, args.scorer)
        print("toxicity-agreement (dry run: nothing is scored or written)")
        print(tabulate([(r["scorer"], r["texts"], r["cached"], r["to_score"], r["estimate"]) for r in rows],
                       headers=["scorer", "texts", "cached", "to score", "≈time"], tablefmt="github"))
        return 0
    out = agreement.run(settings, args.data, args.scorer)
    print(f"toxicity scorers against {out['reference']}:")
    print(agreement.table(out))
    print(f"written: {Layout(settings.results).agreement}.md and .json")
    return 0


def register_agreement(sub) -> None:
    a = sub.add_parser("toxicity-agreement", help="how closely each toxicity scorer tracks Perspective",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="examples:\n  python -m artifact toxicity-agreement                  # every scorer "
                              "available here\n  python -m artifact toxicity-agreement --scorer profanity\n"
                              "  python -m artifact toxicity-agreement --scorer perspective --dry-run",
                       description="Score the RealToxicityPrompts texts with each available scorer and compare with "
                                   "the Perspective scores stored in the dataset: correlation, mean absolute error, "
                                   "agreement at 0.5.")
    a.add_argument("--scorer", action="append", choices=["perspective", "toxic-bert", "profanity"],
                   help="a scorer to compare (repeatable; default: every one available here)")
    a.add_argument("--data", default="subset", metavar="SOURCE", help="subset (default), hub, or a directory")
    a.add_argument("--dry-run", action="store_true", help="say how many texts each scorer would score, and how long")
    a.set_defaults(func=cmd_agreement)
    s = sub.add_parser("scorer-checksums", formatter_class=argparse.RawDescriptionHelpFormatter,
                       help="record (or, with --place, check) the open toxicity classifier's sha256",
                       epilog="examples:\n  make scorer-checksums MODE=docker    # write checksums/scorers/"
                              "toxic-bert.sha256 from the image's weights; commit it\n"
                              "  python -m artifact scorer-checksums --place  # what docker/Dockerfile runs after "
                              "fetching them")
    s.add_argument("--place", action="store_true", help="check against the committed manifest, or where none is "
                   "committed write one beside the weights (the image build)")
    s.set_defaults(func=cmd_scorer_checksums)


def cmd_scorer_checksums(args, settings) -> int:
    from ..evaluate.scorers import classifier

    print(classifier.place(settings) if args.place else f"recorded {classifier.record(settings)}")
    return 0


def cmd_rescore(args, settings) -> int:
    from ..base import catalog
    from ..evaluate import rescore

    spec = catalog.load().find(args.model) if args.model else None
    model = spec.name if spec else args.model  # results live under the store name (hf:org/name -> org--name)
    done = rescore.rescore(settings, model, args.bootstrap, args.data)
    changed = [d for d in done if not d["rescored"]["same_score"]]
    print(f"rescored {len(done)} result(s) from their stored replies; {len(changed)} score(s) changed"
          + (" (the scoring code changed since they were written)" if changed else ""))
    return 0


def register_rescore(sub) -> None:
    r = sub.add_parser("rescore", help="recompute scores and their intervals from stored replies (no generation)",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="examples:\n  python -m artifact rescore                       # every stored result\n"
                              "  python -m artifact rescore smollm2-135m-instruct --bootstrap 2000",
                       description="Parse every stored samples.jsonl again, aggregate it with today's scoring code, "
                                   "bootstrap its 95% interval and rewrite score.json. Results written before "
                                   "intervals existed get one this way; nothing is generated.")
    r.add_argument("model", nargs="?", metavar="MODEL", help="only this model's results (its catalog name)")
    r.add_argument("--bootstrap", type=int, default=1000, metavar="N", help="resamples (default 1000)")
    r.add_argument("--data", metavar="SOURCE", help="the data source, where it is not the one recorded (a folder)")
    r.set_defaults(func=cmd_rescore)
