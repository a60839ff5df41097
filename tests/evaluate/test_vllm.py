"""BACKEND=vllm beside BACKEND=hf on the real SmolLM2 (CPU): the same requests give the same greedy replies for most
requests and scores inside each other's intervals; seeded samples repeat across processes; the backend is chosen
and refused in one sentence. The engine tests skip with one line where vLLM is not installed."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from artifact.errors import ArtifactError, BadInputError
from artifact.evaluate import run as ev
from artifact.evaluate import vllm_backend

from tests.helpers import ROOT

needs_vllm = pytest.mark.skipif(not vllm_backend.installed(), reason="vLLM is not installed (make setup BACKEND=vllm)")
GREEDY = "ethics,mmlu,fairness,advglue"


def test_the_backend_is_chosen_and_refused_in_one_sentence(tmp_path, monkeypatch):
    with pytest.raises(BadInputError, match="BACKEND=bogus is not a backend"):
        ev.EvalConfig("ethics", backend="bogus").check()
    dense, gptq = tmp_path / "dense", tmp_path / "gptq"
    dense.mkdir()
    gptq.mkdir()
    (dense / "config.json").write_text('{"model_type": "llama"}')
    (gptq / "config.json").write_text('{"model_type": "llama", "quantization_config": {"quant_method": "gptq", '
                                      '"desc_act": false}}')
    assert ev.choose_backend("hf", dense, "cpu") == ("hf", "BACKEND=hf")
    monkeypatch.setattr(vllm_backend, "installed", lambda: True)
    assert ev.choose_backend(None, dense, "cpu")[0] == "vllm"
    name, why = ev.choose_backend(None, gptq, "cpu")  # left out: transformers, and the reason on the first line
    assert name == "hf" and "GPTQ kernels run in bfloat16 or float16 only" in why
    with pytest.raises(ArtifactError, match="vLLM cannot serve this model on cpu: .*GPTQ.*; use BACKEND=hf"):
        ev.choose_backend("vllm", gptq, "cpu")
    assert ev.choose_backend("vllm", gptq, "cuda") == ("vllm", "BACKEND=vllm")
    (gptq / "config.json").write_text('{"quantization_config": {"quant_method": "gptq", "desc_act": true}}')
    with pytest.raises(ArtifactError, match="activation ordering"):  # as gptqmodel writes ours: on any device
        ev.choose_backend("vllm", gptq, "cuda")
    monkeypatch.setattr(vllm_backend, "installed", lambda: False)
    with pytest.raises(ArtifactError, match=r"not installed here; run `make setup BACKEND=vllm`"):
        ev.choose_backend("vllm", dense, "cpu")
    assert ev.choose_backend(None, dense, "cpu") == ("hf", "transformers; vLLM is not installed (`make setup "
                                                           "BACKEND=vllm` adds it)")


def _eval(tmp_path, store, name, backend, *args):
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ARTIFACT_STORE": str(store), "ARTIFACT_DEVICE": "cpu",
           "ARTIFACT_RESULTS": str(tmp_path / name), "VLLM_CPU_KVCACHE_SPACE": "2"}
    r = subprocess.run([sys.executable, "-m", "artifact", "eval", "smollm2-135m-instruct", "--no-progress",
                        "--backend", backend, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    assert r.returncode == 0, r.stderr[-3000:]
    out = {}
    for f in (tmp_path / name).glob("eval/*/*/*/*/score.json"):
        rows = [json.loads(x) for x in (f.parent / "samples.jsonl").read_text().splitlines()]
        out[f.parent.parent.name] = (json.loads(f.read_text()), {x["key"]: x["replies"] for x in rows})
    return out, r.stdout


@needs_vllm
@pytest.mark.vllm
def test_the_backends_agree_on_the_same_requests(tmp_path, session_store, smol_base, capsys):
    hf, _ = _eval(tmp_path, session_store, "hf", "hf", "--perspective", GREEDY, "--limit", "2")
    vl, out = _eval(tmp_path, session_store, "vllm", "vllm", "--perspective", GREEDY, "--limit", "2")
    assert out.startswith("backend: vllm (BACKEND=vllm)")
    same = total = 0
    for p, (score, replies) in hf.items():
        other, their = vl[p]
        assert other["backend"]["name"] == "vllm" and score["backend"]["name"] == "hf"
        assert other["config_hash"] != score["config_hash"]  # never one folder for both
        same += sum(replies[k] == their[k] for k in replies)
        total += len(replies)
        for a, b in ((score, other), (other, score)):  # each score inside the other backend's interval
            lo, hi = b["ci95"]
            assert lo - 1e-9 <= a["score"] <= hi + 1e-9, (p, a["score"], b["ci95"])
    with capsys.disabled():
        print(f"\nvLLM vs transformers, greedy, float32: {same}/{total} replies identical")
    assert same >= 0.9 * total  # measured here: every one (float order may differ on other CPUs)


@needs_vllm
@pytest.mark.vllm
def test_seeded_samples_repeat_in_another_process(tmp_path, session_store, smol_base):
    args = ("--perspective", "toxicity", "--limit", "1", "--samples", "3", "--max-tokens", "16",
            "--toxicity-scorer", "profanity")
    a, _ = _eval(tmp_path, session_store, "a", "vllm", *args)
    b, _ = _eval(tmp_path, session_store, "b", "vllm", *args)
    replies = a["toxicity"][1]
    assert replies == b["toxicity"][1] and a["toxicity"][0]["score"] == b["toxicity"][0]["score"]
    assert any(len(set(r)) > 1 for r in replies.values())  # the samples of one prompt differ from each other
