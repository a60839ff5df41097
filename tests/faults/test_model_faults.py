"""Evaluation and rebuild on the real SmolLM2, killed at their fault points and run twice at once: a rerun gives
the same scores (and the same bytes) as an uninterrupted run, computes nothing twice, and leaves nothing behind."""
from __future__ import annotations

import json
import os
import shutil
import signal

import pytest

from artifact.base import store

from tests.faults import env_for, one_sentence, run, start, until_held
from tests.helpers import ROOT

pytestmark = pytest.mark.fault

EVAL = ["eval", "smollm2-135m-instruct", "--no-progress", "--backend", "hf", "--perspective", "ethics", "--limit", "2",
        "--batch-size", "4"]  # 24 requests in 6 batches, about 15 s
MAGNITUDE = "smollm2-135m-instruct-magnitude-2to4"


def eval_env(tmp_path, session_store, name):
    env = env_for(tmp_path, ARTIFACT_STORE=str(session_store), ARTIFACT_RESULTS=str(tmp_path / name))
    del env["ARTIFACT_CHECKSUMS"]  # the data manifests are read from the repository's checksums/; nothing is written
    return env


def score(root):
    (path,) = root.glob("eval/*/*/ethics/*/score.json")
    s = json.loads(path.read_text())
    lines = (path.parent / "samples.jsonl").read_text().splitlines()
    return s, lines


@pytest.fixture(scope="module")
def whole(tmp_path_factory, session_store, smol_base):
    tmp = tmp_path_factory.mktemp("whole")
    r = run(EVAL, eval_env(tmp, session_store, "r"))
    assert r.returncode == 0, r.stderr[-2000:]
    return score(tmp / "r")[0]


@pytest.mark.parametrize("point", ["eval.batch:2", "eval.scored"])
def test_a_killed_evaluation_resumes_to_the_same_score_computing_nothing_twice(tmp_path, session_store, whole, point):
    env = eval_env(tmp_path, session_store, "r")
    assert run(EVAL, env, fault=point).returncode == -9
    (samples,) = (tmp_path / "r").glob("eval/*/*/ethics/*/samples.jsonl")
    kept = len(samples.read_text().splitlines())
    assert (0 < kept < 24) if point.startswith("eval.batch") else kept == 24
    again = run(EVAL, env)
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"{kept} already done, {24 - kept} to generate" in again.stdout
    s, lines = score(tmp_path / "r")
    assert len(lines) == 24 and len({json.loads(x)["key"] for x in lines}) == 24
    assert (s["score"], s["refusal"], s["details"], s["ci95"]) == (whole["score"], whole["refusal"], whole["details"],
                                                                   whole["ci95"])


def test_a_second_evaluation_of_the_same_folder_is_refused_while_the_first_lives(tmp_path, session_store, whole):
    env = eval_env(tmp_path, session_store, "r")
    first = start(EVAL, env, fault="eval.batch:1:hold")
    try:
        until_held(first)
        second = run(EVAL, env)
        assert one_sentence(second) and "another run is using the evaluation folder" in second.stderr
        assert f"pid {first.pid}" in second.stderr
        assert "loaded" not in second.stdout  # refused before the model loads (a vLLM start is a minute)
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    (samples,) = (tmp_path / "r").glob("eval/*/*/ethics/*/samples.jsonl")
    kept = len(samples.read_text().splitlines())
    third = run(EVAL, env)
    assert third.returncode == 0 and f"{kept} already done, {24 - kept} to generate" in third.stdout and kept
    s, lines = score(tmp_path / "r")
    assert len(lines) == 24 and s["score"] == whole["score"]  # nothing written twice


@pytest.fixture
def rebuild_env(tmp_path, smol_base):
    """A store holding the converted base (hard links: no copy), and a scratch copy of checksums/."""
    shutil.copytree(smol_base, tmp_path / "store" / smol_base.name, copy_function=os.link)
    shutil.copytree(ROOT / "checksums", tmp_path / "checksums")
    return env_for(tmp_path)


def model_bytes(tmp_path) -> dict[str, bytes]:
    folder = store.folder(tmp_path / "store", MAGNITUDE)
    assert store.verify(folder) == []
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.name != store.RECIPE}


def test_a_second_rebuild_never_touches_the_first_ones_staging_folder(tmp_path, rebuild_env):
    first = start(["rebuild", MAGNITUDE], rebuild_env, fault="store.staged:1:hold")
    try:
        until_held(first)
        staged = list((tmp_path / "store").glob(f".{MAGNITUDE}.tmp-*"))
        second = run(["rebuild", MAGNITUDE, "--force"], rebuild_env)
        assert one_sentence(second) and f"another run is using {MAGNITUDE}" in second.stderr
        assert len(staged) == 1 and (staged[0] / "model.safetensors").is_file()  # untouched
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    third = run(["rebuild", MAGNITUDE], rebuild_env)
    assert third.returncode == 0 and "the staging folder of a killed run" in third.stdout
    assert store.leftovers(tmp_path / "store") == []
    built = model_bytes(tmp_path)
    # killed mid-swap while rebuilding with FORCE: the old model is moved back, and it is the same model
    assert run(["rebuild", MAGNITUDE, "--force"], rebuild_env, fault="store.swap").returncode == -9
    assert not store.folder(tmp_path / "store", MAGNITUDE).exists()
    fourth = run(["rebuild", MAGNITUDE], rebuild_env)
    assert fourth.returncode == 0 and "recovered" in fourth.stdout and "up to date" in fourth.stdout
    assert model_bytes(tmp_path) == built and store.leftovers(tmp_path / "store") == []


def test_a_full_disk_mid_rebuild_is_one_sentence_and_leaves_no_staging(tmp_path, rebuild_env):
    """The weights file cannot be written (a file-size limit stands in for a full disk: the same errno path through
    safetensors' writer): one sentence about space, exit 2, not a bug report; nothing half-written stays."""
    import resource
    import subprocess
    import sys
    limit = 100 * 2 ** 20  # the 540 MB weights cannot be written; the recipe and tokenizer files could
    r = subprocess.run([sys.executable, "-m", "artifact", "rebuild", MAGNITUDE], cwd=ROOT, env=rebuild_env, text=True,
                       capture_output=True, timeout=600,
                       preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))
    assert one_sentence(r), r.stderr[-1500:]
    assert "bug" not in r.stderr and ("space" in r.stderr or "too large" in r.stderr)
    assert store.read_recipe(store.folder(tmp_path / "store", MAGNITUDE)) is None
    assert store.leftovers(tmp_path / "store") == []
