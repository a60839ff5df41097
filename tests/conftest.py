import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"


@pytest.fixture
def recipes_copy(tmp_path) -> Path:
    """A scratch copy of reproduce/ that a test may break on purpose."""
    dst = tmp_path / "reproduce"
    shutil.copytree(ROOT / "reproduce", dst)
    for f in dst.rglob("*"):
        f.chmod(0o644 if f.is_file() else 0o755)
    return dst


@pytest.fixture
def cli(tmp_path):
    """Run `python -m artifact ...` in a subprocess with its own results folder; returns CompletedProcess."""
    def run(*args, recipes: Path | None = None, env_extra: dict | None = None):
        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ARTIFACT_RESULTS": str(tmp_path / "results")}
        if recipes:
            env["ARTIFACT_RECIPES"] = str(recipes)
        env.update(env_extra or {})
        return subprocess.run([sys.executable, "-m", "artifact", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
    return run
