"""Your models as catalog entries: model files (user.py) and the facts of their stored folders (facts.py) made into
`ModelSpec`s that every verb takes like a catalog model.

The CLI calls `use(settings)` once; from then on `catalog.get` and `catalog.load` see the models of
`<ARTIFACT_RECIPES>/models/` (and any `hf:`/path reference, saved or not) beside the paper's catalog.
"""
from __future__ import annotations

from pathlib import Path

from .. import store
from ..errors import BadInputError, FileFormatError
from . import facts as facts_mod
from . import user
from .methods import METHODS
from .spec import FAMILY, YOURS, Base, Calibration, ModelSpec
_active: dict = {}  # {"recipes": Path, "store": Path} once use() is called


def use(settings) -> None:
    _active.update(recipes=settings.recipes, store=settings.store)
    _cache.clear()


def reset() -> None:
    _active.clear()
    _cache.clear()


def active() -> bool:
    return bool(_active)


def _stored(name: str) -> tuple[Path, dict | None]:
    """(its store folder, its recipe); None for no model there or a damaged recipe."""
    where = store.folder(_active["store"], name)
    return where, store.read_recipe(where) or None


def _size(arch) -> str:
    if arch is None:
        return "?"
    p = arch.params / 1e9
    return f"{p:.0f}b" if p >= 10 else f"{p:.1f}b" if p >= 1 else f"{arch.params / 1e6:.0f}m"


def dense_spec(name: str, ref: user.Reference, template: str | None = None, licence: str | None = None) -> ModelSpec:
    """A model from the Hub or a folder: facts from its stored files when it is in the store, else only its origin."""
    where, recipe = _stored(name)
    if recipe is None and ref.kind == "folder" and ref.path.is_dir():
        found = facts_mod.read(ref.path, str(ref.path))  # not imported yet: its own config.json (or why it cannot be)
    else:
        found = facts_mod.read(where, name) if recipe is not None and (where / "config.json").is_file() else None
    measured = (recipe or {}).get("measured") or {}
    origin = ref.repo or ref.path.name
    chosen = template or facts_mod.template_for(origin, bool(found and found.has_chat_template))
    arch = found.arch if found else None
    base = Base(name, ref.repo or str(ref.path), FAMILY, _size(arch), chosen, licence or "see the model's own card",
                False, arch=arch, source=ref.source)
    method = found.method if found else "none"
    return ModelSpec(id=ref.source, name=name, base=base, method=method, repo=ref.repo or "", revision=ref.revision,
                     bits=found.bits if found else 16, pattern=measured.get("pattern"),
                     sparsity=measured.get("sparsity"), group_size=found.group_size if found else None,
                     desc_act=found.desc_act if found else None, loader="gptq" if method == "gptq" else "hf",
                     dtype=found.dtype if found else None, source=ref.source)


def compressed_spec(mf: user.ModelFile, lookup) -> ModelSpec:
    """A model made by `make rebuild BASE=... METHOD=...` (or declared so by hand): its base is any dense model."""
    comp = mf.compression
    method = comp["method"]
    if method not in METHODS:
        raise FileFormatError(mf.path, None, f"unknown method {method!r} in [compression]",
                              f"use one of {', '.join(METHODS)}")
    base = lookup(comp["base"])
    if base.method != "none" or base.base.loader == "api":
        raise FileFormatError(mf.path, None, f"base {comp['base']!r} is not a dense model on disk",
                              "compression starts from a dense model: name one (make models lists them)")
    quant = METHODS[method].quantization
    cal = None
    if METHODS[method].calibrated:
        if not comp.get("calibration"):
            raise FileFormatError(mf.path, None, f"{method} needs a calibration set and [compression] names none",
                                  'add calibration = "..." (make rebuild BASE=... METHOD=... writes the paper\'s)')
        cal = Calibration(comp["calibration"], comp.get("samples", 128), comp.get("seed"),
                          base.chat_template if method == "gptq" else None,  # GPTQ renders its records as chats
                          comp.get("seqlen") or METHODS[method].seqlen(base.base.arch))
    pattern = None if quant else comp.get("pattern")
    sparsity = None if quant else round(1 - int(pattern.split(":")[0]) / int(pattern.split(":")[1]), 4) \
        if pattern and ":" in pattern and all(x.isdigit() for x in pattern.split(":")) else comp.get("sparsity")
    dtype = "float16" if method == "gptq" else base.dtype or "bfloat16"
    return ModelSpec(id=f"{YOURS}{mf.name}", name=mf.name, base=base.base, method=method, repo="", revision=None,
                     bits=comp.get("bits", 16) if quant else 16, pattern=pattern, sparsity=sparsity,
                     group_size=comp.get("group_size") if quant else None,
                     desc_act=comp.get("desc_act", True) if method == "gptq" else None, calibration=cal,
                     loader="gptq" if method == "gptq" else "hf", dtype=dtype, notes=mf.description or "")


def _seqlen(sampler: str, arch) -> int | None:
    """Tokens per calibration sequence by the method's own tool: llm-awq's 512-token blocks, locuslab/wanda's windows
    of the model's context, comp-trust's GPTQ whole records (None)."""
    return {"blocks": 512, "windows": arch.max_positions if arch else None}.get(sampler)


def from_file(mf: user.ModelFile, lookup) -> ModelSpec:
    if mf.compression is not None:
        return compressed_spec(mf, lookup)
    return dense_spec(mf.name, mf.source, mf.template, mf.licence)


_cache: dict = {}


def _signature() -> tuple:
    where = user.folder(_active["recipes"])
    files = sorted(where.glob("*.toml")) if where.is_dir() else []
    stamps = []
    for p in files:
        rec = store.folder(_active["store"], p.stem) / store.RECIPE
        stamps.append((p.name, p.stat().st_mtime_ns, rec.stat().st_mtime_ns if rec.exists() else 0))
    return tuple(stamps)


def specs(lookup) -> list[ModelSpec]:
    """Every model file as a spec (cached until a file or its stored model changes)."""
    if not _active:
        return []
    sig = _signature()
    if _cache.get("sig") != sig:
        _cache.update(sig=sig, specs=[from_file(mf, lookup) for mf in user.all_files(_active["recipes"])])
    return _cache["specs"]


def resolve(model_id: str, lookup) -> ModelSpec | None:
    """A reference (`hf:...`, a path) or the name of one of your models, as a spec; None when it is neither."""
    ref = user.parse(model_id)
    if not _active:
        if ref is not None:
            raise BadInputError(f"{model_id}: model references are read by the command line (make, python -m "
                                "artifact); call catalog.use(settings) first")
        return None
    if ref is None:
        mf = user.find(_active["recipes"], model_id.strip().lower().removeprefix(YOURS))
        return from_file(mf, lookup) if mf else None
    mf = user.find(_active["recipes"], ref.name)
    if mf is not None and mf.source is not None and mf.source.source != ref.source:
        raise BadInputError(f"{model_id} would be stored as {ref.name}, which is already {mf.source.source} "
                            f"({mf.path}); forget that one (make forget MODEL={ref.name}) and delete its file first")
    return from_file(mf, lookup) if mf else dense_spec(ref.name, ref)


def save(spec_name: str, comment: str, **fields) -> Path:
    """Write (or replace) a model file atomically; returns its path."""
    from .. import guard
    path = user.folder(_active["recipes"]) / f"{spec_name}.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    guard.write_text(path, user.render(spec_name, comment, **fields))
    user.read(path)  # what was written reads back
    _cache.clear()
    return path


def model_file(name: str) -> user.ModelFile | None:
    return user.find(_active["recipes"], name) if _active else None
