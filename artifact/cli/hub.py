"""Verbs about the Hugging Face Hub and the store's integrity: pull, pull-all, push, verify, checksums."""
from __future__ import annotations

import argparse

from tabulate import tabulate

from ..base import catalog, fetch, ledger, store
from ..base.errors import ArtifactError


def _print_plan(title: str, lines) -> None:
    print(f"{title} (dry run: nothing is downloaded, uploaded or written)")
    for label, text in lines:
        print(f"  {label:<12} {text}")


def cmd_pull(args, settings) -> int:
    from .. import yours
    from ..acquire import pull

    spec = yours.take(args.model, settings, args.template, bring=False)
    if spec.local_folder:
        return _take_folder(spec, settings, args.dry_run)
    if args.repo:
        fetch.check_repo_id(args.repo)
    fetch.check_revision(args.revision)
    if args.dry_run:
        _print_plan(f"pull {spec.name}", pull.plan(spec, settings))
        return 0
    pull.pull(spec, settings, force=args.force, update=args.update, convert=args.convert, repo=args.repo,
              revision=args.revision)
    if spec.source:
        _yours_saved(spec, settings)
    return 0


def _yours_saved(spec, settings) -> None:
    """After your model entered the store: its model file exists, and which template it will be scored with."""
    from .. import yours
    from ..base.catalog import registry
    if registry.model_file(spec.name) is None:
        yours.remember(spec)
    spec = catalog.get(spec.name)
    print(f"{spec.name}: {spec.base.arch.params / 1e6 if spec.base.arch else 0:,.0f}M parameters, "
          f"{spec.method if spec.method != 'none' else 'dense'}"
          + (f", measured sparsity {spec.sparsity:.2f}" if spec.sparsity else "")
          + f"; conversation template {yours.template_reason(spec)}")
    print(f"use it as MODEL={spec.name} (its model file: {registry.model_file(spec.name).path})")


def _take_folder(spec, settings, dry_run: bool) -> int:
    from .. import acquire
    from ..acquire import local
    src = spec.local_folder
    if dry_run:
        files = local.files(src)
        size = sum((src / f).stat().st_size for f in files)
        _print_plan(f"import {spec.name}", [("source", str(src)), ("files", f"{len(files)}, {size / 1e9:.2f} GB"),
                                            ("destination", str(store.folder(settings.store, spec.name))),
                                            ("verified by", "sha256 of every file, in the store's SHA256SUMS")])
        return 0
    acquire.ensure(spec, settings)
    _yours_saved(spec, settings)
    return 0


def cmd_pull_all(args, settings) -> int:
    from ..acquire import pull

    specs = [s for s in catalog.load().filter(args.filter or []) if s.base.loader != "api" and not s.base.embedded]
    if not specs:
        raise ArtifactError(f"no catalog model on the Hub matches {' '.join(args.filter or [])!r}; `make models` "
                            "lists them")
    rows, failed = [], 0
    for i, spec in enumerate(specs, 1):
        if args.dry_run:
            _print_plan(f"[{i}/{len(specs)}] pull {spec.name}", pull.plan(spec, settings))
            continue
        print(f"[{i}/{len(specs)}] {spec.name}")
        try:
            r = pull.pull(spec, settings, force=args.force, convert=args.convert)
            rows.append((spec.name, r["status"], r["commit"][:12], r["path"]))
        except ArtifactError as e:
            failed += 1
            rows.append((spec.name, "FAILED", "", str(e)))
    if rows:
        print(tabulate(rows, headers=["model", "status", "commit", "where / why"], tablefmt="github"))
    return 2 if failed else 0


def cmd_push(args, settings) -> int:
    from ..acquire import push

    spec = catalog.get(args.model)
    if args.repo:
        fetch.check_repo_id(args.repo)
    fetch.check_revision(args.revision)
    if args.dry_run:
        _print_plan(f"push {spec.name}", push.plan(spec, settings, args.repo, args.revision))
        return 0
    push.push(spec, settings, args.repo, args.revision, force=args.force)
    return 0


def cmd_verify(args, settings) -> int:
    if args.model:
        spec = catalog.get(args.model)
        folders = [store.require(settings.store, spec.name, spec.made_by)]
    else:
        folders = sorted(p for p in settings.store.glob("*") if p.is_dir() and not p.name.startswith(".")
                         and store.read_recipe(p) is not None) if settings.store.is_dir() else []
    rows, bad, warned = [], 0, 0
    from ..base.provenance import now_utc
    for folder in folders:
        v = ledger.check(folder, settings.checksums)
        if v.status != "FAIL":
            store.mark_verified(settings.store, folder.name, now_utc())
        bad += v.status == "FAIL"
        warned += v.status == "WARN"
        rows.append((folder.name, v.status, "; ".join(v.problems)))
    print(tabulate(rows, headers=["model", "verdict", "problems"], tablefmt="github") if rows else
          f"the store {settings.store} holds no models")
    print(f"\n{len(folders)} models checked against their SHA256SUMS and, where they apply, checksums/models/: "
          f"{bad} FAIL (damaged: `make rebuild MODEL=<id>` or `make pull MODEL=<id>` replaces it), {warned} WARN "
          "(built here, rounded differently from the recorded machine).")
    left = [x for x in store.leftovers(settings.store) if not args.model or x["name"] == folders[0].name]
    if left:
        print(f"\nleft behind by runs ({sum(x['bytes'] for x in left) / 1e6:.1f} MB):")
        print(tabulate([(rel_store(x["path"], settings), x["kind"], f"{x['bytes'] / 1e6:.1f} MB",
                         f"in use by {x['owner']}" if x["owner"] else _fate(x)) for x in left],
                       headers=["folder", "kind", "size", "what happens to it"], tablefmt="github"))
    from ..base.results import leftovers
    temps = leftovers(settings.results)
    if temps and not args.model:
        print(f"\n{len(temps)} temporary file(s) of killed runs under {settings.results} (the next run of each folder "
              "removes them): " + ", ".join(str(t.relative_to(settings.results)) for t in temps[:5]) +
              (" ..." if len(temps) > 5 else ""))
    return 1 if bad else 0


def rel_store(path, settings) -> str:
    return str(path.relative_to(settings.store)) if path.is_relative_to(settings.store) else str(path)


def _fate(x: dict) -> str:
    if x["kind"] == "partial pull":
        return f"its run is gone; `make pull MODEL={x['name']}` resumes it (or delete it)"
    what = "moved back or deleted" if x["kind"] == "old" else "deleted"
    return f"its run is gone; {what} by the next rebuild or pull of {x['name']}"


def cmd_store(args, settings) -> int:
    from .. import yours
    rows = yours.store_rows(settings)
    if not rows:
        print(f"the store {settings.store} holds no models; `make pull MODEL=...` or `make demo` puts some there")
        return 0
    print(tabulate(rows, headers=["model", "source", "commit / recipe", "GB", "made", "last verified"],
                   tablefmt="github"))
    total = sum(float(r[3]) for r in rows)
    print(f"\n{len(rows)} models, {total:.2f} GB in {settings.store}. `make verify` re-hashes them; "
          "`make forget MODEL=<name>` removes one.")
    return 0


def cmd_forget(args, settings) -> int:
    from .. import yours
    what = yours.forget(args.model, settings, args.dry_run)
    print(f"{'would remove' if args.dry_run else 'removed'} {what}" + (" (dry run: nothing was removed)"
                                                                     if args.dry_run else ""))
    return 0


def cmd_checksums(args, settings) -> int:
    from ..acquire import pull

    pull.record_checksums(catalog.get(args.model), settings)
    return 0


def register(sub, epilog: str) -> None:
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser("pull", help="download a catalog model from the Hub into the store, verified", epilog=epilog,
                       formatter_class=fmt, description="Download a model at its catalog revision, pinned to a "
                       "commit, every file checked by sha256 (checksums/ or the Hub's own hashes) before use; "
                       "resumes after an interruption.")
    p.add_argument("model", metavar="MODEL")
    p.add_argument("--dry-run", action="store_true", help="say what would be fetched, from where, to where")
    p.add_argument("--force", action="store_true", help="pull again although the store has this commit")
    p.add_argument("--update", action="store_true", help="follow the branch to its newest commit")
    p.add_argument("--convert", action="store_true", help="rewrite verified pickled weights as safetensors")
    p.add_argument("--repo", metavar="ORG/NAME", help="pull from this repo instead (e.g. where you pushed it)")
    p.add_argument("--revision", metavar="BRANCH", help="with --repo: the revision (default: the catalog's)")
    p.add_argument("--template", metavar="NAME", help="your model's conversation template, saved in its model file")
    p.set_defaults(func=cmd_pull)

    st = sub.add_parser("store", help="list the models in the store: source, revision, size, last verified")
    st.set_defaults(func=cmd_store)

    f = sub.add_parser("forget", help="remove one model from the store (refused while a run holds it)")
    f.add_argument("model", metavar="MODEL")
    f.add_argument("--dry-run", action="store_true", help="say what would be removed")
    f.set_defaults(func=cmd_forget)

    pa = sub.add_parser("pull-all", help="pull every catalog model matching a filter")
    pa.add_argument("--filter", nargs="+", metavar="TERM")
    pa.add_argument("--dry-run", action="store_true")
    pa.add_argument("--force", action="store_true")
    pa.add_argument("--convert", action="store_true")
    pa.set_defaults(func=cmd_pull_all)

    u = sub.add_parser("push", help="upload a model from the store to a Hub repo, with a model card", epilog=epilog,
                       formatter_class=fmt, description="Upload a stored model and a generated model card; "
                       "refuses to overwrite a revision that holds a model unless --force; reads every remote "
                       "hash back before saying done.")
    u.add_argument("model", metavar="MODEL")
    u.add_argument("--repo", required=True, metavar="ORG/NAME")
    u.add_argument("--revision", metavar="BRANCH", help="default: the catalog revision, else main")
    u.add_argument("--force", action="store_true", help="overwrite a revision that already holds a model")
    u.add_argument("--dry-run", action="store_true", help="say what would be sent and where")
    u.set_defaults(func=cmd_push)

    v = sub.add_parser("verify", help="re-hash the store against its manifests and checksums/")
    v.add_argument("model", nargs="?", metavar="MODEL", help="one model (default: every model in the store)")
    v.set_defaults(func=cmd_verify)

    c = sub.add_parser("checksums", help="record a model's sha256 manifest from the Hub's metadata")
    c.add_argument("model", metavar="MODEL")
    c.set_defaults(func=cmd_checksums)
