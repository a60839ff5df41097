"""The dense copy of a stored GPTQ model, made once in the store for an engine that cannot run its kernels.

    <store>/<name> (GPTQ, verified) -> gptq/dense.py -> staged folder -> <store>/<name>+dense

The copy is committed like every model (manifest, recipe, atomic swap, the name claimed while it is written); its
recipe records the source's manifest sha256, so `store.dense_copy` serves it only for those very bytes. A copy that
is intact and made from the current source is not made again.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

from ..base import store
from ..base.errors import ChecksumMismatchError
from ..base.provenance import code_commit, library_versions, now_utc
from ..base.settings import Settings

logger = logging.getLogger(__name__)

CONVERSION = "gptq-dequantize/1"  # bump when dense.py writes different bytes


def dense_copy(name: str, settings: Settings) -> Path:
    src = store.folder(settings.store, name)
    copy_name = name + store.DENSE
    with store.claim(settings.store, copy_name):
        store.require(settings.store, name, "rebuild")
        ready = store.dense_copy(src)
        if ready is not None:
            logger.info(f"{copy_name}: up to date (made from the stored {name})")
            return ready
        damaged = store.verify(src)
        if damaged:
            raise ChecksumMismatchError(src, f"fails its sha256 check ({damaged[0]})",
                                        f"rebuild or pull {name} again before its dense copy is made")
        source_sha = store.manifest_sha(src)
        logger.info(f"{copy_name}: dequantizing {name} once for the engine (its weights as gptqmodel's kernel "
                    "computes them)")
        started = time.time()
        from .gptq.dense import dequantize_checkpoint
        with store.staging(settings.store, copy_name) as tmp:
            stats = dequantize_checkpoint(src, tmp)
            identity = {"name": copy_name, "derived_from": name, "conversion": CONVERSION,
                        "source_manifest_sha256": source_sha}
            recipe = {**identity, "recipe_key": store.recipe_key(identity), "stats": stats,
                      "wall_time_s": round(time.time() - started, 1), "versions": library_versions(),
                      "code_commit": code_commit(), "made": now_utc()}
            store.commit(tmp, store.folder(settings.store, copy_name), recipe)
        logger.info(f"{copy_name}: done in {recipe['wall_time_s']:.0f} s ({stats['bytes'] / 1e9:.2f} GB)")
        return store.folder(settings.store, copy_name)
