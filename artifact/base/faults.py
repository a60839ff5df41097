"""Kill points for the fault-injection tests (tests/faults/): `ARTIFACT_FAULT=<point>[:<n>]` kills this process with
SIGKILL the n-th time (default the first) it passes `point(<point>)`, exactly where a power cut or `kill -9` could
land; `ARTIFACT_FAULT=<point>[:<n>]:hold` instead says `fault: holding at <point>` on stderr and waits there to be
killed (a second run can then be started against a live first one). Unset, as always outside the tests, a point
costs one environment lookup.

The points, in the order a run passes them:
    store.staged            a build or pull has written every file into its staging folder, nothing committed
    store.swap              the old model was moved aside, the new one not yet moved into place
    store.cleanup           the new model is in place, the old one not yet deleted
    pull.file               one more file was downloaded and verified (`:n`: after the n-th)
    eval.batch              one more batch of replies was appended to samples.jsonl (`:n`: after the n-th)
    eval.judged             one more MT-Bench judgment was cached (`:n`: after the n-th)
    eval.scored             every reply is generated and scored, score.json not yet written
"""
from __future__ import annotations

import os
import signal
import sys
import time

from .settings import fault_wanted

_passed: dict[str, int] = {}


def point(name: str) -> None:
    wanted = fault_wanted()
    if not wanted:
        return
    target, *rest = wanted.split(":")
    if target != name:
        return
    hold = rest[-1:] == ["hold"]
    nth = int(rest[0]) if rest and rest[0] != "hold" else 1
    _passed[name] = _passed.get(name, 0) + 1
    if _passed[name] != nth:
        return
    if hold:
        print(f"fault: holding at {name}", file=sys.stderr, flush=True)
        while True:
            time.sleep(3600)
    os.kill(os.getpid(), signal.SIGKILL)
