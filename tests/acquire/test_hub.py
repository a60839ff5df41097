"""Pull, push, verify and checksums, driving the real huggingface_hub client against the loopback Hub."""
import io
import os
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import save

from artifact import compress
from artifact.base import catalog, ledger, store
from artifact.base.errors import ArtifactError, FileFormatError
from artifact.acquire import pull, push
from artifact.base.errors import HubError

from tests.helpers import HUB_TOKEN as TOKEN
from tests.helpers import ROOT

AWQ8 = catalog.get("vicuna-13b-v1.3-awq-8bit")  # compressed-llm/vicuna-13b-v1.3-awq @ 8bit_128g
DEMO = "smollm2-135m-instruct-magnitude-2to4"


def weights(seed: int = 0, n: int = 4000) -> bytes:
    g = torch.Generator().manual_seed(seed)
    return save({"model.layers.0.mlp.up_proj.weight": torch.randn(n, 8, generator=g)})


FILES = {"config.json": b'{"model_type": "llama"}', "model.safetensors": weights()}


@pytest.fixture
def settings(hub, make_settings, tmp_path):
    return make_settings(HF_ENDPOINT=hub.url, HF_TOKEN=TOKEN, HF_HUB_CACHE=str(tmp_path / "hf-cache"))


def publish(hub, spec, files=FILES, **kw):
    return hub.state.add("model", spec.repo, files, revision=spec.revision, **kw)


def test_pull_pins_the_commit_and_verifies(hub, settings, said):
    commit = publish(hub, AWQ8)
    logs = said
    r = pull.pull(AWQ8, settings)
    folder = store.folder(settings.store, AWQ8.name)
    recipe = store.read_recipe(folder)
    assert r["status"] == "pulled" and recipe["commit"] == commit and recipe["repo"] == AWQ8.repo
    assert recipe["verified_against"] == {"config.json": "hub-git-blob", "model.safetensors": "hub-lfs-sha256"}
    assert (folder / "model.safetensors").read_bytes() == FILES["model.safetensors"] and store.verify(folder) == []
    assert not list(settings.store.glob(".*pull*"))  # no partial folder left
    # the branch moves on: the store stays at its commit and says so, until UPDATE
    new = publish(hub, AWQ8, {**FILES, "model.safetensors": weights(1)})
    again = pull.pull(AWQ8, settings)
    assert again["status"] == "up to date" and again["commit"] == commit
    assert any("has moved to" in line and "UPDATE=1" in line for line in logs)
    assert pull.pull(AWQ8, settings, update=True)["commit"] == new
    assert (folder / "model.safetensors").read_bytes() == weights(1)


def test_pull_finds_a_model_under_an_alias(hub, settings):
    spec = catalog.get("llama-2-13b-chat-gptq-4bit-s1")  # published as efficient-llm/... before the rename
    hub.state.add("model", spec.aliases[0].split("@")[0], FILES, revision=spec.revision)
    assert pull.pull(spec, settings)["repo"].startswith("efficient-llm/")


@pytest.mark.fault
def test_a_corrupted_download_is_quarantined_and_nothing_used(hub, settings):
    publish(hub, AWQ8)
    hub.state.corrupt.add("model.safetensors")
    with pytest.raises(FileFormatError, match=r"model.safetensors.*quarantined.*nothing from it is used"):
        pull.pull(AWQ8, settings)
    assert store.read_recipe(store.folder(settings.store, AWQ8.name)) is None
    quarantined = list((settings.store / ".quarantine" / AWQ8.name).iterdir())
    assert len(quarantined) == 1 and quarantined[0].read_bytes()[0] != FILES["model.safetensors"][0]
    hub.state.corrupt.clear()  # the retry fetches only what is missing, and succeeds
    hub.state.requests.clear()
    assert pull.pull(AWQ8, settings)["status"] == "pulled"
    fetched = [p for m, p, _ in hub.state.requests if m == "GET" and "/resolve/" in p]
    assert all("config.json" not in p for p in fetched)


@pytest.mark.fault
def test_a_killed_download_resumes(hub, settings):
    """Kill a pull mid-file (a real process, killed), then pull again: the download continues where it stopped."""
    big = weights(2, n=500_000)  # 16 MB
    publish(hub, AWQ8, {**FILES, "model.safetensors": big})
    hub.state.stall_after["model.safetensors"] = 12_000_000
    env = {**os.environ, "ARTIFACT_STORE": str(settings.store), "ARTIFACT_CHECKSUMS": str(settings.checksums),
           "HF_ENDPOINT": hub.url, "HF_TOKEN": TOKEN, "HF_HUB_CACHE": str(settings.hf_cache),
           "HF_HUB_DISABLE_XET": "1", "HF_HUB_DOWNLOAD_TIMEOUT": "120"}
    proc = subprocess.Popen([sys.executable, "-m", "artifact", "pull", AWQ8.name], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    on_disk = 0
    for _ in range(600):  # wait for the first 10 MB on disk, then kill the process
        partial = [p.stat().st_size for p in settings.store.rglob("model.safetensors.part")]
        on_disk = max(partial, default=0)
        if on_disk >= 10 * 2 ** 20:
            break
        time.sleep(0.1)
    proc.kill()
    proc.wait()
    hub.state.release.set()
    assert on_disk >= 10 * 2 ** 20, "the download never got going"
    hub.state.requests.clear()
    assert pull.pull(AWQ8, settings)["status"] == "pulled"
    gets = [h.get("Range") for m, p, h in hub.state.requests if m == "GET" and p.endswith("model.safetensors")]
    assert len(gets) == 1 and gets[0] is not None  # one request, for the rest of the file only
    assert on_disk <= int(gets[0][len("bytes="):].rstrip("-")) <= 12_000_000
    assert (store.folder(settings.store, AWQ8.name) / "model.safetensors").read_bytes() == big


def test_safetensors_are_preferred_and_pickles_are_converted_only_when_verified(hub, settings, said):
    buf = io.BytesIO()
    tensors = {"w": torch.arange(12.0).reshape(3, 4), "b": torch.ones(3)}
    torch.save(tensors, buf)
    publish(hub, AWQ8, {"config.json": b"{}", "pytorch_model.bin": buf.getvalue(), **{
        "model.safetensors": FILES["model.safetensors"]}})
    r = pull.pull(AWQ8, settings)
    assert store.read_recipe(store.folder(settings.store, AWQ8.name))["skipped"] == ["pytorch_model.bin"]
    assert all(not p.endswith(".bin") for m, p, _ in hub.state.requests if m == "GET")
    # a repo with pickles only (like the paper's GPTQ uploads): kept and flagged, or converted with CONVERT
    spec = catalog.get("vicuna-13b-v1.3-awq-4bit")
    publish(hub, spec, {"config.json": b"{}", "pytorch_model.bin": buf.getvalue()})
    logs = said
    pull.pull(spec, settings)
    assert store.read_recipe(store.folder(settings.store, spec.name))["pickles_kept"] == ["pytorch_model.bin"]
    assert any("CONVERT=1" in line for line in logs)
    pull.pull(spec, settings, force=True, convert=True)
    folder = store.folder(settings.store, spec.name)
    from safetensors.torch import load_file
    loaded = load_file(folder / "model.safetensors")
    assert torch.equal(loaded["w"], tensors["w"]) and not (folder / "pytorch_model.bin").exists()
    assert store.read_recipe(folder)["converted"] == {"pytorch_model.bin": "model.safetensors"}
    assert r["status"] == "pulled"


class Boom:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


@pytest.mark.fault
def test_a_malicious_pickle_is_refused(hub, settings):
    import pickle
    spec = catalog.get("vicuna-13b-v1.3-awq-3bit")
    publish(hub, spec, {"config.json": b"{}", "pytorch_model.bin": pickle.dumps({"w": Boom()})})
    with pytest.raises(ArtifactError, match="refused to unpickle pytorch_model.bin"):
        pull.pull(spec, settings, convert=True)
    assert store.read_recipe(store.folder(settings.store, spec.name)) is None


def test_gated_repo_and_tokens(hub, settings, make_settings, tmp_path):
    base = catalog.get("llama-2-13b-chat")
    hub.state.add("model", base.repo, FILES, gated=True)
    anonymous = make_settings(HF_ENDPOINT=hub.url, HF_HUB_CACHE=str(tmp_path / "c2"))
    with pytest.raises(HubError, match=r"meta-llama/Llama-2-13b-chat-hf is gated: ask for access at .* HF_TOKEN"):
        pull.pull(base, anonymous)
    assert pull.pull(base, settings)["status"] == "pulled"  # the token has access


@pytest.fixture
def demo(session_store, smol_base, make_settings):
    compress.rebuild(catalog.get(DEMO), make_settings(session_store))
    return session_store


def test_push_then_pull_round_trips_byte_identically(hub, make_settings, demo, tmp_path):
    pusher = make_settings(demo, HF_ENDPOINT=hub.url, HF_TOKEN=TOKEN, HF_HUB_CACHE=str(tmp_path / "c1"))
    spec = catalog.get(DEMO)
    r = push.push(spec, pusher, "me/smol-magnitude")
    assert r["revision"] == spec.revision  # the catalog revision is the default branch name
    card = hub.state.files("model", "me/smol-magnitude", spec.revision)["README.md"].decode()
    assert "base_model: embedded/smollm2-135m-instruct" in card and "hong2024decoding" in card
    assert "| model.safetensors | `" in card and "magnitude" in card
    # the same catalog model, pulled from where it was pushed (REPO=), lands byte for byte in a fresh store
    puller = make_settings(tmp_path / "store2", HF_ENDPOINT=hub.url, HF_TOKEN=TOKEN,
                           HF_HUB_CACHE=str(tmp_path / "c2"))
    puller = type(puller)(**{**vars(puller), "checksums": pusher.checksums})  # the record the push wrote
    pull.pull(spec, puller, repo="me/smol-magnitude")
    a, b = demo / DEMO, tmp_path / "store2" / DEMO
    for name in store.parse_manifest(a / store.MANIFEST):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    # the push recorded its commit: the pull verified against our own manifest
    assert "checksums" in store.read_recipe(b)["verified_against"].values()


def test_push_refuses_to_overwrite_and_needs_a_valid_token(hub, make_settings, demo, tmp_path):
    spec = catalog.get(DEMO)
    ok = make_settings(demo, HF_ENDPOINT=hub.url, HF_TOKEN=TOKEN, HF_HUB_CACHE=str(tmp_path / "c"))
    push.push(spec, ok, "me/twice", revision="v1")
    with pytest.raises(ArtifactError, match=r"me/twice @ v1 already holds a model .* FORCE=1"):
        push.push(spec, ok, "me/twice", revision="v1")
    assert push.push(spec, ok, "me/twice", revision="v1", force=True)["status"] == "pushed"
    for token, message in ((None, "this needs a Hugging Face token"), ("hf_wrong", "the Hub refused the token")):
        bad = make_settings(demo, HF_ENDPOINT=hub.url, HF_HUB_CACHE=str(tmp_path / "c"),
                            **({"HF_TOKEN": token} if token else {}))
        with pytest.raises(HubError, match=message):
            push.push(spec, bad, "me/other")
    assert not any(r == ("model", "me/other") for r in hub.state.repos)


@pytest.mark.fault
def test_checksums_and_verify(hub, settings, cli):
    publish(hub, AWQ8)
    path = pull.record_checksums(AWQ8, settings)
    assert store.parse_manifest(path) == {n: __import__("hashlib").sha256(d).hexdigest() for n, d in FILES.items()}
    pull.pull(AWQ8, settings)
    folder = store.folder(settings.store, AWQ8.name)
    assert set(store.read_recipe(folder)["verified_against"].values()) == {"checksums"}
    assert ledger.check(folder, settings.checksums) == ledger.Verdict("ok", [])
    (folder / "config.json").write_bytes(b'{"model_type": "tampered"}')
    v = ledger.check(folder, settings.checksums)
    assert v.status == "FAIL" and "config.json: sha256 differs" in v.problems
    env = {"ARTIFACT_STORE": str(settings.store), "ARTIFACT_CHECKSUMS": str(settings.checksums)}
    r = cli("verify", env_extra=env)
    assert r.returncode == 1 and "FAIL" in r.stdout and "config.json" in r.stdout
    # a recorded manifest that disagrees with what the Hub serves stops the pull
    manifest = path.read_text().replace(store.parse_manifest(path)["model.safetensors"], "0" * 64)
    path.write_text(manifest)
    with pytest.raises(FileFormatError, match="model.safetensors"):
        pull.pull(AWQ8, settings, force=True)


def test_dry_runs_say_what_and_where(hub, settings, demo, make_settings, tmp_path):
    publish(hub, AWQ8)
    plan = dict(pull.plan(AWQ8, settings))
    assert "2 from compressed-llm/vicuna-13b-v1.3-awq" in plan["files"] and "HF_TOKEN is set" in plan["token"]
    assert store.read_recipe(store.folder(settings.store, AWQ8.name)) is None  # nothing written
    plan = dict(push.plan(catalog.get(DEMO), make_settings(demo, HF_ENDPOINT=hub.url, HF_TOKEN=TOKEN,
                                                           HF_HUB_CACHE=str(tmp_path / "c")), "me/x", None))
    assert plan["to"].endswith("/me/x @ 0.5_2to4") and "model.safetensors" in plan["files"]
    assert "not checked" in plan["revision"] and ("me", "x") not in hub.state.repos


@pytest.mark.fault
def test_no_output_or_file_contains_the_token(hub, demo, tmp_path, cli):
    publish(hub, AWQ8)
    env = {"ARTIFACT_STORE": str(demo), "ARTIFACT_CHECKSUMS": str(tmp_path / "cs"), "HF_ENDPOINT": hub.url,
           "HF_TOKEN": TOKEN, "HF_HUB_CACHE": str(tmp_path / "hf"), "HF_HUB_DISABLE_XET": "1"}
    outputs = [cli("pull", AWQ8.name, env_extra=env), cli("pull", AWQ8.name, "--dry-run", env_extra=env),
               cli("push", DEMO, "--repo", "me/leak-check", env_extra=env),
               cli("push", DEMO, "--repo", "me/leak-check", env_extra=env),  # refused: an error path
               cli("push", DEMO, "--repo", "me/leak-check", env_extra={**env, "HF_TOKEN": TOKEN + "x"}),
               cli("checksums", AWQ8.name, env_extra=env), cli("verify", env_extra=env)]
    assert [o.returncode for o in outputs] == [0, 0, 0, 2, 2, 0, 0], [o.stderr for o in outputs]
    for o in outputs:
        assert TOKEN not in o.stdout + o.stderr
    leaks = [p for root in (demo, tmp_path) for p in root.rglob("*") if p.is_file() and
             TOKEN.encode() in p.read_bytes()]
    assert leaks == []
    assert all(TOKEN.encode() not in d for repo in hub.state.repos.values() for files in repo["commits"].values()
               for d in files.values())


def test_make_pull_dry_run_prints_the_plan_of_a_13b_model(tmp_path):
    env = {**os.environ, "ARTIFACT_STORE": str(tmp_path / "store"), "HF_ENDPOINT": "http://127.0.0.1:9"}
    r = subprocess.run(["make", "-s", "pull", "MODEL=llama-2-13b-chat-sparsegpt-2to4-s2", "DRY_RUN=1", "MODE=local"],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    for needle in ("compressed-llm/llama-2-13b-chat-sparsegpt-semistruct", "0.5_2to4_seed2", "destination",
                   "about 26.03 GB", "verified by", "token"):
        assert needle in r.stdout
    assert not (tmp_path / "store").exists()


@pytest.mark.fault
@pytest.mark.parametrize("name", ["../../escaped.json", "/tmp/escaped-abs.json", "sub/../../escaped.json",
                                  "x\r.json", "tab\there.json", "bell\x07.json"])
def test_a_listing_that_leaves_the_store_is_refused(hub, settings, tmp_path, name):
    publish(hub, AWQ8, {**FILES, name: b"planted"})
    with pytest.raises(HubError, match="a path outside the model folder"):
        pull.pull(AWQ8, settings)
    assert not (settings.store.parent / "escaped.json").exists() and not (tmp_path / "escaped.json").exists()
    assert store.read_recipe(store.folder(settings.store, AWQ8.name)) is None
    assert not list(settings.store.glob(".*pull-*")) if settings.store.exists() else True  # no staging left


@pytest.mark.fault
def test_a_model_pulled_from_one_repo_is_pulled_again_from_another(hub, settings, said):
    """The stored commit belongs to the repo it came from: REPO=<another repo> pulls that repo, never reports the
    first repo's commit as the other's."""
    first = publish(hub, AWQ8)
    assert pull.pull(AWQ8, settings)["commit"] == first
    other = hub.state.add("model", "someone/vicuna-awq-copy", {**FILES, "model.safetensors": weights(3)},
                          revision=AWQ8.revision)
    logs = said
    r = pull.pull(AWQ8, settings, repo="someone/vicuna-awq-copy")
    assert r["status"] == "pulled" and r["commit"] == other and not any("up to date" in line for line in logs)
    folder = store.folder(settings.store, AWQ8.name)
    assert store.read_recipe(folder)["repo"] == "someone/vicuna-awq-copy"
    assert (folder / "model.safetensors").read_bytes() == weights(3)


@pytest.mark.fault
def test_a_download_longer_than_listed_is_cut_at_the_listed_size(hub, settings):
    """A Hub that keeps sending past a file's listed size is stopped there: nothing past it is written, refused in
    one sentence, and no oversized file is kept in quarantine."""
    publish(hub, AWQ8)
    hub.state.oversize["model.safetensors"] = 3 * 2 ** 20
    with pytest.raises(HubError, match=r"more than the .* bytes listed for model.safetensors"):
        pull.pull(AWQ8, settings)
    kept = [p for p in settings.store.rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in kept) < 2 * len(FILES["model.safetensors"]) + 10_000
    hub.state.oversize.clear()
    assert pull.pull(AWQ8, settings)["status"] == "pulled"


@pytest.mark.fault
def test_a_dribbling_download_stops_at_its_stall_deadline(hub, settings, monkeypatch):
    from artifact.base import fetch
    monkeypatch.setattr(fetch, "STALL_SECONDS", 1.5)
    publish(hub, AWQ8)
    hub.state.dribble["model.safetensors"] = 0.3
    started = time.time()
    try:
        with pytest.raises(HubError, match=r"model.safetensors stalled: less than .* in 1.5 s; retry later"):
            pull.pull(AWQ8, settings)
    finally:
        hub.state.release.set()
    assert time.time() - started < 30


@pytest.mark.fault
def test_quarantine_keeps_only_the_last_few_refused_downloads(hub, settings):
    publish(hub, AWQ8)
    hub.state.corrupt.add("model.safetensors")
    q = settings.store / ".quarantine" / AWQ8.name
    for i in range(pull.QUARANTINED + 2):
        with pytest.raises(FileFormatError, match="quarantined"):
            pull.pull(AWQ8, settings)
        for p in q.iterdir():  # distinct names (they carry the second) and a clear order
            os.utime(p, (p.stat().st_atime, p.stat().st_mtime - 10))
            p.rename(p.with_name(p.name + f"-{i}")) if not p.name.endswith(tuple(f"-{j}" for j in range(9))) else None
    assert len(list(q.iterdir())) == pull.QUARANTINED


@pytest.mark.fault
def test_a_recorded_commit_gone_from_the_hub_is_named_with_what_to_do(hub, settings):
    publish(hub, AWQ8)
    gone = "0123456789abcdef0123456789abcdef01234567"
    ledger.record_hub(settings.checksums, AWQ8.name, {"model.safetensors": "a" * 64}, AWQ8.repo, AWQ8.revision, gone,
                      "hub metadata", "2026-01-01")
    with pytest.raises(HubError, match=rf"no longer has the commit {gone[:12]} recorded in checksums/.*UPDATE=1"):
        pull.pull(AWQ8, settings)


@pytest.mark.fault
def test_a_local_file_problem_is_not_blamed_on_the_hub(hub, settings):
    publish(hub, AWQ8, {**FILES, "n" * 300 + ".json": b"{}"})
    with pytest.raises(ArtifactError) as err:
        pull.pull(AWQ8, settings)
    assert "cannot reach the Hub" not in str(err.value) and "on this machine (not the Hub)" in str(err.value)
