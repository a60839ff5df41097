"""Dry-run hours: from `make bench-eval`'s measured throughput where it ran on this machine, scaled by parameters;
otherwise the 13B/H100 assumption, said as such; a bench from another machine is never used."""
from __future__ import annotations

import json

import pytest

from artifact.evaluate import Request, throughput
from artifact.evaluate import run as ev

RATES = {"short": 50.0, "continuations": 200.0, "samples": 400.0, "few-shot": 10.0}


def _bench(results, machine, engine="hf batch 16", params=100_000_000):
    runs = {w: {engine: {"tokens_per_s": RATES[k]}} for k, w in throughput.WORKLOADS.items()}
    (results / "bench").mkdir(parents=True, exist_ok=True)
    (results / "bench" / "eval.json").write_text(json.dumps(
        {"machine": machine, "model_params": params, "time": "2026-11-26T03:00:00+00:00", "runs": runs}))


def test_measured_rates_are_used_on_their_machine_only(tmp_path):
    here = throughput.machine("cpu")
    assert not throughput.load(tmp_path, "hf", "cpu").measured  # no bench yet
    _bench(tmp_path, "another CPU, 64 cores")
    assert not throughput.load(tmp_path, "hf", "cpu").measured
    _bench(tmp_path, here)
    rates = throughput.load(tmp_path, "hf", "cpu")
    assert rates.measured and rates.tok_s == RATES and "measured by make bench-eval (hf batch 16)" in rates.basis
    assert not throughput.load(tmp_path, "vllm", "cpu").measured  # the bench ran no vLLM
    (tmp_path / "bench" / "eval.json").write_text("{not json")
    assert not throughput.load(tmp_path, "hf", "cpu").measured


def test_hours_by_hand():
    rates = throughput.Rates(RATES, 100_000_000, "test")
    reqs = [Request("a", "x", 64), Request("b", "x", 32, temperature=1.0, n=25), Request("c", "x", 1),
            Request("d", "x", 16)]
    prompt = [100.0, 100.0, 2000.0, 50.0]
    kinds = [throughput.kind(r, t) for r, t in zip(reqs, prompt, strict=True)]
    assert kinds == ["continuations", "samples", "few-shot", "short"]
    # a model twice the size: every rate halves
    want = (64 / 200 + 25 * 32 / 400 + 1 / 10 + 16 / 50) * 2 / 3600
    assert throughput.hours(rates, reqs, prompt, 200_000_000) == pytest.approx(want, rel=1e-12)
    assumed = (100 / 8000 + 64 / 600) / 3600  # for a 13B model; a 1.3B one takes a tenth
    assert throughput.hours(throughput.Rates(), reqs[:1], prompt[:1], None) == pytest.approx(assumed, rel=1e-12)
    tenth = throughput.ASSUMED_PARAMS / 10
    assert throughput.hours(throughput.Rates(), reqs[:1], prompt[:1], tenth) == pytest.approx(assumed / 10, rel=1e-9)


def test_the_dry_run_says_its_basis(make_settings, tmp_path):
    from artifact.base.settings import ROOT
    settings = make_settings(ARTIFACT_CHECKSUMS=str(ROOT / "checksums"))
    rows = ev.plan(ev_spec(), "ethics", settings, 2, "subset", backend="hf")
    assert "assumed 8000 prompt" in rows[0]["basis"]
    _bench(settings.results, throughput.machine("cpu"))
    measured = ev.plan(ev_spec(), "ethics", settings, 2, "subset", backend="hf")
    assert "measured by make bench-eval" in measured[0]["basis"]
    assert "assumed" in measured[0]["full_basis"]  # measured on a CPU: the 13B/H100 column stays an assumption
    assert measured[0]["full_gpu_hours"] == pytest.approx(rows[0]["full_gpu_hours"])
    assert measured[0]["gpu_hours"] != pytest.approx(rows[0]["gpu_hours"])


def ev_spec():
    from artifact.base import catalog
    return catalog.get("smollm2-135m-instruct")


def test_a_bench_on_a_gpu_prices_the_full_run_too(make_settings, monkeypatch):
    """Where `make bench-eval` ran on this GPU, the full-run column uses its measured rates (scaled to 13B), not the
    H100 assumption: what recomputes the runbook's GPU-hours once a GPU is lent."""
    from artifact.base.settings import ROOT
    gpu = "NVIDIA H100 80GB HBM3 (cuda)"
    monkeypatch.setattr(throughput, "machine", lambda device: gpu if device.startswith("cuda") else "a CPU")
    settings = make_settings(ARTIFACT_CHECKSUMS=str(ROOT / "checksums"), ARTIFACT_DEVICE="cuda")
    assumed = ev.plan(ev_spec(), "ethics", settings, 2, "subset", backend="vllm")[0]
    assert "assumed" in assumed["full_basis"]
    _bench(settings.results, gpu, engine="vllm")
    measured = ev.plan(ev_spec(), "ethics", settings, 2, "subset", backend="vllm")[0]
    assert measured["device"] == "cuda" and f"measured by make bench-eval (vllm) on {gpu}" in measured["full_basis"]
    assert measured["full_gpu_hours"] != pytest.approx(assumed["full_gpu_hours"])
    _bench(settings.results, gpu)  # a bench of the HF backend does not price vLLM
    assert "assumed" in ev.plan(ev_spec(), "ethics", settings, 2, "subset", backend="vllm")[0]["full_basis"]
