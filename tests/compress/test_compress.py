import subprocess
from dataclasses import replace

import pytest

from artifact import compress
from artifact.base import catalog, store
from artifact.base.catalog import methods as registry
from artifact.base.errors import ArtifactError

from tests.helpers import ROOT

GPTQ = "smollm2-135m-instruct-gptq-4bit-s0"
WANDA = "smollm2-135m-instruct-wanda-2to4-s0"
MAGNITUDE = "smollm2-135m-instruct-magnitude-2to4"


@pytest.mark.parametrize("change,message", [
    (dict(method="qat"), "unknown compression method 'qat'"),
    (dict(bits=5), "5-bit is not supported"),
    (dict(group_size=128), "group size 128 does not divide the hidden width 576"),
    (dict(method="wanda", pattern="4:2", bits=None), "N must be at least 1 and below M"),
    (dict(method="awq", export="gguf"), "AWQ export must be one of fake, packed"),
    (dict(calibration=None), "needs calibration data"),
])
def test_bad_input_is_refused_before_anything_is_written(make_settings, tmp_path, change, message):
    job = replace(compress.Job.from_spec(catalog.get(GPTQ)), **change)
    settings = make_settings()
    with pytest.raises(ArtifactError, match=message):
        compress.run_job(job, settings)
    assert not settings.store.exists()


def test_dense_and_unknown_recipe_models_are_refused():
    with pytest.raises(ArtifactError, match="dense model, there is nothing to rebuild"):
        compress.Job.from_spec(catalog.get("llama-2-13b-chat"))
    with pytest.raises(ArtifactError, match="calibration set is not recorded"):
        compress.Job.from_spec(catalog.get("llama-2-13b-chat-gptq-4bit-thebloke"))


def test_a_failure_mid_build_leaves_no_partial_model(make_settings, session_store, smol_base, monkeypatch):
    settings = make_settings(session_store)
    final = store.folder(session_store, WANDA)
    before = store.read_recipe(final)

    def broken(job, sparsity, base_dir, out, *args):
        (out / "model.safetensors").write_bytes(b"half a model")
        raise RuntimeError("killed")
    monkeypatch.setattr(compress, "_run", broken)
    with pytest.raises(RuntimeError, match="killed"):
        compress.rebuild(catalog.get(WANDA), settings, force=True)
    assert store.read_recipe(final) == before  # the old model (or none) is untouched
    assert not list(session_store.glob(f".{WANDA}.tmp-*"))


def test_same_recipe_skips_and_a_changed_one_rebuilds(make_settings, session_store, smol_base, monkeypatch, said):
    settings = make_settings(session_store)
    spec = catalog.get(MAGNITUDE)
    first = compress.rebuild(spec, settings)
    assert first["status"] in ("built", "up to date")
    said.clear()  # the lines of the second call only (the first builds when no earlier test left the model)
    logs = said
    again = compress.rebuild(spec, settings)
    assert again["status"] == "up to date" and "FORCE=1 rebuilds it" in logs[0]
    changed_code = replace(registry.METHODS["magnitude"], implementation=99)
    monkeypatch.setitem(registry.METHODS, "magnitude", changed_code)  # the method's code changed
    changed = compress.rebuild(spec, settings)
    assert changed["status"] == "built" and changed["recipe_key"] != again["recipe_key"]
    assert any("the recipe changed" in line for line in logs)
    recipe = store.read_recipe(store.folder(session_store, MAGNITUDE))
    assert recipe["recipe_key"] == changed["recipe_key"] and recipe["implementation"]["version"] == 99


def test_large_models_need_a_gpu_and_their_base(make_settings):
    spec = catalog.get("llama-2-13b-chat-wanda-2to4")
    with pytest.raises(ArtifactError, match="needs a CUDA GPU"):
        compress.rebuild(spec, make_settings())
    with pytest.raises(ArtifactError, match=r"llama-2-13b-chat is not in the store .*`make pull MODEL=llama-2-13b-chat`"
                                            r".*gated"):
        compress.rebuild(spec, make_settings(ARTIFACT_ALLOW_CPU="1"))


def test_output_size_estimates():
    def size(name):
        return compress.estimate(compress.Job.from_spec(catalog.get(name)))["output_bytes"]
    assert abs(size("llama-2-13b-chat-gptq-4bit-s0") / 7.26e9 - 1) < 0.02  # a 4-bit 13B GPTQ checkpoint
    assert abs(size("llama-2-13b-chat-wanda-2to4") / 26.03e9 - 1) < 0.01  # dense bf16 with zeros
    assert size("llama-2-13b-chat-awq-3bit-s0") == size("llama-2-13b-chat-wanda-2to4")  # fake-quant: dense
    assert size("llama-2-13b-chat-gptq-3bit-s0") < size("llama-2-13b-chat-gptq-4bit-s0") < \
        size("llama-2-13b-chat-gptq-8bit")


def test_every_paper_model_has_a_dry_run_plan():
    specs = [s for s in compress.rebuildable([]) if not s.base.embedded]
    assert len(specs) == 62  # 79 catalog entries - 9 dense - 7 demo - TheBloke's (calibration not recorded)
    for spec in specs:
        job = compress.Job.from_spec(spec)
        compress.validate(job)
        plan = dict(compress.describe(job))
        assert plan["model"] == spec.id and "@ main" in plan["base model"]
        assert "GB" in plan["output"] and "one A100-class GPU" in plan["time"]


def test_cli_dry_run_and_errors(cli):
    r = cli("rebuild", "llama-2-70b-chat-gptq-4bit-s0", "--dry-run")
    assert r.returncode == 0 and "about 36.61 GB" in r.stdout and "meta-llama/Llama-2-70b-chat-hf" in r.stdout
    assert "at least 41 GB" in r.stdout  # gptqmodel quantizes one layer at a time on the GPU
    assert "alpaca-cleaned: 128 sequences, seed 0" in r.stdout and "@ main (not pinned yet" in r.stdout
    r = cli("rebuild", "llama-2-13b-chat-gptq-4bit-s7")
    assert r.returncode == 2 and "did you mean" in r.stderr
    r = subprocess.run(["make", "rebuild"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and "say which model" in r.stderr


def _flip(path):
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.mark.fault
def test_a_damaged_model_or_base_is_never_used_or_called_up_to_date(make_settings, smol_base, tmp_path, said):
    import shutil

    from artifact.acquire import embedded
    from artifact.base.errors import ChecksumMismatchError
    settings = make_settings(tmp_path / "store")
    shutil.copytree(smol_base, tmp_path / "store" / smol_base.name)
    spec, logs = catalog.get(MAGNITUDE), said
    assert compress.rebuild(spec, settings)["status"] == "built"
    folder = store.folder(settings.store, MAGNITUDE)
    for damage in (lambda: _flip(folder / "model.safetensors"), lambda: (folder / "config.json").unlink(),
                   lambda: (folder / store.MANIFEST).unlink()):
        damage()
        r = compress.rebuild(spec, settings)
        assert r["status"] == "built" and "fail their sha256 check" in logs[-3] and store.verify(folder) == []
    base = tmp_path / "store" / smol_base.name
    _flip(base / "model.safetensors")
    with pytest.raises(ChecksumMismatchError, match="base model fails its sha256 check.*make pull MODEL="):
        compress.rebuild(spec, settings, force=True)
    assert embedded.ensure(catalog.get("smollm2-135m-instruct"), settings.store) == base
    assert "converting it again" in " ".join(logs[-2:]) and store.verify(base) == []


def test_a_float64_model_stays_float64_through_its_norms_and_rotary(tiny_llama):
    """transformers computes RMSNorm and the rotary embedding in float32 whatever the model's dtype; while
    `precise` is active a float64 model keeps float64 throughout, and a float32 model is untouched."""
    import torch
    from transformers import AutoModelForCausalLM

    from artifact.compress.layers import precise
    ids = torch.tensor([[1, 504, 3458, 282, 4457, 314, 253, 1107]])
    m64 = AutoModelForCausalLM.from_pretrained(tiny_llama, dtype=torch.float64).eval()
    norm = m64.model.layers[0].input_layernorm
    x = torch.randn(1, 8, 128, dtype=torch.float64) * 3
    with torch.no_grad():
        plain_norm, plain = norm(x), m64(ids).logits
        with precise(m64):
            exact = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + norm.variance_epsilon) * norm.weight
            assert torch.equal(norm(x), exact)
            cos, _ = m64.model.rotary_emb(x, torch.arange(8)[None])
            assert cos.dtype == torch.float64
            inv = 1.0 / (m64.config.rope_parameters["rope_theta"] ** (torch.arange(0, 32, 2, dtype=torch.float64) / 32))
            assert torch.equal(cos[0, 5, :16], torch.cos(5 * inv))
            precise_logits = m64(ids).logits
        assert torch.equal(norm(x), plain_norm)  # restored on exit
    assert not torch.equal(plain_norm, exact)  # the float32 detour was real
    assert (precise_logits - plain).abs().max() < 1e-4  # the same model, only more precise
    m32 = AutoModelForCausalLM.from_pretrained(tiny_llama, dtype=torch.float32).eval()
    with torch.no_grad():
        before = m32(ids).logits
        with precise(m32):
            assert torch.equal(m32(ids).logits, before)
