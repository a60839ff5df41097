"""Evaluation results on disk: results/eval/<model>/<model digest>/<perspective>/<config hash>/

  config.json    what the hash covers: prompts mode, template, data source and files, limit, generation settings
  samples.jsonl  one line per finished request (key, prompt sha256, replies), appended and flushed per batch
  score.json     the perspective's score, refusal rate and details, with provenance

A killed run leaves at most a torn last line, which the next run cuts off before appending.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from ..provenance import rel


def digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class Results:
    def __init__(self, folder: Path):
        self.folder = folder
        self.samples = folder / "samples.jsonl"
        self.score = folder / "score.json"

    def start(self, config: dict) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / "config.json"
        if not path.is_file():
            write_atomic(path, config)

    def done(self) -> dict[str, dict]:
        """Finished samples by key; a torn trailing line (the run was killed mid-write) is cut off the file."""
        return {row["key"]: row for row in read_rows(self.samples)}

    def append(self, rows: list[dict]) -> None:
        append_rows(self.samples, rows)

    def write_score(self, score: dict) -> None:
        write_atomic(self.score, score)

    def __str__(self) -> str:
        return rel(self.folder)


def read_rows(path: Path) -> list[dict]:
    """The JSON lines of an append-only file; a torn trailing line (a kill mid-write) is cut off the file, so the
    next append starts on a fresh line."""
    if not path.is_file():
        return []
    data = path.read_bytes()
    keep = data[:data.rfind(b"\n") + 1]
    if len(keep) != len(data):
        with open(path, "r+b") as f:
            f.truncate(len(keep))
    return [json.loads(line) for line in keep.decode("utf-8").splitlines()]


def append_rows(path: Path, rows: list[dict]) -> None:
    """Append JSON lines and fsync them: what is on disk survives a kill."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        f.flush()
        os.fsync(f.fileno())


def write_atomic(path: Path, obj) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def scores(root: Path, model: str) -> list[dict]:
    """Every score.json recorded for a model (any digest, perspective and config)."""
    base = root / "eval" / model
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(base.glob("*/*/*/score.json"))]
