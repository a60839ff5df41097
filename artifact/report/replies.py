"""A recorded profile's run (make demo) compared with the recorded run reply by reply, not only score by score.

Beside its numbers (reference/<profile>.csv) a profile that records replies keeps:
    reference/replies.jsonl  one line per request of every cell: row, model, perspective, key, sha256 of its replies
                             and the replies themselves
    reference/models.json    per model: the sha256 of its store manifest, and a digest of every tensor
    reference/seeds.csv      the cells of a seeded row rebuilt with the other calibration seeds (recorded once)

An identical reply cannot change a score, so where the model's bytes and every reply of a cell match the record the
cell must repeat its recorded number exactly (else the scoring changed: FAIL). Where some replies differ, greedy
decoding flipped near-ties (float32 rounds differently on another CPU): the cell keeps its interval verdict, and a
model whose share of differing replies exceeds the rate measured across kernel paths (`reply_flips` in
reproduce/tolerances.toml) is at least a WARN. Where the model's bytes differ from the recorded build (a future
library, an unusual CPU), its cells are judged against the spread of the calibration seeds' builds instead, and
say so; a model with no seeds keeps its interval verdict, with the number of differing tensors named.
"""
from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..base import guard, store
from ..base.dimensions import BY_LABEL
from ..base.errors import FileFormatError
from ..base.results import Results
from ..base.settings import ROOT
from .build import TableResult
from .diff import EPS, CellDiff

REPLIES, MODELS, SEEDS = "replies.jsonl", "models.json", "seeds.csv"
SHOWN = 3  # differing replies quoted per cell in the summary (the JSON has them all)
ROUNDING = 0.005  # the recorded CSV keeps two decimals


def digest(replies: list) -> str:
    return hashlib.sha256(json.dumps(replies, ensure_ascii=False).encode()).hexdigest()


@dataclass
class CellReplies:
    row: str
    column: str
    model: str
    perspective: str
    total: int = 0  # recorded requests
    same: int = 0  # byte-identical replies
    differing: list[dict] = field(default_factory=list)  # {key, recorded, new}; new is None where not generated


@dataclass
class ModelBytes:
    model: str
    same: bool  # every file identical to the recorded build's
    tensors: int  # recorded tensors
    differ: int  # tensors whose bytes differ (or that only one build has)

    @property
    def weights_same(self) -> bool:
        """The model computes what the recorded one did (its files may differ elsewhere, a config say)."""
        return self.same or (self.tensors > 0 and self.differ == 0)

    @property
    def label(self) -> str:
        return "bytes identical to the recorded build" if self.same else \
            "weights identical to the recorded build, other files differ" if self.weights_same else \
            f"**bytes differ from the recorded build: {self.differ} of {self.tensors} tensors**"


@dataclass
class Agreement:
    cells: dict[tuple[str, str], CellReplies]
    models: dict[str, ModelBytes]
    allowed: float  # share of a model's replies that near-tie flips may change (measured)

    def share(self, model: str) -> float:
        cells = [c for c in self.cells.values() if c.model == model]
        total = sum(c.total for c in cells)
        return sum(c.total - c.same for c in cells) / total if total else 0.0

    def to_json(self) -> dict:
        return {"allowed_share": self.allowed, "models": [asdict(m) for m in self.models.values()],
                "cells": [asdict(c) for c in self.cells.values()]}


def _cells(result: TableResult):
    """(row, column, model, perspective, samples folder) of every local single-model cell of the table."""
    for (row, column), cell in result.cells.items():
        dim = BY_LABEL.get(column)
        origins = [i.get("origin") for i in cell.inputs]
        if dim is None or len(origins) != 1 or not origins[0] or not origins[0].get("file"):
            continue
        path = Path(origins[0]["file"])
        yield row, column, cell.inputs[0]["name"], dim.key, (path if path.is_absolute() else ROOT / path).parent


def record(root: Path, result: TableResult, store_dir: Path) -> list[Path]:
    """Write the run's replies and its models' digests as the profile's reference (on purpose only)."""
    lines, models = [], {}
    for row, _, model, perspective, folder in sorted(_cells(result), key=lambda c: (c[0], c[1])):
        for key, r in sorted(Results(folder).done().items()):
            lines.append(json.dumps({"row": row, "model": model, "perspective": perspective, "key": key,
                                     "sha256": digest(r["replies"]), "replies": r["replies"]}, ensure_ascii=False))
        where = store.folder(store_dir, model)
        models[model] = {"manifest_sha256": store.manifest_sha(where), "tensors": store.tensor_digests(where)}
    ref = root / "reference"
    guard.write_text(ref / REPLIES, "\n".join(lines) + "\n")
    guard.write_text(ref / MODELS, json.dumps(models, indent=1, sort_keys=True) + "\n")
    return [ref / REPLIES, ref / MODELS]


def _recorded(root: Path) -> tuple[dict, dict] | None:
    ref = root / "reference"
    if not (ref / REPLIES).is_file() or not (ref / MODELS).is_file():
        return None
    by_cell: dict[tuple[str, str], dict[str, dict]] = {}
    for n, line in enumerate((ref / REPLIES).read_text(encoding="utf-8").splitlines(), start=1):
        try:
            r = json.loads(line)
            by_cell.setdefault((r["model"], r["perspective"]), {})[r["key"]] = r
        except (ValueError, KeyError, TypeError):
            raise FileFormatError(ref / REPLIES, n, "not a recorded reply (model, perspective, key, sha256, "
                                                    "replies)") from None
    try:
        models = json.loads((ref / MODELS).read_text(encoding="utf-8"))
    except ValueError as e:
        raise FileFormatError(ref / MODELS, None, f"not valid JSON ({e})") from None
    return by_cell, models


def compare(root: Path, result: TableResult, store_dir: Path, allowed: float) -> Agreement | None:
    """This run against the recorded replies and builds; None where the profile records no replies."""
    recorded = _recorded(root)
    if recorded is None:
        return None
    by_cell, models = recorded
    out, seen = {}, {}
    for row, column, model, perspective, folder in _cells(result):
        old = by_cell.get((model, perspective), {})
        new = Results(folder).done()
        c = CellReplies(row, column, model, perspective, total=len(old))
        for key, r in sorted(old.items()):
            got = new.get(key, {}).get("replies")
            if got is not None and digest(got) == r["sha256"]:
                c.same += 1
            else:
                c.differing.append({"key": key, "recorded": r["replies"], "new": got})
        out[(row, column)] = c
        if model not in seen:
            where = store.folder(store_dir, model)
            rec = models.get(model) or {}
            same = rec.get("manifest_sha256") == store.manifest_sha(where)
            differ = [] if same else store.tensors_differing(rec.get("tensors") or {}, store.tensor_digests(where))
            seen[model] = ModelBytes(model, same, len(rec.get("tensors") or {}), len(differ))
    return Agreement(out, seen, allowed)


def seed_spread(root: Path, reference: dict[tuple[str, str], float]) -> dict[tuple[str, str], list[float]]:
    """{(row, column): values of every recorded seed} for the rows reference/seeds.csv covers (seed 0 is the
    profile's own reference)."""
    path = root / "reference" / SEEDS
    if not path.is_file():
        return {}
    out: dict[tuple[str, str], list[float]] = {}
    with open(path, newline="", encoding="utf-8") as f:
        for n, rec in enumerate(csv.DictReader(f), start=2):
            try:
                row = rec.pop("row")
                rec.pop("model")
                for column, value in rec.items():
                    out.setdefault((row, column), [reference[(row, column)]]).append(float(value))
            except (KeyError, ValueError, TypeError):
                raise FileFormatError(path, n, "not a seed row (row, model, then one number per column of the "
                                               "recorded table)") from None
    return out


def _overlap_gap(lo: float, hi: float, d: CellDiff) -> float:
    got_lo, got_hi = (min(d.ci95[0], d.reproduced), max(d.ci95[1], d.reproduced)) if d.ci95 else \
        (d.reproduced, d.reproduced)
    return max(lo - got_hi, got_lo - hi, 0.0)


def judge(cells: list[CellDiff], agreement: Agreement, spread: dict, warn: float) -> None:
    """Rewrite the verdicts of `cells` (a recorded profile's diff) from the reply-level comparison (in place)."""
    worse = {"PASS": 0, "WARN": 1, "FAIL": 2}
    for d in cells:
        c = agreement.cells.get((d.row, d.column))
        if c is None or not isinstance(d.reproduced, float):
            continue
        m = agreement.models[c.model]
        if not m.weights_same:
            bytes_ = f"the model's bytes differ from the recorded build ({m.differ} of {m.tensors} tensors)"
            values = spread.get((d.row, d.column))
            if values:
                lo, hi = min(values), max(values)
                gap = _overlap_gap(lo, hi, d)
                d.verdict = "PASS" if gap <= (d.tolerance or 0) + EPS else "WARN" if gap <= warn + EPS else "FAIL"
                d.why = (f"{bytes_}: judged against the spread of {len(values)} calibration seeds' builds "
                         f"[{lo:.2f}, {hi:.2f}], not the recorded number")
            else:
                d.why = f"{bytes_}; no other seeds are recorded for it, so it is judged by its interval" + \
                        (f"; {d.why}" if d.why else "")
        elif c.total and c.same == c.total:
            if abs(d.reproduced - d.reference) <= ROUNDING + EPS:
                d.verdict, d.why = "PASS", ""
            else:
                d.verdict = "FAIL"
                d.why = ("every reply is byte-identical to the recorded run's, yet the score differs: the scoring "
                         "code or its data changed")
        elif c.total:
            note = f"{c.total - c.same} of {c.total} replies differ from the recorded run"
            share = agreement.share(c.model)
            if share > agreement.allowed + EPS:
                d.verdict = max(d.verdict, "WARN", key=worse.get)
                note += (f"; {share:.1%} of {c.model}'s replies differ, more than near-tie flips explain (at most "
                         f"{agreement.allowed:.1%} measured across CPU kernel paths)")
            d.why = f"{note}; {d.why}" if d.why else note


def _quote(replies) -> str:
    if replies is None:
        return "(not generated)"
    text = " | ".join(str(r) for r in replies)
    return json.dumps(text[:77] + "…" if len(text) > 78 else text, ensure_ascii=False)


def markdown(agreement: Agreement) -> str:
    """The "Replies vs recorded" section of a profile's summary."""
    lines = ["## Replies vs recorded", "",
             "Each cell's replies compared byte for byte with the recorded run's: an identical reply cannot change a "
             "score. Near-tie flips of greedy decoding on another CPU may change up to "
             f"{agreement.allowed:.1%} of a model's replies (measured across kernel paths).", ""]
    for m in agreement.models.values():
        cells = [c for c in agreement.cells.values() if c.model == m.model]
        same, total = sum(c.same for c in cells), sum(c.total for c in cells)
        lines.append(f"- `{m.model}` ({m.label}): {same} of {total} replies identical ({agreement.share(m.model):.1%} "
                     "differ); " + ", ".join(f"{c.column} {c.same}/{c.total}" for c in cells))
        for c in cells:
            for item in c.differing[:SHOWN]:
                lines.append(f"  - {c.column} `{item['key']}`: recorded {_quote(item['recorded'])} → now "
                             f"{_quote(item['new'])}")
            if len(c.differing) > SHOWN:
                lines.append(f"  - {c.column}: and {len(c.differing) - SHOWN} more (the report's JSON lists all)")
    return "\n".join(lines)
