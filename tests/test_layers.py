"""The layer contracts (pyproject.toml [tool.importlinter]) hold, and they do catch an upward import."""
from __future__ import annotations

import shutil
import subprocess
import sys

from artifact.base.settings import ROOT

LINT = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"


def lint(cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", LINT], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(cwd), "HOME": str(cwd)})


def test_contracts_are_kept():
    r = lint(ROOT)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "2 kept, 0 broken" in r.stdout


def _copy(tmp_path):
    shutil.copytree(ROOT / "artifact", tmp_path / "artifact", ignore=shutil.ignore_patterns("__pycache__", "data"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def test_an_upward_import_breaks_the_layers(tmp_path):
    root = _copy(tmp_path)
    mmlu = root / "artifact" / "evaluate" / "mmlu.py"  # measure importing build: siblings must not
    mmlu.write_text(mmlu.read_text() + "\nfrom .. import compress  # noqa\n")
    r = lint(root)
    assert r.returncode == 1 and "BROKEN" in r.stdout and "artifact.evaluate.mmlu -> artifact.compress" in r.stdout


def test_a_base_module_importing_a_workflow_breaks_the_layers(tmp_path):
    root = _copy(tmp_path)
    store = root / "artifact" / "base" / "store.py"
    store.write_text(store.read_text() + "\nfrom .. import demo  # noqa\n")
    r = lint(root)
    assert r.returncode == 1 and "artifact.base.store -> artifact.demo" in r.stdout


def test_a_direct_hub_call_outside_fetch_breaks_the_fetch_contract(tmp_path):
    root = _copy(tmp_path)
    data = root / "artifact" / "evaluate" / "data.py"
    data.write_text(data.read_text() + "\nimport huggingface_hub  # noqa\n")
    r = lint(root)
    assert r.returncode == 1 and "artifact.evaluate.data -> huggingface_hub" in r.stdout
