"""A local model folder into the store: `MODEL=./my-model` (or any path) on any verb.

The folder is checked first (config.json: a causal LM with the Llama layout, a format this artifact loads; nothing
is copied otherwise), then its model files are copied into a staging folder, hashed, measured (the share of zero
weights) and committed like every store entry, with its origin and a fingerprint (size and mtime of each file).
The store's copy is what every verb uses and `make verify` re-hashes; the next use of the same path re-imports it
only when the fingerprint changed. Pickled weights are skipped when safetensors exist, as a pull does.
"""
from __future__ import annotations

import logging
import shutil
import sys
import time
from pathlib import Path

from ..base import store
from ..base.catalog import ModelSpec, facts, registry
from ..base.errors import BadInputError
from ..base.provenance import code_commit, now_utc

logger = logging.getLogger(__name__)


def files(path: Path) -> list[str]:
    from .pull import wanted
    rel = [str(p.relative_to(path)) for p in sorted(path.rglob("*")) if p.is_file()
           and not any(part.startswith(".") for part in p.relative_to(path).parts)]
    return [r for r in wanted(rel) if r not in store.NOT_MODEL_FILES]


def fingerprint(path: Path) -> dict[str, list[int]]:
    out = {}
    for rel in files(path):
        st = (path / rel).stat()
        out[rel] = [st.st_size, st.st_mtime_ns]
    return out


def ensure(spec: ModelSpec, settings) -> Path:
    """The store folder of a local model, imported (again) when missing, changed since, or damaged."""
    src = spec.local_folder
    final = store.folder(settings.store, spec.name)
    have = store.read_recipe(final) or {}
    if not src.is_dir():
        if have.get("kind") == "imported":
            logger.info(f"{spec.name}: {src} is gone; using the copy imported {have.get('made', '?')}")
            return final
        raise BadInputError(f"{src} is not a folder here any more; give the path of a model folder")
    if have.get("kind") == "imported" and have.get("fingerprint") == fingerprint(src) and not store.verify(final):
        return final
    with store.claim(settings.store, spec.name):
        return _import(spec, src, settings, final, have)


def _import(spec: ModelSpec, src: Path, settings, final: Path, have: dict) -> Path:
    found = facts.read(src, str(src))  # refuses a folder this artifact cannot take, before anything is copied
    before = fingerprint(src)
    if not any(f.endswith((".safetensors", ".bin")) for f in before):
        raise BadInputError(f"{src} holds no weights (*.safetensors or *.bin); point MODEL= at a complete model "
                            "folder")
    if have.get("kind") == "imported":
        logger.info(f"{spec.name}: {src} changed since it was imported ({have.get('made', '?')}); importing it again")
    started = time.time()
    size = sum(st_size for st_size, _ in before.values())
    logger.info(f"{spec.name}: copying {len(before)} files ({size / 1e9:.2f} GB) from {src} into the store")
    from tqdm import tqdm
    with store.staging(settings.store, spec.name) as tmp, \
            tqdm(total=size, unit="B", unit_scale=True, desc=f"import {spec.name}",
                 mininterval=0.1 if sys.stderr.isatty() else 30) as bar:  # a log file gets a line every 30 s
        for rel, (st_size, _) in before.items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src / rel, tmp / rel)
            bar.update(st_size)
        if fingerprint(src) != before:
            raise BadInputError(f"{src} changed while it was being copied; run the command again when it is complete")
        measured = facts.measure_sparsity(tmp) if found.method == "none" else {}
        identity = {"kind": "imported", "model": spec.id, "source": str(src), "fingerprint": before}
        recipe = {**identity, "name": spec.name, "recipe_key": store.recipe_key(identity), "measured": measured,
                  "code_commit": code_commit(), "made": now_utc(), "wall_time_s": round(time.time() - started, 1)}
        store.commit(tmp, final, recipe)
    logger.info(f"{spec.name}: imported {src} -> {final}" + (
        f" (measured sparsity {measured['sparsity']:.2f}{', ' + measured['pattern'] if measured['pattern'] else ''})"
        if measured.get("sparsity") else ""))
    if registry.model_file(spec.name) is None:
        registry.save(spec.name, f"imported from {src} on {now_utc()[:10]}", source=spec.source)
    return final
