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

from .spec import Base

LLAMA2 = "Llama 2 Community License (meta-llama/Llama-2-*)"
VICUNA = "Vicuna v1.3: non-commercial (LLaMA licence)"

BASES = {b.key: b for b in (
    Base("llama-2-13b-chat", "meta-llama/Llama-2-13b-chat-hf", "LLAMA2 Chat", "13b", "llama-2", LLAMA2, True),
    Base("llama-2-13b", "meta-llama/Llama-2-13b-hf", "LLAMA2", "13b", "redpajama-incite-instruct", LLAMA2, True),
    Base("vicuna-13b-v1.3", "lmsys/vicuna-13b-v1.3", "Vicuna Chat", "13b", "vicuna_v1.1", VICUNA, False),
    Base("llama-2-7b-chat", "meta-llama/Llama-2-7b-chat-hf", "LLAMA2 Chat", "7b", "llama-2", LLAMA2, True),
    Base("llama-2-7b", "meta-llama/Llama-2-7b-hf", "LLAMA2", "7b", "redpajama-incite-instruct", LLAMA2, True),
    Base("vicuna-7b-v1.3", "lmsys/vicuna-7b-v1.3", "Vicuna Chat", "7b", "vicuna_v1.1", VICUNA, False),
    # The website scored the 70b model through an OpenAI-compatible endpoint, hence its `openai/` prefix.
    Base("llama-2-70b-chat", "meta-llama/Llama-2-70b-chat-hf", "LLAMA2 Chat", "70b", "llama-2", LLAMA2, True,
         aliases=("openai/meta-llama/Llama-2-70b-chat-hf",)),
    # A placeholder config of the code release (llama-2-chat.yaml), not a model of the paper.
    Base("gpt-3.5-turbo-0301", "openai/gpt-3.5-turbo-0301", "GPT-3.5", "-", "llama-2", "OpenAI API terms", False,
         loader="api"),
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


def grid(rates, seeds=(None,), samples=128) -> tuple:
    return tuple((r, s, samples) for r, s in product(rates, seeds))


ALPACA, PILE, C4 = "alpaca-cleaned", "pile-val", "c4"
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
)
