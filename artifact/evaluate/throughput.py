"""Generation throughput for dry-run estimates: measured by `make bench-eval` on this machine where it was run,
otherwise an assumption for a 13B model on one H100 (said as such).

`make bench-eval` writes results/bench/eval.json: per workload (short answers, continuations, 25 seeded samples,
5-shot prompts) and per engine, generated tokens per second of wall time with prompt processing included, on
SmolLM2-135M, with the machine it ran on. An estimate for another model scales those rates by the parameter ratio
(a model twice the size generates about half as fast on the same hardware); a bench from another machine or device
is not used.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from ..base.results import Layout

# the workloads of `make bench-eval` (artifact/bench.py), by the kind of request they stand for
WORKLOADS = {"short": "short answers (OOD, 20 tok)", "continuations": "continuations (RTP, 64 tok)",
             "samples": "25 samples (toxicity prompts, 32 tok, T=1)", "few-shot": "5-shot MMLU (1 tok)"}
HF_BATCH = 16  # the batched HF engine the bench measures
# Rough throughput of a 13B model in bf16 on one H100 with batched generation (not measured by this project):
# prompt tokens and generated tokens per second
PREFILL_TOK_S, DECODE_TOK_S = 8000.0, 600.0
ASSUMED_PARAMS = 13_015_864_320  # Llama-2-13b, the model the assumption is for
FEW_SHOT_TOKENS = 1000  # prompts this long with short answers are priced like 5-shot MMLU
CHARS_PER_TOKEN = 4  # the estimate every dry run uses for a prompt it has not tokenized


def estimated_tokens(messages) -> float:
    """Tokens of a prompt (a string or chat messages), at CHARS_PER_TOKEN characters a token: an estimate."""
    text = messages if isinstance(messages, str) else "".join(m["content"] for m in messages)
    return len(text) / CHARS_PER_TOKEN


def machine(device: str) -> str:
    """What a measurement is valid for: the GPU's name, or the CPU's model and core count."""
    if device.startswith("cuda"):
        import torch
        return f"{torch.cuda.get_device_name(0)} (cuda)"
    from ..base.provenance import cpu_model
    return f"{cpu_model()}, {os.cpu_count()} cores"


@dataclass(frozen=True)
class Rates:
    """Generated tokens per second by workload kind (None: the 13B/H100 assumption) and where they come from."""

    tok_s: dict[str, float] | None = None
    params: int | None = None  # parameters of the model they were measured on
    basis: str = (f"assumed {PREFILL_TOK_S:g} prompt and {DECODE_TOK_S:g} generated tokens/s for a 13B model in bf16 "
                  "on one H100 (not measured here)")
    extra: dict = field(default_factory=dict)

    @property
    def measured(self) -> bool:
        return self.tok_s is not None


def load(results: Path, backend: str, device: str) -> Rates:
    """The measured rates of `backend` on this machine and device, if `make bench-eval` recorded them."""
    path = Layout(Path(results)).bench / "eval.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Rates()
    engine = "vllm" if backend == "vllm" else f"hf batch {HF_BATCH}"
    if not isinstance(data, dict) or data.get("machine") != machine(device) or not data.get("model_params"):
        return Rates()
    runs = data.get("runs") or {}
    tok_s = {kind: (runs.get(w) or {}).get(engine, {}).get("tokens_per_s") for kind, w in WORKLOADS.items()}
    if not all(isinstance(v, (int, float)) and v > 0 for v in tok_s.values()):
        return Rates()
    return Rates(tok_s, int(data["model_params"]), f"measured by make bench-eval ({engine}) on {data['machine']}, "
                 f"{str(data.get('time', '?'))[:10]}, on a {data['model_params'] / 1e6:.0f}M model; scaled by "
                 "parameters", {"file": str(path)})


def kind(request, prompt_tokens: float) -> str:
    if request.n > 1:
        return "samples"
    if request.max_tokens <= 20:
        return "few-shot" if prompt_tokens >= FEW_SHOT_TOKENS else "short"
    return "continuations"


def hours(rates: Rates, requests, prompt_tokens: list[float], params: int | None) -> float:
    """Hours to generate every sample of `requests` (prompt processing included) for a model of `params`."""
    if not rates.measured:  # the assumption is for a 13B model: other sizes scale by parameters
        scale = (params or ASSUMED_PARAMS) / ASSUMED_PARAMS
        return scale * sum(r.n * (t / PREFILL_TOK_S + r.max_tokens / DECODE_TOK_S)
                           for t, r in zip(prompt_tokens, requests, strict=True)) / 3600
    scale = (params or rates.params) / rates.params
    return sum(r.n * r.max_tokens * scale / rates.tok_s[kind(r, t)]
               for t, r in zip(prompt_tokens, requests, strict=True)) / 3600
