"""The results contract: the one module that knows the results folder layout and the score record.

    <results>/eval/<model>/<model digest>/<perspective>/<config hash>/   one evaluation (Results)
        config.json    what the hash covers: prompts mode, template, data source and files, limit, generation
        samples.jsonl  one line per finished request (key, prompt sha256, replies), appended and flushed per batch
        score.json     the score record (SCHEMA), with its interval and provenance
    <results>/eval/_toxicity/                                         the toxicity scorers' cache
    <results>/eval/_judgments/                                        the MT-Bench judge's cache
    <results>/<profile>/eval/...                                      a recorded profile's runs (make demo, check)
    <results>/tables/                                                 built tables and their diffs

Evaluation writes through `Results` (a killed run leaves at most a torn last line, which the next run cuts off
before appending); reports read scores only through `read_scores()`, which checks every record it returns.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from . import guard
from .errors import FileFormatError
from .provenance import rel, sha256_file

SCHEMA = 1  # the score record's version ("schema" in score.json); a record without it predates versioning (same fields)
EVAL = "eval"


def digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def eval_root(results: Path) -> Path:
    return results / EVAL


def toxicity_cache(results: Path) -> Path:
    return results / EVAL / "_toxicity"


def folder(results: Path, model: str, model_digest: str, perspective: str, config_hash: str) -> "Results":
    """The folder of one evaluation: a model revision (its store manifest's digest), a perspective, a config."""
    return Results(results / EVAL / model / model_digest[:16] / perspective / config_hash)


def result_folders(results: Path, model: str | None = None) -> list[Path]:
    """Evaluation folders (those with a config.json) of full runs (<results>/eval) and of the recorded profiles
    (<results>/<profile>/eval), one model's where given."""
    out = []
    for base in [eval_root(results), *sorted(results.glob(f"*/{EVAL}"))]:
        out += [p.parent for p in base.glob(f"{model or '*'}/*/*/*/config.json")]
    return sorted(out)


class Results:
    """One evaluation folder: its config, its append-only samples and its score record."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.samples = folder / "samples.jsonl"
        self.score = folder / "score.json"
        self.config = folder / "config.json"

    @property
    def toxicity_cache(self) -> Path:
        """The toxicity scorers' cache of the results tree this folder belongs to."""
        return self.folder.parents[3] / "_toxicity"

    @property
    def judgments(self) -> Path:
        """The judge's cache of the results tree this folder belongs to (MT-Bench)."""
        return self.folder.parents[3] / "_judgments"

    def read_config(self) -> dict:
        return json.loads(self.config.read_text(encoding="utf-8"))

    def read_score(self) -> dict:
        """The raw score record ({} when none was written yet)."""
        return json.loads(self.score.read_text(encoding="utf-8")) if self.score.is_file() else {}

    def start(self, config: dict) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if not self.config.is_file():
            write_atomic(self.config, config)

    def shard_file(self, i: int, k: int) -> Path:
        return self.folder / f"samples.shard-{i}-of-{k}.jsonl"

    def done(self) -> dict[str, dict]:
        """Finished samples by key, from samples.jsonl and every shard's file (`make sweep` generates a perspective
        in shards, each into its own file; the scoring run reads them all); a torn trailing line (the run was
        killed mid-write) is cut off its file."""
        out = {}
        for path in [*sorted(self.folder.glob("samples.shard-*.jsonl")), self.samples]:
            out.update({row["key"]: row for row in read_rows(path, ("key", "replies"))})
        return out

    def append(self, rows: list[dict], shard: tuple[int, int] | None = None) -> None:
        append_rows(self.shard_file(*shard) if shard else self.samples, rows)

    def claim_shard(self, i: int, k: int):
        """Hold one shard's file: shards of one folder run side by side, a second run of the same shard is refused.
        (The scoring run claims the folder; while it scores, a late shard could only add what it already read.)"""
        self.folder.mkdir(parents=True, exist_ok=True)
        return guard.lock(self.folder / f".shard-{i}-of-{k}.lock", f"shard {i}/{k} of {rel(self.folder)}")

    def claim(self):
        """Hold this folder while generating and scoring into it: a second run of the same model, perspective and
        config is refused (BusyError, naming this one) instead of generating everything twice. The folder itself is
        locked (its `.lock` file only names the owner), so deleting that file lets no second run in."""
        self.folder.mkdir(parents=True, exist_ok=True)
        return guard.lock(self.folder, f"the evaluation folder {rel(self.folder)}")

    def write_score(self, score: dict) -> None:
        write_atomic(self.score, {"schema": SCHEMA, **{k: v for k, v in score.items() if k != "schema"}})

    def __str__(self) -> str:
        return rel(self.folder)


@dataclass(frozen=True)
class ScoreRecord:
    """One score.json as the report reads it: checked on reading, the raw record kept for provenance."""

    path: Path
    data: dict

    @classmethod
    def read(cls, path: Path) -> "ScoreRecord":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise FileFormatError(path, None, f"not a readable score file ({type(e).__name__}); rerun `make eval` or "
                                              "`make rescore` to rewrite it") from None
        if not isinstance(data, dict):
            raise FileFormatError(path, None, "a score file holds one JSON object")
        schema = data.get("schema", 0)
        if not isinstance(schema, int) or schema > SCHEMA:
            raise FileFormatError(path, None, f"score record schema {schema!r} is newer than this code reads "
                                              f"({SCHEMA}); update the checkout")
        for k in ("model", "dimension"):
            if not isinstance(data.get(k), str):
                raise FileFormatError(path, None, f"the score record has no {k!r}")
        s = data.get("score")
        if s is not None and not _number(s):
            raise FileFormatError(path, None, f"score {s!r} is not a finite number")
        _check_numbers(path, data)
        return cls(path, data)

    model = property(lambda self: self.data["model"])
    dimension = property(lambda self: self.data["dimension"])
    score = property(lambda self: None if self.data.get("score") is None else float(self.data["score"]))
    partial = property(lambda self: bool(self.data.get("partial")))
    items = property(lambda self: self.data.get("items"))

    @property
    def ci95(self) -> tuple | None:
        ci = self.data.get("ci95")
        return tuple(ci) if ci else None

    @property
    def replicates(self) -> tuple | None:
        return _resamples((self.data.get("interval") or {}).get("replicates"))

    @property
    def breakdown(self) -> dict[str, tuple[float, tuple | None, tuple | None]]:
        """The per-scenario values (Figures 4, 6, 12-25): name -> (value, 95% interval, resamples); {} for a record
        written before they existed (`make rescore` adds them)."""
        parts = (self.data.get("interval") or {}).get("breakdown") or {}
        values = self.data.get("breakdown") or {}  # their types were checked on reading (_check_numbers)
        out = {}
        for name, v in values.items():
            p = parts.get(name) or {}
            out[name] = (float(v), tuple(p["ci95"]) if p.get("ci95") else None, _resamples(p.get("replicates")))
        return out

    @property
    def sampled(self) -> bool:
        """Its only difference from the full benchmark is LIMIT (a seeded random sample of the full data's items per
        task, with its interval): it stands for the full score. The vendored subset, SAMPLES/MAX_TOKENS caps and
        missing inputs measure something else."""
        kind = (self.data.get("data") or {}).get("kind")
        return bool(self.data.get("limit")) and kind in ("hub", "local", "fastchat") and \
            not self.data.get("missing") and \
            self.data.get("ci95") is not None

    def origin(self) -> dict:
        """Where the number comes from, for a table cell's provenance."""
        return {"source": "local", "file": rel(self.path), "sha256": sha256_file(self.path),
                "code_commit": (self.data.get("provenance") or {}).get("code_commit"),
                **{k: self.data.get(k) for k in ("revision", "scorer", "config_hash", "toxicity_scorer", "judge",
                                                  "limit")}}


def _resamples(reps) -> tuple | None:
    """A bootstrap's resamples, or None where there are none or one of them had no value."""
    return tuple(reps) if reps and None not in reps else None


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check_numbers(path: Path, data: dict) -> None:
    """The numbers a report reads from a score record (intervals, resamples, per-scenario values) are numbers, or a
    damaged file is named in one sentence instead of failing somewhere in the arithmetic."""
    def bad(what: str):
        raise FileFormatError(path, None, f"{what}; `make rescore` rewrites it from the stored replies")

    def interval(ci, what: str) -> None:
        if ci is not None and not (isinstance(ci, list) and len(ci) == 2 and all(_number(x) for x in ci)):
            bad(f"{what} {ci!r} is not a [low, high] pair of numbers")

    def resamples(reps, what: str) -> None:
        if reps is not None and not (isinstance(reps, list) and all(x is None or _number(x) for x in reps)):
            bad(f"{what} is not a list of numbers")

    interval(data.get("ci95"), "ci95")
    iv = data.get("interval")
    if iv is not None and not isinstance(iv, dict):
        bad("its interval is not a JSON object")
    iv = iv or {}
    resamples(iv.get("replicates"), "interval.replicates")
    values, parts = data.get("breakdown") or {}, iv.get("breakdown") or {}
    if not isinstance(values, dict) or not isinstance(parts, dict):
        bad("its per-scenario values (breakdown) are not a JSON object")
    for name, v in values.items():
        if not _number(v):
            bad(f"per-scenario value {name!r} is {v!r}, not a finite number")
    for name, p in parts.items():
        if not isinstance(p, dict):
            bad(f"interval.breakdown.{name} is not a JSON object")
        interval(p.get("ci95"), f"interval.breakdown.{name}.ci95")
        resamples(p.get("replicates"), f"interval.breakdown.{name}.replicates")


def read_scores(results: Path, model: str | None = None) -> list[ScoreRecord]:
    """Every score record under `<results>/eval/` (one model's folder where given), in path order, each checked."""
    base = eval_root(results) / model if model else eval_root(results)
    return [ScoreRecord.read(p) for p in sorted(base.glob("**/score.json"))]


def read_rows(path: Path, require: tuple[str, ...] = ()) -> list[dict]:
    """The JSON lines of an append-only file; a torn trailing line (a kill mid-write) is cut off the file, so the
    next append starts on a fresh line. Readers and writers take the file's flock, so a line another live run is
    appending is never mistaken for a torn one."""
    if not path.is_file():
        return []
    with open(path, "r+b") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        data = f.read()
        keep = data[:data.rfind(b"\n") + 1]
        if len(keep) != len(data):
            f.truncate(len(keep))
    rows = []
    for i, line in enumerate(keep.decode("utf-8", errors="replace").splitlines(), 1):
        try:
            row = json.loads(line)
        except ValueError:
            row = None
        if not isinstance(row, dict) or (require and not all(k in row for k in require)):
            what = "not a JSON object" if not isinstance(row, dict) else f"lacks {', '.join(require)}"
            raise FileFormatError(path, i, f"{what}, so nothing from this file is used; delete the line (or the file) "
                                           "and rerun: what it held is generated again")
        rows.append(row)
    return rows


def append_rows(path: Path, rows: list[dict]) -> None:
    """Append JSON lines and fsync them, holding the file's flock (runs share the toxicity cache): what is on disk
    survives a kill, and two writers never interleave."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        f.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        f.flush()
        os.fsync(f.fileno())


_NUMBERS = re.compile(r"\[\n\s*((?:-?[\d.eE+-]+|null)(?:,\n\s*(?:-?[\d.eE+-]+|null))*)\n\s*\]")  # indented lists only


def write_atomic(path: Path, obj) -> None:
    """Indented JSON, each list of numbers on one line (a bootstrap's 1,000 resamples stay one line, not 1,000)."""
    text = json.dumps(obj, indent=2, ensure_ascii=False)
    guard.write_text(path, _NUMBERS.sub(lambda m: "[" + ", ".join(re.split(r",\n\s*", m.group(1))) + "]", text) + "\n")
