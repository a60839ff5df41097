"""Bad input, replayed: each one gets one sentence on stderr that says what to do and exit 2 — never a traceback
(which would exit 1, the code of a FAILed diff) and nothing written. In-process, through the CLI's own edge."""
from __future__ import annotations

import pytest

from artifact.cli import main

from tests.faults import one_sentence
from tests.helpers import ROOT

pytestmark = pytest.mark.fault

SMOL_GPTQ = "smollm2-135m-instruct-gptq-4bit-s0"

CASES = [  # (argv, environment, what the sentence must say: what is wrong and what to do, never just an echo)
    (["eval", "smollm2-135m-instruct", "--batch-size", "0"], {}, "BATCH=0 puts no request in a batch; give a positive"),
    (["eval", "smollm2-135m-instruct", "--batch-size", "-3"], {}, "BATCH=-3 puts no request in a batch; give a "
                                                                  "positive number, or leave it unset"),
    (["eval", "smollm2-135m-instruct", "--perspective", "toxicty"], {}, "unknown perspective 'toxicty'; did you mean "
                                                                       "'toxicity'? (use one of advglue,"),
    (["eval", "smollm2-135m-instruct", "--limit", "0"], {}, "LIMIT=0 asks for no items; give a positive whole number"),
    (["eval", "no-such-model"], {}, "unknown model 'no-such-model' (`make models` lists every catalog id; "
                                    "MODEL=hf:<org>/<name> or a folder path takes any other model)"),
    (["eval", SMOL_GPTQ, "--perspective", "ethics"], {},
     f"is not in the store {{store}}; run `make pull MODEL={SMOL_GPTQ}` or `make rebuild MODEL={SMOL_GPTQ}` first"),
    (["table", "table33"], {}, "unknown table 'table33'; did you mean 'table3'"),
    (["table", "table3"], {"PERSPECTIVE_QPS": "abc"}, "PERSPECTIVE_QPS=abc is not a positive number; set it to e.g. 1"),
    (["table", "table3"], {"PERSPECTIVE_QPS": "-5"}, "PERSPECTIVE_QPS=-5 is not a positive number; set it to e.g. 1"),
    (["rebuild", SMOL_GPTQ], {"ARTIFACT_DEVICE": "tpu"}, "ARTIFACT_DEVICE=tpu is not a device; use cpu, cuda or "
                                                         "cuda:<n>"),
    (["rebuild", "llama-2-13b-chat"], {}, "is a dense model, there is nothing to rebuild; `make pull "
                                          "MODEL=llama-2-13b-chat` downloads it"),
    (["pull", SMOL_GPTQ, "--repo", "me/my model"], {}, "is not a Hub repo id: write org/name with letters"),
    (["pull", SMOL_GPTQ, "--repo", "me/../etc"], {}, "is not a Hub repo id: write org/name with letters"),
    (["push", SMOL_GPTQ, "--repo", "me/x..y", "--dry-run"], {}, "is not a Hub repo id: write org/name with letters"),
    (["verify"], {"ARTIFACT_STORE": "{file}"}, "ARTIFACT_STORE={file} is a file, not a folder; point ARTIFACT_STORE "
                                               "at a folder"),
    (["rebuild", SMOL_GPTQ], {"ARTIFACT_STORE": "{file}"}, "is a file, not a folder; point ARTIFACT_STORE at a folder"),
    (["table", "table3"], {"ARTIFACT_RESULTS": "{file}"}, "is a file, not a folder; point ARTIFACT_RESULTS at a "
                                                          "folder"),
    (["models", "--filter", "colour=blue"], {}, "unknown filter field 'colour'; use one of name, base,"),
    (["models", "--filter", "bits=abc"], {}, "bits=abc is not a whole number (or a comma list of them); e.g. bits=4"),
    (["rescore", "--bootstrap", "2000000000"], {}, "asks for more than 100,000 resamples, which only cost memory; "
                                                   "the default 1,000"),
    (["rebuild-all", "--filter", "seed=1,x", "--dry-run"], {}, "is not a whole number (or a comma list of them); "
                                                               "e.g. seed=0"),
    (["pull", SMOL_GPTQ, "--repo", "me/x", "--revision", "../../x"], {}, "is not a branch, tag or commit name (no "
                                                                         "spaces,"),
    (["push", SMOL_GPTQ, "--repo", "me/x", "--revision", "a b", "--dry-run"], {}, "give e.g. main, 4bit_128g or a "
                                                                                  "commit sha"),
    (["verify", SMOL_GPTQ], {}, f"is not in the store {{store}}; run `make pull MODEL={SMOL_GPTQ}` or `make rebuild "
                                f"MODEL={SMOL_GPTQ}` first"),
    (["table", "table3"], {"ARTIFACT_RECIPES": "/nonexistent"}, "is not a folder; point ARTIFACT_RECIPES at a copy of "
                                                                "reproduce/, or unset it"),
    (["eval", "smollm2-135m-instruct", "--limit", "1e3"], {}, "invalid int value: '1e3'; `python -m artifact eval "
                                                              "--help` lists the options"),
    (["eval", "smollm2-135m-instruct", "--prompts", "weird"], {}, "(choose from 'fork', 'intended'); `python -m "
                                                                  "artifact eval --help` lists the options"),
    (["evaluate"], {}, "invalid choice: 'evaluate' (choose from 'demo',"),
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
    assert says.format(file=tmp_path / "afile", store=tmp_path / "store") in lines[-1]
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
    from artifact.base import guard

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


@pytest.mark.parametrize("name", ["{recipe}", "../reproduce/table3", "../../x", "table3/../table3"])
def test_a_table_name_that_is_a_path_is_refused_and_writes_nothing(tmp_path, name):
    """Only a recipe the folder lists is a table: a path (absolute, or with ..) would write its .csv/.md/.json beside
    the recipe or outside the results folder."""
    import shutil
    from tests.faults import env_for, run
    recipe = tmp_path / "mine" / "table3"
    recipe.parent.mkdir()
    shutil.copy(ROOT / "reproduce" / "table3.toml", recipe.with_suffix(".toml"))
    env = env_for(tmp_path)
    before = sorted(p for p in tmp_path.rglob("*") if "results" not in p.parts)
    for verb in ("table", "diff"):
        r = run([verb, name.format(recipe=recipe)], env)
        assert one_sentence(r) and "unknown table" in r.stderr.lower(), r.stderr
    assert sorted(p for p in tmp_path.rglob("*") if "results" not in p.parts) == before
    assert not (tmp_path / "results").exists() or not list((tmp_path / "results").rglob("*.csv"))
