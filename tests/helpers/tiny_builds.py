"""Build the tiny test Llama with every calibrated method in one process and print each output's sha256 as JSON:
`python -m tests.helpers.tiny_builds <model folder> <output folder> [float32]`. Run under each kernel-path switch
(tests/compress/test_cross_cpu.py). With `float32`, only GPTQ, its statistics in float32 (the precision that differs
between CPUs), to show that the same experiment bites."""
from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path


def _sha(folder: Path) -> str:
    return hashlib.sha256(b"".join(p.read_bytes() for p in sorted(folder.glob("*.safetensors")))).hexdigest()


def main(model: Path, out: Path, float32: bool = False) -> dict[str, str]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from artifact.compress.awq import quantize_awq
    from artifact.compress.gptq import gptq_model, quantize_gptq
    from artifact.compress.layers import precise
    from artifact.compress.prune import prune_model
    from artifact.compress.sparsity import Sparsity
    from tests.helpers import calibration_ids

    seqs = calibration_ids(AutoTokenizer.from_pretrained(model), n=8, length=64)
    shas = {}
    if float32:
        m = AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32)
        quantized, _ = gptq_model(m, seqs, 4, 64, True, 0.01, "cpu", dtype=torch.float32)
        h = hashlib.sha256()
        for name in sorted(quantized):
            h.update(quantized[name][0].numpy().tobytes())
        return {"gptq-float32": h.hexdigest()}
    for name, build in (("gptq", lambda o: quantize_gptq(model, o, seqs, 4, 64)),
                        ("awq", lambda o: quantize_awq(model, o, seqs, 4, 64))):
        (out / name).mkdir(parents=True, exist_ok=True)
        build(out / name)
        shas[name] = _sha(out / name)
    for method in ("wanda", "sparsegpt"):
        m = AutoModelForCausalLM.from_pretrained(model, dtype=torch.float64)
        with precise(m):
            prune_model(m, method, Sparsity.parse("2:4"), seqs)
        m.to(torch.float32).save_pretrained(out / method)
        shas[method] = _sha(out / method)
    return shas


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]), Path(sys.argv[2]), len(sys.argv) > 3 and sys.argv[3] == "float32")))
