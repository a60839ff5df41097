"""Journey (d), your own model: any Hub model or local folder taken the way the paper's models are, the paper's
compression recipes applied to it, and the store as you see it.

  take          a model reference or name -> its spec; a folder is imported, TEMPLATE= saved in its model file
  rebuild_spec  BASE= + METHOD= (+ overrides) -> the compressed model's spec and its model file's fields
  store_rows    what the store holds (make store); forget removes one model (make forget)
"""
from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from . import acquire
from .base import catalog, guard, prompts, store
from .base.catalog import ModelSpec, registry, user
from .base.catalog.methods import METHODS
from .base.errors import BadInputError, BusyError, NotInStoreError
from .base.provenance import now_utc

logger = logging.getLogger(__name__)

TEMPLATES = (*prompts.TEMPLATES, "tokenizer")


def check_template(template: str | None) -> None:
    if template is not None and template not in TEMPLATES:
        raise BadInputError(f"TEMPLATE={template} is not a conversation template; use one of {', '.join(TEMPLATES)}")


def template_reason(spec: ModelSpec) -> str:
    mf = registry.model_file(spec.base.key)
    if spec.chat_template is None:
        return "none: its tokenizer has no chat_template and its name matches none of the fork's templates; " \
               f"set one with TEMPLATE= ({', '.join(TEMPLATES)})"
    if mf is not None and mf.template:
        return f"{spec.chat_template} (set in {mf.path})"
    if spec.chat_template == "tokenizer":
        return "tokenizer (its tokenizer's own chat_template)"
    return f"{spec.chat_template} (from its name, as the fork's FastChat adapters choose)"


def take(model_id: str, settings, template: str | None = None, bring: bool = True) -> ModelSpec:
    """The spec of any model: a catalog id as it is; your model with TEMPLATE= saved in its model file and, where it
    is a folder and `bring`, imported into the store first (so its facts are read from the store's copy)."""
    check_template(template)
    spec = catalog.get(model_id)
    if spec.source is None:
        if template:  # the paper's models keep the paper's template; a model you built takes its base's
            raise BadInputError(f"TEMPLATE= is for your own dense models: {spec.name} keeps its "
                                f"{spec.chat_template} template" + (" (its base's; give TEMPLATE= to the base)"
                                                                    if spec.yours else ", the paper's"))
        return spec
    if template:
        remember(spec, template)
    if bring and spec.local_folder:
        acquire.ensure(spec, settings)
    return catalog.get(spec.source if registry.model_file(spec.name) is None else spec.name)


def remember(spec: ModelSpec, template: str | None = None) -> Path:
    """Create or update your model's file (its source, and the template when given)."""
    mf = registry.model_file(spec.name)
    if mf is not None and mf.compression is not None:
        raise BadInputError(f"{spec.name} takes its conversation template from its base; give TEMPLATE= to the base "
                            "model instead")
    fields = {"source": spec.source, "template": template or (mf.template if mf else None),
              "licence": mf.licence if mf else None, "description": mf.description if mf else None}
    path = registry.save(spec.name, f"your model, from {spec.source}; written {now_utc()[:10]}", **fields)
    if template:
        logger.info(f"{spec.name}: conversation template {template} saved in {path}")
    return path


def _rate(method: str, recipe: dict) -> str:
    if METHODS[method].quantization:
        return f"{recipe['bits']}bit" + (f"-g{recipe['group_size']}" if recipe.get("group_size") != 128 else "")
    if recipe.get("pattern"):
        return recipe["pattern"].replace(":", "to")
    return f"{round(recipe['sparsity'] * 100)}pct"


RECIPE_KEYS = {"bits", "group_size", "pattern", "sparsity", "seed", "calibration", "samples"}


def rebuild_spec(base_id: str, method: str, settings, overrides: dict, bring: bool) -> tuple[ModelSpec, dict]:
    """The spec of `METHOD` applied to `BASE` with the paper's settings for that method, overridden where given, and
    the fields of its model file (written by the caller, not by a dry run)."""
    if method not in METHODS:
        raise BadInputError(f"METHOD={method} is not a compression method; use one of {', '.join(METHODS)}")
    base = take(base_id, settings, bring=bring)
    if base.source and base.base.arch is None:  # a Hub model not pulled yet: its config.json is not here
        raise NotInStoreError(base.source, settings.store, what="the base model ")
    if base.method != "none" or base.base.loader == "api":
        raise BadInputError(f"BASE={base_id} is a {base.method} model; compression starts from a dense model")
    m = METHODS[method]
    unknown = set(overrides) - RECIPE_KEYS
    if unknown:
        raise BadInputError(f"{', '.join(sorted(unknown))} is not a recipe setting; use "
                            f"{', '.join(sorted(RECIPE_KEYS))}")
    given = {k: v for k, v in overrides.items() if v is not None}
    wrong = sorted(set(given) & ({"pattern", "sparsity"} if m.quantization else {"bits", "group_size"}))
    if wrong:
        raise BadInputError(f"{wrong[0].upper()}= does not apply to {method}, a "
                            f"{'quantization' if m.quantization else 'pruning'} method")
    if not m.calibrated and set(given) & {"calibration", "samples", "seed"}:
        raise BadInputError(f"{method} uses no calibration data; leave CALIBRATION=, SAMPLES= and SEED= unset")
    recipe = dict(m.paper_recipe)
    if "sparsity" in given:
        recipe.pop("pattern", None)
    recipe.update(given)
    name = f"{base.name}-{method}-{_rate(method, recipe)}"
    if m.calibrated:
        name += (f"-cal{recipe['samples']}" if recipe["samples"] != 128 else "") + f"-s{recipe['seed']}"
    comp = {"base": base.source or base.name, "method": method, **recipe}
    if method == "gptq":
        comp.setdefault("desc_act", True)
    mf = user.ModelFile(user.folder(settings.recipes) / f"{name}.toml", name, None, compression=comp)
    return registry.compressed_spec(mf, catalog.get), {"compression": comp}


def save_rebuild(spec: ModelSpec, fields: dict, base_id: str, method: str) -> Path:
    return registry.save(spec.name, f"made by make rebuild BASE={base_id} METHOD={method}; written "
                         f"{now_utc()[:10]}", **fields)


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def store_rows(settings) -> list[tuple]:
    """(name, source, revision, size GB, made, last verified) of every model in the store."""
    rows = []
    root = settings.store
    for folder in sorted(p for p in root.glob("*") if p.is_dir() and not p.name.startswith(("." , "_"))) \
            if root.is_dir() else []:
        recipe = store.read_recipe(folder)
        if recipe is None:
            continue
        kind = recipe.get("kind") or ("built" if recipe.get("method") else "converted")
        source = {"pulled": f"Hub {recipe.get('repo', '?')}", "imported": f"folder {recipe.get('source', '?')}",
                  "built": f"built from {recipe.get('base', {}).get('model', '?')}"}.get(kind, kind)
        revision = (recipe.get("commit") or recipe.get("recipe_key") or "")[:12]
        checked = store.last_verified(root, folder.name)
        rows.append((folder.name, source, revision, f"{_size(folder) / 1e9:.2f}", (recipe.get("made") or "")[:16],
                     checked or "never"))
    return rows


def forget(model_id: str, settings, dry_run: bool = False) -> str:
    """Remove one model from the store (and your model file when it was only a reference); refused while a run
    holds the model. Returns what was (or would be) removed."""
    name = model_id.strip()
    try:
        name = catalog.get(model_id).name
    except Exception:  # noqa: BLE001 - a folder left in the store under a name no file or catalog entry knows
        pass
    folder = store.folder(settings.store, name)
    if store.read_recipe(folder) is None and not folder.is_dir():
        raise BadInputError(f"{name} is not in the store {settings.store}; `make store` lists what is")
    holder = guard.busy(store.lock_file(settings.store, name))
    if holder:
        raise BusyError(f"{name} is in use by a run right now ({holder}); wait for it to finish, then forget it")
    size = _size(folder) / 1e9 if folder.is_dir() else 0
    what = f"{folder} ({size:.2f} GB)"
    if dry_run:
        return what
    with store.claim(settings.store, name):
        trash = folder.with_name(f".{name}.tmp-{os.getpid()}-forget")  # a killed forget's half is tidied away
        if folder.exists():
            folder.rename(trash)  # one rename: a kill leaves the model or nothing, never half of it
            shutil.rmtree(trash, ignore_errors=True)
        for partial in settings.store.glob(f".{name}.pull-*"):  # a resumable pull of it goes too
            shutil.rmtree(partial, ignore_errors=True) if partial.is_dir() else partial.unlink(missing_ok=True)
        store.mark_verified(settings.store, name, None)
    return what
