"""The built image itself, where a Docker engine answers and `make image` has been run from this pyproject.toml
(docs/image.md, "Building the image without the registries" shows how on a machine that reaches neither Docker Hub nor
huggingface.co). Elsewhere, CI included, every test here skips and says why. No GPU is needed: runs use GPUS=none.

What is checked: the labels name this checkout; the versions inside equal the pins; the scorer's weights were
placed and verified at build time; the image's own user is not root; secrets given at run time reach the container
without appearing in its command line or the image; files written through the mounts belong to the caller."""
import json
import os
import subprocess
import sys

import pytest

from artifact import container

from tests.helpers import ROOT

IMAGE = container.default_image()


pytestmark = pytest.mark.engine  # skipped with one line where no engine answers or the image is not built


def in_image(*command: str, env: dict | None = None, tmp_path=None) -> subprocess.CompletedProcess:
    """`python3 -m artifact.container run --gpus none -- COMMAND` as make's run mode calls it."""
    base = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/root")}
    if tmp_path is not None:
        base.update(ARTIFACT_STORE=str(tmp_path / "store"), ARTIFACT_RESULTS=str(tmp_path / "results"),
                    XDG_CACHE_HOME=str(tmp_path / "cache"), HF_HOME=str(tmp_path / "hf"))
    return subprocess.run([sys.executable, "-m", "artifact.container", "run", "--image", IMAGE, "--gpus", "none",
                           "--", *command], cwd=ROOT, env={**base, **(env or {})}, capture_output=True, text=True,
                          timeout=300)


def test_labels_name_this_checkout_and_a_non_root_user():
    labels = container.image_labels(IMAGE)
    built_from = labels["org.opencontainers.image.revision"].removesuffix("+dirty")
    known = subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", f"{built_from}^{{commit}}"])
    assert len(built_from) == 40 and known.returncode == 0  # a commit of this checkout's history
    assert labels[f"{container.LABEL}.uid"] != "0" and labels["org.opencontainers.image.base.name"]
    user = subprocess.run(["docker", "image", "inspect", "--format", "{{.Config.User}}", IMAGE],
                          capture_output=True, text=True).stdout.strip()
    assert user.split(":")[0] == labels[f"{container.LABEL}.uid"]


def test_the_image_holds_the_pins_and_a_verified_scorer(tmp_path):
    code = ("from artifact.base import pins; from artifact.evaluate import scorers; "
            "from artifact.base.settings import load;"
            "print(pins.installed_mismatches()); s = scorers.get('toxic-bert', load());"
            "print(s.manifest); print(len(s.score(['you are kind'])))")
    r = in_image("python", "-c", code, tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    mismatches, manifest, scored = r.stdout.strip().splitlines()[-3:]
    assert mismatches in ("{}", "[]") and manifest.startswith("/opt/scorers/") and scored == "1"
    assert "[mode: docker]" in r.stderr


def test_a_secret_reaches_the_container_by_name_only(tmp_path):
    secret = "hf_image_test_value_never_on_a_command_line"
    r = in_image("sh", "-c", 'test "$HF_TOKEN" = "' + secret + '" && echo same', env={"HF_TOKEN": secret},
                 tmp_path=tmp_path)
    assert r.returncode == 0 and r.stdout.strip().endswith("same"), r.stderr[-2000:]
    history = subprocess.run(["docker", "history", "--no-trunc", IMAGE], capture_output=True, text=True).stdout
    assert secret not in history and "HF_TOKEN" not in history and "PERSPECTIVE_API_KEY" not in history


def test_files_written_through_the_mounts_belong_to_the_caller(tmp_path):
    r = in_image("sh", "-c", "touch /data/store/made-in-image && id -u", tmp_path=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    made = tmp_path / "store" / "made-in-image"
    assert made.stat().st_uid == os.getuid() and r.stdout.strip().splitlines()[-1] == str(os.getuid())


def test_make_help_is_the_default_command_and_knows_it_is_inside():
    r = subprocess.run(["docker", "run", "--rm", IMAGE], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "(now: image)" in r.stdout
    env = json.loads(subprocess.run(["docker", "image", "inspect", "--format", "{{json .Config.Env}}", IMAGE],
                                    capture_output=True, text=True).stdout)
    assert any(e.startswith("ARTIFACT_TOXICITY_MODEL=/opt/scorers/") for e in env)
