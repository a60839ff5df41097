"""The ledger: the only module that writes `checksums/` (the repository's record of which bytes are right), and the
one way to read it. Every JSON record carries `"schema": SCHEMA`; a record written before versioning is read in its
old form and rewritten in this one (`migrate`).

    models/<name>.sha256      a model's files, `sha256sum` format (the store's SHA256SUMS)
    models/<name>.json        ModelRecord: which bytes the manifest describes. `recipe_key`: the rebuild recipe that
                              made them (null for a model known only from the Hub); `hub`: the Hub repo, revision and
                              commit that hold them ({"source": "hub metadata"} from `make checksums`, "push" from
                              `make push`), or null
    calibration/<set>.json    locks of what was fetched from the Hub, one shape for both: {repo, revision (the
    <benchmark>/hub.json      commit), files: {path: sha256}}, and for benchmark data the files whose bytes differ
                              from the fork's MANIFEST (differs_from_fork)
    scorers/<name>.sha256     the open toxicity classifier's files
    <benchmark>/MANIFEST.sha256, subset.sha256, reference.sha256   committed by hand from the sources they name;
                              read here, never written
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import FileFormatError
from . import guard, store
from .store import manifest_text, parse_manifest

SCHEMA = 1


# ------------------------------------------------------------------------------------------------ files

def _write_json(path: Path, obj: dict) -> None:
    guard.write_text(path, json.dumps({"schema": SCHEMA, **{k: v for k, v in obj.items() if k != "schema"}}, indent=2)
                + "\n")


def _read_json(path: Path) -> dict | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as e:
        raise FileFormatError(path, None, f"not valid JSON ({e})") from None
    if not isinstance(data, dict):
        raise FileFormatError(path, None, "a checksums record holds one JSON object")
    if data.get("schema", 0) > SCHEMA:
        raise FileFormatError(path, None, f"record schema {data['schema']} is newer than this code reads ({SCHEMA}); "
                                          "update the checkout")
    return data


# ------------------------------------------------------------------------------------------------ models

@dataclass(frozen=True)
class ModelRecord:
    model: str
    recipe_key: str | None  # the rebuild recipe that made these bytes; None: known only from the Hub
    hub: dict | None  # {"repo", "revision", "commit", "source", "recorded"}: where the Hub holds these bytes

    @classmethod
    def from_json(cls, data: dict) -> "ModelRecord":
        if data.get("schema", 0) == 0:  # before versioning: the rebuild's {model, recipe_key}, or Hub fields inline
            hub = {k: data.get(k) for k in ("repo", "revision", "commit")} if "commit" in data else None
            if hub is not None:
                hub["source"] = "push" if "pushed" in data else data.get("source", "hub metadata")
                hub["recorded"] = data.get("pushed") or data.get("recorded")
            return cls(data["model"], data.get("recipe_key"), hub)
        return cls(data["model"], data.get("recipe_key"), data.get("hub"))


def _model_paths(checksums: Path, name: str) -> tuple[Path, Path]:
    base = checksums / "models"
    return base / f"{name}.json", base / f"{name}.sha256"


def model_record(checksums: Path, name: str) -> ModelRecord | None:
    side, _ = _model_paths(checksums, name)
    data = _read_json(side)
    if data is None:
        return None
    try:
        return ModelRecord.from_json(data)
    except KeyError as e:
        raise FileFormatError(side, None, f"the model record lacks {e}") from None


def model_manifest(checksums: Path, name: str) -> dict[str, str]:
    _, path = _model_paths(checksums, name)
    return parse_manifest(path) if path.is_file() else {}


def _write_model(checksums: Path, record: ModelRecord, entries: dict[str, str]) -> None:
    side, path = _model_paths(checksums, record.model)
    guard.write_text(path, manifest_text(entries))
    _write_json(side, asdict(record))


def record_build(checksums: Path, name: str, entries: dict[str, str], key: str) -> str:
    """A rebuild's manifest: written for a new recipe; for the same recipe compared. Returns 'recorded', 'matches'
    or 'differs'."""
    old = model_record(checksums, name)
    if old is not None and old.recipe_key == key and _model_paths(checksums, name)[1].is_file():
        return "matches" if model_manifest(checksums, name) == entries else "differs"
    _write_model(checksums, ModelRecord(name, key, None), entries)
    return "recorded"


def record_hub(checksums: Path, name: str, entries: dict[str, str], repo: str, revision: str, commit: str,
               source: str, recorded: str, recipe_key: str | None = None) -> Path:
    """The Hub holds these bytes at `commit` (from its metadata, or read back after a push)."""
    hub = {"repo": repo, "revision": revision, "commit": commit, "source": source, "recorded": recorded}
    _write_model(checksums, ModelRecord(name, recipe_key, hub), entries)
    return _model_paths(checksums, name)[1]


@dataclass(frozen=True)
class Verdict:
    """What `make verify` says of one stored model. FAIL: damage (its bytes fail the manifest written when it was
    stored, here) or a pulled file the Hub record disagrees with. WARN: a rebuild whose own manifest verifies but
    whose bytes differ from checksums/models/ (a GPU rounds in another order than the CPU build that recorded them,
    or other library versions; the recipe is the same). ok: everything matches."""

    status: str
    problems: list[str]


def check(folder: Path, checksums: Path) -> Verdict:
    """A store folder against its own SHA256SUMS, and against `checksums/models/<name>.sha256` when that record
    belongs to this very model (the same recipe key, or the same pulled commit)."""
    damage = store.verify(folder)
    recipe = store.read_recipe(folder) or {}
    record = model_record(checksums, folder.name)
    pulled = record is not None and record.hub is not None and recipe.get("kind") == "pulled"
    if record is None or not (record.hub.get("commit") == recipe.get("commit") if pulled
                              else record.recipe_key == recipe.get("recipe_key")):
        return Verdict("FAIL" if damage else "ok", damage)
    converted = set(recipe.get("converted") or {})
    actual = store.manifest(folder)
    listed = _model_paths(checksums, folder.name)[1].name
    differs, outside = [], []
    for name, digest in model_manifest(checksums, folder.name).items():
        if name.startswith("/") or ".." in name.split("/"):
            outside.append(f"{listed} lists {name!r}, a path outside the model folder: the record is damaged")
            continue
        if name in converted:
            continue
        if name not in actual:
            differs.append(f"{name}: missing (recorded in {listed})")
        elif actual[name] != digest:
            differs.append(f"{name}: sha256 differs from {listed}")
    if damage or outside or (differs and pulled):
        return Verdict("FAIL", sorted(set(damage + outside + (differs if pulled or damage else []))))
    if differs:
        return Verdict("WARN", [f"built here by the recorded recipe, but {len(differs)} file(s) differ from {listed} "
                                "(built on a GPU, whose float order differs, or with other library versions: a CPU "
                                "build has the recorded bytes on any x86-64 CPU); its own "
                                f"SHA256SUMS verifies ({'; '.join(sorted(differs))})"])
    return Verdict("ok", [])


# ------------------------------------------------------------------------------------------------ locks

def lock_path(checksums: Path, kind: str, key: str) -> Path:
    """calibration/<set>.json, or <benchmark>/hub.json."""
    return checksums / "calibration" / f"{key}.json" if kind == "calibration" else checksums / key / "hub.json"


def read_lock(checksums: Path, kind: str, key: str) -> dict | None:
    """A lock in its one shape; a calibration lock from before versioning ({filename, sha256}) is read as one."""
    lock = _read_json(lock_path(checksums, kind, key))
    if lock is not None and "files" not in lock and "filename" in lock:
        lock = {"schema": SCHEMA, "repo": lock.get("repo"), "revision": lock.get("revision"),
                "files": {lock["filename"]: lock.get("sha256")}}
    return lock


def write_lock(checksums: Path, kind: str, key: str, lock: dict) -> Path:
    path = lock_path(checksums, kind, key)
    _write_json(path, lock)
    return path


# ------------------------------------------------------------------------------------------------ scorers

def record_scorer(path: Path, name: str, folder_name: str, entries: dict[str, str]) -> Path:
    guard.write_text(path, f"# {name}: files of {folder_name}, sha256  relative path\n" + "".join(
        f"{digest}  {rel}\n" for rel, digest in entries.items()))
    return path


# ------------------------------------------------------------------------------------------------ migration

def migrate(checksums: Path) -> list[Path]:
    """Rewrite every record written before versioning in this schema; returns the files rewritten."""
    done = []
    for side in sorted((checksums / "models").glob("*.json")):
        data = _read_json(side)
        if data is not None and data.get("schema", 0) < SCHEMA:
            _write_json(side, asdict(ModelRecord.from_json(data)))
            done.append(side)
    for side in [*sorted((checksums / "calibration").glob("*.json")), *sorted(checksums.glob("*/hub.json"))]:
        data = _read_json(side)
        if data is not None and data.get("schema", 0) < SCHEMA:
            kind, key = ("calibration", side.stem) if side.parent.name == "calibration" else ("data", side.parent.name)
            _write_json(side, read_lock(checksums, kind, key))
            done.append(side)
    return done
