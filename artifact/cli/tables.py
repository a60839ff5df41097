"""Verbs about the paper's tables: table, tables, diff, tolerances."""
from __future__ import annotations

import argparse

from tabulate import tabulate

from .. import report
from ..report import build as build_mod
from ..report import diff as diff_mod
from ..report import figures, recipes, render, sources, tolerances
from ..base.results import Layout


def _source(args, settings, name: str) -> str:
    return args.source or report.last_source(name, settings.results) or "published"


def _dry_run(name: str, source: str, settings, limit: int | None = None) -> int:
    recipe = recipes.load(name, settings.recipes)
    if recipe.kind == "generated":
        print(f"{name}: generated from the catalog and the method registry; nothing to fetch or evaluate.")
        return 0
    plan = build_mod.plan(recipe, sources.get(source, settings.results, settings.recipes))
    rows = [(p["row"], p["column"], "yes" if p["available"] else "no", "; ".join(p["needs"])) for p in plan]
    print(tabulate(rows, headers=["row", "column", f"in {source}", "models (metric)"], tablefmt="github"))
    missing = sorted({m for p in plan for m in p["missing"]})
    print(f"\n{sum(p['available'] for p in plan)} of {len(plan)} cells can be made from SOURCE={source}.")
    if missing:
        print(f"{len(missing)} models lack a {source} score for some cell: {', '.join(missing)}")
    if figures.is_figure(recipe):
        print(f"would draw {Layout(settings.results).figures / name}.png and .svg from these {len(plan)} cells "
              "(and the paper's values beside them, where the paper prints them or they were read off its figure)")
    if source == "local":
        _cost(recipe, source, settings, limit)
    return 0


def _cost(recipe, source: str, settings, limit: int | None) -> None:
    from .. import sizing
    from .evaluate import PLAN_NOTE
    rows = sizing.plan(recipe, sources.get(source, settings.results, settings.recipes), settings, limit)

    def h(x, d=1):
        return "unknown" if x is None else f"{x:.{d}f}"
    print(f"\nTo fill the missing cells (make eval ... DATA=hub{f' LIMIT={limit}' if limit else ''} per model):")
    print(tabulate([(r["perspective"], r["limit"] or "all", h(r["items"], 0), h(r["half_width"]),
                     h(r["gpu_hours_13b"], 2), len(r["models"]), h(r["gpu_hours"], 1)) for r in rows],
                   headers=["perspective", "LIMIT", "items per model", "±95% (expected)", "≈GPU-hours per 13B model",
                            "models to run", "≈GPU-hours"], tablefmt="github"))
    judged = next((r for r in rows if r["perspective"] == "mtbench" and r["models"]), None)
    if judged:
        from ..evaluate import judge
        c = judge.cost(len(judged["models"]), settings.judge_model)
        usd = "no listed price" if c["usd"] is None else f"≈${c['usd']:.0f} at its listed price"
        print(f"MT-Bench: ≤{c['calls'] * 1024:,} generated tokens; its judge ({settings.judge_model}, JUDGE_MODEL=): "
              f"{c['calls']} calls, ≈{c['tokens_in']:,} input and ≤{c['tokens_out']:,} output tokens, {usd} (every "
              "answer and judgment at its cap: an upper bound)")
    total = sum(r["gpu_hours"] or 0 for r in rows)
    print(f"≈{total:.0f} GPU-hours in all (H100, models scaled by size; AdvGLUE++'s size is unknown offline). "
          + PLAN_NOTE)


def _run_table(name: str, source: str, settings, quiet: bool) -> tuple[report.Report, list]:
    """The table built, diffed and written; (its report, the files written)."""
    rep = report.run(name, source, settings.results, settings.recipes)
    paths = report.write(rep, settings.results)
    if not quiet:
        print(rep.summary())
        print(f"\nWrote {', '.join(str(p) for p in paths)}")
    return rep, paths


def cmd_table(args, settings) -> int:
    source = args.source or "published"
    if args.limit is not None:
        from ..evaluate.run import limit_for
        limit_for(args.limit, "")  # the one LIMIT check and its sentence
    if args.dry_run:
        return _dry_run(args.name, source, settings, args.limit)
    return _run_table(args.name, source, settings, args.quiet)[0].exit_code


def cmd_tables(args, settings) -> int:
    overview, worst, summaries = [], 0, []
    for name in recipes.available(settings.recipes):
        rep, paths = _run_table(name, args.source or "published", settings, quiet=True)
        summaries.append(rep.summary() + "".join(f"\n\n![{p.stem}](../figures/{p.name})" for p in paths
                                                 if p.suffix == ".png"))
        c = diff_mod.counts(rep.cells)
        k = diff_mod.counts(rep.claims)
        overview.append((name, rep.result.source, *(c[v] for v in diff_mod.VERDICTS),
                         f"{k['PASS']}/{len(rep.claims)}" + (f" ({k['WARN']} WARN)" if k["WARN"] else "") +
                         (f" ({k['FAIL']} FAIL)" if k["FAIL"] else "")))
        worst = max(worst, rep.exit_code)
        if not args.quiet:
            print(rep.summary(), end="\n\n" + "-" * 100 + "\n\n")
    from ..report.compare import pages
    summaries += pages(Layout(settings.results).compare)  # make compare's pages: your models beside the paper's
    table = tabulate(overview, headers=["table", "source", *diff_mod.VERDICTS, "claims held"], tablefmt="github")
    head = "# Replay of every table and figure, diffed against the paper\n\n" + table
    body = "\n\n---\n\n".join([head, *summaries]) + "\n"
    [path] = render.write(Layout(settings.results).tables, "REPORT", {".md": body})
    print(table)
    print(f"\nAll tables in one report: {path}\nPer-cell diffs and provenance: "
          f"{Layout(settings.results).tables}/<table>.{{md,json}}; "
          f"figures: {Layout(settings.results).figures}/<fig>.{{png,svg}}")
    return worst


def cmd_compare(args, settings) -> int:
    """Your model beside the paper's rows (and its change from its base beside the paper's changes)."""
    import os

    from .. import yours
    from ..base import catalog
    from ..report import compare
    spec = yours.take(args.model, settings, bring=False)
    base = yours.take(args.base, settings, bring=False) if args.base else \
        catalog.base_of(spec) if spec.method != "none" else None
    against = compare.resolve_against(args.against, spec, settings.recipes)
    from ..base import store
    stored = store.read_recipe(store.folder(settings.store, spec.name)) or {}
    c = compare.compare(spec, base, against, sources.get("local-partial", settings.results, settings.recipes),
                        sources.get("published", settings.results, settings.recipes),
                        full=sources.get("local", settings.results, settings.recipes),
                        card=stored.get("card_scores"))
    layout = Layout(settings.results)
    layout.figures.mkdir(parents=True, exist_ok=True)
    fig = layout.figures / f"compare-{spec.name}.png"
    tmp = fig.with_name(f".{fig.stem}.{os.getpid()}.png")
    compare.figure(c, tmp)
    os.replace(tmp, fig)  # a killed run leaves the old figure or the new one
    text = compare.markdown(c, f"../figures/{fig.name}")
    paths = render.write(layout.compare, spec.name, {".md": text, ".json": render.to_json(compare.to_dict(c))})
    print(text)
    print(f"written: {', '.join(str(p) for p in paths)}, {fig}; `make report` adds it to REPORT.html")
    return 0


def cmd_report(args, settings) -> int:
    """REPORT.md (rebuilt first: every table and figure) as one self-contained REPORT.html."""
    from ..report import html
    args.quiet = True
    worst = cmd_tables(args, settings)
    layout = Layout(settings.results)
    out = html.write(layout.tables / "REPORT.md", layout.figures)
    print(f"\nself-contained report (figures inline, no network needed): {out}")
    return worst


def cmd_diff(args, settings) -> int:
    source = _source(args, settings, args.name)
    rep = report.run(args.name, source, settings.results, settings.recipes)
    report.write(rep, settings.results)
    print(rep.header())
    if rep.cells:
        print("\n" + render.diff_table(rep.cells, rep.result.recipe.decimals, rep.ref_label))
    print("\n" + render.summary(rep.cells, rep.claims, rep.tolerance_text, rep.ref_label))
    return rep.exit_code




def cmd_tolerances(args, settings) -> int:
    tol = tolerances.load(settings.recipes / "tolerances.toml")
    derived = tolerances.derive_local(tol, sources.get("published", settings.results, settings.recipes))
    rows = [(k, f"{v['pooled_std']:.3f}", v["groups"], v["tolerance"], tol.local[k],
             "ok" if v["tolerance"] == tol.local[k] else "DIFFERS") for k, v in derived.items()]
    print(tabulate(rows, headers=["dimension", "pooled std", "seed groups", "2×std", "in file", ""],
                   tablefmt="github"))
    print(f"\npublished (replay): {tol.published}; local warn band: ×{tol.warn_factor:g}; file: {tol.path}")
    return 0 if all(r[-1] == "ok" for r in rows) else 1


def register(sub, epilog: str) -> None:
    register_demo(sub)
    names = ", ".join(recipes.available())
    for verb, func, text in (("table", cmd_table, "build one table or figure and diff it against the paper"),
                             ("diff", cmd_diff, "print the per-cell diff of a table against the paper")):
        t = sub.add_parser(verb, help=text, description=f"{text}. Tables: {names}.", epilog=epilog,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        t.add_argument("name", metavar="TABLE", help=f"one of: {names}")
        t.add_argument("--source", choices=sources.SOURCES,
                       help="published: the authors' website scores (replay); local: this artifact's own "
                            "evaluation results; local-partial: local, partial scores included (a rehearsal)"
                            + (" (default: the last build's, else published)" if verb == "diff"
                               else " (default: published)"))
        if verb == "table":
            t.add_argument("--dry-run", action="store_true", help="say which models and metrics make each cell "
                                                                  "and which the source lacks; write nothing")
            t.add_argument("--quiet", action="store_true", help="write the files, print nothing")
            t.add_argument("--limit", type=int, metavar="N", help="with --dry-run --source local: cost and expected "
                                                                  "interval width at N items per task")
        t.set_defaults(func=func)

    a = sub.add_parser("tables", help="build and diff every table and figure (the replay job)")
    a.add_argument("--source", choices=sources.SOURCES)
    a.add_argument("--quiet", action="store_true", help="print only the overview")
    a.set_defaults(func=cmd_tables)

    rp = sub.add_parser("report", help="every table and figure in one self-contained REPORT.html (figures inline)")
    rp.add_argument("--source", choices=sources.SOURCES)
    rp.set_defaults(func=cmd_report)

    cp = sub.add_parser("compare", help="your model beside the paper's models, with intervals (table and figure)",
                        epilog="examples:\n  python -m artifact compare tester--tiny-chat-gptq-4bit-s0\n"
                               "  python -m artifact compare my-model --base my-dense --against table3",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    cp.add_argument("model", metavar="MODEL", help="your model (or any model with local scores)")
    cp.add_argument("--base", metavar="MODEL", help="its dense model (default: the base it was built from)")
    cp.add_argument("--against", metavar="IDS|TABLE", help="catalog ids (comma-separated) or a table or figure name "
                                                           "(default: the paper's 13b models of the same method and "
                                                           "rate, or its dense 13b models)")
    cp.set_defaults(func=cmd_compare)

    tl = sub.add_parser("tolerances", help="re-derive the local tolerances from the paper's seed spread")
    tl.set_defaults(func=cmd_tolerances)


def _print_plan(profile, settings, what: str) -> float:
    from .. import pipeline

    rows = pipeline.plan(profile, settings)
    print(f"{what} (dry run: nothing is built, loaded or written): {profile.describe()}")
    print(tabulate([(r["model"], "yes" if r["in_store"] else "no: built first", r["requests"], r["tokens"],
                     f"{r['minutes']:.1f}") for r in rows],
                   headers=["model", "in the store", "requests", "≈tokens", "≈minutes (2 CPU cores)"],
                   tablefmt="github"))
    return sum(r["minutes"] for r in rows)


def cmd_demo(args, settings) -> int:
    from .. import demo, pipeline

    if args.dry_run:
        minutes = _print_plan(demo.DEMO, settings, "demo")
        print(f"≈{minutes:.0f} minutes in all, then the replay (seconds); estimates from this project's "
              "measurements on 2 cores")
        return 0
    if args.measure_flips:
        return demo.flips(settings)
    if args.record_seeds:
        print(f"recorded {demo.record_seeds(settings, progress=not args.no_progress)}")
        return 0
    rep = pipeline.run(demo.DEMO, settings, progress=not args.no_progress, record_new=args.record,
                       backend=args.backend)
    print(rep.summary())
    print(f"Demo report: {Layout(settings.results).profile('demo', args.backend).tables}/demo.{{md,json}}")
    return rep.exit_code


def cmd_check(args, settings) -> int:
    from .. import check

    if args.dry_run:
        minutes = _print_plan(check.CHECK, settings, "check")
        print(f"steps: {', '.join(check.STEPS)}. ≈{minutes:.0f} minutes on 2 CPU cores (measured); on one GPU "
              f"{check.GPU_MINUTES} (estimate), the first run also compiles gptqmodel's kernels")
        return 0
    steps, rep, info = check.run(settings, progress=not args.no_progress, record_new=args.record,
                                 backend=args.backend)
    out = Layout(settings.results).check_report(args.backend)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(check.markdown(steps, info, rep), encoding="utf-8")
    verdict = check.verdict(steps)
    print(f"\nmake check: {verdict}" + ("" if verdict != "FAIL" else " (the fix is under each FAIL above)"))
    print(f"report: {out}")
    return 1 if verdict == "FAIL" else 0


BACKEND_HELP = ("hf (transformers, default: it recorded the reference numbers) or vllm (runs into {where} and is "
                "diffed against the same numbers)")


def register_demo(sub) -> None:
    d = sub.add_parser("demo", help="the embedded default: SmolLM2 dense, magnitude 2:4 and GPTQ 4-bit on every "
                                    "dimension, with intervals",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="examples:\n"
                              "  python -m artifact demo --dry-run  # what would be built and run, and how long\n"
                              "  python -m artifact demo            # then `make replay` (make demo does "
                              "both)\n  python -m artifact demo --record   # rewrite the recorded reference, on "
                              "purpose\n  python -m artifact demo --backend vllm  # the same runs with vLLM, "
                              "diffed against the same numbers",
                       description="Build SmolLM2-135M-Instruct's magnitude 2:4 and GPTQ 4-bit variants if missing, "
                                   "score the three models on the eight DecodingTrust dimensions and MMLU (a seeded "
                                   "sample of items per task, SAMPLES=1, MAX_TOKENS=16, vendored data, offline "
                                   "toxicity scorer), each score with its 95% bootstrap interval; diff the table "
                                   "against the numbers recorded in reproduce/demo/reference/demo.csv, list the "
                                   "changes from the dense model that exceed their intervals and check the paper's "
                                   "headline claim in miniature. Offline, CPU.")
    d.add_argument("--record", action="store_true", help="write this run's numbers and replies as the new "
                                                         "reference first")
    d.add_argument("--record-seeds", action="store_true", help="build and score the GPTQ row's other calibration "
                                                               "seeds and record their cells (reference/seeds.csv)")
    d.add_argument("--measure-flips", action="store_true", help="evaluate the dense model under each CPU kernel-path "
                                                                "switch and count the replies that differ from the "
                                                                "recorded run's (make bench-demo-flips)")
    d.add_argument("--no-progress", action="store_true", help="no progress bars")
    d.add_argument("--backend", default="hf", metavar="NAME",
                   help=BACKEND_HELP.format(where="results/vllm/demo"))
    d.add_argument("--dry-run", action="store_true", help="say what would be built and run, and how long")
    d.set_defaults(func=cmd_demo)
    c = sub.add_parser("check", help="kick the tires on a GPU box: environment, a model build, checksums, a small "
                                     "scored run, a diff; PASS or what to fix",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="examples:\n  make check                      # in the image when built, else .venv\n"
                              "  make check DRY_RUN=1            # what it would do, and how long\n"
                              "  ARTIFACT_DEVICE=cpu python -m artifact check    # on a machine without a GPU",
                       description="Report the environment (GPU, driver, CUDA, versions against the pins), convert "
                                   "SmolLM2 and rebuild its GPTQ 4-bit variant, verify both by sha256, score MMLU on "
                                   "the 50 vendored questions and diff against the numbers recorded in "
                                   "reproduce/check/reference/check.csv with the [check] tolerance.")
    c.add_argument("--record", action="store_true", help="write this run's numbers as the new reference (on a CPU, "
                                                         "on purpose)")
    c.add_argument("--no-progress", action="store_true", help="no progress bars")
    c.add_argument("--backend", default="hf", metavar="NAME",
                   help=BACKEND_HELP.format(where="results/vllm/check"))
    c.add_argument("--dry-run", action="store_true", help="say what would run, and how long")
    c.set_defaults(func=cmd_check)
