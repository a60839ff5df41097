"""What float precision does to this project's builds: the measurements behind "bit-identical on any x86-64 CPU"
(docs/compression.md) and behind AWQ's float32 search.
`python -m artifact.precision awq-dtype|gptq-dtype` (make bench-awq-dtype, make bench-gptq-dtype); the demo's
replies under each kernel path are artifact/demo.py's `flips` (make bench-demo-flips).

awq-dtype   AWQ's search in float32 (ours) against float16 (llm-awq's at the paper's time): codes that differ
gptq-dtype  a CPU build's float64 against float32 statistics: GPTQ codes that differ
"""
from __future__ import annotations

import json
import sys
import time

from .acquire import embedded
from .base.catalog import get
from .base.provenance import stamp
from .base.settings import load
from .base.results import Layout


def awq_dtype(layers: int = 2) -> int:
    """How much the AWQ search's float32 (ours) differs from llm-awq's float16 (its model dtype in the paper's time):
    the same calibration blocks and search on the first `layers` decoder layers of SmolLM2, once in each dtype, and
    the share of 4-bit codes that come out different (docs/compression.md, "Against the reference code")."""
    import torch

    from .compress.awq import awq_model
    from .compress.calibration import DATASETS, draw, locate, read_records

    settings = load()
    spec = get("smollm2-135m-instruct-awq-4bit-s0")
    folder = embedded.ensure(get("smollm2-135m-instruct"), settings.store)
    from transformers import AutoModelForCausalLM, AutoTokenizer
    tokenizer = AutoTokenizer.from_pretrained(folder)
    path, _ = locate(DATASETS[spec.calibration.dataset], settings)
    seqs, _ = draw("awq", spec.calibration, read_records(path, DATASETS[spec.calibration.dataset].kind), tokenizer,
                   2048)
    codes = {}
    for dtype in (torch.float32, torch.float16):
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype)
        model.model.layers = model.model.layers[:layers]
        started = time.perf_counter()
        codes[dtype] = {k: v[0] for k, v in awq_model(model, seqs, spec.bits, spec.group_size).items()}
        print(f"{dtype}: {time.perf_counter() - started:.0f} s for {layers} layers", flush=True)
    total = sum(c.numel() for c in codes[torch.float32].values())
    flips = sum(int((codes[torch.float32][k] != codes[torch.float16][k]).sum()) for k in codes[torch.float32])
    far = sum(int(((codes[torch.float32][k] - codes[torch.float16][k]).abs() > 1).sum()) for k in codes[torch.float32])
    print(f"4-bit codes that differ between a float32 and a float16 search: {flips} of {total} "
          f"({100 * flips / total:.2f}%); by more than one step: {far} ({100 * far / total:.3f}%)")
    out = Layout(settings.results).bench
    out.mkdir(parents=True, exist_ok=True)
    (out / "awq-dtype.json").write_text(json.dumps({**stamp(), "layers": layers, "codes": total, "differ": flips,
                                                   "differ_by_more_than_one": far}, indent=2) + "\n")
    return 0


def gptq_dtype() -> int:
    """What computing a CPU build in float64 changes (docs/compression.md, "Bit-identical on any CPU"): the demo's
    GPTQ 4-bit model quantized twice on this CPU with the same calibration sequences, once in float64 (what a CPU
    build does) and once with a float32 model and float32 statistics (the precision of the paper's GPU runs), and the
    share of 4-bit codes that come out different."""
    import torch
    from transformers import AutoModelForCausalLM

    from .compress.calibration import DATASETS, draw, locate, read_records, reference_tokenizer
    from .compress.gptq import gptq_model
    from .compress.layers import precise

    settings = load()
    spec = get("smollm2-135m-instruct-gptq-4bit-s0")
    folder = embedded.ensure(get("smollm2-135m-instruct"), settings.store)
    path, _ = locate(DATASETS[spec.calibration.dataset], settings)
    seqs, _ = draw("gptq", spec.calibration, read_records(path, DATASETS[spec.calibration.dataset].kind),
                   reference_tokenizer(folder), spec.base.arch.max_positions)
    codes, error = {}, {}
    for dtype in (torch.float64, torch.float32):
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype).eval()
        started = time.perf_counter()
        with precise(model):
            quantized, error[dtype] = gptq_model(model, seqs, spec.bits, spec.group_size, True, 0.01, "cpu",
                                                 dtype=dtype)
        codes[dtype] = {k: v[0] for k, v in quantized.items()}
        print(f"{dtype}: {time.perf_counter() - started:.0f} s, GPTQ's summed error over the 210 modules "
              f"{error[dtype]:.1f}", flush=True)
    a, b = codes[torch.float64], codes[torch.float32]
    total = sum(c.numel() for c in a.values())
    flips = sum(int((a[k] != b[k]).sum()) for k in a)
    rows = sum(int((a[k] != b[k]).any(1).sum()) for k in a)
    all_rows = sum(c.shape[0] for c in a.values())
    print(f"4-bit codes that differ between a float64 and a float32 build: {flips} of {total} "
          f"({100 * flips / total:.2f}%), in {rows} of {all_rows} output rows")
    out = Layout(settings.results).bench
    out.mkdir(parents=True, exist_ok=True)
    (out / "gptq-dtype.json").write_text(json.dumps({**stamp(), "codes": total, "differ": flips, "rows": all_rows,
                                                    "rows_differing": rows, "error_float64": error[torch.float64],
                                                    "error_float32": error[torch.float32]}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    verbs = {"awq-dtype": awq_dtype, "gptq-dtype": gptq_dtype}
    if len(sys.argv) != 2 or sys.argv[1] not in verbs:
        print(f"usage: python -m artifact.precision {{{'|'.join(verbs)}}}", file=sys.stderr)
        sys.exit(2)
    sys.exit(verbs[sys.argv[1]]())
