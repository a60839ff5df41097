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
"""


def cmd_eval(args, settings) -> int:
    from ..evaluate import run

    spec = catalog.get(args.model)
    if args.dry_run:
        rows = run.plan(spec, args.perspective, settings, args.limit, args.data)
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
                           batch_size=args.batch_size, seed=args.seed, progress=not args.no_progress)
    print(tabulate(run.summary(results), headers=["perspective", "score", "refusal %", "requests", "partial",
                                                   "results"], tablefmt="github"))
    if any(r["partial"] for r in results):
        print("partial: computed on LIMIT items or the vendored subset; not comparable to the paper's numbers.")
    return 0


def register(sub, epilog: str) -> None:
    e = sub.add_parser("eval", help="score one model on DecodingTrust perspectives and MMLU",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Score a model from the store the way the paper did (the DecodingTrust fork at "
                                   "0cf3fc1 with its patched scoring, and the paper's generative MMLU). Samples "
                                   "are appended as they finish: kill the run and start it again to resume.")
    e.add_argument("model", metavar="MODEL", help="a catalog id (name, Hub id or alias)")
    e.add_argument("--perspective", default="all", metavar="NAME",
                   help="advglue, ood, adv_demo, ethics, fairness, mmlu, a comma-separated list, or all (default)")
    e.add_argument("--limit", type=int, metavar="N", help="only the first N items of every task (a partial score)")
    e.add_argument("--data", default="subset", metavar="SOURCE",
                   help="subset (the vendored real slices, default), hub (the full benchmark from the Hub, pinned "
                        "in checksums/), or a directory laid out like the benchmark's data/")
    e.add_argument("--prompts", default="fork", choices=["fork", "intended"],
                   help="fork: render chat templates exactly as the paper's DecodingTrust fork did (default); "
                        "intended: as the templates' authors meant them")
    e.add_argument("--batch-size", type=int, metavar="N", help="requests per generate call (default 8 CPU, 32 GPU)")
    e.add_argument("--seed", type=int, default=0, help="base seed of sampled generations (default 0)")
    e.add_argument("--no-progress", action="store_true", help="no progress bar")
    e.add_argument("--dry-run", action="store_true",
                   help="print request counts, token and GPU-hour estimates, and do nothing")
    e.set_defaults(func=cmd_eval)
