"""`make check` (artifact/check.py): each step's verdict and fix, the stop without a GPU, the dry run, and the whole
check on this CPU against the recorded numbers (ARTIFACT_DEVICE=cpu: about 2 minutes, most of it the GPTQ build)."""
import csv
import json
import os
import subprocess
import sys

import pytest

from artifact import check
from artifact.base import ledger, store
from artifact.base.settings import CHECKSUMS

from tests.helpers import ROOT

NO_GPU = {"torch": "2.13.0+cpu", "cuda_build": "none (CPU build)", "gpu": None, "driver": None}


def verdicts(steps):
    return {s.name: s.verdict for s in steps}


def test_environment_steps_say_what_to_fix(make_settings):
    auto = make_settings(ARTIFACT_DEVICE="")
    steps = check.environment(auto, NO_GPU, [])
    assert verdicts(steps) == {"environment": "PASS", "versions": "PASS", "gpu": "FAIL"}
    assert "ARTIFACT_DEVICE=cpu" in steps[2].fix and "NVIDIA Container Toolkit" in steps[2].fix
    cpu = check.environment(make_settings(ARTIFACT_DEVICE="cpu"), NO_GPU, ["numpy: installed 2.3.0, pinned 2.2.6"])
    assert verdicts(cpu) == {"environment": "PASS", "versions": "FAIL", "gpu": "WARN"}
    assert "numpy: installed 2.3.0" in cpu[1].detail and "make setup" in cpu[1].fix
    gpu = {**NO_GPU, "gpu": "NVIDIA H100 80GB HBM3, 79 GiB, compute capability 9.0", "driver": "580.65"}
    steps = check.environment(make_settings(ARTIFACT_IMAGE="comp-trust-artifact@abc"), gpu, [])
    assert verdicts(steps)["gpu"] == "PASS" and "driver 580.65" in steps[2].detail
    assert "image comp-trust-artifact@abc" in steps[0].detail
    assert check.verdict(steps) == "PASS" and check.verdict(cpu) == "FAIL"


def test_gpu_info_reports_what_torch_sees():
    import torch
    info = check.gpu_info()
    assert info["torch"] == torch.__version__
    assert (info["gpu"] is None) == (not torch.cuda.is_available())


def _fake_model(settings, name, payload=b"weights"):
    with store.staging(settings.store, name) as tmp:
        (tmp / "model.safetensors").write_bytes(payload)
        store.commit(tmp, store.folder(settings.store, name), {"recipe_key": f"key-{name}"})


def test_checksum_step_fails_on_damage_and_tolerates_gpu_rounding(make_settings):
    s = make_settings()
    for name in check.CHECK.models:
        _fake_model(s, name)
    assert check.checksums(s, on_gpu=False).verdict == "PASS"
    gptq = check.CHECK.models[1]
    ledger.record_build(s.checksums, gptq, {"model.safetensors": "0" * 64}, f"key-{gptq}")  # the CPU's record
    assert check.checksums(s, on_gpu=True).verdict == "WARN"  # same recipe, other bytes: a GPU rounds differently
    cpu = check.checksums(s, on_gpu=False)  # a CPU build should match on any CPU: the WARN asks about the libraries
    assert cpu.verdict == "WARN" and "this CPU's build differs" in cpu.detail and "pinned libraries" in cpu.detail
    (store.folder(s.store, check.CHECK.models[0]) / "model.safetensors").write_bytes(b"damaged")
    damaged = check.checksums(s, on_gpu=True)
    assert damaged.verdict == "FAIL" and check.CHECK.models[0] in damaged.detail


def _run(tmp_path, *args, **env):
    e = {**os.environ, "ARTIFACT_RESULTS": str(tmp_path / "results"), "ARTIFACT_STORE": str(tmp_path / "store"),
         "ARTIFACT_CHECKSUMS": str(CHECKSUMS), **env}
    e.pop("ARTIFACT_DEVICE", None) if "ARTIFACT_DEVICE" not in env else None
    return subprocess.run([sys.executable, "-m", "artifact", "check", *args], cwd=ROOT, env=e, capture_output=True,
                          text=True, timeout=900)


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="checks the stop on a machine without a GPU")
def test_without_a_gpu_the_check_stops_with_the_fix(tmp_path):
    r = _run(tmp_path, "--no-progress")
    assert r.returncode == 1 and "FAIL  gpu" in r.stdout and "ARTIFACT_DEVICE=cpu" in r.stdout
    assert "make check: FAIL" in r.stdout and not (tmp_path / "store").exists()  # nothing built
    report = (tmp_path / "results" / "check" / "check-report.md").read_text()
    assert "**FAIL**" in report and "| gpu | FAIL |" in report and "cuda_build" in report


def test_dry_run_lists_models_steps_and_time(tmp_path):
    r = _run(tmp_path, "--dry-run", ARTIFACT_DEVICE="cpu")
    assert r.returncode == 0 and all(m in r.stdout for m in check.CHECK.models)
    assert "no: built first" in r.stdout and "environment, versions, gpu, models" in r.stdout
    assert not (tmp_path / "store").exists() and not (tmp_path / "results").exists()


@pytest.mark.model
def test_the_whole_check_on_this_cpu_passes_against_the_recorded_numbers(tmp_path, session_store, smol_base):
    with open(check.CHECK.root / "reference" / "check.csv", newline="") as f:
        recorded = {r["Method"]: float(r["MMLU"]) for r in csv.DictReader(f)}
    r = _run(tmp_path, "--no-progress", ARTIFACT_DEVICE="cpu", ARTIFACT_STORE=str(session_store))
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "WARN  gpu" in r.stdout and "PASS  versions" in r.stdout
    # a CPU build has the recorded bytes on any x86-64 CPU (issue #30)
    assert "PASS  checksums" in r.stdout
    assert "PASS  diff" in r.stdout and "make check: WARN" in r.stdout  # WARN: no GPU was exercised
    table = json.loads((tmp_path / "results" / "check" / "tables" / "check.json").read_text())
    got = {c["row"]: c["reproduced"] for c in table["diff"]}
    if "PASS  checksums" in r.stdout:
        assert got == pytest.approx(recorded, abs=1e-6)  # the recorded bytes: exact
    assert all(c["verdict"] == "PASS" and c["ci95"][0] <= c["reference"] <= c["ci95"][1] for c in table["diff"])
    assert all(0 <= v <= 100 and (v * 50 / 100) % 1 == pytest.approx(0, abs=1e-6) for v in got.values())
    report = (tmp_path / "results" / "check" / "check-report.md").read_text()
    assert "| score | PASS | MMLU with BACKEND=hf: dense" in report
