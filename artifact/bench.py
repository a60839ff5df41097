"""Benchmarks: `python -m artifact.bench compress|eval` (make bench-compress, make bench-eval).

compress  rebuilds each SmolLM2 demo model (FORCE) in its own process, in a bench store under results/bench, and
          reports the method's wall time and the process's peak memory from the recipe, against the targets for
          this 2-core machine. Results: results/bench/compress.json.
eval      generation throughput of the evaluation backend on SmolLM2: the same real OOD prompts batched and one at
          a time, in generated tokens per second, and the ratio (target: batched >= 5x). results/bench/eval.json.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from tabulate import tabulate

from . import store
from .acquire import embedded
from .catalog import get
from .provenance import stamp
from .settings import ROOT, load

# seconds on 2 CPU cores, from the compression issue
COMPRESS_TARGETS = {"magnitude": 5, "wanda": 15, "sparsegpt": 60, "gptq": 60, "awq": 90}
DEMOS = ("smollm2-135m-instruct-magnitude-2to4", "smollm2-135m-instruct-wanda-2to4-s0",
         "smollm2-135m-instruct-sparsegpt-2to4-s0", "smollm2-135m-instruct-gptq-4bit-s0",
         "smollm2-135m-instruct-awq-4bit-s0")


def compress() -> int:
    settings = load()
    bench = settings.results / "bench"
    env = {**os.environ, "ARTIFACT_STORE": str(bench / "store"), "ARTIFACT_CHECKSUMS": str(bench / "checksums")}
    embedded.ensure(get("smollm2-135m-instruct"), bench / "store")
    rows, records = [], []
    for name in DEMOS:
        method = get(name).method
        print(f"benchmarking {name} ...", flush=True)
        started = time.time()
        r = subprocess.run([sys.executable, "-m", "artifact", "rebuild", name, "--force"], cwd=ROOT, env=env,
                           capture_output=True, text=True)
        process_s = time.time() - started
        if r.returncode:
            print(r.stderr[-3000:], file=sys.stderr)
            return r.returncode
        recipe = store.read_recipe(bench / "store" / name)
        timing = recipe["stats"]["timing"]
        target = COMPRESS_TARGETS[method]
        verdict = "PASS" if timing["compress_s"] <= target else "OVER"
        rows.append((method, f"{timing['compress_s']:.1f}", f"{timing['load_s']:.1f}", f"{timing['save_s']:.1f}",
                     f"{process_s:.1f}", f"{recipe['peak_rss_mb']:.0f}", f"≤ {target}", verdict))
        records.append({"method": method, "model": name, **timing, "process_s": round(process_s, 1),
                        "peak_rss_mb": recipe["peak_rss_mb"], "target_s": target, "verdict": verdict,
                        "calibration_tokens": (recipe.get("calibration_provenance") or {}).get("tokens")})
    print(tabulate(rows, headers=["method", "compress s", "load s", "save s", "whole process s", "peak RSS MB",
                                  "target s", ""], tablefmt="github"))
    print(f"\n{os.cpu_count()} CPU cores. 'compress s' is the method itself, judged against the target; the model "
          "load and save (540 MB float32 for SmolLM2) and the process start, calibration drawing and hashing come "
          "on top (whole process s).")
    bench.mkdir(parents=True, exist_ok=True)
    (bench / "compress.json").write_text(json.dumps({**stamp(), "cpu_cores": os.cpu_count(), "runs": records},
                                                    indent=2) + "\n")
    return 0


EVAL_TARGET_RATIO = 5.0


def workloads(settings, n: int) -> dict:
    """Two real workloads: short answers (OOD style prompts, 20 tokens, the classification perspectives) and
    continuations (RealToxicityPrompts texts as raw prompts, 64 tokens, like the generation perspectives)."""
    from .evaluate import Request, ood
    from .evaluate.data import read_jsonl, source

    src = source("decodingtrust", "subset", settings)
    short = [r for r in ood.requests(src)[0] if r.meta["group"] == "style"][:n]
    texts = [row["prompt"]["text"] for row in read_jsonl(src, "toxicity/user_prompts/nontoxic.jsonl")[:n]]
    return {"short answers (OOD, 20 tok)": short,
            "continuations (RTP, 64 tok)": [Request(f"rtp/{i}", t, 64) for i, t in enumerate(texts)]}


def evaluate(n: int = 48, batch: int = 16) -> int:
    from .evaluate.backend import Backend

    settings = load()
    spec = get("smollm2-135m-instruct")
    folder = embedded.ensure(spec, settings.store)
    device = settings.device or ("cuda" if __import__("torch").cuda.is_available() else "cpu")
    rows, records = [], {}
    backends = {size: Backend(folder, device, spec.chat_template, batch_size=size) for size in (1, batch)}
    for work, reqs in workloads(settings, n).items():
        for size, backend in backends.items():
            texts = {r.key: backend.render(r.messages) for r in reqs}
            backend.generate(backend.batches(reqs, texts)[0], texts)  # warm-up
            started, tokens = time.perf_counter(), 0
            for b in backend.batches(reqs, texts):
                tokens += backend.generate(b, texts)[1]
            wall = time.perf_counter() - started
            records.setdefault(work, {})[size] = {"requests": len(reqs), "tokens": tokens, "wall_s": round(wall, 2),
                                                  "tokens_per_s": round(tokens / wall, 2)}
        one, many = records[work][1]["tokens_per_s"], records[work][batch]["tokens_per_s"]
        records[work]["ratio"] = round(many / one, 2)
        rows.append((work, len(reqs), records[work][batch]["tokens"], f"{one:.1f}", f"{many:.1f}",
                     f"{many / one:.2f}x", "PASS" if many / one >= EVAL_TARGET_RATIO else "UNDER"))
    print(tabulate(rows, headers=["workload", "requests", "generated tokens", "tok/s one at a time",
                                  f"tok/s batch {batch}", "ratio", f"target >= {EVAL_TARGET_RATIO:.0f}x"],
                   tablefmt="github"))
    ratio = min(r["ratio"] for r in records.values())
    verdict = "PASS" if ratio >= EVAL_TARGET_RATIO else "UNDER"
    print(f"\n{device}, {os.cpu_count()} CPU cores, SmolLM2-135M (float32 on CPU, bf16 on CUDA), greedy; the "
          "ratio counts generated tokens only, prompt processing is part of the time.")
    bench = settings.results / "bench"
    bench.mkdir(parents=True, exist_ok=True)
    (bench / "eval.json").write_text(json.dumps({**stamp(), "device": device, "cpu_cores": os.cpu_count(),
                                                 "runs": records, "ratio": round(ratio, 2), "verdict": verdict},
                                                indent=2) + "\n")
    return 0


def awq_dtype(layers: int = 2) -> int:
    """How much the AWQ search's float32 (ours) differs from llm-awq's float16 (its model dtype in the paper's time):
    the same calibration blocks and search on the first `layers` decoder layers of SmolLM2, once in each dtype, and
    the share of 4-bit codes that come out different (docs/compression.md, "Against the reference code")."""
    import torch

    from .compress.awq import awq_model
    from .compress.calibration import DATASETS, draw, locate, read_records

    settings = load()
    spec = get("smollm2-135m-instruct-awq-4bit-s0")
    folder = embedded.ensure(get("smollm2-135m-instruct"), settings.store)
    from transformers import AutoModelForCausalLM, AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(folder)
    path, _ = locate(DATASETS[spec.calibration.dataset], settings)
    seqs, _ = draw("awq", spec.calibration, read_records(path, DATASETS[spec.calibration.dataset].kind), tokenizer,
                   2048)
    codes = {}
    for dtype in (torch.float32, torch.float16):
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype)
        model.model.layers = model.model.layers[:layers]
        started = time.perf_counter()
        codes[dtype] = {k: v[0] for k, v in awq_model(model, seqs, spec.bits, spec.group_size).items()}
        print(f"{dtype}: {time.perf_counter() - started:.0f} s for {layers} layers", flush=True)
    total = sum(c.numel() for c in codes[torch.float32].values())
    flips = sum(int((codes[torch.float32][k] != codes[torch.float16][k]).sum()) for k in codes[torch.float32])
    far = sum(int(((codes[torch.float32][k] - codes[torch.float16][k]).abs() > 1).sum()) for k in codes[torch.float32])
    print(f"4-bit codes that differ between a float32 and a float16 search: {flips} of {total} "
          f"({100 * flips / total:.2f}%); by more than one step: {far} ({100 * far / total:.3f}%)")
    out = settings.results / "bench"
    out.mkdir(parents=True, exist_ok=True)
    (out / "awq-dtype.json").write_text(json.dumps({**stamp(), "layers": layers, "codes": total, "differ": flips,
                                                   "differ_by_more_than_one": far}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    verbs = {"compress": compress, "eval": evaluate, "awq-dtype": awq_dtype}
    if len(sys.argv) != 2 or sys.argv[1] not in verbs:
        print(f"usage: python -m artifact.bench {{{'|'.join(verbs)}}}", file=sys.stderr)
        sys.exit(2)
    sys.exit(verbs[sys.argv[1]]())
