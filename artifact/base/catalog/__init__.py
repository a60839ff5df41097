"""The model catalog: expands `table.py` into one `ModelSpec` per model and looks ids up; with `use(settings)`,
your own models too (registry.py: `hf:<org>/<name>`, a folder, `<ARTIFACT_RECIPES>/models/*.toml`).

Any spelling resolves: the canonical Hub id (`compressed-llm/llama-2-13b-chat-wanda@0.5_2to4`), the short name
(`llama-2-13b-chat-wanda-2to4`), an alias (`vita-group/...`, underscores), with or without DecodingTrust's
`hf/` provider prefix, in any letter case.
"""
from __future__ import annotations

from functools import lru_cache

from ..errors import ArtifactError, BadInputError, UnknownModelError
from . import registry, user
from .methods import METHODS as METHOD_FACTS
from .spec import METHODS, PRUNING, Base, Calibration, ModelSpec
from .table import BASES, FAMILIES, Family


def _seqlen(fam: Family, base: Base) -> int | None:
    """Tokens per calibration sequence: the family's own, else the method's (`Method.seqlen`)."""
    return fam.seqlen if fam.seqlen is not None else METHOD_FACTS[fam.method].seqlen(base.arch)


def _dense(base: Base) -> ModelSpec:
    return ModelSpec(id=base.hub, name=base.key, base=base, method="none", repo=base.hub, revision=None, bits=16,
                     loader=base.loader, aliases=base.aliases,
                     dtype=None if base.loader == "api" else "float32" if base.embedded else "bfloat16")


def _expand(fam: Family) -> list[ModelSpec]:
    base = BASES[fam.base]
    out = []
    for rate, seed, samples in fam.variants:
        n = m = None
        if isinstance(rate, str):
            n, m = (int(x) for x in rate.split(":"))
        bits = rate if isinstance(rate, int) else 16
        revision = fam.revision.format(bits=bits, n=n, m=m, samples=samples, seed=seed)
        slug = f"{n}to{m}" if n else f"{bits}bit"
        name = f"{base.key}-{fam.method}-{slug}"
        if fam.seeded:
            name += (f"-cal{samples}" if samples != fam.default_samples else "") + f"-s{seed}"
        name += f"-{fam.tag}" if fam.tag else ""
        calibration = None
        if fam.calib:
            dataset, template = fam.calib
            drawn_with = seed if fam.seeded else METHOD_FACTS[fam.method].default_seed
            calibration = Calibration(dataset, samples, drawn_with, template, _seqlen(fam, base))
        quant = isinstance(rate, int)
        loader = fam.loader or ("gptq" if fam.method == "gptq" else "hf")
        out.append(ModelSpec(
            id=f"{fam.repo}@{revision}", name=name, base=base, method=fam.method, repo=fam.repo, revision=revision,
            bits=bits, pattern=None if quant else rate, sparsity=None if quant else round(1 - n / m, 4),
            group_size=fam.group_size if quant else None, desc_act=True if fam.method == "gptq" else None,
            calibration=calibration, loader=loader,
            dtype=fam.dtype or ("float16" if loader == "gptq" else "bfloat16"),
            aliases=tuple(f"{a}@{revision}" for a in fam.aliases), notes=fam.notes))
    return out


def normalize(model_id: str) -> str:
    """The lookup key of an id: no `hf/` provider prefix, lower case, no surrounding space."""
    key = model_id.strip()
    if key.lower().startswith("hf/"):
        key = key[3:]
    return key.lower()


class Catalog:
    def __init__(self, specs: list[ModelSpec]):
        self.specs = specs
        self._index: dict[str, ModelSpec] = {}
        for spec in specs:
            if spec.method not in METHODS:
                raise ArtifactError(f"catalog entry {spec.name} has unknown method {spec.method!r}")
            for alias in spec.all_ids():
                key = normalize(alias)
                other = self._index.get(key)
                if other is not None and other is not spec:
                    raise ArtifactError(f"catalog ids collide: {alias!r} names both {other.id} and {spec.id}")
                self._index[key] = spec

    def __iter__(self):
        return iter(self.specs)

    def __len__(self) -> int:
        return len(self.specs)

    def find(self, model_id: str) -> ModelSpec | None:
        """A catalog entry by any spelling; then, once `use(settings)` ran, your model or a model reference."""
        return self._index.get(normalize(model_id)) or registry.resolve(model_id, _lookup)

    def get(self, model_id: str) -> ModelSpec:
        spec = self.find(model_id)
        if spec is None and registry.active() and user.REPO.match(model_id.strip()):
            raise BadInputError(f"{model_id.strip()} is not a catalog model; MODEL=hf:{model_id.strip()} takes it from "
                                "the Hub (make pull first), the way the paper's models are taken")
        if spec is None:
            raise UnknownModelError(model_id, [s.name for s in self.specs] + [s.id for s in self.specs])
        return spec

    def filter(self, terms: list[str]) -> list[ModelSpec]:
        """Entries matching every term: `field=value[,value...]` on a listed field, else a substring of any id."""
        out = []
        for spec in self.specs:
            row = {k: "" if v is None else str(v).lower() for k, v in _filter_fields(spec).items()}
            if all(_matches(row, spec, t) for t in terms):
                out.append(spec)
        return out


def _filter_fields(spec: ModelSpec) -> dict:
    cal = spec.calibration
    return {"name": spec.name, "base": spec.base.key, "family": spec.base.family, "size": spec.base.size,
            "method": spec.method, "bits": spec.bits, "rate": spec.rate, "pattern": spec.pattern,
            "seed": spec.seed, "loader": spec.loader, "template": spec.chat_template,
            "calibration": cal.dataset if cal else None, "samples": cal.samples if cal else None,
            "type": "pruning" if spec.method in PRUNING else "dense" if spec.method == "none" else "quantization"}


FILTER_FIELDS = tuple(_filter_fields(_dense(next(iter(BASES.values())))))
NUMERIC_FIELDS = {"bits": "4", "seed": "0", "samples": "128"}  # with an example value


def _matches(row: dict, spec: ModelSpec, term: str) -> bool:
    term = term.strip().lower()
    if "=" in term:
        key, _, value = term.partition("=")
        if key not in row:
            raise ArtifactError(f"unknown filter field {key!r}; use one of {', '.join(FILTER_FIELDS)}")
        wanted = value.split(",")
        if key in NUMERIC_FIELDS and not all(v.isdigit() for v in wanted):
            raise BadInputError(f"{key}={value} is not a whole number (or a comma list of them); e.g. {key}="
                                f"{NUMERIC_FIELDS[key]}")
        return row[key] in wanted
    return any(term in normalize(i) for i in spec.all_ids())


@lru_cache(maxsize=1)
def paper() -> Catalog:
    """The paper's catalog alone (table.py)."""
    specs = [_dense(b) for b in BASES.values()]
    for fam in FAMILIES:
        specs.extend(_expand(fam))
    return Catalog(specs)


def _lookup(model_id: str) -> ModelSpec:
    """A model by id without listing all of yours (what a model file's base is looked up with)."""
    spec = paper()._index.get(normalize(model_id)) or registry.resolve(model_id, _lookup)
    if spec is None:
        raise UnknownModelError(model_id, [s.name for s in paper().specs])
    return spec


def load() -> Catalog:
    """The paper's catalog, and your models once `use(settings)` ran (a name of yours that is a catalog id is
    refused in one sentence)."""
    yours = registry.specs(_lookup)
    if not yours:
        return paper()
    if _combined.get("yours") is not yours:
        taken = [s.name for s in yours if normalize(s.name) in paper()._index]
        if taken:
            raise BadInputError(f"your model file {taken[0]}.toml takes the name of a catalog model; rename it")
        _combined.update(yours=yours, catalog=Catalog(paper().specs + yours))
    return _combined["catalog"]


_combined: dict = {}


def get(model_id: str) -> ModelSpec:
    return load().get(model_id)


def base_of(spec: ModelSpec) -> ModelSpec:
    """The dense model a compressed one starts from (a catalog base, or your model by its reference)."""
    return get(spec.base.source or spec.base.key)


def use(settings) -> None:
    """Let every lookup see your models (`<ARTIFACT_RECIPES>/models/`) and model references; the CLI calls it."""
    registry.use(settings)


__all__ = ["Base", "Calibration", "Catalog", "ModelSpec", "base_of", "get", "load", "normalize", "paper", "use",
           "FILTER_FIELDS"]
