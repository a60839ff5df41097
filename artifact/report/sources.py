"""Where a cell's per-model numbers come from.

published  the authors' website scores (replay). The 2-decimal `leaderboard_full.csv` wins over the 1-decimal
           `num_sheet.csv` where it has the model and dimension: the paper averaged the 2-decimal values.
local      our own evaluation results: `<results>/eval/**/score.json`, one file per (model revision, perspective,
           config), written by `make eval`. Fields read here: `model` (any catalog id), `dimension` (a key of
           artifact.base.dimensions), `score`, `revision`, `scorer`, `config_hash`, and the interval: `ci95`, `items`
           and `interval.replicates` (a score.json written before intervals has none: its cells say so, and
           `make rescore` adds them from the stored replies), and the per-scenario values with theirs (`breakdown`,
           `interval.breakdown`: the breakdown figures). Two results for the same model
           and dimension with different configs are refused, never averaged silently. A LIMIT on the full data
           (DATA=hub or a full copy) is a seeded random sample whose interval says how sure it is: it is used, and
           its cell says so. Other partial scores (the vendored data subset, SAMPLES or MAX_TOKENS caps, missing
           inputs) measure something else and are left out, so their cells stay NOT-RUN.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from ..base import catalog
from ..base.dimensions import BY_KEY, DIMENSIONS, Dimension
from ..base.errors import ArtifactError, FileFormatError
from ..base.provenance import rel, sha256_file
from ..base.results import Layout, read_scores
from ..base.settings import REPRODUCE

WEBSITE = REPRODUCE / "reference" / "website"
SOURCES = ("published", "local", "local-partial")


@dataclass(frozen=True)
class Value:
    value: float
    origin: dict = field(default_factory=dict)  # file, line, column, sha256, source key: enough to find it again
    ci95: tuple[float, float] | None = None  # local scores: the 95% bootstrap interval (None: published, or none)
    items: int | None = None  # local scores: how many scored items the value rests on
    replicates: tuple | None = field(default=None, repr=False)  # local: the bootstrap's resampled scores


def read_website_table(path: Path, columns: dict[str, str], source: str) -> dict[tuple[str, str], Value]:
    """{(catalog id, dimension key): Value} from one website CSV; every row must name exactly one catalog model."""
    cat, digest, out, seen = catalog.load(), sha256_file(path), {}, {}
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in ["Model", *columns] if c not in (reader.fieldnames or [])]
        if missing:
            raise FileFormatError(path, 1, f"header lacks column(s) {', '.join(missing)}")
        for line, row in enumerate(reader, start=2):
            spec = cat.find(row["Model"])
            if spec is None:
                raise FileFormatError(path, line, f"model {row['Model']!r} is not in the catalog")
            if spec.id in seen:
                raise FileFormatError(path, line, f"{row['Model']!r} is the same catalog model as line "
                                                  f"{seen[spec.id]} ({spec.id})")
            seen[spec.id] = line
            for col, key in columns.items():
                try:
                    v = float(row[col])
                except (TypeError, ValueError):
                    raise FileFormatError(path, line, f"column {col!r} holds {row[col]!r}, not a number") from None
                out[(spec.id, key)] = Value(v, {"source": source, "file": rel(path), "line": line, "column": col,
                                                "sha256": digest, "as_published": row["Model"]})
    return out


class PublishedScores:
    name = "published"

    def __init__(self, website: Path = WEBSITE):
        self.sheet = read_website_table(website / "num_sheet.csv",
                                        {d.website: d.key for d in DIMENSIONS if d.website}, "website-num_sheet")
        self.full = read_website_table(website / "leaderboard_full.csv",
                                       {d.website_full: d.key for d in DIMENSIONS if d.website_full},
                                       "website-leaderboard_full")

    def lookup(self, spec: catalog.ModelSpec, dim: Dimension) -> Value | None:
        key = (spec.id, dim.key)
        return self.full.get(key) or self.sheet.get(key)

    def lookup_part(self, spec: catalog.ModelSpec, dim: Dimension, part: str) -> Value | None:
        return None  # the authors published no per-scenario scores

    def part_names(self, spec: catalog.ModelSpec, dim: Dimension) -> list[str]:
        return []

    def models(self) -> set[str]:
        return {m for m, _ in self.sheet} | {m for m, _ in self.full}


class LocalScores:
    def __init__(self, results: Path, partial_ok: bool = False, name: str = "local"):
        self.name = name
        self.values: dict[tuple[str, str], Value] = {}
        self.parts: dict[tuple[str, str], dict[str, Value]] = {}  # per-scenario values (breakdown recipes)
        self.partial: list[str] = []  # score files left out because they are partial
        for record in read_scores(results):  # the results contract: every record checked on reading
            path = record.path
            if record.score is None or (record.partial and not partial_ok and not record.sampled):
                self.partial.append(rel(path))
                continue
            spec = catalog.load().find(record.model)
            dim = BY_KEY.get(record.dimension)
            if dim is None:
                raise FileFormatError(path, None, f"dimension {record.dimension!r} is not one of "
                                                  f"{', '.join(BY_KEY)}")
            if spec is None:  # your model whose model file is gone: its scores cannot name a model, and are left out
                continue
            key, value, origin = (spec.id, dim.key), record.score, record.origin()
            interval = {"ci95": record.ci95, "items": record.items, "replicates": record.replicates}
            if key in self.values and self.values[key].origin.get("config_hash") != origin["config_hash"]:
                raise ArtifactError(f"two local results for {spec.name} / {dim.label} with different configs "
                                    f"({self.values[key].origin['file']} and {origin['file']}); remove one")
            self.values[key] = Value(value, origin, **interval)
            self.parts[key] = {name: Value(v, origin, ci, None, reps)
                               for name, (v, ci, reps) in record.breakdown.items()}

    def lookup(self, spec: catalog.ModelSpec, dim: Dimension) -> Value | None:
        return self.values.get((spec.id, dim.key))

    def lookup_part(self, spec: catalog.ModelSpec, dim: Dimension, part: str) -> Value | None:
        return self.parts.get((spec.id, dim.key), {}).get(part)

    def part_names(self, spec: catalog.ModelSpec, dim: Dimension) -> list[str]:
        """The per-scenario values its score of `dim` holds (none: scored before they existed, or MMLU)."""
        return sorted(self.parts.get((spec.id, dim.key), {}))


@lru_cache(maxsize=4)
def published(website: Path = WEBSITE) -> PublishedScores:
    return PublishedScores(website)


def get(name: str, results: Path, recipes: Path = REPRODUCE, recorded=None):
    """The scores of SOURCE=`name`; `recorded`: the recorded profiles' names (default: those of the recipes'
    tolerances.toml)."""
    if name == "published":
        return published(recipes / "reference" / "website")
    if name in ("local", "local-partial"):  # local-partial: partial scores too (the vendored subset, SAMPLES caps)
        return LocalScores(results, partial_ok=name == "local-partial", name=name)
    if recorded is None:
        from .tolerances import load
        recorded = load(recipes / "tolerances.toml").recorded
    if name in recorded:
        # a recorded profile's own runs (make demo, make check: its section in tolerances.toml) live in
        # <results>/<name>/, apart from full runs; small LIMITs, so partial by design
        return LocalScores(Layout(results).profile(name).root, partial_ok=True, name=name)
    raise ArtifactError(f"unknown SOURCE {name!r}; use SOURCE=published (the paper's scores) or SOURCE=local")
