"""Facts about each compression method, as the paper states them (Table 1's properties, and Table 2's list of
what each method's own paper evaluated). Tables 1 and 2 are generated from these plus the catalog."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Method:
    key: str
    display: str
    type: str  # "Pruning" | "Quantization"
    weight_update: bool  # calibration data update the kept weights
    criterion: str  # what decides which weights to prune / how to update them
    hardware_friendly: bool
    # What the method's own paper evaluated on: (task, citation) pairs, written "prefix t1, t2, and t3 suffix".
    evaluated_on: tuple[tuple[str, str], ...] = ()
    eval_prefix: str = ""
    eval_suffix: str = ""

    def evaluation(self) -> str:
        parts = [f"{task} ({cite})" for task, cite in self.evaluated_on]
        listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + ", and " + parts[-1]
        return " ".join(p for p in (self.eval_prefix, listed + self.eval_suffix) if p)


_ZERO_SHOT = (("LAMBADA", "Paperno et al., 2016"), ("ARC (Easy and Challenge)", "Boratko et al., 2018"),
              ("PIQA", "Tata & Patel, 2003"))

METHODS = {m.key: m for m in (
    Method("magnitude", "Magnitude", "Pruning", False, "weight", True),
    Method("sparsegpt", "SparseGPT", "Pruning", True, "weight", True, _ZERO_SHOT, "Zero-shot classification on"),
    Method("wanda", "Wanda", "Pruning", False, "weight × act.", True,
           (("BoolQ", "Clark et al., 2019"), ("RTE", "Wang et al., 2019"), ("HellaSwag", "Zellers et al., 2019"),
            ("WinoGrande", "Sakaguchi et al., 2021"), ("ARC", "Boratko et al., 2018"),
            ("OBQA", "Mihaylov et al., 2018")), eval_suffix=" datasets"),
    Method("gptq", "GPTQ", "Quantization", True, "weight", True, _ZERO_SHOT, "Zero-shot classification on"),
    Method("awq", "AWQ", "Quantization", True, "act.", True, (("MMLU", "Hendrycks et al., 2020"),)),
)}
