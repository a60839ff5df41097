"""Verbs about models: models (the catalog), rebuild, rebuild-all."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from tabulate import tabulate

from ..base import catalog
from ..base.errors import ArtifactError, BadInputError
from ..base.settings import pick_device


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




def _plan(spec, settings) -> None:
    from .. import compress

    job = compress.Job.from_spec(spec)
    compress.validate(job)
    print(f"rebuild {spec.name} (dry run: nothing is downloaded or written)")
    for label, text in compress.describe(job, settings.checksums):
        print(f"  {label:<12} {text}")


def cmd_rebuild(args, settings) -> int:
    from .. import compress, pipeline, yours

    if args.base or args.method:
        if not (args.base and args.method) or args.model:
            raise BadInputError("give BASE= and METHOD= together (and no MODEL=), e.g. make rebuild "
                                "BASE=hf:<org>/<name> METHOD=gptq")
        overrides = {"bits": args.bits, "group_size": args.group, "pattern": args.pattern, "sparsity": args.sparsity,
                     "seed": args.seed, "calibration": args.calibration, "samples": args.samples}
        spec, fields = yours.rebuild_spec(args.base, args.method, settings, overrides, bring=not args.dry_run)
    elif not args.model:
        raise BadInputError("say which model, e.g. make rebuild MODEL=smollm2-135m-instruct-wanda-2to4-s0, or "
                            "BASE=<your model> METHOD=<method>")
    else:
        spec, fields = catalog.get(args.model), None
    if args.dry_run:
        _plan(spec, settings)
        return 0
    if fields is not None:
        compress.validate(compress.Job.from_spec(spec))
        path = yours.save_rebuild(spec, fields, args.base, args.method)
        print(f"{spec.name}: its recipe is in {path}; `make rebuild MODEL={spec.name}` makes it again")
    compress.validate(compress.Job.from_spec(spec))  # a job that cannot work fails before the base is converted
    pick_device(settings)  # so does an ARTIFACT_DEVICE this machine does not have
    pipeline.ensure_base(spec, settings)
    compress.rebuild(spec, settings, force=args.force, calibration_file=args.calibration_file)
    return 0


def cmd_rebuild_all(args, settings) -> int:
    from .. import compress, pipeline

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
            pipeline.ensure_base(spec, settings)
            r = compress.rebuild(spec, settings, force=args.force)
            rows.append((spec.name, r["status"], r.get("wall_time_s", ""), r["path"]))
        except ArtifactError as e:
            failed += 1
            rows.append((spec.name, "FAILED", "", str(e)))
    print(tabulate(rows, headers=["model", "status", "seconds", "where / why"], tablefmt="github"))
    return 2 if failed else 0



def register(sub, epilog: str) -> None:
    m = sub.add_parser("models", help="list or show catalog models", epilog=epilog,
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="List the catalog (every model of the paper's code release and website), or "
                                   "show the full entry of the given ids. Filter terms are field=value[,value] "
                                   f"on {', '.join(catalog.FILTER_FIELDS)}, or a substring of any id.")
    m.add_argument("ids", nargs="*", metavar="MODEL", help="show these entries in full")
    m.add_argument("--filter", nargs="+", metavar="TERM", help="keep entries matching every term")
    m.add_argument("--json", action="store_true", help="machine-readable output")
    m.set_defaults(func=cmd_models)

    r = sub.add_parser("rebuild", help="rebuild one compressed model from its base model", epilog=epilog,
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Rebuild a compressed catalog model the way the paper made it: base model from "
                                   "the store, calibration data checked by sha256, method, atomic write into the "
                                   "store with recipe.json and a sha256 manifest. Skipped when the same recipe "
                                   "is already built.")
    r.add_argument("model", nargs="?", metavar="MODEL", help="a catalog id (name, Hub id or alias) or your model")
    r.add_argument("--base", metavar="MODEL", help="your dense model (hf:<org>/<name>, a folder, a name): with "
                                                   "--method, the paper's recipe applied to it")
    r.add_argument("--method", metavar="NAME", help="gptq, awq, magnitude, sparsegpt or wanda")
    for flag, kind, what in (("--bits", int, "quantization bits (paper: 4)"), ("--group", int, "group size (128)"),
                             ("--pattern", str, "N:M sparsity (2:4)"), ("--sparsity", float, "unstructured share"),
                             ("--seed", int, "calibration seed (0; AWQ 42)"),
                             ("--calibration", str, "calibration set (the method's paper set)"),
                             ("--samples", int, "calibration sequences (128)")):
        r.add_argument(flag, type=kind, metavar=flag[2:].upper(), help=what)
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
