"""Batched generation with transformers, on CPU or CUDA; the model loads once per run.

Batches are fixed by the whole request list (grouped by generation settings, sorted by prompt length, then cut),
so a resumed run regenerates an interrupted batch with exactly the same neighbours and padding: scores do not
depend on where a run was killed. Left padding; greedy where temperature is 0 (the fork sampled at 1e-7, which is
greedy up to exact ties); sampling with one seeded generator per returned sequence otherwise (top-k 50, top-p 1,
as the fork got from transformers' defaults). Replies are decoded without skipping special tokens and cut after
the first end-of-sequence token, as the fork's scorers expect (`</s>` may end a reply). Stop strings (a request's
own and the template's `stop_str`) end generation and are cut from the reply, as FastChat and HELM do.
"""
from __future__ import annotations

import time
from pathlib import Path

from ..base import prompts
from ..base.errors import ArtifactError

TOP_K = 50


class SeededSampler:
    """A logits processor that samples one token per row with the row's own torch.Generator and leaves only that
    token finite, so greedy decoding emits it: per-sequence seeds inside one batched generate call."""

    def __init__(self, seeds: list[int], temperature: float, device):
        import torch
        self.temperature = temperature
        self.gens = [torch.Generator(device=device).manual_seed(s) for s in seeds]

    def __call__(self, input_ids, scores):
        import torch
        scores = scores.float() / self.temperature
        kth = torch.topk(scores, min(TOP_K, scores.shape[-1]), dim=-1).values[:, -1:]
        probs = torch.softmax(scores.masked_fill(scores < kth, float("-inf")), dim=-1)
        picks = torch.cat([torch.multinomial(probs[i], 1, generator=g) for i, g in enumerate(self.gens)])
        out = torch.full_like(scores, float("-inf"))
        out[torch.arange(len(picks)), picks] = 0.0
        return out


class Engine:
    """What every generation backend shares: the model's tokenizer, how a request is rendered to a prompt string,
    which tokens and strings end a reply, and how generated token ids become a reply (`reply`), so the backends
    cut replies identically."""

    name = "?"
    served = None  # set where the engine loads another folder than the model's own (a GPTQ model's dense copy)

    def __init__(self, folder: Path, device: str, template: str, mode: str, generation_eos=()):
        from transformers import AutoTokenizer
        self.folder, self.device, self.template, self.mode = folder, device, template, mode
        self.tokenizer = AutoTokenizer.from_pretrained(folder)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token or self.tokenizer.unk_token
        self.eos = {i for i in [self.tokenizer.eos_token_id, *generation_eos, *prompts_stop_ids(template)]
                    if i is not None}
        stop_str = prompts.get(template).stop_str if template in prompts.TEMPLATES else None
        self.stop_str = (stop_str,) if stop_str else ()

    def describe(self) -> dict:
        """The backend, its version and settings: in every score's provenance (and, for a non-default backend, in
        the config hash, so the backends' results never share a folder)."""
        return {"name": self.name}

    def render(self, messages) -> str:
        if isinstance(messages, str):
            return messages
        if self.template == "tokenizer":
            msgs = [{"role": m["role"], "content": m["content"]} for m in messages]
            return self.tokenizer.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
        return (prompts.render_intended if self.mode == "intended" else prompts.render)(self.template, messages)

    def reply(self, ids: list[int], stops) -> tuple[str, int]:
        """(text, tokens counted) of generated ids: up to and including the first end token, decoded without
        skipping special tokens, cut at the earliest stop string."""
        end = next((i + 1 for i, t in enumerate(ids) if t in self.eos), len(ids))
        return cut(self.tokenizer.decode(ids[:end], skip_special_tokens=False, clean_up_tokenization_spaces=False),
                   stops), end

    def group(self, batch, generated: list[tuple[list[int], list[str]]]) -> tuple[list[list[str]], int]:
        """(replies grouped per request, `n` each, and the tokens counted) from each sample's (ids, stop strings),
        in batch order."""
        replies, count = [], 0
        for ids, stops in generated:
            text, n = self.reply(ids, stops)
            replies.append(text)
            count += n
        grouped, i = [], 0
        for r in batch:
            grouped.append(replies[i:i + r.n])
            i += r.n
        return grouped, count


def generation_eos(folder: Path) -> list[int]:
    """The end tokens of a checkpoint's generation_config.json (none where it has none)."""
    import json
    f = Path(folder) / "generation_config.json"
    eos = json.loads(f.read_text()).get("eos_token_id") if f.is_file() else None
    return [e for e in (eos if isinstance(eos, list) else [eos]) if e is not None]


class Backend(Engine):
    """transformers' `generate` in fixed padded batches."""

    name = "hf"

    def __init__(self, folder: Path, device: str, template: str, mode: str = "fork", batch_size: int | None = None,
                 load: bool = True):
        super().__init__(folder, device, template, mode, generation_eos(folder))
        self.batch_size = batch_size or (32 if device.startswith("cuda") else 8)
        # padded prompt tokens one generate call may hold: a long prompt (a 32-shot ethics prompt) is not
        # padded onto seven short ones; the CPU figure was measured on SmolLM2 (ethics LIMIT=1: 33 s)
        self.max_batch_tokens = 65536 if device.startswith("cuda") else 2048
        if load:
            self.load()

    def load(self) -> None:
        """Load the model (the constructor does unless told not to: a run checks its results folders first)."""
        import torch
        from transformers import AutoModelForCausalLM
        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        try:
            self.model = AutoModelForCausalLM.from_pretrained(self.folder, dtype=dtype, device_map=self.device).eval()
        except (OSError, ValueError, RuntimeError) as e:
            raise ArtifactError(f"cannot load the model in {self.folder} on {self.device} ({type(e).__name__}: "
                                f"{str(e).splitlines()[0][:200]}); check `make verify` and the device") from None
        gen_eos = self.model.generation_config.eos_token_id
        self.eos |= {i for i in (gen_eos if isinstance(gen_eos, list) else [gen_eos]) if i is not None}

    def describe(self) -> dict:
        import transformers
        return {"name": self.name, "version": transformers.__version__, "batch_size": self.batch_size}

    def batches(self, requests, prompts_: dict[str, str]) -> list[list]:
        """Fixed batches: same generation settings together, longest prompts first, then cut at `batch_size`
        sequences or `max_batch_tokens` padded prompt tokens, whichever comes first."""
        lengths = {r.key: len(self.tokenizer(prompts_[r.key]).input_ids) for r in requests}
        groups: dict[tuple, list] = {}
        for r in requests:
            groups.setdefault((r.max_tokens, r.temperature, r.n, r.stop), []).append(r)
        out = []
        for _, rs in sorted(groups.items()):
            rs = sorted(rs, key=lambda r: (-lengths[r.key], r.key))
            per = max(1, self.batch_size // rs[0].n)
            batch: list = []
            for r in rs:  # longest first, so the first request of a batch sets its padded length
                if batch and (len(batch) == per or (len(batch) + 1) * r.n * lengths[batch[0].key] >
                              self.max_batch_tokens):
                    out.append(batch)
                    batch = []
                batch.append(r)
            if batch:
                out.append(batch)
        return out

    def generate(self, batch, prompts_: dict[str, str], seed: int = 0) -> tuple[list[list[str]], int]:
        """Replies (n per request) for one batch, and the number of tokens generated."""
        import torch
        first = batch[0]
        texts = [prompts_[r.key] for r in batch for _ in range(r.n)]
        enc = self.tokenizer(texts, return_tensors="pt", padding=True).to(self.model.device)
        kwargs = dict(max_new_tokens=first.max_tokens, do_sample=False, temperature=None, top_p=None, top_k=None,
                      pad_token_id=self.tokenizer.pad_token_id, eos_token_id=sorted(self.eos))
        stops = [*first.stop, *self.stop_str]
        if stops:
            kwargs.update(stop_strings=stops, tokenizer=self.tokenizer)
        if first.temperature > 0:
            seeds = [seed_of(seed, r.key, j) for r in batch for j in range(r.n)]
            kwargs["logits_processor"] = [SeededSampler(seeds, first.temperature, self.model.device)]
        with torch.inference_mode():
            out = self.model.generate(**enc, **kwargs)
        return self.group(batch, [(ids, stops) for ids in out[:, enc.input_ids.shape[1]:].tolist()])


def cut(reply: str, stops) -> str:
    """The reply up to (not including) the earliest stop string."""
    at = min((i for i in (reply.find(s) for s in stops) if i >= 0), default=len(reply))
    return reply[:at]


def seed_of(seed: int, key: str, j: int) -> int:
    import zlib
    return (seed * 1_000_003 + zlib.crc32(f"{key}#{j}".encode())) % (2 ** 63)


def prompts_stop_ids(template: str) -> tuple[int, ...]:
    return prompts.get(template).stop_token_ids if template in prompts.TEMPLATES else ()


class Meter:
    """Tokens per second over a run, for the progress bar and the benchmark."""

    def __init__(self):
        self.start, self.tokens = time.perf_counter(), 0

    def add(self, n: int) -> float:
        self.tokens += n
        return self.tokens / max(time.perf_counter() - self.start, 1e-9)
