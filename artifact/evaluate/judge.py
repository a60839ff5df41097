"""The MT-Bench judge: any OpenAI-compatible chat endpoint (JUDGE=api, the paper's GPT-4 by default) or a stored
model served by our own engine (JUDGE=local, MODEL_JUDGE=<id>), behind one cache.

Every judgment is cached by (judge, sha256 of its messages) under <results>/eval/_judgments/, written atomically
as soon as it arrives: a killed run resumes without asking again, and a paid judgment is never bought twice. The
API judge uses the `openai` client (temperature 0, up to 2048 tokens, as FastChat), paced to JUDGE_QPS, with the
client's own backoff on 429 and 5xx (MAX_RETRIES). The key (JUDGE_API_KEY) is never printed or written. A judge
other than GPT-4 on OpenAI's endpoint makes scores that are not comparable to the paper's, and says so.
"""
from __future__ import annotations

import logging
import hashlib
import json
import time
from pathlib import Path

from ..base import faults, guard
from ..base.errors import ArtifactError, BadInputError
from ..base.provenance import now_utc

logger = logging.getLogger(__name__)

OPENAI = "https://api.openai.com/v1"
PAPER_JUDGE = "gpt-4"
MAX_TOKENS = 2048  # FastChat's chat_completion_openai
MAX_RETRIES = 5
# listed prices, USD per million tokens (input, output), for dry-run cost estimates only
PRICES = {"gpt-4": (30.0, 60.0), "gpt-4-0613": (30.0, 60.0), "gpt-4o": (2.5, 10.0), "gpt-4o-mini": (0.15, 0.6)}


def key_of(messages: list[dict]) -> str:
    return hashlib.sha256(json.dumps(messages, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


class Judge:
    id = "?"
    comparable = False
    max_tokens = MAX_TOKENS

    def complete(self, batch: list[list[dict]]) -> list[str]:
        raise NotImplementedError

    def describe(self) -> dict:
        return {"id": self.id, "comparable_to_paper": self.comparable, "max_tokens": self.max_tokens}


class ApiJudge(Judge):
    def __init__(self, url: str | None, model: str, key: str | None, qps: float):
        self.url, self.model, self.qps = (url or OPENAI).rstrip("/"), model, qps
        if key is None and self.url == OPENAI:
            raise BadInputError("MT-Bench's judge is OpenAI's GPT-4 by default and JUDGE_API_KEY is not set; set it, "
                                "or point JUDGE_URL at another OpenAI-compatible server, or use JUDGE=local "
                                "MODEL_JUDGE=<stored model>")
        from openai import OpenAI
        self.client = OpenAI(base_url=self.url, api_key=key or "none", max_retries=MAX_RETRIES, timeout=120)
        self.id = f"api:{model}@{self.url}"
        self.comparable = self.url == OPENAI and model == PAPER_JUDGE
        self._last = 0.0

    def complete(self, batch):
        return [self._one(m) for m in batch]

    def _one(self, messages: list[dict]) -> str:
        import openai
        wait = self._last + 1 / self.qps - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self._last = time.monotonic()
        try:
            out = self.client.chat.completions.create(model=self.model, messages=messages, temperature=0,
                                                      max_tokens=self.max_tokens)
        except openai.AuthenticationError:
            raise ArtifactError(f"the judge at {self.url} refused JUDGE_API_KEY (401 Unauthorized); set a valid key "
                                "for that endpoint") from None
        except openai.APIConnectionError:
            raise ArtifactError(f"cannot reach the judge at {self.url}; check JUDGE_URL and the network, then rerun "
                                "(the judgments made so far are cached)") from None
        except openai.APIStatusError as e:
            raise ArtifactError(f"the judge at {self.url} answered {e.status_code} after {MAX_RETRIES} retries; "
                                "rerun later (the judgments made so far are cached), or lower JUDGE_QPS") from None
        except (openai.APIResponseValidationError, ValueError) as e:
            raise ArtifactError(f"the judge at {self.url} answered something that is not a chat completion "
                                f"({type(e).__name__}); check JUDGE_URL (the judgments made so far are cached)"
                                ) from None
        try:
            text = out.choices[0].message.content
        except (AttributeError, IndexError, KeyError, TypeError):
            text = 0
        if text is not None and not isinstance(text, str):
            raise ArtifactError(f"the judge at {self.url} answered without a message to read ({str(out)[:80]!r}); "
                                "check JUDGE_URL and JUDGE_MODEL (the judgments made so far are cached)")
        return text or ""


class LocalJudge(Judge):
    """A stored model as the judge, greedy, through our own generation engine (loaded on first use)."""

    def __init__(self, folder: Path, name: str, template: str, device: str, manifest_sha: str,
                 max_tokens: int | None = None):
        self.folder, self.template, self.device = folder, template, device
        self.max_tokens = min(max_tokens or MAX_TOKENS, MAX_TOKENS)
        self.id = f"local:{name}@{manifest_sha[:16]}"
        self.backend = None

    def complete(self, batch):
        from . import Request
        from .backend import Backend
        if self.backend is None:
            self.backend = Backend(self.folder, self.device, self.template)
        reqs = [Request(f"judge/{i}", tuple(m), self.max_tokens) for i, m in enumerate(batch)]
        texts = {r.key: self.backend.render(r.messages) for r in reqs}
        out: dict[str, str] = {}
        for b in self.backend.batches(reqs, texts):
            replies, _ = self.backend.generate(b, texts)
            out.update({r.key: rs[0] for r, rs in zip(b, replies, strict=True)})
        return [out[r.key] for r in reqs]


def make(settings, device: str, max_tokens: int | None = None) -> Judge:
    """The judge the settings name; checked before any generation (a missing key fails here)."""
    if settings.judge == "local":
        from ..base import catalog, store
        if not settings.model_judge:
            raise BadInputError("JUDGE=local needs MODEL_JUDGE=<stored model id>, the model that judges")
        spec = catalog.get(settings.model_judge)
        folder = store.require(settings.store, spec.name, "pull", what="the judge model ")
        return LocalJudge(folder, spec.name, spec.chat_template, device, store.manifest_sha(folder), max_tokens)
    judge = ApiJudge(settings.judge_url, settings.judge_model, settings.judge_key, settings.judge_qps)
    if max_tokens:
        judge.max_tokens = min(max_tokens, MAX_TOKENS)
    return judge


def judge_all(judge: Judge, items: list[list[dict]], cache: Path, progress: bool = False) -> list[str]:
    """The judgment of every message list, from the cache where it is there, else asked (and cached at once)."""
    folder = Path(cache) / hashlib.sha256(judge.id.encode()).hexdigest()[:16]
    keys = [key_of(m) for m in items]
    have: dict[str, str] = {}
    for k in set(keys):
        f = folder / f"{k}.json"
        if f.is_file():
            try:
                entry = json.loads(f.read_text(encoding="utf-8"))
            except ValueError:
                continue  # a damaged entry is asked again
            # used only for the question it names and the judge that made it: another key's entry is asked again
            if isinstance(entry, dict) and entry.get("messages_sha256") == k and entry.get("judge") == judge.id and \
                    isinstance(entry.get("judgment"), str):
                have[k] = entry["judgment"]
    todo = [(k, m) for k, m in dict(zip(keys, items, strict=True)).items() if k not in have]
    if todo:
        logger.info(f"judge {judge.id}: {len(keys) - len(todo)} judgments cached, {len(todo)} to ask")
    bar = None
    if progress and todo:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(todo), desc="judge", unit="judgment", dynamic_ncols=True)
    step = 1 if isinstance(judge, ApiJudge) else 8
    for i in range(0, len(todo), step):
        part = todo[i:i + step]
        for (k, _m), text in zip(part, judge.complete([m for _, m in part]), strict=True):
            guard.write_text(folder / f"{k}.json", json.dumps({"judge": judge.id, "messages_sha256": k,
                                                               "judgment": text, "time": now_utc()}) + "\n")
            have[k] = text
            faults.point("eval.judged")
        if bar is not None:
            bar.update(len(part))
    if bar is not None:
        bar.close()
    return [have[k] for k in keys]


def rate(rows: list[dict], judge: Judge, cache: Path, special_tokens=(), progress=False) -> list[dict]:
    """Rows (one per answered turn) with the judge's `rating` (-1: unparsed) and the judgment's sha256."""
    from . import mtbench
    qs = {q["question_id"]: q for q in mtbench.questions()}
    answers = {(r["question_id"], r["turn"]): mtbench.answer(r["answer"], special_tokens) for r in rows}
    items = []
    for r in rows:
        q = qs[r["question_id"]]
        turns = [answers[(q["question_id"], 1)]] + ([answers[(q["question_id"], 2)]] if r["turn"] == 2 else [])
        items.append(mtbench.judge_messages(q, turns, r["turn"]))
    judgments = judge_all(judge, [m for _, m in items], cache, progress)
    return [{**r, "template": name, "judgment_sha256": key_of(m), "rating": mtbench.rating(j)}
            for r, (name, m), j in zip(rows, items, judgments, strict=True)]


def cost(models: int, judge_model: str) -> dict:
    """The judge calls of MT-Bench for `models` models and their tokens and price at the judge's listed price, every
    answer and judgment at its token cap (an upper bound); tokens are estimated from characters."""
    from . import mtbench
    from .throughput import estimated_tokens
    tokens_in = 0
    for q in mtbench.questions():
        for turn in (1, 2):
            _, messages = mtbench.judge_messages(q, [""] * turn, turn)
            tokens_in += estimated_tokens(messages) + turn * mtbench.MAX_TOKENS
    calls = 2 * len(mtbench.questions())
    tokens_in, tokens_out = models * tokens_in, models * calls * MAX_TOKENS
    price = PRICES.get(judge_model)
    usd = None if price is None else (tokens_in * price[0] + tokens_out * price[1]) / 1e6
    return {"calls": models * calls, "tokens_in": int(tokens_in), "tokens_out": tokens_out, "usd": usd}
