"""The `gpu`, `vllm` and `engine` markers skip, with one line saying why, where the thing they need is absent
(tests/conftest.py and tests/helpers/needs.py), before any fixture of the test runs."""
import subprocess
import sys

import pytest

from tests.helpers import ROOT, needs


@pytest.mark.parametrize("marker, where", [("gpu", "tests/compress/test_gptq.py"),
                                           ("vllm", "tests/evaluate/test_vllm.py"),
                                           ("engine", "tests/test_image.py")])
def test_a_marked_test_skips_with_its_reason_where_absent(marker, where):
    why = needs.BY_MARKER[marker]()
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-m", marker, where],
                       cwd=ROOT, capture_output=True, text=True, timeout=300)
    if why is None:
        assert "SKIPPED" not in r.stdout, r.stdout[-2000:]  # present here: nothing skipped for it
        return
    skipped = [line for line in r.stdout.splitlines() if line.startswith("SKIPPED")]
    assert r.returncode == 0 and skipped and all(line.endswith(why) for line in skipped), r.stdout[-2000:]
    assert " passed" not in r.stdout and " failed" not in r.stdout
