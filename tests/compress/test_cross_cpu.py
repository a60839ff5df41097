"""Builds that are bit-identical on any x86-64 CPU (issue #30). Each kernel-path switch (tests/helpers/kernel_paths.py)
makes this machine round float32 the way another CPU does; a CPU build computes in float64 with exact ties
(artifact/compress/layers.py, quantlib.round_half_even) and must write the same bytes under every one of them.

Here: the tiny Llama with all four calibrated methods, and the same GPTQ in float32, which must differ (the
experiment bites). Marked slow: every demo model rebuilt under every switch against checksums/models/ (recorded on
another machine), which is what `make demo` relies on."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from artifact.base import ledger, store
from artifact.base.settings import CHECKSUMS

from tests.helpers import ROOT, kernel_paths

QUICK = {"all three": kernel_paths.ALL, "ATEN_CPU_CAPABILITY=avx2": {"ATEN_CPU_CAPABILITY": "avx2"},
         "ONEDNN_MAX_CPU_ISA=AVX2": {"ONEDNN_MAX_CPU_ISA": "AVX2"}}


@pytest.fixture(scope="module")
def bites():
    changed = kernel_paths.float32_changes()
    if not changed:
        pytest.skip("no kernel-path switch changes float32 results on this CPU: the experiment cannot bite here")
    return changed


def _tiny(model, out, switch, *extra):
    r = subprocess.run([sys.executable, "-m", "tests.helpers.tiny_builds", str(model), str(out), *extra], cwd=ROOT,
                       env=kernel_paths.kernel_env(switch), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_tiny_builds_are_bit_identical_under_other_kernel_paths(bites, tiny_llama, tmp_path):
    plain = _tiny(tiny_llama, tmp_path / "plain", {})
    assert set(plain) == {"gptq", "awq", "wanda", "sparsegpt"}
    for name, switch in QUICK.items():
        assert _tiny(tiny_llama, tmp_path / name.replace("=", "-"), switch) == plain, name


def test_the_same_gptq_with_float32_statistics_differs(bites, tiny_llama, tmp_path):
    """What float64 prevents: the codes of a float32 build move with the kernel path (the old builds did this)."""
    plain = _tiny(tiny_llama, tmp_path / "p", {}, "float32")
    assert _tiny(tiny_llama, tmp_path / "a", kernel_paths.ALL, "float32") != plain


DEMO_BUILDS = ("smollm2-135m-instruct-magnitude-2to4", "smollm2-135m-instruct-gptq-4bit-s0")
OTHER_BUILDS = ("smollm2-135m-instruct-wanda-2to4-s0", "smollm2-135m-instruct-sparsegpt-2to4-s0",
                "smollm2-135m-instruct-awq-4bit-s0")


def _rebuild(base, where, switch, names):
    """Rebuild `names` into a store of their own (the converted base hard-linked in) under `switch`; returns
    {name: files whose sha256 differs from checksums/models/}."""
    (where / "store").mkdir(parents=True)
    shutil.copytree(base, where / "store" / base.name, copy_function=os.link)
    env = {**kernel_paths.kernel_env(switch), "ARTIFACT_STORE": str(where / "store"),
           "ARTIFACT_CHECKSUMS": str(where / "checksums"), "ARTIFACT_DEVICE": "cpu"}
    out = {}
    for name in names:
        r = subprocess.run([sys.executable, "-m", "artifact", "rebuild", name], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, r.stderr[-3000:]
        built = store.manifest(where / "store" / name)
        recorded = ledger.model_manifest(CHECKSUMS, name)
        out[name] = sorted(f for f in recorded if built.get(f) != recorded[f])
    return out


@pytest.mark.slow
@pytest.mark.parametrize("switch", list(kernel_paths.SWITCHES))
def test_demo_builds_match_the_recorded_bytes_under_every_kernel_path(bites, smol_base, tmp_path, switch):
    """The demo's GPTQ and magnitude models rebuilt under each switch (about 1.5 minutes each) have the bytes
    recorded in checksums/models/, whichever CPU recorded them (without a switch: tests/compress/test_rebuild.py,
    every demo model, in `make test`)."""
    differ = _rebuild(smol_base, tmp_path, kernel_paths.SWITCHES[switch], DEMO_BUILDS)
    assert differ == {name: [] for name in DEMO_BUILDS}


@pytest.mark.slow
def test_a_build_does_not_record_the_environment_it_ran_in(smol_base, tmp_path):
    """HF_HUB_OFFLINE made transformers write `local_files_only: true` into a saved tokenizer_config.json: a model's
    bytes then followed the environment (#31). The conversion and every build must not."""
    env = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    differ = _rebuild(smol_base, tmp_path, env, ("smollm2-135m-instruct-magnitude-2to4",))
    assert differ == {"smollm2-135m-instruct-magnitude-2to4": []}
    code = ("import sys; from pathlib import Path; from artifact.base import catalog; "
            "from artifact.acquire import embedded; "
            "embedded.ensure(catalog.get('smollm2-135m-instruct'), Path(sys.argv[1]))")
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path / "fresh")], cwd=ROOT,
                       env={**kernel_paths.kernel_env({}), **env}, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    assert store.manifest(tmp_path / "fresh" / smol_base.name) == store.manifest(smol_base)


@pytest.mark.slow
def test_the_other_methods_match_the_recorded_bytes_under_other_kernel_paths(bites, smol_base, tmp_path):
    """AWQ, Wanda and SparseGPT under another vector width and MKL's compatible branch at once (both change float32
    bytes here; the single-threaded scalar path would take AWQ about 10 minutes). SparseGPT's build takes the fixed
    kernel path whatever the caller has (compress/pinned.py): in float64 alone, 5 of its weights differed here."""
    switch = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "COMPATIBLE"}
    differ = _rebuild(smol_base, tmp_path, switch, OTHER_BUILDS)
    assert differ == {name: [] for name in OTHER_BUILDS}
