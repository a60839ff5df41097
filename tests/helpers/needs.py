"""Why a marked test cannot run here, or None where it can: the one place the `gpu`, `vllm` and `engine` markers
(pyproject.toml) are turned into skips (tests/conftest.py). Each answer is one line, shown by `pytest -ra`."""
from __future__ import annotations

import functools


@functools.cache
def gpu() -> str | None:
    import torch
    return None if torch.cuda.is_available() else "no CUDA GPU"


@functools.cache
def vllm() -> str | None:
    from artifact.evaluate import vllm_backend
    return None if vllm_backend.installed() else "vLLM is not installed (make setup BACKEND=vllm)"


@functools.cache
def engine() -> str | None:
    """A Docker engine that answers, and the image built from this pyproject.toml."""
    from artifact import container
    from artifact.base.errors import ArtifactError
    try:
        container._engine()  # the run mode's own check: docker installed and `docker info` answers
    except ArtifactError as e:
        return str(e).split(" (")[0].split(";")[0]
    image = container.default_image()
    labels = container.image_labels(image)
    if labels is None:
        return f"{image} is not built here (make image)"
    if labels.get(f"{container.LABEL}.pyproject-sha256") != container.pyproject_sha256():
        return f"{image} was built from another pyproject.toml (make image rebuilds it)"
    return None


BY_MARKER = {"gpu": gpu, "vllm": vllm, "engine": engine}
