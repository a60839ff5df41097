"""One object per compression method (artifact/base/catalog/methods.py) that everything asks: the catalog's names and
kinds, the build layer's implementation (the package named like the method), the cost figures."""
import ast
import importlib

from artifact import pipeline
from artifact.base.catalog import spec
from artifact.base.catalog.methods import METHODS, PRUNING, QUANTIZATION
from artifact.compress import implementation
from artifact.base.settings import ROOT


def test_the_registry_names_exactly_the_catalogs_methods():
    assert set(spec.METHODS) == {"none", *METHODS} and set(spec.QUANTIZATION) == set(QUANTIZATION) == {"gptq", "awq"}
    assert set(PRUNING) == {"magnitude", "sparsegpt", "wanda"}


def test_every_method_has_an_implementation_and_complete_facts():
    for name, m in METHODS.items():
        package = implementation(name)
        assert package.__name__ == f"artifact.compress.{name}" and callable(package.build)
        assert m.implementation >= 1 and "torch" in m.libraries and m.gpu_minutes_per_billion > 0
        assert (m.sampler is None) == (name == "magnitude")  # magnitude pruning uses no calibration data
        assert m.sampler in (None, "records", "blocks", "windows")
        assert 0 < m.cpu_build_seconds and 0 < m.cpu_target_seconds and m.cpu_eval_factor >= 1
        if not m.quantization:  # a pruning method also says what it collects and how it prunes
            assert (package.STATISTIC is None) == (not m.calibrated) and callable(package.apply)
    assert pipeline.build_minutes("awq") > pipeline.build_minutes("gptq") > pipeline.build_minutes("magnitude")


def test_no_module_outside_the_registry_branches_on_a_method_name():
    """The facts live in one object: compress/, pipeline.py and bench.py ask it instead of comparing names
    (`method == "gptq"`) or keeping their own per-method tables."""
    names = set(METHODS)
    found = []
    for path in [*(ROOT / "artifact" / "compress").glob("*.py"), ROOT / "artifact" / "pipeline.py",
                 ROOT / "artifact" / "bench.py"]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare) and any(isinstance(c, ast.Constant) and c.value in names
                                                     for c in [node.left, *node.comparators]):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if isinstance(node, ast.Dict) and {getattr(k, "value", None) for k in node.keys} >= {"gptq", "awq"}:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} (a per-method table)")
    assert found == []
    importlib.import_module("artifact.compress.prune").pruner("wanda")  # a pruning method by its name
