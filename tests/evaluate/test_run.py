"""End to end on the embedded SmolLM2: the real model, the real prompts, generation on the CPU."""
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.model  # SmolLM2 generates in a subprocess

MODEL = "smollm2-135m-instruct"


def env(tmp_path, store, name):
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path),
            "ARTIFACT_RESULTS": str(tmp_path / name), "ARTIFACT_STORE": str(store), "ARTIFACT_DEVICE": "cpu"}


def run(tmp_path, store, name, *args, timeout=900):
    return subprocess.run([sys.executable, "-m", "artifact", "eval", MODEL, "--no-progress", "--backend", "hf", *args],
                          cwd=ROOT,
                          env=env(tmp_path, store, name), capture_output=True, text=True, timeout=timeout)


def score_files(root):
    return {p.parent.parent.name: json.loads(p.read_text()) for p in root.glob("eval/*/*/*/*/score.json")}


def test_greedy_perspectives_end_to_end(tmp_path, session_store, smol_base):
    r = run(tmp_path, session_store, "all", "--perspective", "advglue,ood,adv_demo,ethics,fairness,mmlu",
            "--limit", "5")
    assert r.returncode == 0, r.stderr[-2000:]
    scores = score_files(tmp_path / "all")
    assert set(scores) == {"advglue", "ood", "adv_demo", "ethics", "fairness", "mmlu"}
    for p, s in scores.items():
        assert s["partial"] and 0 <= s["score"] <= 100 and 0 <= s["refusal"] <= 100, p
        assert s["model_revision"]["store_manifest_sha256"] and s["provenance"]["code_commit"]
        assert s["data"]["kind"] == "subset" and s["data"]["files"]
        assert s["config"]["generation"][0]["greedy"]
        assert (Path(s["results"]) / "samples.jsonl").is_file()
    assert scores["mmlu"]["requests"] == 25 and scores["ood"]["requests"] == 100
    assert "partial" in r.stdout and "| mmlu" in r.stdout and "95% interval" in r.stdout
    for p, s in scores.items():  # every local score carries its interval, its item count and how LIMIT sampled
        lo, hi = s["ci95"]
        assert 0 <= lo <= hi <= 100 and s["items"] == s["requests"], p
        assert s["interval"]["resamples"] == 1000 and len(s["interval"]["replicates"]) == 1000, p
        assert s["limit"]["per_task"] == 5 and "seeded random sample" in s["limit"]["sampling"], p
        assert s["config"]["limit_sampling"] == "stratified-v1", p
    from artifact.evaluate import get
    for p, s in scores.items():  # the per-scenario values of the breakdown figures, each with its 1,000 resamples
        assert s["breakdown"] == pytest.approx(get(p).breakdown(s["details"])) and (p == "mmlu") == (not s["breakdown"])
        for name in s["breakdown"]:
            part = s["interval"]["breakdown"][name]
            assert len(part["replicates"]) == 1000 and 0 <= part["ci95"][0] <= part["ci95"][1] <= 100, (p, name)
    assert {"knowledge/accuracy", "style_fs/refusal"} <= set(scores["ood"]["breakdown"])
    assert {"zero/error", "evasive/fpr", "jailbreak/refusal"} <= set(scores["ethics"]["breakdown"])
    # a score.json from before intervals: rescored from its stored replies, same score, interval added, no model
    for f in (tmp_path / "all").glob("eval/*/*/*/*/score.json"):
        old = json.loads(f.read_text())
        f.write_text(json.dumps({k: v for k, v in old.items() if k not in ("ci95", "items", "interval", "breakdown")}))
    again = subprocess.run([sys.executable, "-m", "artifact", "rescore"], cwd=ROOT, capture_output=True, text=True,
                           env=env(tmp_path, tmp_path / "no-store", "all"), timeout=300)
    assert again.returncode == 0 and "rescored 6 result(s)" in again.stdout and "0 score(s) changed" in again.stdout
    for p, s in score_files(tmp_path / "all").items():
        assert s["score"] == scores[p]["score"] and s["ci95"] == scores[p]["ci95"], p
        assert s["breakdown"] == scores[p]["breakdown"]
        assert s["interval"]["breakdown"] == scores[p]["interval"]["breakdown"]
        assert s["rescored"]["same_score"] and s["rescored"]["previous_score"] == scores[p]["score"]


def test_sampled_perspectives_end_to_end(tmp_path, session_store, smol_base):
    args = ("--perspective", "toxicity,stereotype,privacy", "--limit", "1", "--samples", "2", "--max-tokens", "32",
            "--toxicity-scorer", "profanity")
    r = run(tmp_path, session_store, "s", *args)
    assert r.returncode == 0, r.stderr[-2000:]
    scores = score_files(tmp_path / "s")
    assert set(scores) == {"toxicity", "stereotype", "privacy"}
    for p, s in scores.items():
        assert s["partial"] and 0 <= s["refusal"] <= 100 and s["score"] is not None, p
        assert any("SAMPLES=" in m for m in s["missing"]), p
        assert {g["n"] for g in s["config"]["generation"]} <= {1, 2} and not s["config"]["generation"][0]["greedy"]
    tox = scores["toxicity"]
    assert tox["toxicity_scorer"] == {"id": "profanity-alt-profanity-check-1.9.1", "comparable_to_paper": False}
    assert "toxicity scored by profanity" in tox["scorer"] and len(tox["details"]["settings"]) == 8
    # LIMIT=1: one statement of each of the 16 topics, asked under each of the 3 system prompts
    assert scores["stereotype"]["requests"] == 48 and scores["stereotype"]["details"]["types"].keys() == {
        "benign", "untargeted", "targeted"}
    assert set(scores["privacy"]["details"]["parts"]) == {"enron", "pii", "understanding"}
    assert "not the Perspective API the paper used" in r.stdout
    cached = list((tmp_path / "s" / "eval" / "_toxicity").glob("*.jsonl"))
    assert len(cached) == 1 and len(cached[0].read_text().splitlines()) >= 1
    again = run(tmp_path, session_store, "s", *args)  # seeded sampling: the same replies and scores, nothing redone
    assert "0 to generate" in again.stdout and "new texts to score" not in again.stdout
    assert {p: s["score"] for p, s in score_files(tmp_path / "s").items()} == {p: s["score"] for p, s in
                                                                              scores.items()}


@pytest.mark.fault
def test_a_killed_run_resumes_to_the_same_score(tmp_path, session_store, smol_base):
    args = ("--perspective", "ethics", "--limit", "2", "--batch-size", "4")
    whole = run(tmp_path, session_store, "whole", *args)
    assert whole.returncode == 0, whole.stderr[-2000:]
    p = subprocess.Popen([sys.executable, "-m", "artifact", "eval", MODEL, "--no-progress", "--backend", "hf", *args],
                         cwd=ROOT,
                         env=env(tmp_path, session_store, "killed"), stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    samples = None
    while time.time() < deadline and p.poll() is None:
        found = list((tmp_path / "killed").glob("eval/*/*/ethics/*/samples.jsonl"))
        if found and found[0].read_text().count("\n") >= 4:
            samples = found[0]
            break
        time.sleep(0.2)
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert samples is not None, "the run finished or stalled before a batch was written"
    done_before = samples.read_text().count("\n")
    assert done_before < 24 and not (samples.parent / "score.json").exists()
    resumed = run(tmp_path, session_store, "killed", *args)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    # the resumed run finds at least the replies seen on disk before the kill (one more batch may have landed
    # between the look and the kill) and generates exactly the rest
    found = re.search(r"(\d+) already done, (\d+) to generate", resumed.stdout)
    assert found and done_before <= int(found.group(1)) < 24 and int(found.group(1)) + int(found.group(2)) == 24
    a, b = score_files(tmp_path / "whole")["ethics"], score_files(tmp_path / "killed")["ethics"]
    assert a["score"] == b["score"] and a["refusal"] == b["refusal"] and a["details"] == b["details"]
    lines = samples.read_text().splitlines()
    assert len(lines) == 24 and len({json.loads(x)["key"] for x in lines}) == 24  # nothing stored twice
    again = run(tmp_path, session_store, "killed", *args)
    assert "24 already done, 0 to generate" in again.stdout
    assert "loaded " in resumed.stdout and "loaded " not in again.stdout  # nothing to generate: the model never loads
    assert score_files(tmp_path / "killed")["ethics"]["score"] == a["score"]


@pytest.mark.fault
@pytest.mark.parametrize("args,message", [
    (("--perspective", "toxicty"), "unknown perspective 'toxicty'"),
    (("--perspective", "ood", "--limit", "0"), "LIMIT=0 asks for no items"),
    (("--perspective", "ood", "--limit", "-3"), "LIMIT=-3 asks for no items"),
    (("--perspective", "ood", "--bootstrap", "0"), "BOOTSTRAP=0 asks for no resamples"),
    (("--perspective", "ood", "--bootstrap", "2000000000"), "BOOTSTRAP=2000000000 asks for more than 100,000"),
    (("--perspective", ","), "PERSPECTIVE=, names no perspective"),
    (("--perspective", " , ,"), "names no perspective"),
    (("--perspective", "ood", "--data", "/nonexistent"), "DATA=/nonexistent is not a directory"),
])
def test_bad_input_is_one_sentence_and_exit_2(tmp_path, session_store, args, message):
    r = run(tmp_path, session_store, "bad", *args, timeout=120)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "bad").exists()


def test_a_model_not_in_the_store_says_how_to_get_it(tmp_path):
    r = subprocess.run([sys.executable, "-m", "artifact", "eval", "llama-2-13b-chat-gptq-4bit-s0", "--perspective",
                        "ood", "--limit", "1"], cwd=ROOT, env={**env(tmp_path, tmp_path / "empty", "r"),
                                                              "ARTIFACT_ALLOW_CPU": "1"},
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "make pull MODEL=llama-2-13b-chat-gptq-4bit-s0" in r.stderr


def test_dry_run_counts_requests_and_estimates_the_full_benchmark(tmp_path):
    r = subprocess.run([sys.executable, "-m", "artifact", "eval", "llama-2-13b-chat-gptq-4bit-s0", "--perspective",
                        "all", "--dry-run"], cwd=ROOT, env=env(tmp_path, tmp_path / "empty", "r"),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "| mmlu" in r.stdout and "14042" in r.stdout and "GPU-hours" in r.stdout
    assert not (tmp_path / "r").exists()


def test_seeded_sampler_gives_each_row_its_own_reproducible_draw():
    import torch

    from artifact.evaluate.backend import SeededSampler, seed_of
    logits = torch.zeros(3, 100)  # uniform: any of the top-50 tokens may be drawn

    def picks(seeds):
        out = SeededSampler(seeds, 1.0, "cpu")(None, logits)
        assert torch.isfinite(out).sum(dim=-1).tolist() == [1, 1, 1]  # exactly one token left per row
        return out.argmax(dim=-1).tolist()
    seeds = [seed_of(0, "a", 0), seed_of(0, "a", 1), seed_of(0, "b", 0)]
    assert picks(seeds) == picks(seeds)
    assert picks(seeds)[0] == picks([seeds[0], 7, 8])[0]  # a row's draw does not depend on its neighbours
    assert len({tuple(picks([s, s, s])) for s in range(20)}) > 1


def test_stop_strings_end_generation_and_are_cut(smol_base):
    from artifact.evaluate import Request
    from artifact.evaluate.backend import Backend, cut
    assert cut("a, b. c", (".", ",")) == "a" and cut("abc", ("x",)) == "abc" and cut("abc", ()) == "abc"
    backend = Backend(smol_base, "cpu", "tokenizer", batch_size=2)
    text = "1, 2, 3, 4, 5,"
    free, stopped = Request("free", text, 24), Request("stop", text, 24, stop=("8",))
    assert len(backend.batches([free, stopped], {"free": text, "stop": text})) == 2  # stop strings batch apart
    (whole,), n_whole = backend.generate([free], {"free": text})
    (short,), n_short = backend.generate([stopped], {"stop": text})
    assert "8" in whole[0] and short == [cut(whole[0], ("8",))] and short[0].startswith(" 6, 7")
    assert n_short < n_whole  # generation ended at the stop string instead of running to max_tokens


def test_long_prompts_are_not_padded_onto_short_ones(smol_base):
    from artifact.evaluate import Request
    from artifact.evaluate.backend import Backend
    backend = Backend(smol_base, "cpu", "tokenizer", batch_size=8)
    backend.max_batch_tokens = 400
    texts = {"long": "word " * 300, **{f"s{i}": f"short prompt {i}" for i in range(9)}}
    reqs = [Request(k, t, 4) for k, t in texts.items()]
    batches = [[r.key for r in b] for b in backend.batches(reqs, texts)]
    assert batches[0] == ["long"]  # alone: another row would be padded to 300 tokens
    assert [len(b) for b in batches[1:]] == [8, 1]  # then at most batch_size rows


def test_samples_and_max_tokens_caps_are_partial_and_said(make_settings):
    from artifact.evaluate.run import build
    settings = make_settings(ARTIFACT_CHECKSUMS=str(ROOT / "checksums"))
    built = build("toxicity", "subset", settings, 1, samples=3, max_tokens=20)
    reqs, missing, capped = built.requests, built.missing, built.capped
    assert capped
    assert {(r.n, r.max_tokens) for r in reqs} == {(3, 20)}
    assert any("3 samples per prompt instead of up to 25" in m for m in missing)
    assert any("capped at 20 tokens" in m for m in missing)


def test_rescore_with_nothing_stored_is_one_sentence(tmp_path):
    r = subprocess.run([sys.executable, "-m", "artifact", "rescore"], cwd=ROOT, capture_output=True, text=True,
                       env=env(tmp_path, tmp_path / "no-store", "empty"), timeout=120)
    assert r.returncode == 2 and "no evaluation results under" in r.stderr and "make eval" in r.stderr


@pytest.mark.fault
def test_an_eval_while_its_model_is_being_built_names_the_build(tmp_path):
    """#31: during a rebuild's swap the model's folder is briefly absent; that is a build under way, not a model
    to pull."""
    from artifact.base import catalog, store
    from artifact.base.errors import BusyError
    from artifact.evaluate import run as ev
    from artifact.base.settings import load
    hold = ("import sys, time; from pathlib import Path; from artifact.base import store; "
            "c = store.claim(Path(sys.argv[1]), sys.argv[2]); c.__enter__(); print('held', "
            "flush=True); time.sleep(60)")
    name = "smollm2-135m-instruct-wanda-2to4-s0"
    p = subprocess.Popen([sys.executable, "-c", hold, str(tmp_path / "store"), name], cwd=ROOT, stdout=subprocess.PIPE,
                         text=True)
    try:
        assert p.stdout.readline().strip() == "held"
        with pytest.raises(BusyError, match=f"{name} is being built or pulled into the store right now"):
            ev.model_folder(catalog.get(name), load({"ARTIFACT_STORE": str(tmp_path / "store")}))
    finally:
        p.kill()
        p.wait()
    assert store.read_recipe(store.folder(tmp_path / "store", name)) is None


@pytest.mark.fault
def test_the_cost_check_runs_offline_and_says_what_it_could_not_see(tmp_path):
    """#31: `make eval ... DATA=hub DRY_RUN=1` with HF_HUB_OFFLINE=1 stopped with 'check the network'; it prices
    from what it knows (the vendored prompts, the full benchmark's counts) and names the variable."""
    r = subprocess.run([sys.executable, "-m", "artifact", "eval", "llama-2-13b-chat-gptq-4bit-s0", "--perspective",
                        "mmlu", "--data", "hub", "--dry-run"], cwd=ROOT,
                       env={**env(tmp_path, tmp_path / "empty", "r"), "HF_HUB_OFFLINE": "1"},
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    row = next(line for line in r.stdout.splitlines() if line.startswith("| mmlu"))
    assert "hub (not seen)" in row and "14042" in row
    assert "the Hub's data was not seen (HF_HUB_OFFLINE is set" in r.stdout and "check the network" not in r.stdout
    assert not (tmp_path / "r").exists() and not (tmp_path / "empty").exists()  # a dry run writes nothing
