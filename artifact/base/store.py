"""The model store: one folder per catalog model (`<ARTIFACT_STORE>/<name>`), always written atomically.

A model is built in a hidden staging folder next to its final place and renamed into place only when complete,
so a killed run leaves either the old model or nothing, never a half-written one. Writers `claim` the name first
(an owner-named lock, artifact/base/guard.py), so two runs never build one model at once, and the claim recovers or
removes what killed runs left behind (`tidy`; `leftovers` lists it for `make verify`). Each folder holds:
  recipe.json  how the model was made (or where it came from), with `recipe_key`: the hash of what decides its
               bytes (method, parameters, calibration draw, base model); a different key means a different model
  SHA256SUMS   sha256 of every model file (recipe.json and the manifest itself excluded), `sha256sum` format
The ledger (artifact/base/ledger.py) copies the same manifest to `checksums/models/<name>.sha256` the first time; a
rebuild whose bytes differ from that record says so.
"""
from __future__ import annotations

import logging
import hashlib
import json
import os
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path

from . import faults, guard
from .errors import ArtifactError, FileFormatError, NotInStoreError
from .provenance import canonical_digest, sha256_file

logger = logging.getLogger(__name__)

RECIPE = "recipe.json"
MANIFEST = "SHA256SUMS"
NOT_MODEL_FILES = {RECIPE, MANIFEST}


def folder(store: Path, name: str) -> Path:
    return store / name


def require(store: Path, name: str, how: str = "pull", what: str = "", extra: str = "") -> Path:
    """The folder of a model that must be in the store: NotInStoreError (which says how to put it there) if not."""
    path = folder(store, name)
    if read_recipe(path) is None:
        raise NotInStoreError(name, store, how, what=what, extra=extra)
    return path


def recipe_key(identity: dict) -> str:
    """Hash of what determines a model's bytes (canonical JSON)."""
    return canonical_digest(identity)


def read_recipe(path: Path) -> dict | None:
    """The recipe of a complete model folder, or None when there is no model there. A damaged recipe (not a JSON
    object, or a recipe_key that is not a string) reads as {}: no recipe matches it, so a rebuild or pull replaces
    the model, and `verify` names the damage (`recipe_problem`)."""
    data, problem = _load_recipe(path)
    return {} if problem else data


def recipe_problem(path: Path) -> str | None:
    """What is wrong with a folder's recipe.json, or None."""
    return _load_recipe(path)[1]


def _load_recipe(path: Path) -> tuple[dict | None, str | None]:
    """(recipe, None), (None, None) when there is none, or (None, what is wrong with it)."""
    try:
        data = json.loads((path / RECIPE).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None, None
    except (ValueError, UnicodeDecodeError) as e:
        return None, f"{RECIPE}: unreadable ({type(e).__name__})"
    if not isinstance(data, dict):
        return None, f"{RECIPE}: not a JSON object"
    if not isinstance(data.get("recipe_key", ""), str):
        return None, f"{RECIPE}: recipe_key is not a string"
    return data, None


def manifest(path: Path) -> dict[str, str]:
    """{relative path: sha256} of the model files in a folder."""
    return {str(p.relative_to(path)): sha256_file(p) for p in sorted(path.rglob("*"))
            if p.is_file() and p.name not in NOT_MODEL_FILES}


def manifest_text(entries: dict[str, str]) -> str:
    return "".join(f"{digest}  {name}\n" for name, digest in sorted(entries.items()))


def parse_manifest(path: Path) -> dict[str, str]:
    out = {}
    for line_no, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), start=1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64:
            raise FileFormatError(path, line_no, "not a `<sha256>  <file>` line")
        out[name] = digest
    return out


def verify(path: Path) -> list[str]:
    """Files of a model folder whose bytes differ from its SHA256SUMS (or that are missing or unlisted)."""
    if not (path / MANIFEST).is_file():
        return [f"{MANIFEST}: missing"]
    recipe = [p for p in [recipe_problem(path)] if p]
    try:
        listed = parse_manifest(path / MANIFEST)
    except FileFormatError as e:
        return recipe + [f"{MANIFEST}: damaged (line {e.line} is not a `<sha256>  <file>` line)"]
    actual = manifest(path)
    bad = [f"{n}: sha256 differs" for n in listed if n in actual and actual[n] != listed[n]]
    bad += [f"{n}: missing" for n in listed if n not in actual]
    bad += [f"{n}: not in the manifest" for n in actual if n not in listed]
    return sorted(recipe + bad)


TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model", "special_tokens_map.json",
                   "chat_template.jinja")


def copy_tokenizer(src: Path, dst: Path) -> None:
    """A built model's tokenizer files, byte for byte its base's: saving them again through transformers would
    write what the environment says (HF_HUB_OFFLINE becomes `local_files_only` in tokenizer_config.json)."""
    import shutil
    for name in TOKENIZER_FILES:
        if (src / name).is_file():
            shutil.copyfile(src / name, dst / name)


def tensor_digests(path: Path) -> dict[str, str]:
    """{"<file>:<tensor>": first 16 hex digits of the sha256 of its dtype, shape and bytes} for every tensor of the
    folder's safetensors files, read from each file's header and byte ranges (no framework loaded): what says how
    many tensors of two builds differ when their files do."""
    import json
    import struct
    out = {}
    for shard in sorted(path.glob("*.safetensors")):
        with open(shard, "rb") as f:
            try:
                (size,) = struct.unpack("<Q", f.read(8))
                header = json.loads(f.read(size))
            except (struct.error, ValueError) as e:
                raise FileFormatError(shard, None, f"not a safetensors file ({e})") from None
            for name, info in sorted(header.items()):
                if name == "__metadata__":
                    continue
                start, end = info["data_offsets"]
                f.seek(8 + size + start)
                h = hashlib.sha256(f"{info['dtype']}{info['shape']}".encode())
                h.update(f.read(end - start))
                out[f"{shard.name}:{name}"] = h.hexdigest()[:16]
    return out


def tensors_differing(recorded: dict[str, str], actual: dict[str, str]) -> list[str]:
    """Tensors whose digest differs between two `tensor_digests` (or that only one of them has)."""
    return sorted(k for k in set(recorded) | set(actual) if recorded.get(k) != actual.get(k))


# ------------------------------------------------------------------------------------------------ dense copies
# An engine that cannot run a model's kernels (vLLM and our activation-ordered GPTQ) serves its dense copy, kept
# beside it as `<name>+dense` (artifact/compress/dense_copy.py makes it). Its recipe names the source's manifest, so a
# rebuilt or re-pulled source makes the copy stale rather than silently served.

DENSE = "+dense"


def manifest_sha(path: Path) -> str:
    """sha256 of a model folder's SHA256SUMS: the identity of its bytes."""
    return hashlib.sha256((path / MANIFEST).read_bytes()).hexdigest()


def dense_copy(path: Path) -> Path | None:
    """The dense copy of the model in `path`, when one is stored, made from these very bytes, and intact."""
    copy = path.with_name(path.name + DENSE)
    recipe = read_recipe(copy)
    if not recipe or not (path / MANIFEST).is_file() or recipe.get("source_manifest_sha256") != manifest_sha(path):
        return None
    return None if verify(copy) else copy


def lock_file(store: Path, name: str) -> Path:
    return store / f".{name}.lock"


@contextmanager
def claim(store: Path, name: str):
    """Hold `name` for writing (rebuild, pull, convert): refused with BusyError while another live run holds it.
    Holding it, the leftovers of runs that died on this name are recovered or removed first (`tidy`)."""
    store.mkdir(parents=True, exist_ok=True)
    with guard.lock(lock_file(store, name), f"{name} in the store {store}"):
        tidy(store, name)
        yield


@contextmanager
def staging(store: Path, name: str):
    """A fresh hidden folder to build `name` in (the caller holds `claim`); removed again if the build fails."""
    store.mkdir(parents=True, exist_ok=True)
    tmp = store / f".{name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def commit(tmp: Path, final: Path, recipe: dict) -> dict[str, str]:
    """Write the manifest and recipe into the staged folder, then swap it into place. A kill between the two
    renames leaves the old model in `.<name>.old-*`, which the next claim of the name moves back."""
    entries = manifest(tmp)
    if not entries:
        raise ArtifactError(f"refusing to store an empty model at {final}")
    guard.write_text(tmp / MANIFEST, manifest_text(entries))
    guard.write_text(tmp / RECIPE, json.dumps(recipe, indent=2, sort_keys=True, default=str) + "\n")
    faults.point("store.staged")
    old = None
    if final.exists():
        old = final.with_name(f".{final.name}.old-{os.getpid()}-{uuid.uuid4().hex[:8]}")
        os.replace(final, old)
        faults.point("store.swap")
    os.replace(tmp, final)
    faults.point("store.cleanup")
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return entries


# ------------------------------------------------------------------------------------------------ leftovers

_KINDS = ((".old-", "old"), (".tmp-", "staging"), (".pull-", "partial pull"))


def leftovers(store: Path) -> list[dict]:
    """Hidden folders that runs leave behind: {path, name, kind, bytes, owner (None when its run is gone)}."""
    out = []
    for p in sorted(store.glob(".*")) if store.is_dir() else []:
        if not p.is_dir() or p.name == ".quarantine":
            continue
        for marker, kind in _KINDS:
            name, sep, _ = p.name[1:].rpartition(marker)
            if sep and name:
                size = sum(f.stat().st_size for f in p.rglob("*") if f.is_file())
                out.append({"path": p, "name": name, "kind": kind, "bytes": size,
                            "owner": guard.busy(lock_file(store, name))})
                break
    return out


def _alive(suffix: str) -> bool:
    """Whether the process named in a `<pid>-<random>` suffix is still running on this machine."""
    pid = suffix.partition("-")[0]
    if not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def tidy(store: Path, name: str) -> None:
    """With `name` claimed: move back an old model stranded by a kill mid-swap, delete staging folders and old
    copies of dead runs. Partial pulls stay: they are the resume state of `make pull` (verify lists them)."""
    final = folder(store, name)
    for p in sorted(store.glob(f".{name}.old-*")):
        if not final.exists() and read_recipe(p) is not None:
            os.replace(p, final)
            logger.info(f"{name}: recovered the model a killed run had moved aside ({p.name} -> {final.name})")
        else:
            shutil.rmtree(p, ignore_errors=True)
            logger.info(f"{name}: removed {p.name}, left by a killed run")
    for p in sorted(store.glob(f".{name}.tmp-*")):
        if _alive(p.name.rpartition(".tmp-")[2]):  # its run still lives (its lock file was deleted under it)
            logger.info(f"{name}: kept {p.name}: the process that writes it is still running")
            continue
        shutil.rmtree(p, ignore_errors=True)
        logger.info(f"{name}: removed {p.name}, the staging folder of a killed run")
    for p in sorted(store.glob(f".{name}.pull-*.json")):  # a pull's list of verified files, its folder committed
        if not p.with_suffix("").is_dir():
            p.unlink(missing_ok=True)


VERIFIED = ".verified.json"  # {name: when `make verify` last found it intact}


def _verified(store: Path) -> dict:
    """The record of when each model last passed `make verify` ({} when there is none or it is unreadable)."""
    try:
        data = json.loads((store / VERIFIED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def last_verified(store: Path, name: str) -> str | None:
    return _verified(store).get(name)


def mark_verified(store: Path, name: str, when: str | None) -> None:
    """Record (or, with None, drop) when a model last passed `make verify`."""
    data = _verified(store)
    if when is None and name not in data:
        return
    data.pop(name, None) if when is None else data.__setitem__(name, when)
    guard.write_text(store / VERIFIED, json.dumps(data, indent=1, sort_keys=True) + "\n")
