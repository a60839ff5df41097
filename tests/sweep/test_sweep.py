"""make sweep: the plan of a paper table (dry run, bad input), and end to end on a real one-node Slurm started by
the fixture (tests/helpers/slurm_cluster.sh): a two-model sweep submitted, run and collected into a table; a job
scancel-ed mid-run and resubmitted gives the scores of an uninterrupted run; a failing job is reported with its
log tail. The Slurm tests skip with one line where the cluster cannot be started."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time

import pytest


from tests.helpers import ROOT

MINI = """title = "Sweep test: SmolLM2 dense and magnitude 2:4 on ethics"
paper = "not in the paper: the sweep tests' table"
kind = "scores"
labels = ["Method"]
columns = ["Ethics"]

[[rows]]
labels = ["dense"]
models = ["smollm2-135m-instruct"]

[[rows]]
labels = ["magnitude 2:4"]
models = ["smollm2-135m-instruct-magnitude-2to4"]
"""


def art(env: dict, *args, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "artifact", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_the_dry_run_of_table3_plans_every_job_and_writes_nothing(tmp_path):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "ARTIFACT_RESULTS": str(tmp_path / "r"),
           "ARTIFACT_STORE": str(tmp_path / "store")}
    r = art(env, "sweep", "table3", "--dry-run", "--executor", "local")
    assert r.returncode == 0, r.stderr
    models = ["llama-2-13b-chat", "llama-2-13b-chat-gptq-4bit-s0", "llama-2-13b-chat-gptq-4bit-s1",
              "llama-2-13b-chat-gptq-4bit-s2", "llama-2-70b-chat", "llama-2-70b-chat-gptq-4bit-s0",
              "llama-2-7b-chat", "llama-2-7b-chat-gptq-4bit-s0"]
    for m in models:  # each pulled first, then nine perspectives, each scored after its shards
        assert f"| model:{m} " in r.stdout and f"| score:{m}:toxicity " in r.stdout
    assert "| shard:llama-2-70b-chat:toxicity:10of10 " in r.stdout  # 70B toxicity: 10 shards of ≤ 9.6 h
    assert "jobs for 8 models" in r.stdout and "GPU-hours in all" in r.stdout
    assert "timeout_min=720" in r.stdout and not (tmp_path / "r").exists()


@pytest.mark.parametrize("args, message", [
    # each expected fragment is the part of the sentence that says what is wrong or what to do, not an echo of argv
    (("sweep", "table99", "--dry-run"), "unknown table 'table99'; did you mean 'table4', 'table3', 'table2'? "
                                        "(`make help` lists the tables and figures)"),
    (("sweep", "table3", "--executor", "cluster"), "(choose from 'slurm', 'local'); `python -m artifact sweep --help` "
                                                   "lists the options"),
    (("sweep", "table3", "--slurm-args", "constraint=h100,bad key=1", "--dry-run"),
     "'bad key=1' is not key=value (e.g. SLURM_ARGS=constraint=h100,mem=64G)"),
    (("sweep-status", "table3"), "no readable sweep manifest (FileNotFoundError); start one with make sweep TABLE="),
])
def test_bad_input_is_one_sentence(tmp_path, args, message):
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "ARTIFACT_RESULTS": str(tmp_path / "r")}
    r = art(env, *args)
    assert r.returncode == 2 and message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_executor_slurm_without_sbatch_is_refused(tmp_path):
    env = {"PATH": str(tmp_path / "bin") + ":/usr/local/bin:/nonexistent", "HOME": str(tmp_path),
           "ARTIFACT_RESULTS": str(tmp_path / "r")}
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "git").symlink_to(shutil.which("git") or "/usr/bin/git")
    r = art(env, "sweep", "table3", "--executor", "slurm")
    assert r.returncode == 2 and "EXECUTOR=slurm needs Slurm's sbatch" in r.stderr


def test_a_job_refuses_to_run_under_another_code_commit(tmp_path):
    from artifact import sweep
    path = tmp_path / "manifest.json"
    job = {"id": "score:m:ethics", "argv": ["eval", "m"], "after": []}
    sweep.write(path, {"table": "table3", "executor": "slurm", "code_commit": "0" * 40, "jobs": [job]})
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "ARTIFACT_RESULTS": str(tmp_path / "r")}
    r = art(env, "sweep-job", str(path), "score:m:ethics")
    assert r.returncode == 2 and f"planned at code commit {'0' * 40}" in r.stderr and "mix two code versions" in \
        r.stderr
    r = art(env, "sweep-job", str(path), "score:m:nothing")
    assert r.returncode == 2 and "has no job score:m:nothing" in r.stderr
    r = art(env, "sweep-status", "table3", "--resubmit")  # no manifest for table3 here
    assert r.returncode == 2 and "sweeps/table3/manifest.json: no readable sweep manifest" in r.stderr and \
        "start one with make sweep TABLE=<table>" in r.stderr


@pytest.mark.slow
def test_the_local_executor_runs_the_plan_here(tmp_path, session_store, smol_base, recipes_copy):
    (recipes_copy / "mini.toml").write_text(MINI)
    checksums = tmp_path / "checksums"
    shutil.copytree(ROOT / "checksums", checksums)
    (tmp_path / "bin").mkdir()  # no sbatch on PATH: the local executor is the default, said in one line
    (tmp_path / "bin" / "git").symlink_to(shutil.which("git") or "/usr/bin/git")
    env = {"PATH": str(tmp_path / "bin"), "HOME": str(tmp_path), "ARTIFACT_DEVICE": "cpu", "ARTIFACT_STORE":
           str(session_store), "ARTIFACT_RESULTS": str(tmp_path / "r"), "ARTIFACT_RECIPES": str(recipes_copy),
           "ARTIFACT_CHECKSUMS": str(checksums)}
    r = art(env, "sweep", "mini", "--limit", "1", "--data", "subset", "--backend", "hf", timeout=1200)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert r.stdout.startswith("executor: local (no sbatch here") and "every job is done" in r.stdout
    assert (tmp_path / "r" / "tables" / "mini.csv").is_file()
    assert len(_scores(tmp_path / "r")) == 2
    # a score computed at another code commit is said before a sweep, and its cell says it mixes commits
    (f,) = (tmp_path / "r").glob("eval/smollm2-135m-instruct/*/ethics/*/score.json")
    record = json.loads(f.read_text())
    record["provenance"]["code_commit"] = "0" * 40
    f.write_text(json.dumps(record))
    plan = art(env, "sweep", "mini", "--limit", "1", "--data", "subset", "--dry-run")
    assert "note: 1 local scores of this table's models were computed at other code commits" in plan.stdout
    mini = (recipes_copy / "mini.toml")
    mini.write_text(MINI.replace('models = ["smollm2-135m-instruct"]',
                                 'models = ["smollm2-135m-instruct", "smollm2-135m-instruct-magnitude-2to4"]'))
    assert art(env, "table", "mini", "--source", "local-partial").returncode == 0
    built = (tmp_path / "r" / "tables" / "mini.json").read_text()
    assert "its inputs were computed at 2 code commits (000000000000, " in built


# ------------------------------------------------------------------------------------------- on a real Slurm

@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    state = tmp_path_factory.mktemp("slurm")
    up = subprocess.run(["bash", str(ROOT / "tests" / "helpers" / "slurm_cluster.sh"), "up", str(state)],
                        capture_output=True, text=True, timeout=120)
    if up.returncode:
        why = up.stderr.strip().splitlines()[-1] if up.stderr.strip() else up.returncode
        pytest.skip(f"no Slurm cluster here: {why}")
    yield up.stdout.strip().split("=", 1)[1]
    subprocess.run(["bash", str(ROOT / "tests" / "helpers" / "slurm_cluster.sh"), "down", str(state)],
                   capture_output=True, text=True, timeout=120)


@pytest.fixture
def sweep_env(tmp_path, cluster, session_store, smol_base, recipes_copy):
    (recipes_copy / "mini.toml").write_text(MINI)
    checksums = tmp_path / "checksums"
    shutil.copytree(ROOT / "checksums", checksums)
    return {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "SLURM_CONF": cluster, "ARTIFACT_DEVICE": "cpu",
            "ARTIFACT_STORE": str(session_store), "ARTIFACT_RESULTS": str(tmp_path / "r"),
            "ARTIFACT_RECIPES": str(recipes_copy), "ARTIFACT_CHECKSUMS": str(checksums)}


SWEEP = ("sweep", "mini", "--executor", "slurm", "--partition", "debug", "--gpus-per-job", "0", "--time", "30",
         "--limit", "1", "--data", "subset", "--backend", "hf")


def _until_done(env, timeout=900) -> subprocess.CompletedProcess:
    t0 = time.time()
    while time.time() - t0 < timeout:
        r = art(env, "sweep-status", "mini")
        if "every job is done" in r.stdout or "jobs failed or were lost" in r.stdout:
            return r
        time.sleep(5)
    raise AssertionError(f"the sweep did not finish in {timeout} s:\n{r.stdout[-3000:]}")


def _scores(results) -> dict:
    return {f.parents[3].name: json.loads(f.read_text())["score"] for f in results.glob("eval/*/*/*/*/score.json")}


@pytest.mark.slow
def test_a_two_model_sweep_runs_on_slurm_and_makes_the_table(sweep_env, tmp_path):
    r = art(sweep_env, *SWEEP)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.count("submitted ") >= 4 and "(after " in r.stdout  # the model job first, then shards, scores
    done = _until_done(sweep_env)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "every job is done" in done.stdout and "COMPLETED" in done.stdout
    table = (tmp_path / "r" / "tables" / "mini.csv").read_text()
    assert "magnitude 2:4" in table and "dense" in table
    scores = _scores(tmp_path / "r")
    assert set(scores) == {"smollm2-135m-instruct", "smollm2-135m-instruct-magnitude-2to4"}
    again = art(sweep_env, *SWEEP)  # everything is there: nothing to plan
    assert again.returncode == 0 and "nothing to do" in again.stdout


@pytest.mark.slow
def test_a_cancelled_job_resubmitted_gives_the_uninterrupted_scores(sweep_env, tmp_path):
    whole_env = {**sweep_env, "ARTIFACT_RESULTS": str(tmp_path / "whole")}
    assert art(whole_env, *SWEEP).returncode == 0
    assert _until_done(whole_env).returncode == 0
    whole = _scores(tmp_path / "whole")

    held = {**sweep_env, "ARTIFACT_FAULT": "eval.batch:1:hold"}  # every evaluation job waits after its first batch
    assert art(held, *SWEEP).returncode == 0
    second = art(sweep_env, *SWEEP)  # the same table again while its jobs are in the queue: refused, named
    assert second.returncode == 2 and "a sweep of mini is still live in the queue" in second.stderr
    manifest = json.loads((tmp_path / "r" / "sweeps" / "mini" / "manifest.json").read_text())
    shard = next(j for j in manifest["jobs"] if j["id"] == "shard:smollm2-135m-instruct:ethics:1of1")
    log = tmp_path / "r" / "sweeps" / "mini" / "jobs" / f"{shard['slurm_id']}_0_log.err"
    t0 = time.time()
    while "fault: holding at eval.batch" not in (log.read_text() if log.is_file() else ""):
        assert time.time() - t0 < 600, "the shard never reached its first batch"
        time.sleep(2)
    subprocess.run(["scancel", *[j["slurm_id"] for j in manifest["jobs"]]], env=sweep_env, check=True)
    time.sleep(3)
    status = art(sweep_env, "sweep-status", "mini")
    assert "CANCELLED" in status.stdout and "RESUBMIT=1 resubmits them" in status.stdout
    again = art(sweep_env, "sweep-status", "mini", "--resubmit")  # without the fault: the jobs run to the end
    assert again.returncode in (0, 1) and "resubmitted" in again.stdout, again.stderr[-2000:]
    assert _until_done(sweep_env).returncode == 0
    assert _scores(tmp_path / "r") == whole
    kept = (tmp_path / "r").glob("eval/smollm2-135m-instruct/*/ethics/*/samples.shard-1-of-1.jsonl")
    assert len(next(kept).read_text().splitlines()) == 12  # the batch written before the cancel was kept, none twice


@pytest.mark.slow
def test_an_unknown_partition_is_one_sentence(sweep_env):
    r = art(sweep_env, "sweep", "mini", "--executor", "slurm", "--partition", "nosuch")
    assert r.returncode == 2 and "PARTITION=nosuch is not a partition of this cluster; its partitions: debug" in \
        r.stderr


@pytest.mark.slow
def test_a_failing_job_is_reported_with_its_log_tail(sweep_env, tmp_path, make_settings, session_store):
    from artifact import pipeline
    from artifact.base import catalog
    pruned = "smollm2-135m-instruct-magnitude-2to4"
    pipeline.ensure_model(catalog.get(pruned), make_settings(session_store))
    store = tmp_path / "store"  # a store of its own, with the pruned model damaged (the embedded one would be
    shutil.copytree(session_store / pruned, store / pruned)  # converted again, a damaged build is refused)
    with open(store / pruned / "config.json", "a") as f:
        f.write(" ")
    env = {**sweep_env, "ARTIFACT_STORE": str(store)}
    head, dense, rest = MINI.split("[[rows]]")
    (tmp_path / "reproduce" / "mini.toml").write_text(head + "[[rows]]" + rest)  # the pruned row only
    assert art(env, *SWEEP).returncode == 0
    status = _until_done(env)
    assert status.returncode == 1 and "FAILED" in status.stdout
    assert "fails its sha256 check" in status.stdout  # the failed job's log tail
    assert f"score:{pruned}:ethics" in status.stdout and "cells still wait" in status.stdout


@pytest.mark.fault
def test_a_planted_result_file_is_read_as_data_and_runs_nothing(tmp_path):
    """submitit's result pickle is read without executing anything: a file whose unpickling would run a command
    counts as no outcome (LOST), and the command never runs."""
    import os
    import pickle

    from artifact import sweep

    class Evil:
        def __reduce__(self):
            return (os.system, (f"touch {tmp_path / 'PWNED'}",))

    jobs = tmp_path / "jobs"
    jobs.mkdir()
    (jobs / "11_0_result.pkl").write_bytes(pickle.dumps(("success", Evil())))
    (jobs / "12_0_result.pkl").write_bytes(pickle.dumps(("success", "scored")))
    (jobs / "13_0_result.pkl").write_bytes(pickle.dumps(("error", "Traceback ...")))
    assert sweep._outcome(jobs, "11") == "LOST" and not (tmp_path / "PWNED").exists()
    assert (sweep._outcome(jobs, "12"), sweep._outcome(jobs, "13"), sweep._outcome(jobs, "14")) == \
        ("COMPLETED", "FAILED", "LOST")
