"""Calibration data: where it comes from (always checked by sha256) and how each tool of the paper drew it.

Sources
  alpaca-cleaned           Hub dataset yahma/alpaca-cleaned, alpaca_data_cleaned.json (comp-trust's gptq.py)
  c4                       Hub dataset allenai/c4, en/c4-train.00000-of-01024.json.gz (locuslab/wanda)
  pile-val                 Hub dataset mit-han-lab/pile-val-backup, val.jsonl.zst (llm-awq)
  alpaca-cleaned-first256  vendored in artifact/data/calibration (the offline demo; stand-in for C4/pile-val)
A Hub file is pinned by `checksums/calibration/<key>.json` (revision and sha256). The first fetch on a machine
that reaches the Hub resolves `main` to a commit, records both, and says to commit the file; every later fetch
downloads that revision and refuses bytes with another sha256. `CALIBRATION_FILE=<path>` uses a local copy
instead (checked against the record when there is one).

Samplers (each reimplements its tool's procedure from its description, not its code)
  records  comp-trust gptq.py: draw N records without replacement with Python's `random` seeded by the seed,
           render each as one user/assistant exchange in the model's chat template (instruction and input joined
           by a space) or gptq.py's `default` text, drop records whose prompt alone reaches the length limit,
           truncate the rest to it
  windows  locuslab/wanda get_c4: N times, pick random documents until one is longer than `seqlen` tokens, then
           take a random window of `seqlen` tokens from it (Python's `random`, seeded)
  blocks   llm-awq get_calib_dataset: shuffle the documents (numpy default_rng permutation, as `datasets`
           shuffles), keep the first N that fit in `seqlen` tokens, concatenate, cut into `seqlen`-token blocks
"""
from __future__ import annotations

import logging
import gzip
import hashlib
import io
import json
import random
from dataclasses import dataclass
from pathlib import Path

from ..base import fetch, ledger, prompts
from ..base.errors import ArtifactError, ChecksumMismatchError, FileFormatError, HubError
from ..base.provenance import rel, sha256_file

logger = logging.getLogger(__name__)

VENDORED = Path(__file__).resolve().parents[1] / "data" / "calibration"


@dataclass(frozen=True)
class Dataset:
    key: str
    kind: str  # "alpaca": a JSON list of {instruction, input, output}; "jsonl": one {"text": ...} per line
    repo: str | None = None
    filename: str | None = None
    vendored: str | None = None
    sha256: str | None = None


DATASETS = {d.key: d for d in (
    Dataset("alpaca-cleaned", "alpaca", "yahma/alpaca-cleaned", "alpaca_data_cleaned.json"),
    Dataset("c4", "jsonl", "allenai/c4", "en/c4-train.00000-of-01024.json.gz"),
    Dataset("pile-val", "jsonl", "mit-han-lab/pile-val-backup", "val.jsonl.zst"),
    Dataset("alpaca-cleaned-first256", "alpaca", vendored="alpaca_data_cleaned.first256.json",
            sha256="f88197862dc35602c3d08db34fe19ba02f9c17f2c3632d57fb20f0afe2307724"),
)}


def dataset(key: str) -> Dataset:
    if key not in DATASETS:
        raise ArtifactError(f"unknown calibration set {key!r}; use one of {', '.join(DATASETS)}")
    return DATASETS[key]


# ----------------------------------------------------------------------------------------------- sources

def _lock_path(checksums: Path, ds: Dataset) -> Path:
    return ledger.lock_path(checksums, "calibration", ds.key)


def _check(path: Path, expected: str | None, where: str) -> str:
    digest = sha256_file(path)
    if expected and digest != expected:
        raise ChecksumMismatchError(path, f"sha256 {digest[:16]}… differs from {expected[:16]}… recorded in {where}; "
                                          "the file is corrupt or a different version, so it is not used",
                                    "fetch it again (delete it from the Hub cache) or pass an intact copy with "
                                    "CALIBRATION_FILE=<path>")
    return digest


def locate(ds: Dataset, settings, local_file: Path | None = None) -> tuple[Path, dict]:
    """The calibration file on disk, verified, and where it came from."""
    lock_path = _lock_path(settings.checksums, ds)
    lock = ledger.read_lock(settings.checksums, "calibration", ds.key)
    if local_file is not None:
        if not Path(local_file).is_file():
            raise ArtifactError(f"CALIBRATION_FILE {local_file} does not exist")
        expected = ds.sha256 or (lock or {}).get("files", {}).get(ds.filename)
        digest = _check(Path(local_file), expected, rel(lock_path) if lock else "the catalog")
        return Path(local_file), {"dataset": ds.key, "file": str(local_file), "sha256": digest, "origin": "local file"}
    if ds.vendored:
        path = VENDORED / ds.vendored
        digest = _check(path, ds.sha256, "artifact/compress/calibration.py")
        return path, {"dataset": ds.key, "file": rel(path), "sha256": digest, "origin": "vendored"}
    return _fetch(ds, lock, lock_path, settings)


def _fetch(ds: Dataset, lock: dict | None, lock_path: Path, settings) -> tuple[Path, dict]:
    try:
        with fetch.explain(settings, ds.repo):
            revision = lock["revision"] if lock else fetch.dataset_head(settings, ds.repo)
        path, _ = fetch.hub_file(settings, ds.repo, ds.filename, revision)
    except (HubError, ValueError) as e:
        raise ArtifactError(f"cannot fetch {ds.repo}/{ds.filename} from the Hub ({e}); run where the Hub is "
                            f"reachable, or pass a local copy with CALIBRATION_FILE=<path>") from None
    digest = _check(path, lock["files"].get(ds.filename) if lock else None, rel(lock_path))
    if not lock:
        ledger.write_lock(settings.checksums, "calibration", ds.key, {"repo": ds.repo, "revision": revision,
                                                                      "files": {ds.filename: digest}})
        logger.info(f"recorded {ds.repo}@{revision[:12]} {ds.filename} sha256 {digest[:16]}… in {rel(lock_path)}; "
                    "commit that file so every later fetch is pinned to it")
    return path, {"dataset": ds.key, "file": f"{ds.repo}/{ds.filename}", "revision": revision, "sha256": digest,
                  "origin": "hub"}


def _open_text(path: Path):
    if path.suffix == ".gz":
        return gzip.open(path, "rt", encoding="utf-8")
    if path.suffix == ".zst":
        import zstandard
        return io.TextIOWrapper(zstandard.ZstdDecompressor().stream_reader(open(path, "rb")), encoding="utf-8")
    return open(path, encoding="utf-8")


def read_records(path: Path, kind: str) -> list:
    try:
        with _open_text(path) as f:
            if kind == "alpaca":
                records = json.load(f)
                if not isinstance(records, list) or not all("instruction" in r and "output" in r for r in records):
                    raise ValueError("expected a list of {instruction, input, output} records")
                return records
            return [json.loads(line)["text"] for line in f if line.strip()]
    except (ValueError, KeyError, OSError, EOFError) as e:
        raise FileFormatError(path, None, f"not a readable {kind} calibration file ({e})") from None


def as_text(record) -> str:
    if isinstance(record, str):
        return record
    return "\n".join(x for x in (record["instruction"], record.get("input", ""), record["output"]) if x)


def reference_tokenizer(folder: Path):
    """The tokenizer the reference scripts drew calibration with: all three load it with use_fast=False (for
    Llama-2: sentencepiece, `legacy` handling). transformers 5 loads a Llama `tokenizer.json` as its LlamaTokenizer,
    which rebuilds the normalizer as Metaspace(prepend_scheme="first"): the text right after a special token
    loses its leading "▁", so every llama-2 calibration render ("<s>[INST] …", the literal <s> after the BOS)
    differs from the slow tokenizer in one id ("[" for "▁["). Loaded from the file as it is, with its
    Prepend("▁")+Replace normalizer, the ids equal the slow tokenizer's (measured on all 256 vendored Alpaca
    records in the llama-2, vicuna_v1.1 and default renders and as plain documents; docs/compression.md, "Against
    the reference code")."""
    from transformers import AutoTokenizer, PreTrainedTokenizerFast
    tokenizer = AutoTokenizer.from_pretrained(folder)
    if type(tokenizer).__name__.startswith("LlamaTokenizer") and (Path(folder) / "tokenizer.json").is_file():
        return PreTrainedTokenizerFast(tokenizer_file=str(Path(folder) / "tokenizer.json"),
                                       bos_token=tokenizer.bos_token, eos_token=tokenizer.eos_token,
                                       unk_token=tokenizer.unk_token, model_max_length=tokenizer.model_max_length)
    return tokenizer


# ----------------------------------------------------------------------------------------------- samplers

def _exchange(record: dict, template: str | None, tokenizer) -> tuple[str, str]:
    """(prompt, prompt + reply) of one Alpaca record, as comp-trust's gptq.py renders it: in a chat template the
    instruction and the input are one user turn joined by a space; without one (`default`), the record is
    `Instruction:\n…\nInput:\n…\nOutput:\n` followed by the output, with no blank lines."""
    instruction, given, reply = record["instruction"], record.get("input"), record["output"]
    user = f"{instruction} {given}" if given else instruction
    if template == "tokenizer":  # the model's own chat template (the demo model)
        turn = [{"role": "user", "content": user}]
        prompt = tokenizer.apply_chat_template(turn, tokenize=False, add_generation_prompt=True)
        full = tokenizer.apply_chat_template(turn + [{"role": "assistant", "content": reply}], tokenize=False)
        return prompt, full
    if template:
        return prompts.render(template, [{"role": "user", "content": user}]), \
            prompts.render_exchange(template, user, reply)
    prompt = f"Instruction:\n{instruction}\n" + (f"Input:\n{given}\n" if given else "") + "Output:\n"
    return prompt, prompt + reply


def sample_records(records: list[dict], n: int, seed: int, tokenizer, template: str | None, max_len: int):
    picked = random.Random(seed).sample(records, min(n, len(records)))
    out = []
    for record in picked:
        prompt, full = _exchange(record, template, tokenizer)
        if len(tokenizer(prompt)["input_ids"]) >= max_len:
            continue
        out.append(tokenizer(full, truncation=True, max_length=max_len)["input_ids"])
    return out


def sample_windows(texts: list[str], n: int, seed: int, tokenizer, seqlen: int, max_tries: int = 100):
    rng, out = random.Random(seed), []
    for _ in range(n):
        for _ in range(max_tries * max(n, 1)):
            ids = tokenizer(texts[rng.randint(0, len(texts) - 1)])["input_ids"]
            if len(ids) > seqlen:
                break
        else:
            raise ArtifactError(f"no calibration document is longer than {seqlen} tokens; use longer texts or a "
                                "smaller seqlen")
        start = rng.randint(0, len(ids) - seqlen - 1)
        out.append(ids[start:start + seqlen])
    return out


def sample_blocks(texts: list[str], n: int, seed: int, tokenizer, seqlen: int):
    import numpy as np

    kept = []
    for idx in np.random.default_rng(seed).permutation(len(texts)):
        ids = tokenizer(texts[int(idx)].strip())["input_ids"]
        if 0 < len(ids) <= seqlen:
            kept.append(ids)
            if len(kept) == n:
                break
    flat = [t for ids in kept for t in ids]
    blocks = [flat[i * seqlen:(i + 1) * seqlen] for i in range(len(flat) // seqlen)]
    if not blocks:
        raise ArtifactError(f"the calibration documents hold fewer than {seqlen} tokens in all")
    return blocks


def draw(method: str, calibration, records: list, tokenizer, max_len: int) -> tuple[list[list[int]], dict]:
    """The calibration sequences of one catalog calibration spec, and how they were drawn."""
    from ..base.catalog.methods import METHODS
    sampler = METHODS[method].sampler
    seed = 0 if calibration.seed is None else calibration.seed
    seqlen = calibration.seqlen or max_len
    if sampler == "records":
        if not isinstance(records[0], dict):
            raise ArtifactError(f"GPTQ calibration needs instruction records, and {calibration.dataset} has plain text")
        seqs = sample_records(records, calibration.samples, seed, tokenizer, calibration.template, seqlen)
    elif sampler == "windows":
        seqs = sample_windows([as_text(r) for r in records], calibration.samples, seed, tokenizer, seqlen)
    else:
        seqs = sample_blocks([as_text(r) for r in records], calibration.samples, seed, tokenizer, seqlen)
    digest = hashlib.sha256(json.dumps(seqs, separators=(",", ":")).encode()).hexdigest()
    return seqs, {"sampler": sampler, "seed": seed, "seed_recorded_by_paper": calibration.seed is not None,
                  "samples": calibration.samples, "seqlen": seqlen, "template": calibration.template,
                  "sequences": len(seqs), "tokens": sum(map(len, seqs)), "digest": digest}
