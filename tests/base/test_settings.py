"""artifact/base/settings.py validates the environment once, where it is read: one sentence and exit 2, never a
traceback (which would exit 1, the code of a FAILed diff)."""
from __future__ import annotations

import subprocess
import sys

import pytest

from artifact.base import settings
from artifact.base.errors import BadInputError
from tests.helpers import ROOT


@pytest.mark.fault
@pytest.mark.parametrize("env, says", [({"PERSPECTIVE_QPS": "abc"}, "PERSPECTIVE_QPS=abc is not a positive number"),
                                       ({"PERSPECTIVE_QPS": "-5"}, "PERSPECTIVE_QPS=-5"),
                                       ({"PERSPECTIVE_QPS": "inf"}, "PERSPECTIVE_QPS=inf"),
                                       ({"ARTIFACT_DEVICE": "tpu"}, "ARTIFACT_DEVICE=tpu is not a device")])
def test_bad_settings_are_one_sentence(env, says):
    with pytest.raises(BadInputError, match=says):
        settings.load(env)


def test_good_settings_load():
    s = settings.load({"PERSPECTIVE_QPS": "0.5", "ARTIFACT_DEVICE": "cuda:1"})
    assert s.perspective_qps == 0.5 and s.device == "cuda:1" and settings.load({}).perspective_qps == 1.0


@pytest.mark.fault
@pytest.mark.parametrize("env", [{"PERSPECTIVE_QPS": "abc"}, {"ARTIFACT_RESULTS": "{file}"}])
def test_every_verb_exits_2_with_one_sentence(tmp_path, env):
    (tmp_path / "afile").write_text("")
    env = {k: v.format(file=tmp_path / "afile") for k, v in env.items()}
    r = subprocess.run([sys.executable, "-m", "artifact", "table", "table3"], cwd=ROOT, capture_output=True, text=True,
                       env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), **env}, timeout=120)
    assert r.returncode == 2 and r.stderr.startswith("error: ") and "Traceback" not in r.stderr


@pytest.mark.fault
@pytest.mark.parametrize("raw, allowed", [("", False), ("0", False), ("false", False), ("Off", False), ("no", False),
                                          ("1", True), ("yes", True), ("TRUE", True), ("on", True)])
def test_a_yes_no_variable_reads_like_the_makefile(raw, allowed):
    from artifact.base.settings import load
    assert load({"ARTIFACT_ALLOW_CPU": raw}).allow_cpu is allowed


@pytest.mark.fault
def test_a_yes_no_variable_that_is_neither_is_refused():
    from artifact.base.errors import BadInputError
    from artifact.base.settings import load
    with pytest.raises(BadInputError, match=r"ARTIFACT_ALLOW_CPU=maybe is not yes or no; set it to 1 \(yes\) or 0"):
        load({"ARTIFACT_ALLOW_CPU": "maybe"})
