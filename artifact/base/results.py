"""The results contract: the one module that knows the results folder layout (`Layout`) and the score record.

    <results>/eval/<model>/<model-digest>/<perspective>/<config-hash>/   one evaluation (Results)
        config.json    what the hash covers: prompts mode, template, data source and files, limit, generation
        samples.jsonl  one line per finished request (key, prompt sha256, replies), appended and flushed per batch
        score.json     the score record (SCHEMA), with its interval and provenance
    <results>/eval/_toxicity/                                         the toxicity scorers' cache
    <results>/eval/_judgments/                                        the MT-Bench judge's cache
    <results>/tables/                                                 built tables and their diffs
    <results>/figures/                                                drawn figures
    <results>/sweeps/<table>/                                         a sweep's manifest and job folders
    <results>/bench/                                                  benchmark measurements
    <results>/toxicity-agreement.{json,md}                            how the toxicity scorers track Perspective
    <results>/check/check-report.md                                   make check's report
    <results>/logs/                                                   the libraries' messages, one file per command
    <results>/<profile>/                                              a recorded profile (make demo, check): this
                                                                      layout again, inside
    <results>/vllm/<profile>/                                         the same profile run with vLLM

Evaluation writes through `Results` (a killed run leaves at most a torn last line, which the next run cuts off
before appending); reports read scores only through `read_scores()`, which checks every record it returns.
"""
from __future__ import annotations

import fcntl
import json
import math
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from . import guard
from .errors import BusyError, FileFormatError
from .provenance import canonical_digest, rel, sha256_file

SCHEMA = 1  # the score record's version ("schema" in score.json); a record without it predates versioning (same fields)
EVAL = "eval"


digest = canonical_digest  # a run's config hash


@dataclass(frozen=True)
class Layout:
    """Where everything lives under one results folder: the layout the module docstring draws, in one object
    (tests/base/test_results.py keeps the two equal). A recorded profile's folder has this layout again, inside."""
    root: Path

    @property
    def eval(self) -> Path:
        return self.root / EVAL

    @property
    def toxicity(self) -> Path:
        return self.eval / "_toxicity"

    @property
    def judgments(self) -> Path:
        return self.eval / "_judgments"

    @property
    def tables(self) -> Path:
        return self.root / "tables"

    @property
    def figures(self) -> Path:
        return self.root / "figures"

    @property
    def bench(self) -> Path:
        return self.root / "bench"

    @property
    def agreement(self) -> Path:
        """toxicity-agreement (.json and .md beside each other)."""
        return self.root / "toxicity-agreement"

    @property
    def compare(self) -> Path:
        """make compare: <name>.{md,json} per model of yours (its figure is figures/compare-<name>.png)."""
        return self.root / "compare"

    @property
    def logs(self) -> Path:
        """The libraries' warnings, one file per command (artifact/base/liblog.py)."""
        return self.root / "logs"

    def check_report(self, backend: str = "hf") -> Path:
        return self.profile("check", backend).root / "check-report.md"

    def sweep(self, table: str) -> Path:
        return self.root / "sweeps" / table

    def profile(self, name: str, backend: str = "hf") -> "Layout":
        """A recorded profile's own results: <results>/<profile> with transformers, which recorded the reference,
        <results>/<backend>/<profile> with another backend, so two backends' runs never meet in one table."""
        return Layout((self.root if backend == "hf" else self.root / backend) / name)

    def run(self, model: str, model_digest: str, perspective: str, config_hash: str) -> "Results":
        """The folder of one evaluation: a model revision (its store manifest's digest), a perspective, a config."""
        return Results(self.eval / model / model_digest[:16] / perspective / config_hash, self)

    @classmethod
    def of(cls, run_folder: Path) -> "Layout":
        """The layout an evaluation folder (<results>/eval/<model>/<digest>/<perspective>/<hash>) belongs to."""
        return cls(Path(run_folder).parents[4])

    def documented(self) -> dict[str, Path]:
        """Each folder the module docstring draws, by name (the test compares the two)."""
        return {"eval": self.eval, "toxicity": self.toxicity, "judgments": self.judgments, "tables": self.tables,
                "figures": self.figures, "sweeps": self.root / "sweeps", "bench": self.bench,
                "agreement": self.agreement.with_suffix(".{json,md}"), "check": self.check_report(),
                "logs": self.logs}


def leftovers(results: Path) -> list[Path]:
    """Temporary files of score and config writers killed before their rename (`.<name>.tmp-<pid>-<random>`) whose
    writer is gone: the next run of the folder removes them (Results.claim); `make verify` lists them."""
    out = []
    root = Layout(results).eval
    for p in sorted(root.glob("**/.*.tmp-*")) if root.is_dir() else []:
        pid = p.name.rpartition(".tmp-")[2].split("-")[0]
        if pid.isdigit() and Path(f"/proc/{pid}").exists():
            continue  # a live writer's
        out.append(p)
    return out


def result_folders(results: Path, model: str | None = None) -> list[Path]:
    """Evaluation folders (those with a config.json) of full runs (<results>/eval) and of the recorded profiles
    (<results>/<profile>/eval), one model's where given."""
    out = []
    for base in [Layout(results).eval, *sorted(results.glob(f"*/{EVAL}"))]:
        out += [p.parent for p in base.glob(f"{model or '*'}/*/*/*/config.json")]
    return sorted(out)


class Results:
    """One evaluation folder: its config, its append-only samples and its score record."""

    def __init__(self, folder: Path, layout: Layout | None = None):
        self.folder = folder
        self.layout = layout or Layout.of(folder)
        self.samples = folder / "samples.jsonl"
        self.score = folder / "score.json"
        self.config = folder / "config.json"

    @property
    def toxicity_cache(self) -> Path:
        """The toxicity scorers' cache of the results tree this folder belongs to."""
        return self.layout.toxicity

    @property
    def judgments(self) -> Path:
        """The judge's cache of the results tree this folder belongs to (MT-Bench)."""
        return self.layout.judgments

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
            rows = read_rows(path, ("key", "replies", "prompt_sha256"))
            for i, row in enumerate(rows, 1):
                replies = row["replies"]
                if not isinstance(row["key"], str) or not isinstance(replies, list) or not replies or \
                        not all(isinstance(r, str) for r in replies):
                    raise FileFormatError(path, i, f"its replies are {replies!r}, not a list of one or more texts, so "
                                                   "nothing from this file is used; delete the line (or the file) and "
                                                   "rerun: what it held is generated again")
            out.update({row["key"]: row for row in rows})
        return out

    def append(self, rows: list[dict], shard: tuple[int, int] | None = None) -> None:
        append_rows(self.shard_file(*shard) if shard else self.samples, rows)

    @contextmanager
    def claim_shard(self, i: int, k: int):
        """Hold one shard's file: shards of one split (the same k) of one folder run side by side; a second run of the
        same shard, a shard of another split (whose requests overlap this one's) and a whole run of the folder are
        refused while this one lives."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with guard.lock(self.folder / f".shard-{i}-of-{k}.lock", f"shard {i}/{k} of {rel(self.folder)}"):
            who = guard.busy(self.folder)
            if who:
                raise BusyError(f"a whole run of {rel(self.folder)} is running ({who}); a shard beside it would "
                                "generate its requests twice: wait for it to finish or stop it")
            for lock in sorted(self.folder.glob(".shard-*-of-*.lock")):
                j, _, other = lock.name[7:-5].partition("-of-")
                who = guard.busy(lock) if other != str(k) else None
                if who:
                    raise BusyError(f"shard {j}/{other} of {rel(self.folder)} is running ({who}), another split "
                                    f"than {i}/{k}: their requests overlap; run the shards of one split (SHARD=i/"
                                    f"{other}) or wait")
            yield

    @contextmanager
    def claim(self):
        """Hold this folder while generating and scoring into it: a second run of the same model, perspective and
        config is refused (BusyError, naming this one) instead of generating everything twice. The folder itself is
        locked (its `.lock` file only names the owner), so deleting that file lets no second run in. A shard of
        the same folder running now refuses it too. Holding it, the temporary files of killed writers are removed."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with guard.lock(self.folder, f"the evaluation folder {rel(self.folder)}"):
            for lock in sorted(self.folder.glob(".shard-*-of-*.lock")):
                who = guard.busy(lock)
                if who:
                    raise BusyError(f"shard {lock.name[7:-5].replace('-of-', '/')} of {rel(self.folder)} is running "
                                    f"({who}); a whole run beside it would generate its requests twice: wait for it "
                                    "to finish or stop it")
            for tmp in self.folder.glob(".*.tmp-*"):  # no writer can be live here while we hold the folder
                tmp.unlink(missing_ok=True)
            yield

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


def _check_range(data: dict, bad) -> None:
    """A score, its interval and its resamples lie in what the dimension can score (0-100, toxicity 0-200, MT-Bench
    1-10), the interval runs low to high and does not lie far from its own value, and `items` is a count."""
    from .dimensions import BY_KEY
    dim = BY_KEY.get(data["dimension"])
    lo, hi = dim.bounds if dim else (float("-inf"), float("inf"))
    where = f"{data['dimension']}' range {dim.scale}" if dim else ""
    score, ci = data.get("score"), data.get("ci95")
    if score is not None and not lo <= score <= hi:
        bad(f"score {float(score)!r} lies outside {where}")
    if ci is not None:
        if not (lo <= ci[0] <= hi and lo <= ci[1] <= hi):
            bad(f"ci95 {[float(x) for x in ci]} lies outside {where}")
        if ci[0] > ci[1]:
            bad(f"ci95 {[float(x) for x in ci]} is not low then high")
        # a percentile bootstrap may leave its value a little outside; far outside, the record is not one run's
        if score is not None and max(ci[0] - score, score - ci[1]) > (ci[1] - ci[0]) + 5.0:
            bad(f"score {float(score)!r} lies far outside its interval {[float(x) for x in ci]}")
    items = data.get("items")
    if items is not None and (isinstance(items, bool) or not isinstance(items, int) or items < 0):
        bad(f"items {items!r} is not a count")
    reps = (data.get("interval") or {}).get("replicates") if isinstance(data.get("interval"), dict) else None
    if isinstance(reps, list):
        outside = next((x for x in reps if _number(x) and not lo <= x <= hi), None)
        if outside is not None:
            bad(f"interval.replicates holds {float(outside)!r}, outside {where}")


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
    _check_range(data, bad)
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
    base = Layout(results).eval / model if model else Layout(results).eval
    return [ScoreRecord.read(p) for p in sorted(base.glob("**/score.json"))]


def read_rows(path: Path, require: tuple[str, ...] = ()) -> list[dict]:
    """The JSON lines of an append-only file; a torn trailing line (a kill mid-write) is cut off the file, so the
    next append starts on a fresh line. Readers and writers take the file's flock, so a line another live run is
    appending is never mistaken for a torn one."""
    if path.is_symlink():
        raise FileFormatError(path, None, "is a symbolic link; this project writes its results files itself and "
                                          "never follows a link (the torn-line repair would cut the file it points "
                                          "to): replace the link with the file")
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
    if path.is_symlink():
        raise FileFormatError(path, None, "is a symbolic link; results are appended only to this project's own "
                                          "files: replace the link with the file")
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
