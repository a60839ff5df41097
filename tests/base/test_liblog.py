"""The libraries' messages go to a log file; the terminal keeps the artifact's own lines (artifact/base/liblog.py)."""
import logging
import os
import re
import shutil
import subprocess
import sys

import pytest

from artifact.base import liblog

from tests.helpers import ROOT

PROBE = """
import logging, sys, warnings
from pathlib import Path
from artifact.base import liblog
liblog.to_file(Path(sys.argv[1]), "probe", verbose=sys.argv[2] == "1")
import torch
logging.getLogger("torch.probe").warning("torch's own handler")
from transformers.utils import logging as tf_logging
tf_logging.get_logger("transformers.probe").warning("transformers' own handler")
logging.getLogger("torchao").warning("a logger without a handler")
warnings.warn("a python warning")
import os
os.environ.setdefault("GPTQMODEL_CPU_WORKERS", "2")
import gptqmodel  # its logger prints a banner at import
print("the artifact's line")
print("written:", liblog.detach())
"""
LIBRARY_LINES = ("torch's own handler", "transformers' own handler", "a logger without a handler", "a python warning")


def _probe(folder, verbose="0"):
    r = subprocess.run([sys.executable, "-c", PROBE, str(folder), verbose], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    return r


def test_library_messages_go_to_the_file_and_ours_to_the_terminal(tmp_path):
    r = _probe(tmp_path / "logs")
    terminal = r.stdout + r.stderr
    assert "the artifact's line" in terminal
    assert not [line for line in LIBRARY_LINES if line in terminal], terminal
    assert "GPT-QModel" not in terminal and "Python GIL" not in terminal
    (log,) = (tmp_path / "logs").iterdir()
    assert log.name.startswith("probe-") and f"written: {log}" in r.stdout
    text = log.read_text()
    assert all(line in text for line in LIBRARY_LINES), text


def test_verbose_keeps_them_on_the_terminal_as_well(tmp_path):
    r = _probe(tmp_path / "logs", verbose="1")
    assert all(line in r.stderr for line in LIBRARY_LINES[:3]), r.stderr
    assert all(line in next((tmp_path / "logs").iterdir()).read_text() for line in LIBRARY_LINES[:3])


def test_an_unwritable_log_folder_falls_back_to_the_terminal(tmp_path):
    (tmp_path / "logs").write_text("a file where the folder should be")
    r = _probe(tmp_path / "logs")
    assert "torch's own handler" in r.stderr and "Logging error" not in r.stderr and "written: None" in r.stdout


def test_nothing_written_leaves_no_file_and_a_second_command_starts_over(tmp_path):
    before = list(logging.getLogger().handlers)
    liblog.to_file(tmp_path / "a", "one")
    liblog.to_file(tmp_path / "b", "two")
    ours = [h for h in logging.getLogger().handlers if h not in before]
    assert len(ours) == 1 and ours[0].path.parent == tmp_path / "b"
    assert liblog.detach() is None and not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    assert list(logging.getLogger().handlers) == before


# gptqmodel's LogBar (INFO lines, its banner, its advice), torchao, torch's own format, transformers' bars, warnings;
# make check's own verdicts (PASS / WARN / FAIL at a line's start) are the artifact's
LIBRARY_FORMATS = re.compile(r"^INFO\s|Python GIL|GPT-QModel|Failed to load|^[WIE]\d{4} |Loading weights|"
                             r"UserWarning|FutureWarning|DeprecationWarning")


@pytest.mark.slow
def test_a_make_check_log_is_the_artifacts_own_lines(smol_base, tmp_path):
    """A non-TTY `make check` on the CPU from a store holding only the base (it builds the GPTQ model, then
    evaluates; about 4 minutes): the artifact's own lines, one bar per build, and the log file's path once."""
    store = tmp_path / "store"
    store.mkdir()
    shutil.copytree(smol_base, store / smol_base.name, copy_function=os.link)
    env = {**os.environ, "ARTIFACT_DEVICE": "cpu", "ARTIFACT_RESULTS": str(tmp_path / "results"),
           "ARTIFACT_STORE": str(store), "MODE": "local"}
    for name in ("VERBOSE", "MAKELEVEL", "MAKEFLAGS", "MFLAGS"):  # run as a user does, not as make's child
        env.pop(name, None)
    r = subprocess.run(["make", "check"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=1200)
    lines = r.stdout.split("\n")  # a bar redrawn with \r stays one line, as in a log file
    assert r.returncode == 0, r.stdout[-3000:]
    assert not [ln for ln in lines if LIBRARY_FORMATS.search(ln)], [ln for ln in lines if LIBRARY_FORMATS.search(ln)]
    said = [ln for ln in lines if ln.strip() and not ln.startswith("make[")]
    assert len(said) <= 35, r.stdout  # 26 measured with the models stored, 33 with the build (CI, at eb4fc9a)
    (log,) = (tmp_path / "results" / "logs").glob("check-*.log")
    assert sum(f"(the libraries' messages: {log})" in ln for ln in lines) == 1


def test_the_artifacts_lines_reach_stdout_once_the_cli_asks(capsys, tmp_path):
    logging.getLogger("artifact.probe").info("before: the package as a library is quiet")
    liblog.to_file(tmp_path / "logs", "probe")
    liblog.console()
    logging.getLogger("artifact.probe").info("a line of ours")
    logging.getLogger("artifact.probe").debug("only with VERBOSE=1")
    liblog.detach()
    logging.getLogger("artifact.probe").info("after: quiet again")
    assert capsys.readouterr().out == "a line of ours\n"


def test_no_function_takes_a_log_callback():
    """The modules log through logging.getLogger(__name__) (#32); container.py runs on the host before the package's
    dependencies exist and prints itself."""
    import ast
    found = []
    for path in (ROOT / "artifact").rglob("*.py"):
        if path.name == "container.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                args = node.args
                names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
                if "log" in names:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name}")
    assert found == []
