"""One registry of compression methods (artifact/compress/registry.py), equal to the catalog's method names."""
from artifact.catalog import methods as paper_methods
from artifact.catalog import spec
from artifact.compress import calibration, job
from artifact.compress.registry import METHODS


def test_the_registry_names_exactly_the_catalogs_methods():
    assert set(METHODS) == set(spec.METHODS) - {"none"} == set(paper_methods.METHODS)
    assert {m for m, e in METHODS.items() if e.quantization} == set(spec.QUANTIZATION)
    assert {m for m, e in METHODS.items() if e.kind == "pruning"} == set(spec.PRUNING)


def test_every_entry_is_complete():
    for name, m in METHODS.items():
        assert m.driver in ("gptq", "awq", "prune") and m.implementation >= 1 and "torch" in m.libraries
        assert (m.sampler is None) == (name == "magnitude")  # magnitude pruning uses no calibration data
        assert m.sampler in (None, "records", "blocks", "windows") and m.gpu_minutes_per_billion > 0
    assert job.METHODS is METHODS and not hasattr(calibration, "SAMPLERS")
