"""Pulls from the loopback Hub killed at each point, resumed over a corrupted staging folder, and run twice at once,
in real processes: a rerun downloads only what is missing, a changed byte is caught before the commit, and a
second pull of the same model is refused while the first lives."""
from __future__ import annotations

import hashlib
import signal

import pytest

from artifact.base import catalog, store

from tests.acquire.test_hub import FILES, weights
from tests.faults import env_for, one_sentence, run, start, until_held
from tests.helpers import HUB_TOKEN

pytestmark = pytest.mark.fault

SPEC = catalog.get("vicuna-13b-v1.3-awq-8bit")
FILES3 = {**FILES, "generation_config.json": b'{"do_sample": false}', "model.safetensors": weights(3, 20_000)}


@pytest.fixture
def published(hub, tmp_path):
    commit = hub.state.add("model", SPEC.repo, FILES3, revision=SPEC.revision)
    return commit, env_for(tmp_path, HF_ENDPOINT=hub.url, HF_TOKEN=HUB_TOKEN)


def downloads(hub) -> list[str]:
    return sorted(p.rsplit("/", 1)[-1] for m, p, _ in hub.state.requests if m == "GET" and "/resolve/" in p)


def stored(tmp_path) -> dict[str, bytes]:
    folder = store.folder(tmp_path / "store", SPEC.name)
    assert store.verify(folder) == []
    return {n: (folder / n).read_bytes() for n in FILES3}


@pytest.mark.parametrize("point, fetched_again", [
    ("pull.file:1", 2),  # one file verified: the other two are fetched
    ("pull.file:2", 1),
    ("store.staged", 0),  # every file verified, the commit not begun: nothing is fetched again
    ("store.cleanup", None),  # committed: the rerun is up to date
])
def test_a_killed_pull_resumes_without_fetching_a_verified_file(hub, published, tmp_path, point, fetched_again):
    _, env = published
    killed = run(["pull", SPEC.name], env, fault=point)
    assert killed.returncode == -9, killed.stderr[-2000:]
    hub.state.requests.clear()
    again = run(["pull", SPEC.name], env)
    assert again.returncode == 0, again.stderr[-2000:]
    if fetched_again is None:
        assert "up to date" in again.stdout and downloads(hub) == []
    else:
        assert len(downloads(hub)) == fetched_again and "pulled" in again.stdout
    assert stored(tmp_path) == FILES3 and store.leftovers(tmp_path / "store") == []
    assert not list((tmp_path / "store").glob(".*.json"))  # the verified list went with the commit


def test_a_kill_mid_swap_of_a_forced_pull_recovers_the_old_model_then_fetches_nothing(hub, published, tmp_path):
    _, env = published
    assert run(["pull", SPEC.name], env).returncode == 0
    killed = run(["pull", SPEC.name, "--force"], env, fault="store.swap")
    assert killed.returncode == -9 and not store.folder(tmp_path / "store", SPEC.name).exists()
    hub.state.requests.clear()
    again = run(["pull", SPEC.name, "--force"], env)
    assert again.returncode == 0 and "recovered the model a killed run had moved aside" in again.stdout
    assert downloads(hub) == [] and stored(tmp_path) == FILES3 and store.leftovers(tmp_path / "store") == []


def test_a_byte_flipped_in_a_verified_staged_file_is_caught_before_the_commit(hub, published, tmp_path):
    commit, env = published
    assert run(["pull", SPEC.name], env, fault="store.staged").returncode == -9  # all verified, not committed
    staged = tmp_path / "store" / f".{SPEC.name}.pull-{commit[:12]}" / "model.safetensors"
    data = bytearray(staged.read_bytes())
    data[100] ^= 0xFF
    staged.write_bytes(bytes(data))
    bad = run(["pull", SPEC.name], env)
    assert one_sentence(bad) and "model.safetensors" in bad.stderr and "quarantined" in bad.stderr
    assert not store.folder(tmp_path / "store", SPEC.name).exists()  # nothing from it was committed
    hub.state.requests.clear()
    good = run(["pull", SPEC.name], env)
    assert good.returncode == 0 and downloads(hub) == ["model.safetensors"]  # only the bad file again
    assert stored(tmp_path) == FILES3


def test_a_second_pull_of_the_same_model_is_refused_and_the_first_finishes(hub, published, tmp_path):
    _, env = published
    first = start(["pull", SPEC.name], env, fault="pull.file:1:hold")
    try:
        until_held(first)
        staging = list((tmp_path / "store").glob(f".{SPEC.name}.pull-*/"))
        second = run(["pull", SPEC.name, "--force"], env)
        assert one_sentence(second) and f"another run is using {SPEC.name}" in second.stderr
        assert f"pid {first.pid}" in second.stderr
        assert [p for p in staging if p.is_dir()] == staging and staging  # the live run's folder is untouched
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    hub.state.requests.clear()
    third = run(["pull", SPEC.name], env)  # the lock died with its owner
    assert third.returncode == 0 and len(downloads(hub)) == 2 and stored(tmp_path) == FILES3
    assert hashlib.sha256(stored(tmp_path)["model.safetensors"]).hexdigest() == hashlib.sha256(
        FILES3["model.safetensors"]).hexdigest()


def test_a_full_disk_while_pulling_is_named_not_blamed_on_the_network(hub, published, tmp_path):
    """A download that cannot be written (here: a file-size limit, as a full disk) is a local problem: the sentence
    names the file system and what to do, never the network."""
    import resource
    import subprocess
    import sys

    from tests.helpers import ROOT
    _, env = published
    limit = 64 * 1024  # the 320 kB weights file cannot be written; the small files can
    p = subprocess.run([sys.executable, "-m", "artifact", "pull", SPEC.name], cwd=ROOT, env=env, text=True,
                       capture_output=True, timeout=300,
                       preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)))
    assert one_sentence(p), p.stderr[-2000:]
    assert "network" not in p.stderr and "cannot reach" not in p.stderr
    assert "free space" in p.stderr and store.read_recipe(store.folder(tmp_path / "store", SPEC.name)) is None


def test_offline_mode_is_named_when_a_pull_needs_the_hub(hub, published, tmp_path):
    _, env = published
    r = run(["pull", SPEC.name], {**env, "HF_HUB_OFFLINE": "1"})
    assert one_sentence(r) and "HF_HUB_OFFLINE" in r.stderr and "check the network" not in r.stderr, r.stderr
