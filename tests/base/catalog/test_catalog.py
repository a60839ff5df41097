import csv
import json

import pytest

from artifact.base import catalog
from artifact.base.errors import ArtifactError, UnknownModelError

from tests.helpers import ROOT

REF = ROOT / "reproduce" / "reference"


def config_ids():
    with open(REF / "code-release" / "model_configs.tsv", newline="", encoding="utf-8") as f:
        return [(r["file"], r["model"]) for r in csv.DictReader(f, delimiter="\t") if r["model"]]


def website_ids():
    out = []
    for name in ("num_sheet.csv", "leaderboard.csv", "leaderboard_full.csv"):
        with open(REF / "website" / name, newline="", encoding="utf-8") as f:
            out += [(name, r["Model"]) for r in csv.DictReader(f)]
    return out


def test_every_config_and_website_id_maps_to_exactly_one_entry():
    cat = catalog.load()
    ids = config_ids() + website_ids()
    assert len(config_ids()) == 113  # 115 YAML files, two of them empty (local.yaml, slurm_config.yaml)
    for where, model_id in ids:
        matches = [s for s in cat if catalog.normalize(model_id) in {catalog.normalize(i) for i in s.all_ids()}]
        assert len(matches) == 1, (where, model_id, [m.id for m in matches])
        assert cat.get(model_id) is matches[0]


def test_each_website_file_names_each_model_once():
    cat = catalog.load()
    for name in ("num_sheet.csv", "leaderboard.csv", "leaderboard_full.csv"):
        entries = [cat.get(m).id for f, m in website_ids() if f == name]
        assert len(entries) == len(set(entries)), name


def test_spellings_of_one_model_resolve_to_one_entry():
    cat = catalog.load()
    spellings = ["compressed-llm/llama-2-13b-chat-magnitude-semistruct@0.5_2to4",
                 "hf/compressed-llm/llama-2-13b-chat_magnitude_semistruct@0.5_2to4",
                 "hf/vita-group/llama-2-13b-chat_magnitude_semistruct@0.5_2to4",
                 "llama-2-13b-chat-magnitude-2to4", "LLAMA-2-13B-CHAT-MAGNITUDE-2TO4"]
    assert {cat.get(s).id for s in spellings} == {"compressed-llm/llama-2-13b-chat-magnitude-semistruct@0.5_2to4"}
    seeded = cat.get("hf/efficient-llm/llama-2-13b-chat-gptq-larger-caliset-llama2-temp@4bit_128g_1seed")
    assert seeded.name == "llama-2-13b-chat-gptq-4bit-s1"
    assert cat.get("openai/meta-llama/Llama-2-70b-chat-hf").name == "llama-2-70b-chat"


def test_entries_carry_the_paper_hyperparameters():
    cat = catalog.load()
    g = cat.get("llama-2-13b-chat-gptq-3bit-s2")
    assert (g.method, g.bits, g.group_size, g.desc_act, g.loader) == ("gptq", 3, 128, True, "gptq")
    assert (g.calibration.dataset, g.calibration.samples, g.calibration.seed, g.calibration.template) == \
        ("alpaca-cleaned", 128, 2, "llama-2")
    assert g.revision == "3bit_128g_2seed" and g.tokenizer == "meta-llama/Llama-2-13b-chat-hf"
    big = cat.get("vicuna-13b-v1.3-gptq-4bit-cal1024-s1")
    assert big.calibration.samples == 1024 and big.calibration.template == "vicuna_v1.1"
    awq = cat.get("llama-2-13b-chat-awq-8bit")
    assert (awq.loader, awq.dtype, awq.calibration.dataset) == ("hf", "bfloat16", "pile-val")
    s = cat.get("vicuna-13b-v1.3-sparsegpt-2to4-s1")
    assert (s.pattern, s.sparsity, s.bits, s.calibration.dataset, s.seed) == ("2:4", 0.5, 16, "c4", 1)
    assert cat.get("llama-2-13b-chat-magnitude-1to2").calibration is None
    assert cat.get("llama-2-13b").chat_template == "redpajama-incite-instruct"
    assert cat.get("meta-llama/Llama-2-13b-chat-hf").base.gated
    assert not cat.get("lmsys/vicuna-13b-v1.3").base.gated


def test_architecture_facts_give_the_known_parameter_counts():
    # The models' exact parameter counts (SmolLM2 ties its embeddings)
    assert catalog.get("llama-2-7b").base.arch.params == 6_738_415_616
    assert catalog.get("llama-2-13b-chat").base.arch.params == 13_015_864_320
    assert catalog.get("llama-2-70b-chat").base.arch.params == 68_976_648_192
    assert catalog.get("smollm2-135m-instruct").base.arch.params == 134_515_008
    c4 = catalog.get("vicuna-13b-v1.3-sparsegpt-2to4-s0").calibration
    assert c4.seqlen == 2048  # locuslab/wanda's C4 windows span the model's context (Vicuna v1.3: 2048)
    assert catalog.get("llama-2-13b-chat-wanda-2to4").calibration.seqlen == 4096
    assert catalog.get("llama-2-13b-chat-awq-3bit-s1").calibration.seqlen == 512
    demo = catalog.get("smollm2-135m-instruct-gptq-4bit-s0")
    assert (demo.group_size, demo.calibration.samples, demo.calibration.seqlen) == (64, 16, 128)


def test_names_are_unique_and_entries_serialise():
    specs = list(catalog.load())
    assert len({s.name for s in specs}) == len(specs) == len({s.id for s in specs})
    json.dumps([s.to_dict() for s in specs])


def test_filter_by_fields_and_substring():
    cat = catalog.load()
    gptq4 = cat.filter(["method=gptq", "bits=4", "base=llama-2-13b-chat"])
    assert {s.name for s in gptq4} == {"llama-2-13b-chat-gptq-4bit-s0", "llama-2-13b-chat-gptq-4bit-s1",
                                       "llama-2-13b-chat-gptq-4bit-s2", "llama-2-13b-chat-gptq-4bit",
                                       "llama-2-13b-chat-gptq-4bit-cal256-s0", "llama-2-13b-chat-gptq-4bit-thebloke"}
    assert {s.name for s in cat.filter(["vita-group", "type=pruning"])} == {
        "llama-2-13b-chat-magnitude-2to4", "llama-2-13b-magnitude-2to4", "llama-2-13b-sparsegpt-2to4",
        "vicuna-13b-v1.3-magnitude-2to4", "vicuna-13b-v1.3-sparsegpt-2to4"}
    # 2:4: 6 LLAMA2-13b-Chat + 3 LLAMA2-13b + 6 Vicuna + 3 SmolLM2 demos; 1:2: the three LLAMA2-13b-Chat pruners
    assert len(cat.filter(["rate=2:4"])) == 18
    assert len(cat.filter(["rate=2:4", "size=13b"])) == 15
    assert len(cat.filter(["rate=2:4,1:2"])) == 21
    with pytest.raises(ArtifactError, match="unknown filter field 'colour'"):
        cat.filter(["colour=red"])


def test_unknown_id_suggests_the_closest():
    with pytest.raises(UnknownModelError) as e:
        catalog.get("llama-2-13b-chat-gptq-4bit-s3")
    assert e.value.suggestions[0].startswith("llama-2-13b-chat-gptq-4bit-s")
    assert "make models" in str(e.value)


def test_colliding_ids_are_refused():
    spec = catalog.get("llama-2-13b-chat")
    twin = catalog.get("llama-2-7b-chat")
    clash = type(twin)(**{**vars(twin), "aliases": ("meta-llama/Llama-2-13b-chat-hf",)})
    with pytest.raises(ArtifactError, match="collide"):
        catalog.Catalog([spec, clash])
