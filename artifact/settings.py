"""The one place where the environment is read. Everything else receives these values as arguments."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPRODUCE = ROOT / "reproduce"
CHECKSUMS = ROOT / "checksums"


@dataclass(frozen=True)
class Settings:
    results: Path  # tables, diffs and (later) evaluation results
    recipes: Path  # table recipes, reference numbers and tolerances (the repository's reproduce/)
    store: Path  # the model store: one folder per model
    hf_home: Path | None  # Hugging Face cache, when the user set one


def load(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    cache = Path(env.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return Settings(
        results=Path(env.get("ARTIFACT_RESULTS", ROOT / "results")),
        recipes=Path(env.get("ARTIFACT_RECIPES", REPRODUCE)),
        store=Path(env.get("ARTIFACT_STORE", cache / "comp-trust-artifact" / "models")),
        hf_home=Path(env["HF_HOME"]) if env.get("HF_HOME") else None,
    )
