import gzip
import json

import numpy as np
import pytest

from artifact.base import catalog
from artifact.base.catalog import Calibration
from artifact.compress import calibration as C
from artifact.base.errors import ArtifactError, FileFormatError

from tests.helpers.hub_server import HubServer

RECORDS = C.read_records(C.VENDORED / "alpaca_data_cleaned.first256.json", "alpaca")
TEXTS = [C.as_text(r) for r in RECORDS]


def test_vendored_records_are_verified(make_settings, tmp_path):
    ds = C.dataset("alpaca-cleaned-first256")
    path, origin = C.locate(ds, make_settings())
    assert origin["sha256"] == ds.sha256 and origin["origin"] == "vendored" and len(RECORDS) == 256
    tampered = tmp_path / "copy.json"
    tampered.write_bytes(path.read_bytes().replace(b"healthy", b"wealthy", 1))
    with pytest.raises(FileFormatError, match="differs from .* so it is not used"):
        C.locate(ds, make_settings(), local_file=tampered)
    with pytest.raises(ArtifactError, match="unknown calibration set 'wikitext'"):
        C.dataset("wikitext")


def test_records_sampler_follows_gptq_py(smol_tokenizer):
    cal = catalog.get("smollm2-135m-instruct-gptq-4bit-s0").calibration
    a, how = C.draw("gptq", cal, RECORDS, smol_tokenizer, 8192)
    b, _ = C.draw("gptq", cal, RECORDS, smol_tokenizer, 8192)
    c, how_c = C.draw("gptq", Calibration(cal.dataset, cal.samples, 1, cal.template, cal.seqlen), RECORDS,
                      smol_tokenizer, 8192)
    assert a == b and how["digest"] != how_c["digest"]  # same seed, same draw; another seed, another draw
    assert all(len(s) <= 128 for s in a) and 0 < len(a) <= 16
    import random
    picked = random.Random(0).sample(RECORDS, 16)  # Python's random, seeded: what gptq.py does
    first = smol_tokenizer.decode(a[0])
    assert picked[0]["instruction"][:40] in first and "<|im_start|>assistant" in first


def test_records_render_with_the_paper_templates(smol_tokenizer):
    seqs = C.sample_records(RECORDS, 4, 0, smol_tokenizer, "llama-2", 4096)
    text = smol_tokenizer.decode(seqs[0])
    assert text.startswith("<s>[INST] <<SYS>>\nYou are a helpful, respectful and honest assistant.")
    assert "[/INST]" in text and text.rstrip().endswith("</s><s>")


def test_windows_sampler_follows_wanda(smol_tokenizer):
    wins = C.sample_windows(TEXTS, 8, 0, smol_tokenizer, 64)
    assert len(wins) == 8 and all(len(w) == 64 for w in wins)
    assert wins == C.sample_windows(TEXTS, 8, 0, smol_tokenizer, 64)
    assert wins != C.sample_windows(TEXTS, 8, 1, smol_tokenizer, 64)
    full = [smol_tokenizer(t)["input_ids"] for t in TEXTS]
    for w in wins:  # every window is a contiguous slice of one document
        assert any(any(doc[i:i + 64] == w for i in range(len(doc) - 63)) for doc in full if len(doc) > 64)
    with pytest.raises(ArtifactError, match="longer than 100000 tokens"):
        C.sample_windows(TEXTS[:5], 1, 0, smol_tokenizer, 100000, max_tries=2)


def test_blocks_sampler_follows_llm_awq(smol_tokenizer):
    blocks = C.sample_blocks(TEXTS, 16, 0, smol_tokenizer, 128)
    assert blocks and all(len(b) == 128 for b in blocks)
    # the shuffle is numpy's default_rng permutation, which is how `datasets` shuffles
    from datasets import Dataset
    order = Dataset.from_dict({"text": TEXTS}).shuffle(seed=0)["text"]
    kept = [smol_tokenizer(t.strip())["input_ids"] for t in order]
    kept = [k for k in kept if 0 < len(k) <= 128][:16]
    assert [t for b in blocks for t in b] == [t for k in kept for t in k][: 128 * len(blocks)]
    assert list(np.random.default_rng(0).permutation(5)) == list(Dataset.from_dict({"i": list(range(5))})
                                                                .shuffle(seed=0)["i"])


def test_jsonl_gz_and_zst_files_read_the_same(tmp_path):
    import zstandard
    lines = "".join(json.dumps({"text": t, "meta": {}}) + "\n" for t in TEXTS[:20]).encode()
    (tmp_path / "c4.json.gz").write_bytes(gzip.compress(lines))
    (tmp_path / "val.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(lines))
    assert C.read_records(tmp_path / "c4.json.gz", "jsonl") == TEXTS[:20]
    assert C.read_records(tmp_path / "val.jsonl.zst", "jsonl") == TEXTS[:20]
    (tmp_path / "bad.json.gz").write_bytes(b"not gzip")
    with pytest.raises(FileFormatError, match="bad.json.gz: not a readable jsonl"):
        C.read_records(tmp_path / "bad.json.gz", "jsonl")


def _c4_bytes():  # a stand-in for allenai/c4's first shard, in its format: Alpaca text, not C4
    return gzip.compress("".join(json.dumps({"text": t, "url": "", "timestamp": ""}) + "\n"
                                 for t in TEXTS).encode())


def test_hub_fetch_pins_revision_and_sha256(make_settings, tmp_path, said):
    ds = C.dataset("c4")
    with HubServer() as hub:
        commit = hub.state.add("dataset", ds.repo, {ds.filename: _c4_bytes()})
        settings = make_settings(HF_ENDPOINT=hub.url, HF_HUB_CACHE=str(tmp_path / "cache"))
        logs = said
        path, origin = C.locate(ds, settings)
        lock = json.loads((settings.checksums / "calibration" / "c4.json").read_text())
        assert lock == {"schema": 1, "repo": ds.repo, "revision": commit, "files": {ds.filename: origin["sha256"]}}
        assert "commit that file" in logs[0] and C.read_records(path, "jsonl") == TEXTS
        # `main` moves on: the pinned revision is still what is fetched
        hub.state.add("dataset", ds.repo, {ds.filename: b"changed"})
        path2, origin2 = C.locate(ds, settings)
        assert origin2["revision"] == commit and origin2["sha256"] == origin["sha256"]


def test_hub_fetch_refuses_a_corrupted_file(make_settings, tmp_path):
    ds = C.dataset("c4")
    with HubServer() as hub:
        commit = hub.state.add("dataset", ds.repo, {ds.filename: _c4_bytes()})
        settings = make_settings(HF_ENDPOINT=hub.url, HF_HUB_CACHE=str(tmp_path / "cache"))
        lock = settings.checksums / "calibration" / "c4.json"
        lock.parent.mkdir(parents=True)
        lock.write_text(json.dumps({"repo": ds.repo, "filename": ds.filename, "revision": commit,
                                    "sha256": "0" * 64}))
        with pytest.raises(FileFormatError, match="is not used"):
            C.locate(ds, settings)


def test_hub_unreachable_says_what_to_do(make_settings, tmp_path):
    settings = make_settings(HF_ENDPOINT="http://127.0.0.1:9", HF_HUB_CACHE=str(tmp_path / "cache"))
    with pytest.raises(ArtifactError, match="CALIBRATION_FILE"):
        C.locate(C.dataset("pile-val"), settings)


def test_records_render_byte_for_byte_as_gptq_py(smol_tokenizer):
    """Golden, from gptq.py's format strings: a chat template gets f'{istr} {inp}' as the user turn; `default`
    is f"Instruction:\\n{istr}\\nInput:\\n{inp}\\nOutput:\\n" + output (without an input, no Input: lines)."""
    from artifact.base import prompts
    with_input = next(r for r in RECORDS if r["input"])
    without = next(r for r in RECORDS if not r["input"])
    istr, inp, opt = with_input["instruction"], with_input["input"], with_input["output"]
    prompt, full = C._exchange(with_input, None, smol_tokenizer)
    assert (prompt, full) == (f"Instruction:\n{istr}\nInput:\n{inp}\nOutput:\n",
                              f"Instruction:\n{istr}\nInput:\n{inp}\nOutput:\n{opt}")
    prompt, full = C._exchange(without, None, smol_tokenizer)
    assert full == f"Instruction:\n{without['instruction']}\nOutput:\n{without['output']}"
    for template in ("llama-2", "vicuna_v1.1"):
        prompt, full = C._exchange(with_input, template, smol_tokenizer)
        assert prompt == prompts.render(template, [{"role": "user", "content": f"{istr} {inp}"}])
        assert full == prompts.render_exchange(template, f"{istr} {inp}", opt)
    llama = C._exchange(with_input, "llama-2", smol_tokenizer)[1]
    assert llama.endswith(f"<</SYS>>\n\n{istr} {inp}[/INST] {opt} </s><s>")  # FastChat's llama-2, as gptq.py
    vicuna = C._exchange(with_input, "vicuna_v1.1", smol_tokenizer)[1]
    assert vicuna.endswith(f"questions. USER: {istr} {inp} ASSISTANT: {opt}</s>")


def _llama_style_tokenizer(folder):
    """A tiny tokenizer.json built like Llama-2's (BPE over "▁"-joined text, normalizer Prepend("▁") + Replace,
    BOS added by the post-processor), with a LlamaTokenizer config, as the Hub's Llama-2 folders have."""
    import json

    from tokenizers import AddedToken, Tokenizer, models, normalizers, processors
    chars = ["▁", "[", "]", "I", "N", "S", "T", "H", "i"]
    merges = [("▁", "["), ("I", "N"), ("S", "T"), ("IN", "ST"), ("H", "i"), ("▁", "Hi")]
    vocab = {t: i for i, t in enumerate(["<unk>", "<s>", "</s>", *chars, *("".join(m) for m in merges)])}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=merges, unk_token="<unk>"))
    tok.normalizer = normalizers.Sequence([normalizers.Prepend("▁"), normalizers.Replace(" ", "▁")])
    tok.add_special_tokens([AddedToken(t, normalized=False, special=True) for t in ("<unk>", "<s>", "</s>")])
    tok.post_processor = processors.TemplateProcessing(single="<s> $A", special_tokens=[("<s>", 1)])
    folder.mkdir(parents=True, exist_ok=True)
    tok.save(str(folder / "tokenizer.json"))
    (folder / "tokenizer_config.json").write_text(json.dumps({
        "tokenizer_class": "LlamaTokenizer", "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}))
    return vocab


def test_llama_calibration_is_tokenized_as_the_slow_legacy_tokenizer(tmp_path, smol_base):
    """transformers 5 rebuilds a Llama tokenizer's normalizer and drops the "▁" after a special token; the slow
    tokenizer the references used keeps it. reference_tokenizer keeps the file's own normalizer."""
    from transformers import AutoTokenizer
    vocab = _llama_style_tokenizer(tmp_path / "llama")
    text = "<s>[INST] Hi"  # how every llama-2 calibration render starts
    ours = C.reference_tokenizer(tmp_path / "llama")(text)["input_ids"]
    transformers5 = AutoTokenizer.from_pretrained(tmp_path / "llama")(text)["input_ids"]
    assert ours[:3] == [1, 1, vocab["▁["]]  # BOS, the literal <s>, then "▁[" as sentencepiece's legacy mode gives
    assert transformers5[:3] == [1, 1, vocab["["]]  # what a plain AutoTokenizer load would have fed GPTQ
    smol = C.reference_tokenizer(smol_base)  # other tokenizers are left as AutoTokenizer loads them
    assert type(smol).__name__ == type(AutoTokenizer.from_pretrained(smol_base)).__name__
