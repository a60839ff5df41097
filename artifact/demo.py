"""`make demo`, the embedded default main job, offline on a CPU: SmolLM2-135M-Instruct (converted from its PyPI
wheel), its magnitude 2:4 and GPTQ 4-bit variants (built with the real algorithms if missing) on all eight
DecodingTrust dimensions and MMLU on a seeded sample of items per task (DEMO_LIMITS), SAMPLES=1, replies capped at
16 tokens, the vendored data, toxicity by the offline scorer; a table shaped like Table 3 with intervals, the
changes from the dense model, and the paper's headline claim in miniature, diffed against the numbers this project
recorded (reproduce/demo/reference/demo.csv; `--record` rewrites them, on purpose only). The Makefile then replays
the paper's tables. The run itself is artifact/pipeline.py's.
"""
from __future__ import annotations

from .pipeline import Profile

DENSE = "smollm2-135m-instruct"
# Sized to fit 15 minutes on 2 CPU cores from an empty store with items enough per column that a change larger
# than the noise can show (docs/evaluation.md, "The demo"): items per task by perspective, one sample, 16-token replies.
DEMO_LIMITS = {"advglue": 10, "ood": 5, "adv_demo": 6, "ethics": 5, "fairness": 20, "toxicity": 5, "privacy": 1,
               "stereotype": 1, "mmlu": 6}
DEMO = Profile("demo", (DENSE, "smollm2-135m-instruct-magnitude-2to4", "smollm2-135m-instruct-gptq-4bit-s0"), "all",
               DEMO_LIMITS, 1, 16, "profanity", 2.9)
