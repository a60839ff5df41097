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
    # make's own functions in a value (#31): make expanded them before any quoting
    ("eval", "MODEL=smollm2-135m-instruct", "DRY_RUN=1", "PERSPECTIVE=$(shell touch {pwned})"),
    ("rebuild-all", "FILTER=$(shell touch {pwned})", "DRY_RUN=1"),
    ("diff", "TABLE=$(shell touch {pwned})"),
    ("models", "MODEL=$(shell touch {pwned})"),
    ("eval", "MODEL=$(shell touch {pwned})", "DRY_RUN=1"),
    ("eval", "MODEL=smollm2-135m-instruct", "DRY_RUN=$(shell touch {pwned})", "PERSPECTIVE=x"),
])
def test_no_make_variable_is_run_by_the_shell(tmp_path, args):
    pwned = tmp_path / "PWNED"
    r = make(tmp_path, *(a.format(pwned=pwned) for a in args))
    assert not pwned.exists(), r.stdout + r.stderr
    if "DRY_RUN=1" not in args or "eval" in args:  # a dry run may just print the odd value back
        assert r.returncode != 0 and "error" in r.stderr.lower()  # the value reached the program, which refused it


@pytest.mark.fault
def test_a_value_from_the_environment_is_not_run_by_make_either(tmp_path):
    pwned = tmp_path / "PWNED"
    if not (ROOT / ".venv" / ".setup-done").exists():
        pytest.skip("needs `make setup` first")
    env = {**os.environ, "ARTIFACT_RESULTS": str(tmp_path / "results"), "FILTER": f"$(shell touch {pwned})",
           "VENV": f".venv$(shell touch {pwned})"}
    r = subprocess.run(["make", "-s", "models", "MODE=local"], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=300)
    assert not pwned.exists(), r.stdout + r.stderr
    r = subprocess.run(["make", "-s", "models"], cwd=ROOT, env={**env, "MODE": f"$(shell touch {pwned})"},
                       capture_output=True, text=True, timeout=300)
    assert not pwned.exists() and r.returncode != 0 and "is not understood" in r.stderr


def test_ordinary_values_still_work(tmp_path):
    r = make(tmp_path, "models", "FILTER=method=awq bits=3")
    assert r.returncode == 0 and "6 of 79 catalog models" in r.stdout
    assert make(tmp_path, "models").returncode == 0


@pytest.mark.fault
def test_clean_removes_the_results_folder_the_settings_name_and_nothing_else(tmp_path):
    results = tmp_path / "results"
    (results / "eval" / "m").mkdir(parents=True)
    (results / "tables").mkdir()
    r = make(tmp_path, "clean")
    assert r.returncode == 0 and not results.exists() and (ROOT / ".venv").exists(), r.stderr
    # a folder with files this project never writes is left alone, in one sentence
    (results / "tables").mkdir(parents=True)
    (results / "thesis.tex").write_text("mine")
    r = make(tmp_path, "clean")
    assert r.returncode != 0 and "thesis.tex" in r.stderr and (results / "thesis.tex").read_text() == "mine"


@pytest.mark.fault
@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a machine without a GPU (the check FAILs)")
def test_a_failed_check_through_make_is_the_programs_1_and_makes_2_as_the_readme_says(tmp_path):
    r = make(tmp_path, "check")
    assert "make check: FAIL" in r.stdout and r.returncode == 2 and "Error 1" in r.stderr, r.stderr[-500:]
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert "exits 0 for PASS or WARN, 1 for FAIL, 2 for a setup error (make shows `Error 1` or `Error 2` and itself " \
           "exits 2)" in readme
