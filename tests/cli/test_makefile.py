"""Make variables reach the programs as arguments the shell never re-reads (#18: `REPO=me/x; touch PWNED` ran)."""
from __future__ import annotations

import os
import subprocess

import pytest

from tests.helpers import ROOT


def make(tmp_path, *args):
    if not (ROOT / ".venv" / ".setup-done").exists():
        pytest.skip("needs `make setup` first")
    env = {**os.environ, "ARTIFACT_STORE": str(tmp_path / "store"), "ARTIFACT_RESULTS": str(tmp_path / "results")}
    return subprocess.run(["make", "-s", *args, "MODE=local"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.mark.fault
@pytest.mark.parametrize("args", [
    ("push", "MODEL=smollm2-135m-instruct-wanda-2to4-s0", "REPO=me/x --dry-run; touch {pwned}"),
    ("push", "MODEL=smollm2-135m-instruct-wanda-2to4-s0", "REPO=me/x", "REVISION=main`touch {pwned}`"),
    ("pull", "MODEL=x' ; touch {pwned}; echo '"),
    ("pull", "MODEL=llama-2-13b-chat", "REPO=$$(touch {pwned})", "DRY_RUN=1"),  # $$: a literal $ for the shell
    ("eval", "MODEL=smollm2-135m-instruct", "PERSPECTIVE=mmlu; touch {pwned}", "DRY_RUN=1"),
    ("rebuild", "MODEL=x\"; touch {pwned}; \"", "DRY_RUN=1"),
    ("diff", "TABLE=table3; touch {pwned}"),
])
def test_no_make_variable_is_run_by_the_shell(tmp_path, args):
    pwned = tmp_path / "PWNED"
    r = make(tmp_path, *(a.format(pwned=pwned) for a in args))
    assert not pwned.exists(), r.stdout + r.stderr
    if "DRY_RUN=1" not in args or "eval" in args:  # a dry run may just print the odd value back
        assert r.returncode != 0 and "error" in r.stderr.lower()  # the value reached the program, which refused it


def test_ordinary_values_still_work(tmp_path):
    r = make(tmp_path, "models", "FILTER=method=awq bits=3")
    assert r.returncode == 0 and "6 of 77 catalog models" in r.stdout
    assert make(tmp_path, "models").returncode == 0
