"""Kill points for the fault-injection tests: `ARTIFACT_FAULT=<point>[:<n>]` kills this process with SIGKILL the
n-th time (default the first) it passes `point(<point>)`, exactly where a power cut or `kill -9` could land.
Unset (always, outside the tests) a point costs one dictionary lookup.

The points, in the order a run passes them:
    store.staged            a build or pull has written every file into its staging folder, nothing committed
    store.swap              the old model was moved aside, the new one not yet moved into place
    store.cleanup           the new model is in place, the old one not yet deleted
    pull.file               one more file was downloaded and verified (`:n`: after the n-th)
    eval.batch              one more batch of replies was appended to samples.jsonl (`:n`: after the n-th)
    eval.scored             every reply is generated and scored, score.json not yet written
"""
from __future__ import annotations

import os
import signal

_passed: dict[str, int] = {}


def point(name: str) -> None:
    wanted = os.environ.get("ARTIFACT_FAULT")
    if not wanted:
        return
    target, _, nth = wanted.partition(":")
    if target != name:
        return
    _passed[name] = _passed.get(name, 0) + 1
    if _passed[name] == int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
