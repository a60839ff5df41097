"""Verbs about sweeps: sweep (plan and submit a table's missing cells), sweep-status, sweep-job (one job's entry)."""
from __future__ import annotations

import argparse

from tabulate import tabulate

EXAMPLES = """examples:
  python -m artifact sweep table3 --dry-run                       # every job Table 3 still needs, GPU-hours
  python -m artifact sweep table3 --executor slurm --partition gpu --time 720 --gpus-per-job 1
  python -m artifact sweep table3 --limit 100 --filter 13b         # the 13B models only, 100 items per task
  python -m artifact sweep-status table3                          # the jobs against the queue, the cells waiting
  python -m artifact sweep-status table3 --resubmit               # resubmit failed and lost jobs
"""


def _options(args):
    from .. import sweep
    from ..sweep import slurm
    executor = args.executor
    if executor is None:
        executor = "slurm" if slurm.available() else "local"
        print(f"executor: {executor} ({'sbatch found' if executor == 'slurm' else 'no sbatch here'}; "
              "EXECUTOR= to choose)")
    return sweep.Options(executor=executor, partition=args.partition, gpus_per_job=args.gpus_per_job,
                         time_min=args.time, account=args.account, qos=args.qos,
                         slurm_args=slurm.extra_args(args.slurm_args), limit=args.limit, data=args.data,
                         filter=tuple(args.filter or ()), backend=args.backend)


def _print_plan(p, options) -> None:
    def after(ids):
        if ids and all(i.startswith("shard:") for i in ids):
            return f"its {len(ids)} shard{'s' if len(ids) > 1 else ''}"
        return ", ".join(ids) or "-"
    rows = [(j.id, j.kind, after(j.after), "-" if j.hours is None else f"{j.hours:.2f}") for j in p.jobs]
    print(tabulate(rows, headers=["job", "kind", "after (afterok)", "≈GPU-hours"], tablefmt="github"))
    for s in p.skipped:
        print(f"  skipped: {s}")
    for n in p.notes:
        print(f"note: {n}")
    models = sorted({j.model for j in p.jobs})
    print(f"\n{len(p.jobs)} jobs for {len(models)} models, ≈{p.hours:.1f} GPU-hours in all ({p.basis}).")
    submit = {"executor": options.executor, "partition": options.partition, "gpus_per_node": options.gpus_per_job,
              "timeout_min": options.time_min, "account": options.account, "qos": options.qos,
              "additional_parameters": options.slurm_args or {}}
    print("submitit parameters: " + ", ".join(f"{k}={v}" for k, v in submit.items() if v not in (None, {}, "")))


def cmd_sweep(args, settings) -> int:
    from .. import sweep
    from ..report import recipes
    recipes.load(args.table, settings.recipes)  # an unknown table: one sentence, before anything else
    options = _options(args)
    options.check()
    if args.dry_run:
        p = sweep.plan(args.table, settings, options)
        print(f"sweep {args.table} (dry run: nothing is submitted or written)")
        _print_plan(p, options)
        return 0
    manifest = sweep.start(args.table, settings, options)
    print(f"sweep manifest: {sweep.folder(settings, args.table) / 'manifest.json'}; follow it with "
          f"make sweep-status TABLE={args.table}")
    return 0 if manifest["executor"] == "slurm" else _status(args.table, settings, False)


def _status(table: str, settings, resubmit: bool) -> int:
    from .. import report, sweep
    from ..sweep import watch
    from ..sweep.plan import source_for
    base = sweep.folder(settings, table)
    path = base / "manifest.json"
    if resubmit:
        again = sweep.resubmit(path)
        print(f"resubmitted {len(again)} jobs" + (f": {', '.join(again)}" if again else ""))
    current = sweep.status(sweep.read(path), base)
    rows = watch.job_rows(current, base)
    print(tabulate([(r["id"], r["state"], r["slurm_id"], r["elapsed"], r["reason"]) for r in rows],
                   headers=["job", "state", "Slurm id", "elapsed", "reason"], tablefmt="github"))
    for r in rows:
        if r["tail"]:
            print(f"\n{r['id']} ({r['state']}), last lines of its log:")
            print("\n".join(f"    {line}" for line in r["tail"]))
    cells = watch.cell_rows(current, settings)
    if cells:
        print(f"\n{len(cells)} cells still wait:")
        for c in cells:
            print(f"  {c['cell']}: {'; '.join(c['waits']) or 'no local score, and no job of this sweep makes one'}")
    bad = [r for r in rows if r["state"] in watch.BAD]
    if bad and not resubmit:
        print(f"\n{len(bad)} jobs failed or were lost: make sweep-status TABLE={table} RESUBMIT=1 resubmits them")
    if watch.finished(current):
        rep = report.run(table, source_for(current["options"].get("data", "hub")), settings.results,
                         settings.recipes)
        report.write(rep, settings.results)
        print("\nevery job is done; the table from local scores:\n" + rep.summary())
        return rep.exit_code
    return 1 if bad else 0


def cmd_sweep_status(args, settings) -> int:
    return _status(args.table, settings, args.resubmit)


def cmd_sweep_job(args, settings) -> int:
    from .. import sweep
    from . import main
    return main(sweep.job_argv(args.manifest, args.job))


def register(sub, epilog: str) -> None:
    s = sub.add_parser("sweep", help="run every job a table's missing local cells need, on Slurm or here",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Plan the jobs a paper table still needs from local runs (pull or rebuild each "
                                   "missing model, then each perspective in shards, then its score) and submit them "
                                   "to Slurm with submitit, or run them here one at a time.")
    s.add_argument("table", metavar="TABLE", help="a table or figure with local cells, e.g. table3")
    s.add_argument("--executor", choices=["slurm", "local"], help="default: slurm where sbatch is found, else local")
    s.add_argument("--partition", help="Slurm partition (default: the cluster's default)")
    s.add_argument("--gpus-per-job", type=int, default=1, metavar="N", help="GPUs per job (default 1)")
    s.add_argument("--time", type=int, default=720, metavar="MIN", help="time limit per job in minutes (default "
                   "720); shards are sized to 80%% of it")
    s.add_argument("--account", help="Slurm account")
    s.add_argument("--qos", help="Slurm QOS")
    s.add_argument("--slurm-args", metavar="K=V,...", help="more sbatch options, e.g. constraint=h100,mem=64G")
    s.add_argument("--limit", type=int, metavar="N", help="N items per task (a partial score), as make eval LIMIT=")
    s.add_argument("--data", default="hub", metavar="SOURCE", help="the evaluation data (default hub: the full "
                   "benchmark)")
    s.add_argument("--filter", nargs="*", metavar="TERM", help="only the models matching these catalog terms")
    s.add_argument("--backend", help="hf or vllm for every evaluation job (default: as make eval chooses)")
    s.add_argument("--dry-run", action="store_true", help="print the plan, its GPU-hours and the submitit "
                   "parameters; write nothing")
    s.set_defaults(func=cmd_sweep)
    t = sub.add_parser("sweep-status", help="a sweep's jobs against the queue and the cells they make",
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    t.add_argument("table", metavar="TABLE")
    t.add_argument("--resubmit", action="store_true", help="resubmit failed, lost and blocked jobs first")
    t.set_defaults(func=cmd_sweep_status)
    j = sub.add_parser("sweep-job", help="run one job of a sweep (what Slurm runs; refused under another commit)")
    j.add_argument("manifest", metavar="MANIFEST")
    j.add_argument("job", metavar="JOB_ID")
    j.set_defaults(func=cmd_sweep_job)
