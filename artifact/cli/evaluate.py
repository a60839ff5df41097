"""Verbs about scoring: eval (one model, one or all perspectives)."""
from __future__ import annotations

import argparse

from tabulate import tabulate

from .. import catalog

EXAMPLES = """examples:
  python -m artifact eval smollm2-135m-instruct --perspective all --limit 5       # the embedded model, CPU
  python -m artifact eval smollm2-135m-instruct-gptq-4bit-s0 --perspective ood,mmlu --limit 20
  python -m artifact eval llama-2-13b-chat-gptq-4bit-s0 --perspective all --data hub --dry-run
  python -m artifact eval llama-2-13b-chat --perspective fairness --data ~/DecodingTrust/data --prompts intended
  python -m artifact eval smollm2-135m-instruct --perspective toxicity,stereotype --limit 2 --samples 2 \
      --toxicity-scorer profanity                                                 # offline toxicity scorer
"""


def cmd_eval(args, settings) -> int:
    import dataclasses

    from ..evaluate import run

    spec = catalog.get(args.model)
    if args.toxicity_scorer:
        settings = dataclasses.replace(settings, toxicity_scorer=args.toxicity_scorer)
    if args.dry_run:
        rows = run.plan(spec, args.perspective, settings, args.limit, args.data, args.samples, args.max_tokens)
        print(f"eval {spec.name} (dry run: no model is loaded, nothing is generated or written)")
        print(tabulate([(r["perspective"], r["data"], r["requests"], r["tokens"], r["full_requests"] or "unknown",
                         r["full_tokens"] or "unknown",
                         "unknown" if r["full_gpu_hours"] is None else f"{r['full_gpu_hours']:.2f}") for r in rows],
                       headers=["perspective", "data", "requests (this run)", "≈tokens (this run)",
                                "requests (full)", "≈tokens (full)", "≈GPU-hours (full, 13B, one H100)"],
                       tablefmt="github"))
        for r in rows:
            for m in r["missing"]:
                print(f"  note: {r['perspective']}: {m}")
        print(f"GPU-hours assume {run.PREFILL_TOK_S:.0f} prompt and {run.DECODE_TOK_S:.0f} generated tokens/s for a "
              "13B model in bf16 (an estimate, not measured here); tokens are counted as characters / 4.")
        return 0
    results = run.evaluate(spec, args.perspective, settings, limit=args.limit, data=args.data, mode=args.prompts,
                           batch_size=args.batch_size, seed=args.seed, progress=not args.no_progress,
                           samples=args.samples, max_tokens=args.max_tokens)
    print(tabulate(run.summary(results), headers=["perspective", "score", "refusal %", "requests", "partial",
                                                   "results"], tablefmt="github"))
    if any(r["partial"] for r in results):
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
    e.add_argument("model", metavar="MODEL", help="a catalog id (name, Hub id or alias)")
    e.add_argument("--perspective", default="all", metavar="NAME",
                   help="advglue, ood, adv_demo, ethics, fairness, toxicity, privacy, stereotype, mmlu, a "
                        "comma-separated list, or all (default)")
    e.add_argument("--limit", type=int, metavar="N", help="only the first N items of every task (a partial score)")
    e.add_argument("--data", default="subset", metavar="SOURCE",
                   help="subset (the vendored real slices, default), hub (the full benchmark from the Hub, pinned "
                        "in checksums/), or a directory laid out like the benchmark's data/")
    e.add_argument("--prompts", default="fork", choices=["fork", "intended"],
                   help="fork: render chat templates exactly as the paper's DecodingTrust fork did (default); "
                        "intended: as the templates' authors meant them")
    e.add_argument("--batch-size", type=int, metavar="N", help="requests per generate call (default 8 CPU, 32 GPU)")
    e.add_argument("--samples", type=int, metavar="N",
                   help="at most N samples per prompt where the paper draws several (toxicity and stereotype 25, "
                        "privacy understanding 100): a partial score, for quick runs")
    e.add_argument("--max-tokens", type=int, metavar="N",
                   help="cap every reply at N tokens (the paper allows 16-150 by task): a partial score, for quick runs")
    e.add_argument("--toxicity-scorer", choices=["perspective", "toxic-bert", "profanity"],
                   help="who scores toxicity (default: perspective with PERSPECTIVE_API_KEY, else toxic-bert where its "
                        "weights are placed, else profanity; only perspective is comparable to the paper)")
    e.add_argument("--seed", type=int, default=0, help="base seed of sampled generations (default 0)")
    e.add_argument("--no-progress", action="store_true", help="no progress bar")
    e.add_argument("--dry-run", action="store_true",
                   help="print request counts, token and GPU-hour estimates, and do nothing")
    e.set_defaults(func=cmd_eval)
    register_agreement(sub)


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
    print(f"written: {settings.results / 'toxicity-agreement.md'} and .json")
    return 0


def register_agreement(sub) -> None:
    a = sub.add_parser("toxicity-agreement", help="how closely each toxicity scorer tracks Perspective",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="examples:\n  python -m artifact toxicity-agreement                  # every scorer "
                              "available here\n  python -m artifact toxicity-agreement --scorer profanity\n  python -m artifact "
                              "toxicity-agreement --scorer perspective --dry-run",
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
