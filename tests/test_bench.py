"""The bench's workloads (artifact/bench.py): real requests, and the 25-sample one is what the toxicity perspective
sends, system prompts included."""
from __future__ import annotations

from artifact import bench
from artifact.evaluate import throughput, toxicity
from artifact.evaluate.data import read_jsonl, source

from tests.helpers import ROOT


def test_the_sampled_workload_is_the_toxicity_perspectives_own_requests(make_settings):
    settings = make_settings(ARTIFACT_CHECKSUMS=str(ROOT / "checksums"))  # the vendored data subset
    work = bench.workloads(settings, 48)
    assert set(throughput.WORKLOADS.values()) | {bench.RAW_SAMPLES} == set(work)
    assert set(bench.VLLM_TARGETS) <= set(throughput.WORKLOADS.values())
    sampled, raw = work[throughput.WORKLOADS["samples"]], work[bench.RAW_SAMPLES]
    assert len(sampled) == len(raw) == 8
    nontoxic = [row["prompt"]["text"] for row in read_jsonl(source("decodingtrust", "subset", settings),
                                                            "toxicity/user_prompts/nontoxic.jsonl")]
    for template in toxicity.TEMPLATES:  # each prompt under the benign and the adversarial system prompt
        rs = [r for r in sampled if r.meta["setting"] == f"nontoxic-template-{template}"]
        assert len(rs) == 4
        for r in rs:
            text = nontoxic[int(r.key.rsplit("/", 1)[1])]
            assert r.messages == toxicity.messages(template, text)
            assert (r.n, r.temperature, r.max_tokens) == (toxicity.SAMPLES, toxicity.TEMPERATURE, 32)
    assert len(toxicity.messages(1, "x")[0]["content"]) > 200  # the adversarial system prompt: a prefix to cache
    # the same number of samples of bare texts, with no prompt around them
    assert all(r.messages in nontoxic and (r.n, r.temperature, r.max_tokens) == (25, 1.0, 32) for r in raw)


def _run(tok_s: float, samples: int = 48) -> dict:
    return {"tokens_per_s": tok_s, "requests_per_s": 1.0, "samples": samples}


def test_each_ratio_is_judged_against_its_own_workloads_target():
    """Measured 2026-11-26 on 2 cores (make bench-eval): every target met, while batching short answers and one-token
    MMLU replies gains 1.3-2.2x, which no target asks of them (it was set on continuations)."""
    w = throughput.WORKLOADS
    hf = "hf batch 16"
    records = {w["short"]: {"hf batch 1": _run(27.7), hf: _run(60.0), "vllm": _run(182.8)},
               w["continuations"]: {"hf batch 1": _run(33.3), hf: _run(198.4), "vllm": _run(478.5)},
               w["samples"]: {hf: _run(133.6, 200), "vllm": _run(579.2, 200)},
               bench.RAW_SAMPLES: {hf: _run(229.8, 200), "vllm": _run(500.0, 200)},  # 2.2x: shown, not judged
               w["few-shot"]: {"hf batch 1": _run(17.4), hf: _run(22.2), "vllm": _run(89.1)}}
    rows, verdict = bench.judge(records, hf)
    assert verdict == "PASS"
    table = {r[0]: r for r in rows}
    assert table[w["continuations"]][5:] == ("5.96x (target ≥ 5x)", "2.41x (target ≥ 2x)")
    assert table[w["samples"]][5:] == ("n/a", "4.34x (target ≥ 3x)")
    assert table[w["short"]][5:] == ("2.17x", "3.05x") and table[bench.RAW_SAMPLES][6] == "2.18x"
    assert records[w["samples"]]["vllm_vs_batched"] == 4.34
    records[w["samples"]]["vllm"] = _run(390.0, 200)  # 2.92x: under its 3x
    assert bench.judge(records, hf)[1] == "UNDER"
    records[w["samples"]]["vllm"] = _run(579.2, 200)
    records[w["continuations"]]["hf batch 1"] = _run(45.0)  # batching 4.4x: under its 5x
    assert bench.judge(records, hf)[1] == "UNDER"
    del records[w["samples"]]["vllm"], records[w["continuations"]]["vllm"]  # vLLM not installed: HF targets only
    records[w["continuations"]]["hf batch 1"] = _run(33.3)
    assert bench.judge(records, hf)[1] == "PASS"
