"""`python -m artifact <verb>`: a thin command line over the package. The Makefile wraps every verb.

Exit codes: 0 done and no FAIL; 1 a diff or claim FAILed; 2 usage or setup error (one sentence on stderr).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tabulate import tabulate

from . import __version__, catalog, report
from .errors import ArtifactError
from .report import build as build_mod
from .report import diff as diff_mod
from .report import recipes, render, sources, tolerances
from .settings import load as load_settings

EPILOG = """examples:
  python -m artifact rebuild smollm2-135m-instruct-gptq-4bit-s0        # the demo model, on a CPU
  python -m artifact rebuild llama-2-13b-chat-wanda-2to4 --dry-run     # the plan of a 13B rebuild
  python -m artifact rebuild-all --filter base=smollm2-135m-instruct
  python -m artifact models --filter method=gptq bits=4
  python -m artifact models llama-2-13b-chat-gptq-4bit-s0
  python -m artifact table table3                 # replay from the published scores and diff vs the paper
  python -m artifact table table3 --dry-run       # which models and metrics make each cell
  python -m artifact diff table3                  # the per-cell diff of the last build
  python -m artifact tables                       # every table and figure: the replay job
"""


def cmd_models(args, settings) -> int:
    cat = catalog.load()
    if args.ids:
        specs = [cat.get(i) for i in args.ids]
    else:
        specs = cat.filter(args.filter or [])
    if args.json:
        print(json.dumps([s.to_dict() for s in specs], indent=2))
        return 0
    if args.ids:
        for s in specs:
            print(tabulate([(k, v) for k, v in s.to_dict().items()], tablefmt="plain"))
            print()
        return 0
    rows = []
    for s in specs:
        cal = s.calibration
        calib = f"{cal.dataset}×{cal.samples} seed {'-' if cal.seed is None else cal.seed}" if cal else "-"
        rows.append((s.name, s.method, s.rate, calib, s.loader, s.id))
    print(tabulate(rows, headers=["name", "method", "rate", "calibration", "loader", "Hub id @ revision"],
                   tablefmt="github"))
    print(f"\n{len(specs)} of {len(cat)} catalog models. Any of the name, the Hub id or an alias works as MODEL=.")
    return 0


def _source(args, settings, name: str) -> str:
    return args.source or report.last_source(name, settings.results) or "published"


def _dry_run(name: str, source: str, settings) -> int:
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
    return 0


def _run_table(name: str, source: str, settings, quiet: bool) -> report.Report:
    rep = report.run(name, source, settings.results, settings.recipes)
    paths = report.write(rep, settings.results)
    if not quiet:
        print(rep.summary())
        print(f"\nWrote {', '.join(str(p) for p in paths)}")
    return rep


def cmd_table(args, settings) -> int:
    source = args.source or "published"
    if args.dry_run:
        return _dry_run(args.name, source, settings)
    return _run_table(args.name, source, settings, args.quiet).exit_code


def cmd_tables(args, settings) -> int:
    overview, worst, summaries = [], 0, []
    for name in recipes.available(settings.recipes):
        rep = _run_table(name, args.source or "published", settings, quiet=True)
        summaries.append(rep.summary())
        c = diff_mod.counts(rep.cells)
        k = diff_mod.counts(rep.claims)
        overview.append((name, rep.result.source, *(c[v] for v in diff_mod.VERDICTS),
                         f"{k['PASS']}/{len(rep.claims)}" + (f" ({k['WARN']} WARN)" if k["WARN"] else "") +
                         (f" ({k['FAIL']} FAIL)" if k["FAIL"] else "")))
        worst = max(worst, rep.exit_code)
        if not args.quiet:
            print(rep.summary(), end="\n\n" + "-" * 100 + "\n\n")
    table = tabulate(overview, headers=["table", "source", *diff_mod.VERDICTS, "claims held"], tablefmt="github")
    head = "# Replay of every table and figure, diffed against the paper\n\n" + table
    [path] = render.write(settings.results / "tables", "REPORT", {".md": "\n\n---\n\n".join([head, *summaries]) + "\n"})
    print(table)
    print(f"\nAll tables in one report: {path}\nPer-cell diffs and provenance: "
          f"{settings.results / 'tables'}/<table>.{{md,json}}")
    return worst


def cmd_diff(args, settings) -> int:
    source = _source(args, settings, args.name)
    rep = report.run(args.name, source, settings.results, settings.recipes)
    report.write(rep, settings.results)
    print(rep.header())
    if rep.cells:
        print("\n" + render.diff_table(rep.cells, rep.result.recipe.decimals))
    print("\n" + render.summary(rep.cells, rep.claims, rep.tolerance_text))
    return rep.exit_code


def _plan(spec, settings) -> None:
    from . import compress

    job = compress.Job.from_spec(spec)
    compress.validate(job)
    print(f"rebuild {spec.name} (dry run: nothing is downloaded or written)")
    for label, text in compress.describe(job, settings.checksums):
        print(f"  {label:<12} {text}")


def cmd_rebuild(args, settings) -> int:
    from . import compress

    spec = catalog.get(args.model)
    if args.dry_run:
        _plan(spec, settings)
        return 0
    compress.rebuild(spec, settings, force=args.force, calibration_file=args.calibration_file)
    return 0


def cmd_rebuild_all(args, settings) -> int:
    from . import compress

    specs = compress.rebuildable(args.filter or [])
    if not specs:
        raise ArtifactError(f"no compressed catalog model matches {' '.join(args.filter or [])!r}; "
                            "`make models` lists them")
    if args.dry_run:
        for spec in specs:
            _plan(spec, settings)
            print()
        return 0
    rows, failed = [], 0
    for i, spec in enumerate(specs, 1):
        print(f"[{i}/{len(specs)}] {spec.name}")
        try:
            r = compress.rebuild(spec, settings, force=args.force)
            rows.append((spec.name, r["status"], r.get("wall_time_s", ""), r["path"]))
        except ArtifactError as e:
            failed += 1
            rows.append((spec.name, "FAILED", "", str(e)))
    print(tabulate(rows, headers=["model", "status", "seconds", "where / why"], tablefmt="github"))
    return 2 if failed else 0


def cmd_tolerances(args, settings) -> int:
    tol = tolerances.load(settings.recipes / "tolerances.toml")
    derived = tolerances.derive_local(tol, sources.get("published", settings.results, settings.recipes))
    rows = [(k, f"{v['pooled_std']:.3f}", v["groups"], v["tolerance"], tol.local[k],
             "ok" if v["tolerance"] == tol.local[k] else "DIFFERS") for k, v in derived.items()]
    print(tabulate(rows, headers=["dimension", "pooled std", "seed groups", "2×std", "in file", ""],
                   tablefmt="github"))
    print(f"\npublished (replay): {tol.published}; local warn band: ×{tol.warn_factor:g}; file: {tol.path}")
    return 0 if all(r[-1] == "ok" for r in rows) else 1


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m artifact", description="Reproduce the tables of 'Decoding "
                                "Compressed Trust' (Hong et al., ICML 2024) and diff them against the paper.",
                                epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=f"comp-trust-artifact {__version__}")
    sub = p.add_subparsers(dest="verb", required=True, metavar="VERB")

    m = sub.add_parser("models", help="list or show catalog models", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="List the catalog (every model of the paper's code release and website), or "
                                   "show the full entry of the given ids. Filter terms are field=value[,value] "
                                   f"on {', '.join(catalog.FILTER_FIELDS)}, or a substring of any id.")
    m.add_argument("ids", nargs="*", metavar="MODEL", help="show these entries in full")
    m.add_argument("--filter", nargs="+", metavar="TERM", help="keep entries matching every term")
    m.add_argument("--json", action="store_true", help="machine-readable output")
    m.set_defaults(func=cmd_models)

    names = ", ".join(recipes.available())
    for verb, func, text in (("table", cmd_table, "build one table or figure and diff it against the paper"),
                             ("diff", cmd_diff, "print the per-cell diff of a table against the paper")):
        t = sub.add_parser(verb, help=text, description=f"{text}. Tables: {names}.", epilog=EPILOG,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        t.add_argument("name", metavar="TABLE", help=f"one of: {names}")
        t.add_argument("--source", choices=sources.SOURCES,
                       help="published: the authors' website scores (replay); local: this artifact's own "
                            "evaluation results" + (" (default: the last build's, else published)"
                                                    if verb == "diff" else " (default: published)"))
        if verb == "table":
            t.add_argument("--dry-run", action="store_true", help="say which models and metrics make each cell "
                                                                  "and which the source lacks; write nothing")
            t.add_argument("--quiet", action="store_true", help="write the files, print nothing")
        t.set_defaults(func=func)

    a = sub.add_parser("tables", help="build and diff every table and figure (the replay job)")
    a.add_argument("--source", choices=sources.SOURCES)
    a.add_argument("--quiet", action="store_true", help="print only the overview")
    a.set_defaults(func=cmd_tables)

    tl = sub.add_parser("tolerances", help="re-derive the local tolerances from the paper's seed spread")
    tl.set_defaults(func=cmd_tolerances)

    r = sub.add_parser("rebuild", help="rebuild one compressed model from its base model", epilog=EPILOG,
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Rebuild a compressed catalog model the way the paper made it: base model from "
                                   "the store, calibration data checked by sha256, method, atomic write into the "
                                   "store with recipe.json and a sha256 manifest. Skipped when the same recipe "
                                   "is already built.")
    r.add_argument("model", metavar="MODEL", help="a catalog id (name, Hub id or alias)")
    r.add_argument("--dry-run", action="store_true", help="print the plan (base, method, calibration, output "
                                                          "size, rough GPU time) and do nothing")
    r.add_argument("--force", action="store_true", help="rebuild even when the same recipe is already built")
    r.add_argument("--calibration-file", type=Path, metavar="PATH",
                   help="a local copy of the calibration file (checked against the recorded sha256)")
    r.set_defaults(func=cmd_rebuild)

    ra = sub.add_parser("rebuild-all", help="rebuild every compressed model matching a filter")
    ra.add_argument("--filter", nargs="+", metavar="TERM", help="as for `models`")
    ra.add_argument("--dry-run", action="store_true")
    ra.add_argument("--force", action="store_true")
    ra.set_defaults(func=cmd_rebuild_all)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args, load_settings())
    except ArtifactError as e:
        print(f"error: {e}", file=sys.stderr)
        return e.exit_code
    except BrokenPipeError:  # `... | head`
        return 0
