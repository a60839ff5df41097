"""Journey (d), your own model, end to end with real parts: a tiny random Llama made here and served by the loopback
Hub, pulled at a pinned commit, rebuilt with the paper's GPTQ and magnitude recipes, scored, verified, listed and
forgotten; a local folder imported; every bad reference one sentence and exit 2 with nothing written."""
import json
import re
import shutil

import pytest

from artifact.base import catalog, store
from artifact.base.catalog import facts
from artifact.cli import main

from tests.helpers import HUB_TOKEN as TOKEN
from tests.helpers import ROOT

pytestmark = pytest.mark.model
REPO = "tester/Tiny-Chat"
NAME = "tester--tiny-chat"


MY_TABLE = """title = "Mine: dense and GPTQ 4-bit"
paper = "not in the paper"
kind = "scores"
labels = ["Model"]
columns = ["MMLU", "Fairness"]
compare_to = "dense"

[[rows]]
labels = ["dense"]
models = ["{dense}"]

[[rows]]
labels = ["gptq 4-bit"]
models = ["{gptq}"]
"""


def files_of(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}


@pytest.fixture
def env(monkeypatch, tmp_path, hub):
    recipes = tmp_path / "recipes"
    shutil.copytree(ROOT / "reproduce", recipes, ignore=shutil.ignore_patterns("models"))  # the paper's numbers
    shutil.copytree(ROOT / "checksums", tmp_path / "checksums")  # the data manifests; rebuilds record theirs here
    values = {"ARTIFACT_STORE": tmp_path / "store", "ARTIFACT_RECIPES": recipes, "ARTIFACT_RESULTS": tmp_path / "res",
              "ARTIFACT_CHECKSUMS": tmp_path / "checksums", "ARTIFACT_DEVICE": "cpu", "HF_ENDPOINT": hub.url,
              "HF_TOKEN": TOKEN, "HF_HUB_CACHE": tmp_path / "hf-cache"}
    for k, v in values.items():
        monkeypatch.setenv(k, str(v))
    monkeypatch.delenv("VERBOSE", raising=False)
    return {k: str(v) for k, v in values.items()}


def test_a_hub_model_pulled_rebuilt_scored_verified_and_forgotten(hub, env, tiny_llama, capsys, tmp_path):
    commit = hub.state.add("model", REPO, files_of(tiny_llama))
    assert main(["pull", f"hf:{REPO}", "--dry-run"]) == 0
    plan = capsys.readouterr().out
    assert f"from {REPO} @ {commit[:12]}" in plan and "model.safetensors" in plan
    assert not (tmp_path / "store" / NAME).exists() and not (tmp_path / "recipes" / "models").exists()
    assert main(["pull", f"hf:{REPO}"]) == 0
    out = capsys.readouterr().out
    assert f"use it as MODEL={NAME}" in out and "conversation template tokenizer (its tokenizer's own" in out
    recipe = store.read_recipe(tmp_path / "store" / NAME)
    assert recipe["commit"] == commit and recipe["repo"] == REPO and recipe["measured"]["sparsity"] < 0.01
    model_file = tmp_path / "recipes" / "models" / f"{NAME}.toml"
    assert f'source = "hf:{REPO}"' in model_file.read_text()
    spec = catalog.get(NAME)
    assert spec.base.arch.layers == 2 and spec.base.arch.kv_dim == 64 and spec.chat_template == "tokenizer"

    hub.state.add("model", REPO, {**files_of(tiny_llama), "README.md": b"moved on"})  # the branch moves on
    assert main(["pull", f"hf:{REPO}"]) == 0
    assert store.read_recipe(tmp_path / "store" / NAME)["commit"] == commit  # stays pinned, says so

    assert main(["rebuild", "--base", f"hf:{REPO}", "--method", "gptq", "--calibration", "alpaca-cleaned-first256",
                 "--samples", "8"]) == 0
    gptq = f"{NAME}-gptq-4bit-cal8-s0"
    quant = json.loads((tmp_path / "store" / gptq / "config.json").read_text())["quantization_config"]
    assert (quant["bits"], quant["group_size"], quant["desc_act"]) == (4, 128, True)
    assert main(["rebuild", "--base", NAME, "--method", "magnitude"]) == 0
    assert not list((tmp_path / "checksums" / "models").glob(f"{NAME}*"))  # the project's checksums stay its own
    pruned = facts.measure_sparsity(tmp_path / "store" / f"{NAME}-magnitude-2to4")
    assert pruned == {"sparsity": 0.5, "pattern": "2:4"}
    capsys.readouterr()
    assert main(["models", "--filter", f"base={NAME}"]) == 0
    listed = capsys.readouterr().out
    assert gptq in listed and f"{NAME}-magnitude-2to4" in listed and f"hf:{REPO}" in listed

    assert main(["eval", gptq, "--perspective", "mmlu,fairness", "--limit", "2", "--max-tokens", "4",
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert f"{gptq}: conversation template tokenizer" in out
    configs = list((tmp_path / "res" / "eval" / gptq).rglob("config.json"))
    assert configs and all(json.loads(c.read_text())["template"] == "tokenizer" for c in configs)

    assert main(["eval", NAME, "--perspective", "mmlu,fairness", "--limit", "2", "--max-tokens", "4",
                 "--no-progress"]) == 0
    assert main(["compare", gptq]) == 0
    page = (tmp_path / "res" / "compare" / f"{gptq}.md").read_text()
    assert f"## Change from {NAME}" in page and re.search(r"\| llama-2-13b-chat-gptq-4bit-s0 +\| published", page)
    changes = json.loads((tmp_path / "res" / "compare" / f"{gptq}.json").read_text())["changes"]
    mmlu = next(c for c in changes if c["dimension"] == "mmlu")
    assert len(mmlu["paper"]) == 5 and mmlu["ci95"][0] <= mmlu["change"] <= mmlu["ci95"][1]  # paired, same items
    assert (tmp_path / "res" / "figures" / f"compare-{gptq}.png").stat().st_size > 10_000
    (tmp_path / "recipes" / "mine.toml").write_text(MY_TABLE.format(dense=NAME, gptq=gptq))  # a table of your own
    assert main(["table", "mine", "--source", "local-partial"]) == 0
    cells = json.loads((tmp_path / "res" / "tables" / "mine.json").read_text())["cells"]
    assert len(cells) == 4 and all(c["value"] is not None and c["ci95"] for c in cells)

    assert main(["push", gptq, "--repo", "tester/tiny-gptq"]) == 0  # the trust card, then read back by a pull
    card = hub.state.files("model", "tester/tiny-gptq", "main")["README.md"].decode()
    assert "model-index:" in card and "type: mmlu" in card and "## Trust card" in card and "LIMIT 2 per task" in card
    capsys.readouterr()
    assert main(["pull", "hf:tester/tiny-gptq"]) == 0
    pulled = store.read_recipe(tmp_path / "store" / "tester--tiny-gptq")["card_scores"]
    assert set(pulled) == {"mmlu", "fairness"} and pulled["mmlu"]["config"] == "partial"
    assert catalog.get("tester--tiny-gptq").method == "gptq"  # from its quantization_config
    assert main(["compare", "tester--tiny-gptq"]) == 0
    assert re.search(r"\| tester--tiny-gptq \(its model card\) +\| model card", capsys.readouterr().out)

    assert main(["verify", gptq]) == 0 and main(["store"]) == 0
    rows = {ln.split("|")[1].strip(): ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("| ")}
    assert "never" not in rows[gptq] and f"Hub {REPO}" in rows[NAME] and "never" in rows[NAME]
    assert main(["forget", gptq]) == 0
    assert not (tmp_path / "store" / gptq).exists() and (tmp_path / "store" / NAME).is_dir()
    assert main(["eval", gptq, "--perspective", "mmlu", "--limit", "1"]) == 2  # says how to make it again
    assert f"make rebuild MODEL={gptq}" in capsys.readouterr().err


def test_a_local_folder_is_imported_once_and_again_when_it_changes(env, tiny_llama, tmp_path, capsys):
    mine = tmp_path / "my-model"
    shutil.copytree(tiny_llama, mine)
    assert main(["eval", str(mine), "--perspective", "mmlu", "--limit", "1", "--max-tokens", "2", "--no-progress"]) == 0
    first = store.read_recipe(tmp_path / "store" / "local--my-model")
    assert first["kind"] == "imported" and first["source"] == str(mine)
    assert not store.verify(tmp_path / "store" / "local--my-model")
    assert main(["pull", str(mine)]) == 0
    assert store.read_recipe(tmp_path / "store" / "local--my-model")["made"] == first["made"]  # unchanged: kept
    (mine / "generation_config.json").write_text('{"max_length": 64}')
    assert main(["pull", str(mine), "--template", "llama-2"]) == 0
    assert "changed since it was imported" in capsys.readouterr().out
    assert catalog.get("local--my-model").chat_template == "llama-2"
    with store.claim(tmp_path / "store", "local--my-model"):  # a run holds it: forget refuses, names the holder
        assert main(["forget", "local--my-model"]) == 2
    assert "in use by a run right now" in capsys.readouterr().err
    assert main(["forget", "local--my-model", "--dry-run"]) == 0 and (tmp_path / "store" / "local--my-model").is_dir()
    assert "would remove" in capsys.readouterr().out
    assert main(["forget", "local--my-model"]) == 0 and not (tmp_path / "store" / "local--my-model").exists()
    assert [p.name for p in (tmp_path / "store").glob(".local--my-model.*")] == [".local--my-model.lock"]


def config(**extra) -> bytes:
    base = {"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
            "num_hidden_layers": 1, "num_attention_heads": 4, "vocab_size": 100}
    return json.dumps({**base, **extra}).encode()


BIG = b"\0" * 50_000  # a weights file that must never be fetched when config.json already says no


@pytest.mark.parametrize("repo, files, said", [
    ("tester/missing", None, "found under none of its spellings"),
    ("tester/bert", {"config.json": config(architectures=["BertForMaskedLM"], model_type="bert")},
     "is not a causal language model"),
    ("tester/gpt2", {"config.json": config(architectures=["GPT2LMHeadModel"], model_type="gpt2")},
     "not a causal language model"),
    ("tester/falcon", {"config.json": config(architectures=["FalconForCausalLM"], model_type="falcon")},
     "decoders with the Llama layout"),
    ("tester/no-config", {"README.md": b"hi"}, "has no config.json"),
    ("tester/ct", {"config.json": config(quantization_config={"quant_method": "compressed-tensors"})},
     "quantized as 'compressed-tensors', a format this artifact does not load"),
    ("tester/custom", {"config.json": config(auto_map={"AutoModelForCausalLM": "x.Y"})}, "trust_remote_code"),
])
def test_a_hub_model_this_artifact_cannot_take_is_one_sentence_and_nothing_is_fetched(hub, env, capsys, tmp_path,
                                                                                      repo, files, said):
    if files is not None:
        hub.state.add("model", repo, {**files, "model.safetensors": BIG})
    assert main(["pull", f"hf:{repo}"]) == 2
    err = capsys.readouterr().err.strip()
    assert said in err and err.count("\n") == 0, err
    fetched = [p for p in (tmp_path / "store").rglob("*.safetensors*")] if (tmp_path / "store").exists() else []
    assert fetched == [] and not (tmp_path / "recipes" / "models").exists()


def test_bad_references_and_revisions(hub, env, capsys, tiny_llama, tmp_path, monkeypatch):
    hub.state.add("model", REPO, files_of(tiny_llama))
    hub.state.add("model", "tester/gated", files_of(tiny_llama), gated=True)
    cases = [(["pull", f"hf:{REPO}@no-such-branch"], "no-such-branch"),
             (["eval", "hf:not a repo", "--dry-run"], "is not a Hub model reference"),
             (["eval", "./no/such/folder", "--dry-run"], "is not a folder here"),
             (["eval", str(tmp_path / "recipes"), "--dry-run"], "has no config.json"),
             (["eval", "meta-llama/Llama-3.1-8B-Instruct", "--dry-run"], "MODEL=hf:meta-llama/Llama-3.1-8B-Instruct"),
             (["eval", f"hf:{REPO}", "--perspective", "mmlu"], f"make pull MODEL=hf:{REPO}`"),
             (["pull", f"hf:{REPO}", "--template", "chatml"], "is not a conversation template"),
             (["rebuild", "--base", f"hf:{REPO}"], "give BASE= and METHOD= together"),
             (["rebuild", "--base", f"hf:{REPO}", "--method", "magnitude", "--dry-run"],
              f"the base model hf:{REPO} is not in the store"),
             (["rebuild", "--base", str(tiny_llama), "--method", "gptq", "--pattern", "2:4", "--dry-run"],
              "PATTERN= does not apply to gptq"),
             (["rebuild", "--base", str(tiny_llama), "--method", "fp8", "--dry-run"], "METHOD=fp8 is not"),
             (["eval", "llama-2-13b-chat", "--template", "tokenizer", "--dry-run"], "TEMPLATE= is for your own")]
    for argv, said in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert said in err, (argv, err)
    monkeypatch.setenv("HF_TOKEN", "")
    assert main(["pull", "hf:tester/gated"]) == 2
    assert "gated" in capsys.readouterr().err.lower()
    assert not (tmp_path / "store" / "tester--gated").exists()


@pytest.mark.parametrize("text, said", [
    ('name = "mine"\nsource = "hf:a/b"\nfoo = 1\n', "mine.toml:3: unknown key 'foo'"),
    ('name = "mine"\nsource = 3\n', "mine.toml:2: source must be a str"),
    ('source = "hf:a/b"\n', "name is missing"),
    ('name = "mine"\n', "neither where it comes from"),
    ('name = "mine"\n[compression]\nbase = "llama-2-13b-chat"\nmethod = "gptq"\nbits = "4"\n',
     "mine.toml:5: bits must be a int in [compression]"),
    ('name = "other"\nsource = "hf:a/b"\n', "must be the file's own name"),
    ('name = "mine"\nsource = "hf:a/b"\nx = [\n', "mine.toml:3: not valid TOML"),
])
def test_a_model_file_is_checked_and_its_error_names_file_and_line(env, capsys, tmp_path, text, said):
    (tmp_path / "recipes" / "models").mkdir()
    (tmp_path / "recipes" / "models" / "mine.toml").write_text(text)
    assert main(["models"]) == 2
    assert said in capsys.readouterr().err
