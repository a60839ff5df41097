"""SHARD=i/k: a perspective's requests split into shards that run side by side, each into its own file, then one
run without SHARD scores them all, generating nothing again (make sweep's evaluation jobs)."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from artifact.base.errors import BadInputError
from artifact.evaluate import Request
from artifact.evaluate import run as ev

from tests.helpers import ROOT


def test_shards_partition_the_requests():
    reqs = [Request(f"k{i:02d}", "x", 4) for i in range(10)]
    parts = [ev.shard_of(list(reversed(reqs)), i, 3) for i in (1, 2, 3)]
    keys = [r.key for part in parts for r in part]
    assert sorted(keys) == [r.key for r in reqs] and len(set(keys)) == 10
    assert [len(p) for p in parts] == [4, 3, 3]
    for bad in ((0, 2), (3, 2), (1, 0)):
        with pytest.raises(BadInputError, match=r"is not a shard; give i/k with 1 <= i <= k"):
            ev.EvalConfig("ethics", shard=bad).check()


def _eval(tmp_path, store, *args):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ARTIFACT_STORE": str(store), "ARTIFACT_DEVICE": "cpu",
           "ARTIFACT_RESULTS": str(tmp_path / "r")}
    return subprocess.run([sys.executable, "-m", "artifact", "eval", "smollm2-135m-instruct", "--no-progress",
                           "--backend", "hf", "--perspective", "ethics", "--limit", "2", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=1200)


def test_shards_then_one_scoring_run_generate_each_request_once(tmp_path, session_store, smol_base):
    for i in (1, 2, 3):
        r = _eval(tmp_path, session_store, "--shard", f"{i}/3")
        assert r.returncode == 0, r.stderr[-2000:]
        assert f"(shard {i}/3: 8)" in r.stdout and "0 already done, 8 to generate" in r.stdout
    (folder,) = (tmp_path / "r").glob("eval/*/*/ethics/*")
    files = sorted(p.name for p in folder.glob("samples*.jsonl"))
    assert files == [f"samples.shard-{i}-of-3.jsonl" for i in (1, 2, 3)] and not (folder / "score.json").exists()
    keys = [json.loads(x)["key"] for f in folder.glob("samples.shard-*.jsonl") for x in f.read_text().splitlines()]
    assert len(keys) == 24 and len(set(keys)) == 24
    again = _eval(tmp_path, session_store, "--shard", "2/3")  # a resubmitted shard that had finished: nothing to do
    assert again.returncode == 0 and "8 already done, 0 to generate" in again.stdout
    scored = _eval(tmp_path, session_store)
    assert scored.returncode == 0, scored.stderr[-2000:]
    assert "24 requests, 24 already done, 0 to generate" in scored.stdout
    score = json.loads((folder / "score.json").read_text())
    assert score["items"] == 24 and not (folder / "samples.jsonl").exists()
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ARTIFACT_RESULTS": str(tmp_path / "r")}
    again = subprocess.run([sys.executable, "-m", "artifact", "rescore"], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=600)  # the rescore reads the shard files too
    assert again.returncode == 0 and "(24 items)" in again.stdout, again.stdout[-2000:] + again.stderr[-2000:]
    bad = _eval(tmp_path, session_store, "--shard", "4/3")
    assert bad.returncode == 2 and "SHARD=4/3 is not a shard" in bad.stderr


HOLD = """
import sys, time
from pathlib import Path
from artifact.base.results import Results
res = Results(Path(sys.argv[1]))
held = res.claim() if sys.argv[2] == "whole" else res.claim_shard(int(sys.argv[2]), int(sys.argv[3]))
with held:
    print("held", flush=True)
    time.sleep(60)
"""


@pytest.mark.fault
@pytest.mark.parametrize("first, second, says", [
    (("whole",), (1, 2), "a whole run of"), ((1, 2), ("whole",), "shard 1/2 of"),
    ((1, 2), (1, 3), "shard 1/2 of .* another split than 1/3"), ((1, 2), (2, 2), None)])
def test_shards_and_whole_runs_of_one_folder_exclude_each_other(tmp_path, first, second, says):
    """#31: an unsharded run beside SHARD=1/2 generated 6 of 12 requests twice, SHARD=1/2 beside SHARD=1/3 two."""
    from artifact.base.errors import BusyError
    from artifact.base.results import Results
    folder = tmp_path / "f"
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(folder), *map(str, first)], cwd=ROOT,
                         stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "held"
        res = Results(folder)
        held = res.claim() if second == ("whole",) else res.claim_shard(*second)
        if says is None:  # two shards of one split run side by side
            with held:
                pass
        else:
            with pytest.raises(BusyError, match=says):
                with held:
                    pass
    finally:
        p.kill()
        p.wait()
