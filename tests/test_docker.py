"""docker/Dockerfile, read without a Docker engine: its base is pinned by exact tag, it installs through
artifact/base/pins.py (so the versions in the image are pyproject.toml's), no secret is a build argument, and it ends as
a non-root user. The build command's arguments are the Dockerfile's own ARGs."""
import os
import re
import subprocess

import pytest

from artifact import container
from artifact.base import pins
from artifact.base.errors import ArtifactError

from tests.helpers import ROOT

DOCKERFILE = ROOT / "docker" / "Dockerfile"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out, current = [], ""
    for line in text.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if current and line.lstrip().startswith("#"):
            continue
        current += line.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        word, _, rest = current.strip().partition(" ")
        out.append((word.upper(), " ".join(rest.split())))
        current = ""
    assert not current, "a continuation line runs off the end of the file"
    return out


def test_the_dockerfile_parses_into_known_instructions():
    ins = instructions(DOCKERFILE.read_text())
    known = {"FROM", "ARG", "LABEL", "ENV", "RUN", "WORKDIR", "COPY", "USER", "CMD"}
    assert ins and {w for w, _ in ins} <= known
    words = [w for w, _ in ins]
    assert words.count("FROM") == 1 and set(words[:words.index("FROM")]) == {"ARG"}  # only the base's ARG before it


def test_base_is_a_cuda_devel_image_pinned_by_exact_tag():
    ins = instructions(DOCKERFILE.read_text())
    assert next(a for w, a in ins if w == "FROM") == "${BASE_IMAGE}"
    base = dict(a.split("=", 1) for w, a in ins if w == "ARG" and "=" in a)["BASE_IMAGE"]  # the default: the pin
    m = re.fullmatch(r"nvidia/cuda:(\d+)\.(\d+)\.(\d+)-(?:cudnn-)?devel-ubuntu(\d+\.\d+)(@sha256:[0-9a-f]{64})?", base)
    assert m, base  # an exact x.y.z tag of a devel flavour (nvcc for gptqmodel's kernels), never `latest`
    assert int(m.group(1)) >= 13  # torch 2.13's CUDA build on PyPI is CUDA 13.0; nvcc must not be older
    labels = " ".join(a for w, a in ins if w == "LABEL")
    assert 'org.opencontainers.image.base.name="${BASE_IMAGE}"' in labels  # a mirror or stand-in base shows


def test_every_package_comes_from_the_project_pins():
    ins = instructions(DOCKERFILE.read_text())
    runs = " && ".join(a for w, a in ins if w == "RUN")
    assert not re.search(r"[A-Za-z0-9_\]-]==\d", runs)  # no version of its own
    for group in ("torch", "deps dev", "no-deps", "engine"):
        assert f"python3 artifact/base/pins.py {group}" in runs
    # the pins layer is built from pyproject.toml and pins.py alone, before the code is copied
    copies = [a for w, a in ins if w == "COPY"]
    assert copies[:2] == ["pyproject.toml ./", "artifact/base/pins.py artifact/base/pins.py"]
    order = [a for w, a in ins if w in ("COPY", "RUN")]
    assert order.index(copies[1]) < next(i for i, a in enumerate(order) if "pins.py torch" in a)
    assert "pins.installed_mismatches()" in runs  # and the build fails if what landed differs from the pins


def test_no_secret_is_a_build_argument_and_the_user_is_not_root():
    ins = instructions(DOCKERFILE.read_text())
    args = {a.split("=")[0] for w, a in ins if w == "ARG"}
    assert not {a for a in args if re.search(r"TOKEN|KEY|SECRET|PASSWORD", a)}
    assert {"UID", "GID", "CODE_COMMIT", "PYPROJECT_SHA256"} <= args
    assert dict(a.split("=", 1) for w, a in ins if w == "ARG" and "=" in a)["UID"] != "0"
    users = [a for w, a in ins if w == "USER"]
    assert users and users[-1] == "${UID}:${GID}"
    labels = " ".join(a for w, a in ins if w == "LABEL")
    assert 'org.opencontainers.image.revision="${CODE_COMMIT}"' in labels
    assert f'{container.LABEL}.pyproject-sha256="${{PYPROJECT_SHA256}}"' in labels
    # the scorer's weights are placed and checked by sha256 at build time
    assert "scorer-checksums --place" in " ".join(a for w, a in ins if w == "RUN")


def test_build_command_passes_only_declared_arguments():
    declared = {a.split("=")[0] for w, a in instructions(DOCKERFILE.read_text()) if w == "ARG"}
    cmd = container.build_command("img:1", container.Host(1234, 5678, False), "abc", "f" * 64)
    passed = {cmd[i + 1].split("=")[0] for i, a in enumerate(cmd) if a == "--build-arg"}
    assert passed <= declared and cmd[:2] == ["docker", "build"] and cmd[-1] == str(ROOT)
    assert "UID=1234" in cmd and "GID=5678" in cmd and "CODE_COMMIT=abc" in cmd
    root = container.build_command("img:1", container.Host(0, 0, False), "abc", "f" * 64)
    assert "UID=1000" in root and "GID=1000" in root  # the image's user stays non-root for a root builder
    digest = __import__("hashlib").sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    assert container.pyproject_sha256() == digest


def test_build_options_are_declared_addresses_and_a_token_is_refused():
    declared = {a.split("=")[0] for w, a in instructions(DOCKERFILE.read_text()) if w == "ARG"}
    assert set(container.BUILD_OPTIONS) | {"HF_ENDPOINT"} <= declared
    opts = {"BASE_IMAGE": "mirror.example/nvidia/cuda:13.0.2-devel-ubuntu24.04", "PIP_INDEX_URL": "http://pypi.lan/"}
    cmd = container.build_command("img:1", container.Host(1, 1, False), "abc", "f" * 64, options=opts,
                                  hf_endpoint="http://hub.lan", network="host")
    args = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--build-arg"]
    assert f"BASE_IMAGE={opts['BASE_IMAGE']}" in args and "PIP_INDEX_URL=http://pypi.lan/" in args
    assert "HF_ENDPOINT=http://hub.lan" in args and cmd[cmd.index("--network") + 1] == "host"
    plain = container.build_command("img:1", container.Host(1, 1, False), "abc", "f" * 64)
    assert "--network" not in plain and not any(a.startswith(("BASE_IMAGE=", "HF_ENDPOINT=")) for a in plain)
    with pytest.raises(ArtifactError, match="HF_TOKEN is not a build option"):
        container.build_command("img:1", container.Host(1, 1, False), "abc", "f" * 64, options={"HF_TOKEN": "x"})


def test_make_image_passes_build_options_from_its_command_line_only():
    env = {**os.environ, "PIP_FIND_LINKS": "/opt/wheels-of-this-host", "HF_ENDPOINT": ""}
    r = subprocess.run(["make", "-s", "image", "DRY_RUN=1", "BASE_IMAGE=local/base:1", "NETWORK=host",
                        "PIP_INDEX_URL=http://pypi.lan/simple"], cwd=ROOT, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    line = r.stdout.strip().splitlines()[-1]
    assert "--build-arg BASE_IMAGE=local/base:1" in line and "--network host" in line
    assert "PIP_INDEX_URL=http://pypi.lan/simple" in line and "wheels-of-this-host" not in line


def test_dockerignore_keeps_environments_results_and_secrets_out_of_the_context():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "results", ".env"} <= set(ignored)
    assert set(pins.GROUPS) == {"torch", "deps", "dev", "no-deps"}


def test_the_scorer_step_fetches_and_pins_the_weights(hub, tmp_path, smol_base):
    """The Dockerfile's own `hf download` line and `scorer-checksums --place`, run against the loopback Hub with a
    tiny real classifier in place of unitary/toxic-bert: the weights land, get a manifest, and verify; a committed
    manifest that disagrees fails the step (and so the image build)."""
    import os
    import sys

    from artifact.evaluate import scorers
    from artifact.base.settings import load

    from tests.helpers import HUB_TOKEN
    from tests.helpers.standins import SCORER_REPO, tiny_toxic_classifier
    folder = tmp_path / "made"
    folder.mkdir()
    files = tiny_toxic_classifier(folder, smol_base)
    hub.state.add("model", SCORER_REPO, {**files, "tf_model.h5": b"not wanted", ".gitattributes": b"*.h5 lfs\n"})

    ins = instructions(DOCKERFILE.read_text())
    args = dict(a.split("=", 1) for w, a in ins if w == "ARG" and "=" in a)
    fetch = next(a for w, a in ins if w == "RUN" and a.startswith("hf download"))
    opt = tmp_path / "opt-scorers"
    for k, v in args.items():
        fetch = fetch.replace(f"${{{k}}}", v).replace(f'"${k}"', v)
    fetch = fetch.replace("/opt/scorers", str(opt)).replace("hf download", f"{os.path.dirname(sys.executable)}/hf "
                                                                             "download", 1)
    env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_TOKEN": HUB_TOKEN, "HF_HUB_DISABLE_XET": "1",
           "HF_HUB_CACHE": str(tmp_path / "hf-cache"), "ARTIFACT_TOXICITY_MODEL": str(opt / "toxic-bert"),
           "ARTIFACT_CHECKSUMS": str(tmp_path / "checksums"), "ARTIFACT_STORE": str(tmp_path / "store")}
    r = subprocess.run(["bash", "-c", fetch], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    placed = sorted(p.name for p in (opt / "toxic-bert").iterdir())
    assert placed == sorted(files) and not (opt / "toxic-bert" / ".cache").exists()  # .h5 and .gitattributes left out

    place = [sys.executable, "-m", "artifact", "scorer-checksums", "--place"]
    r = subprocess.run(place, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "no committed manifest; recorded" in r.stdout
    settings = load(env)
    scorer = scorers.get("toxic-bert", settings)  # verified against the manifest written beside the weights
    assert scorer.manifest == opt / "toxic-bert.sha256" and len(scorer.score(["you idiot"])) == 1

    committed = tmp_path / "checksums" / "scorers" / "toxic-bert.sha256"
    committed.parent.mkdir(parents=True)
    committed.write_text("0" * 64 + "  config.json\n")
    r = subprocess.run(place, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "does not match toxic-bert.sha256" in r.stderr
