"""Push a model from the store to a Hub repo and revision, then read the remote file list back and compare.

The store copy is verified against its own manifest first. The commit holds every model file, recipe.json,
SHA256SUMS and a generated README.md (the model card). A revision that already holds a model is not
overwritten unless FORCE=1. Afterwards `checksums/models/<name>.json` records the repo and commit, so a later
`make pull` of that repo verifies against this manifest.
"""
from __future__ import annotations

import logging
import hashlib

from ..base import ledger, store
from ..base.catalog import ModelSpec
from ..base.errors import ArtifactError
from ..base.provenance import now_utc
from ..base.settings import Settings
from ..base.fetch import api, explain, git_blob_sha1, site
from .card import model_card

logger = logging.getLogger(__name__)

EMPTY_REPO_FILES = {".gitattributes", "README.md"}


def _local(spec: ModelSpec, settings: Settings):
    folder = store.require(settings.store, spec.name, spec.made_by)
    recipe = store.read_recipe(folder)
    bad = store.verify(folder)
    if bad:
        raise ArtifactError(f"the store copy of {spec.name} does not match its manifest ({'; '.join(bad)}); "
                            "rebuild or pull it again before pushing")
    manifest = store.parse_manifest(folder / store.MANIFEST)
    card = model_card(spec, recipe, manifest, settings.results).encode()
    uploads = {rel: folder / rel for rel in manifest if rel != "README.md"} | {store.RECIPE: folder / store.RECIPE,
                                                         store.MANIFEST: folder / store.MANIFEST}
    return folder, recipe, manifest, card, uploads


def plan(spec: ModelSpec, settings: Settings, repo: str, revision: str | None) -> list[tuple[str, str]]:
    folder, _, _, card, uploads = _local(spec, settings)
    revision = revision or spec.revision or "main"
    total = sum(p.stat().st_size for p in uploads.values()) + len(card)
    lines = [("from", str(folder)), ("to", f"{site(settings)}/{repo} @ {revision}"),
             ("files", f"{len(uploads) + 1} ({', '.join(sorted(uploads))}, README.md), {total / 1e6:.1f} MB"),
             ("token", "HF_TOKEN is set" if settings.hf_token else "from the stored Hugging Face login, if any")]
    try:
        client = api(settings)
        with explain(settings, repo, revision):
            branches = {b.name for b in client.list_repo_refs(repo).branches}
        state = "exists; FORCE=1 is needed if it holds a model" if revision in branches else "will be created"
        lines.append(("revision", f"{revision} {state}"))
    except ArtifactError as e:
        lines.append(("revision", f"not checked ({e})"))
    return lines


def push(spec: ModelSpec, settings: Settings, repo: str, revision: str | None = None, force: bool = False) -> dict:
    from huggingface_hub import CommitOperationAdd

    folder, recipe, manifest, card, uploads = _local(spec, settings)
    revision = revision or spec.revision or "main"
    client = api(settings)
    with explain(settings, repo, revision, writing=True):
        client.create_repo(repo, exist_ok=True)
        branches = {b.name for b in client.list_repo_refs(repo).branches}
        if revision in branches:
            present = {s.rfilename for s in client.model_info(repo, revision=revision).siblings or []}
            if present - EMPTY_REPO_FILES and not force:
                raise ArtifactError(f"{repo} @ {revision} already holds a model ({len(present)} files); FORCE=1 "
                                    "overwrites it, or push to another REVISION")
        else:
            client.create_branch(repo, branch=revision)
        operations = [CommitOperationAdd(path_in_repo=rel, path_or_fileobj=str(path)) for rel, path in
                      sorted(uploads.items())] + [CommitOperationAdd(path_in_repo="README.md", path_or_fileobj=card)]
        logger.info(f"pushing {spec.name} ({len(operations)} files) to {repo} @ {revision}")
        info = client.create_commit(repo, operations, commit_message=f"{spec.name} ({spec.method} {spec.rate}) "
                                    "from comp-trust-artifact", revision=revision)
        remote = {f.path: f for f in client.list_repo_tree(repo, revision=info.oid, recursive=True)
                  if hasattr(f, "blob_id")}
    problems = []
    for rel, data in [(rel, path.read_bytes) for rel, path in uploads.items()] + [("README.md", lambda: card)]:
        f = remote.get(rel)
        if f is None:
            problems.append(f"{rel}: missing on the Hub")
        elif f.lfs is not None and f.lfs.sha256 != hashlib.sha256(data()).hexdigest():
            problems.append(f"{rel}: the Hub holds another sha256 ({f.lfs.sha256[:16]}…)")
        elif f.lfs is None and f.blob_id != git_blob_sha1(data()):
            problems.append(f"{rel}: the Hub's git blob differs from the local file")
    if problems:
        raise ArtifactError(f"the push to {repo} @ {revision} did not arrive intact: {'; '.join(problems)}")
    ledger.record_hub(settings.checksums, spec.name, manifest, repo, revision, info.oid, "push", now_utc(),
                      recipe_key=recipe.get("recipe_key"))
    logger.info(f"{spec.name}: pushed to {site(settings)}/{repo} @ {revision} (commit {info.oid[:12]}); every file's "
                "hash was read back and matches")
    return {"name": spec.name, "status": "pushed", "repo": repo, "revision": revision, "commit": info.oid}
