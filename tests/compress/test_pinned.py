"""A build on the fixed kernel path (artifact/compress/pinned.py): the child runs on settings.BUILD_KERNEL_PATH
whatever switches the parent has, relays progress, returns the result, and hands back what went wrong."""
import pytest

from artifact.base.catalog.methods import METHODS
from artifact.compress import pinned
from artifact.base.errors import ArtifactError
from artifact.base.settings import BUILD_KERNEL_PATH


def test_the_child_runs_on_the_fixed_path_whatever_the_parent_has(monkeypatch, capfd):
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", "avx2")
    monkeypatch.setenv("MKL_CBWR", "AVX2")
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    seen = []
    got = pinned.call("tests.helpers.pinned_probe:environment", (), progress=lambda i, n: seen.append((i, n)))
    assert got == {"capability": "DEFAULT", "threads": 1, "mkl": "COMPATIBLE", "onednn": None}
    assert seen == [(1, 2), (2, 2)]
    assert "a library's line on stdout" in capfd.readouterr().err  # kept, but off the protocol's pipe


def test_a_refusal_in_the_child_is_the_same_refusal_here():
    with pytest.raises(ArtifactError, match="^needs a Llama-family model$"):
        pinned.call("tests.helpers.pinned_probe:refuse", ("needs a Llama-family model",))


def test_a_bug_in_the_child_is_raised_here_with_its_traceback_shown(capfd):
    with pytest.raises(KeyError, match="an internal bug"):
        pinned.call("tests.helpers.pinned_probe:bug", ())
    assert "Traceback" in capfd.readouterr().err


def test_a_child_that_dies_is_one_sentence_with_its_exit_code():
    seen = []
    with pytest.raises(ArtifactError, match=r"ended with exit code 9 before it finished"):
        pinned.call("tests.helpers.pinned_probe:die", (), progress=lambda i, n: seen.append(i))
    assert seen == [1]


def test_active_is_true_only_on_the_whole_fixed_path(monkeypatch):
    for k, v in BUILD_KERNEL_PATH.items():
        monkeypatch.setenv(k, v)
    assert pinned.active()
    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert not pinned.active()


def test_only_sparsegpt_asks_for_the_fixed_path():
    """The others write codes, masks and a few scales, which float64 alone keeps identical (docs/compression.md)."""
    assert [k for k, m in METHODS.items() if m.fixed_kernel_path] == ["sparsegpt"]


def test_a_typed_error_keeps_its_type_and_its_fix(tmp_path):
    from artifact.base.errors import ChecksumMismatchError
    with pytest.raises(ChecksumMismatchError) as got:
        pinned.call("tests.helpers.pinned_probe:missing", (tmp_path,))
    assert "sha256 check" in str(got.value) and "pull it again" in str(got.value)
