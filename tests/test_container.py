"""artifact/container.py and the Makefile's run mode, without a Docker engine: the docker command lines (GPU flags,
mounts, user, environment without secret values), the Make wiring, and the one-sentence errors. A stand-in `docker`
executable (a shell script that logs its arguments) plays the engine where the path needs one."""
import json
import os
import re
import stat
import subprocess
import sys

import pytest

from artifact import container
from artifact.base.settings import load

from tests.helpers import ROOT

SECRET = "hf_s3cr3t_value_that_must_not_leak"


def settings_for(tmp_path, **env):
    base = {"HOME": str(tmp_path / "home"), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    return load({**base, **env})


def mounts_of(cmd):
    return {m.split(",dst=")[1].split(",")[0]: m for m in (cmd[i + 1] for i, a in enumerate(cmd) if a == "--mount")}


def env_of(cmd):
    return [cmd[i + 1] for i, a in enumerate(cmd) if a == "-e"]


def test_run_command_mounts_the_checkout_store_and_caches_as_the_host_user(tmp_path):
    s = settings_for(tmp_path, ARTIFACT_STORE=str(tmp_path / "models"), HF_TOKEN=SECRET, PERSPECTIVE_API_KEY="pk",
                     TOXICITY_SCORER="profanity", ARTIFACT_DEVICE="cuda")
    cmd = container.run_command(s, ["python", "-m", "artifact", "table", "table3"], "img:1",
                                container.Host(1234, 5678, tty=False))
    assert cmd[:3] == ["docker", "run", "--rm"] and cmd[-6:] == ["img:1", "python", "-m", "artifact", "table", "table3"]
    assert cmd[cmd.index("--gpus") + 1] == "all" and cmd[cmd.index("--user") + 1] == "1234:5678"
    assert "-t" not in cmd and "-it" not in cmd and cmd[cmd.index("-w") + 1] == "/workspace"
    m = mounts_of(cmd)
    assert m["/workspace"] == f"type=bind,src={ROOT},dst=/workspace"
    assert m["/data/store"] == f"type=bind,src={tmp_path / 'models'},dst=/data/store"
    assert f"src={tmp_path / 'cache' / 'huggingface' / 'hub'}," in m["/data/hf-hub"]
    assert f"src={tmp_path / 'cache' / 'comp-trust-artifact' / 'kernels'}," in m["/data/kernels"]
    env = env_of(cmd)
    assert {"ARTIFACT_STORE=/data/store", "HF_HUB_CACHE=/data/hf-hub", "GPTQMODEL_TORCH_EXTENSIONS_DIR=/data/kernels",
            "TOXICITY_SCORER=profanity", "ARTIFACT_DEVICE=cuda"} <= set(env)
    assert "HF_TOKEN" in env and "PERSPECTIVE_API_KEY" in env  # by name: docker takes the value from its caller
    assert SECRET not in " ".join(cmd) and "pk" not in env
    assert not any(e.startswith(("ARTIFACT_RESULTS", "ARTIFACT_RECIPES", "ARTIFACT_CHECKSUMS")) for e in env)


def test_gpu_flags_tty_and_folders_outside_the_checkout(tmp_path):
    s = settings_for(tmp_path, ARTIFACT_RESULTS=str(tmp_path / "res"))
    host = container.Host(1000, 1000, tty=True)
    none = container.run_command(s, ["ls"], "img", host, gpus="none")
    assert "--gpus" not in none and "-t" in none
    two = container.run_command(s, ["ls"], "img", host, gpus="0,1")
    assert two[two.index("--gpus") + 1] == '"device=0,1"'
    assert "-it" in container.run_command(s, ["bash"], "img", host, interactive=True)
    assert mounts_of(two)["/data/results"] == f"type=bind,src={tmp_path / 'res'},dst=/data/results"
    assert "ARTIFACT_RESULTS=/data/results" in env_of(two)
    from artifact.base.errors import ArtifactError
    with pytest.raises(ArtifactError, match="GPUS='two' is not understood"):
        container.run_command(s, ["ls"], "img", host, gpus="two")


def test_gpus_auto_asks_for_the_gpus_only_where_the_nvidia_driver_is_loaded(tmp_path, monkeypatch):
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    driver = tmp_path / "nvidiactl"
    gpus, why = container.resolve_gpus("auto", device=driver)
    assert gpus == "none" and str(driver) in why and "GPUS=all" in why
    driver.touch()
    assert container.resolve_gpus("auto", device=driver) == ("all", None)
    driver.unlink()
    assert container.resolve_gpus("0,1", device=driver) == ("0,1", None)  # an explicit choice is kept as given
    # a remote engine: this host's devices say nothing (DOCKER_HOST, read by settings.load)
    assert container.resolve_gpus("auto", device=driver, docker_host="ssh://gpu-box") == ("all", None)
    assert load({"DOCKER_HOST": "ssh://gpu-box"}).docker_host == "ssh://gpu-box"
    rootless = "unix:///run/user/1000/docker.sock"  # rootless, still this host
    assert container.resolve_gpus("auto", device=driver, docker_host=rootless)[0] == "none"


def test_the_cli_default_is_auto_and_says_what_it_chose(tmp_path):
    r = _cli(tmp_path, "run", "--print", "--", "ls")
    has_driver = container.NVIDIA_DEVICE.exists() or os.environ.get("DOCKER_HOST", "").startswith(("tcp:", "ssh:"))
    assert r.returncode == 0
    assert ("--gpus all" in r.stdout) == has_driver and ("no NVIDIA driver on this host" in r.stderr) != has_driver


def test_a_stored_hub_login_is_mounted_read_only_not_copied(tmp_path):
    token = tmp_path / "cache" / "huggingface" / "token"
    token.parent.mkdir(parents=True)
    token.write_text(SECRET)
    cmd = container.run_command(settings_for(tmp_path), ["ls"], "img", container.Host(1, 1, False))
    assert mounts_of(cmd)["/run/secrets/hf_token"] == f"type=bind,src={token},dst=/run/secrets/hf_token,readonly"
    assert "HF_TOKEN_PATH=/run/secrets/hf_token" in env_of(cmd) and SECRET not in " ".join(cmd)
    with_env = container.run_command(settings_for(tmp_path, HF_TOKEN=SECRET), ["ls"], "img",
                                     container.Host(1, 1, False))
    assert "/run/secrets/hf_token" not in mounts_of(with_env)  # HF_TOKEN wins, as in huggingface_hub


def test_make_run_mode_wraps_every_target_in_the_container():
    # the host's view: inside the image (make test MODE=docker) ARTIFACT_IMAGE would make the mode `image`
    env = {k: v for k, v in os.environ.items() if k != "ARTIFACT_IMAGE"} | {"MAKEFLAGS": ""}
    for target, expect in [("table3", "python -m artifact table table3 --source published"),
                           ("eval MODEL=smollm2-135m-instruct LIMIT=2", "python -m artifact eval smollm2-135m-instruct "
                                                                       "--perspective all --limit 2"),
                           ("test", "python -m pytest -q"), ("check", "python -m artifact check"),
                           ("pull MODEL=x", "python -m artifact pull x"), ("demo", "python -m artifact demo"),
                           ("rebuild MODEL=x", "python -m artifact rebuild x"),
                           ("push MODEL=x REPO=me/x", "python -m artifact push x --repo me/x")]:
        out = subprocess.run(["make", "-n", *target.split(), "MODE=docker", "GPUS=0"], cwd=ROOT, env=env,
                             capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        line = next(ln for ln in out.stdout.splitlines() if "artifact.container" in ln)
        words = re.sub(r"'([^'\s]*)'", r"\1", line)  # values arrive single-quoted; compare them bare
        assert f"python3 -m artifact.container run --image comp-trust-artifact:0.1.0 --gpus 0 -- {expect}" in words
        assert ".venv" not in out.stdout and "[make] MODE=docker" in out.stdout
    local = subprocess.run(["make", "-n", "table3", "MODE=local"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert ".venv/bin/python -m artifact table table3" in local.stdout and "artifact.container" not in local.stdout
    bad = subprocess.run(["make", "-n", "table3", "MODE=podman"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert bad.returncode != 0 and "MODE=podman is not understood" in bad.stderr


def _cli(tmp_path, *args, path=None, extra=None):
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "HF_TOKEN": SECRET, **(extra or {})}
    if path is not None:
        env["PATH"] = path
    return subprocess.run([sys.executable, "-m", "artifact.container", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def test_print_shows_the_command_without_secret_values(tmp_path):
    r = _cli(tmp_path, "run", "--print", "--gpus", "none", "--", "python", "-m", "artifact", "check")
    assert r.returncode == 0 and r.stdout.startswith("docker run --rm")
    assert " -e HF_TOKEN " in r.stdout and SECRET not in r.stdout
    assert r.stdout.rstrip().endswith("comp-trust-artifact:0.1.0 python -m artifact check")


def fake_docker(tmp_path, info_rc=0, labels=None, run_rc=0) -> str:
    """A `docker` on PATH that logs each call and answers info / image inspect / run as told."""
    bin_ = tmp_path / "bin"
    bin_.mkdir(exist_ok=True)
    log = tmp_path / "docker.log"
    script = bin_ / "docker"
    inspect = "exit 1" if labels is None else f"echo '{json.dumps(labels)}'"
    script.write_text(f"""#!/bin/sh
echo "$@" >> {log}
case "$1" in
  info) exit {info_rc} ;;
  image) {inspect} ;;
  run) exit {run_rc} ;;
  build) exit 0 ;;
esac
""")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return f"{bin_}:{os.path.dirname(sys.executable)}:/usr/bin:/bin"


def test_errors_name_the_fix(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    r = _cli(tmp_path, "run", "--", "ls", path=f"{empty}")
    assert r.returncode == 2 and "docker is not installed" in r.stderr and "MODE=local" in r.stderr
    r = _cli(tmp_path, "run", "--", "ls", path=fake_docker(tmp_path, info_rc=1))
    assert r.returncode == 2 and "no Docker engine answers" in r.stderr
    r = _cli(tmp_path, "run", "--", "ls", path=fake_docker(tmp_path, labels=None))
    assert r.returncode == 2 and "is not built here; run `make image`" in r.stderr
    r = _cli(tmp_path, "run")
    assert r.returncode == 2 and "say what to run after --" in r.stderr


def test_a_run_checks_the_image_and_explains_a_missing_gpu_runtime(tmp_path):
    stale = {"org.opencontainers.image.revision": "abc", f"{container.LABEL}.pyproject-sha256": "0" * 64,
             f"{container.LABEL}.uid": str(container.Host.here().image_ids[0])}
    r = _cli(tmp_path, "run", "--gpus", "all", "--", "python", "-m", "artifact", "check",
             path=fake_docker(tmp_path, labels=stale, run_rc=125))
    assert r.returncode == 125
    assert "built from another pyproject.toml" in r.stderr and "[mode: docker]" in r.stderr
    assert "NVIDIA Container Toolkit" in r.stderr
    calls = (tmp_path / "docker.log").read_text().splitlines()
    assert calls[0] == "info" and calls[1].startswith("image inspect") and calls[2].startswith("run --rm")
    assert SECRET not in "\n".join(calls) and " -e HF_TOKEN " in calls[2]
    assert (tmp_path / "cache" / "comp-trust-artifact" / "kernels").is_dir()  # made by us, not by docker as root
    fresh = {**stale, f"{container.LABEL}.pyproject-sha256": container.pyproject_sha256()}
    r = _cli(tmp_path, "run", "--gpus", "none", "--", "ls", path=fake_docker(tmp_path, labels=fresh))
    assert r.returncode == 0 and "another pyproject" not in r.stderr and "NVIDIA" not in r.stderr


def test_build_goes_through_the_engine(tmp_path):
    r = _cli(tmp_path, "build", path=fake_docker(tmp_path))
    assert r.returncode == 0
    build = (tmp_path / "docker.log").read_text().splitlines()[-1]
    assert build.startswith(f"build -f {ROOT}/docker/Dockerfile -t comp-trust-artifact:0.1.0 --build-arg UID=")
    assert SECRET not in build


def test_make_inside_the_image_uses_its_python_and_sets_nothing_up():
    env = {**os.environ, "MAKEFLAGS": "", "ARTIFACT_IMAGE": "comp-trust-artifact@abc"}
    out = subprocess.run(["make", "-n", "table3", "check"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0 and "[make] MODE=image: inside the image comp-trust-artifact@abc" in out.stdout
    assert "python -m artifact table table3" in out.stdout and "python -m artifact check" in out.stdout
    assert ".venv" not in out.stdout and "artifact.container" not in out.stdout and "pip" not in out.stdout


@pytest.mark.fault
def test_the_judge_settings_reach_the_container_and_its_key_only_by_name(tmp_path):
    """MT-Bench's judge in MODE=docker: its endpoint, model and rate go in as values, its key by name only (#31:
    JUDGE_URL and JUDGE_API_KEY stayed outside the container)."""
    s = settings_for(tmp_path, JUDGE_URL="http://judge.example/v1", JUDGE_API_KEY="sk-SENTINEL", JUDGE_MODEL="gpt-4",
                     JUDGE_QPS="2")
    cmd = container.run_command(s, ["python", "-m", "artifact", "eval"], "img", container.Host(1, 1, tty=False))
    env = env_of(cmd)
    assert {"JUDGE_URL=http://judge.example/v1", "JUDGE_MODEL=gpt-4", "JUDGE_QPS=2.0", "JUDGE=api"} <= set(env)
    assert "JUDGE_API_KEY" in env and "sk-SENTINEL" not in " ".join(cmd)


def test_a_model_folder_outside_the_checkout_is_mounted_read_only_at_its_own_path(tmp_path):
    s = settings_for(tmp_path)
    mine = tmp_path / "my-model"
    mine.mkdir()
    (mine / "config.json").write_text("{}")
    (tmp_path / "not-a-model").mkdir()
    argv = ["python", "-m", "artifact", "pull", str(mine) + "/", str(tmp_path / "not-a-model")]
    cmd = container.run_command(s, argv, "img", container.Host(1000, 1000, tty=False))
    assert f"type=bind,src={mine},dst={mine},readonly" in cmd
    assert cmd[-2:] == [str(mine), str(tmp_path / "not-a-model")]  # the path the container sees; the other left alone
    assert sum(a.startswith(f"type=bind,src={tmp_path / 'not-a-model'}") for a in cmd) == 0
