"""Bad input, replayed: each one gets one sentence on stderr that says what to do and exit 2 — never a traceback
(which would exit 1, the code of a FAILed diff) and nothing written. In-process, through the CLI's own edge."""
from __future__ import annotations

import pytest

from artifact.cli import main

pytestmark = pytest.mark.fault

SMOL_GPTQ = "smollm2-135m-instruct-gptq-4bit-s0"

CASES = [  # (argv, environment, what the sentence must say)
    (["eval", "smollm2-135m-instruct", "--batch-size", "0"], {}, "BATCH=0"),
    (["eval", "smollm2-135m-instruct", "--batch-size", "-3"], {}, "BATCH=-3"),
    (["eval", "smollm2-135m-instruct", "--perspective", "toxicty"], {}, "unknown perspective 'toxicty'"),
    (["eval", "smollm2-135m-instruct", "--limit", "0"], {}, "LIMIT=0"),
    (["eval", "no-such-model"], {}, "unknown model 'no-such-model'"),
    (["eval", SMOL_GPTQ, "--perspective", "ethics"], {}, "is not in the store"),
    (["table", "table33"], {}, "unknown table 'table33'"),
    (["table", "table3"], {"PERSPECTIVE_QPS": "abc"}, "PERSPECTIVE_QPS=abc is not a positive number"),
    (["table", "table3"], {"PERSPECTIVE_QPS": "-5"}, "PERSPECTIVE_QPS=-5"),
    (["rebuild", SMOL_GPTQ], {"ARTIFACT_DEVICE": "tpu"}, "ARTIFACT_DEVICE=tpu is not a device"),
    (["rebuild", "llama-2-13b-chat"], {}, "llama-2-13b-chat"),
    (["pull", SMOL_GPTQ, "--repo", "me/my model"], {}, "is not a Hub repo id"),
    (["pull", SMOL_GPTQ, "--repo", "me/../etc"], {}, "is not a Hub repo id"),
    (["push", SMOL_GPTQ, "--repo", "me/x..y", "--dry-run"], {}, "is not a Hub repo id"),
    (["verify"], {"ARTIFACT_STORE": "{file}"}, "ARTIFACT_STORE={file} is a file, not a folder"),
    (["rebuild", SMOL_GPTQ], {"ARTIFACT_STORE": "{file}"}, "ARTIFACT_STORE={file} is a file"),
    (["table", "table3"], {"ARTIFACT_RESULTS": "{file}"}, "ARTIFACT_RESULTS={file} is a file"),
    (["models", "--filter", "colour=blue"], {}, "colour"),
    (["verify", SMOL_GPTQ], {}, "is not in the store"),
    (["table", "table3"], {"ARTIFACT_RECIPES": "/nonexistent"}, "ARTIFACT_RECIPES=/nonexistent is not a folder"),
    (["eval", "smollm2-135m-instruct", "--limit", "1e3"], {}, "argument --limit: invalid int value: '1e3'"),
    (["eval", "smollm2-135m-instruct", "--prompts", "weird"], {}, "argument --prompts"),
    (["evaluate"], {}, "invalid choice: 'evaluate'"),
]


@pytest.mark.parametrize("argv, env, says", CASES, ids=[" ".join(c[0][:3]) + " " + " ".join(c[1]) for c in CASES])
def test_bad_input_is_one_sentence_and_exit_2(tmp_path, monkeypatch, capsys, argv, env, says):
    (tmp_path / "afile").write_text("")
    monkeypatch.setenv("ARTIFACT_STORE", str(tmp_path / "store"))
    monkeypatch.setenv("ARTIFACT_RESULTS", str(tmp_path / "results"))
    monkeypatch.delenv("ARTIFACT_CHECKSUMS", raising=False)  # the data manifests are read from checksums/
    for k, v in env.items():
        monkeypatch.setenv(k, v.format(file=tmp_path / "afile"))
    code = main(argv)
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.strip()]
    assert code == 2 and lines and lines[-1].startswith("error: ") and "Traceback" not in err, err[-2000:]
    assert says.format(file=tmp_path / "afile") in lines[-1]
    if (tmp_path / "store").exists():  # nothing written (a model's lock file, made when it was claimed, aside)
        assert [p.name for p in (tmp_path / "store").iterdir() if not p.name.endswith(".lock")] == []


def test_a_cuda_device_without_a_gpu_is_one_sentence(tmp_path):
    import subprocess
    import sys

    import torch

    from tests.helpers import ROOT
    if torch.cuda.is_available():
        pytest.skip("a CUDA GPU is visible here")
    r = subprocess.run([sys.executable, "-m", "artifact", "rebuild", "smollm2-135m-instruct-magnitude-2to4"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300,
                       env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ARTIFACT_DEVICE": "cuda",
                            "ARTIFACT_STORE": str(tmp_path / "store")})
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1].startswith("error: ARTIFACT_DEVICE=cuda but torch "
                                                                              "sees no CUDA GPU")
    assert "Traceback" not in r.stderr and not (tmp_path / "store" / "smollm2-135m-instruct").exists()


def test_a_full_disk_is_one_sentence_and_exit_2(tmp_path, monkeypatch, capsys):
    from artifact import guard

    def full(*_a, **_k):
        raise OSError(28, "No space left on device", str(tmp_path / "results" / "tables" / "table3.json"))
    monkeypatch.setattr(guard, "write_text", full)
    monkeypatch.setenv("ARTIFACT_RESULTS", str(tmp_path / "results"))
    assert main(["table", "table3"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "No space left on device" in err and "table3.json" in err
    assert "Traceback" not in err


def test_a_bug_is_exit_3_with_the_traceback_saved_and_an_interrupt_130(monkeypatch, capsys):
    from artifact.cli import tables

    def broken(args, settings):
        raise KeyError("surprise")
    monkeypatch.setattr(tables, "cmd_table", broken)
    assert main(["table", "table3"]) == 3
    err = capsys.readouterr().err
    assert err.startswith("error: KeyError") and "this is a bug" in err and "Traceback" not in err
    saved = err.rsplit("traceback in ", 1)[1].rstrip(")\n")
    assert "KeyError: 'surprise'" in open(saved).read()

    def interrupted(args, settings):
        raise KeyboardInterrupt
    monkeypatch.setattr(tables, "cmd_table", interrupted)
    assert main(["table", "table3"]) == 130 and "run the same command again" in capsys.readouterr().err
