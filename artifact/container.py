"""The image run mode (MODE=docker): the `docker build` and `docker run` command lines behind `make image`,
`make shell` and every target run in the image.

    python3 -m artifact.container build  [--image NAME] [--print]
    python3 -m artifact.container run    [--image NAME] [--gpus auto|all|none|0,1] [--print] -- COMMAND...
    python3 -m artifact.container shell  [--image NAME] [--gpus ...]

Inside the container the host's checkout is /workspace (code, reproduce/, checksums/ and results/ are the host's),
the model store is /data/store, the Hub cache /data/hf-hub and gptqmodel's compiled kernels /data/kernels, all
mounted from the host so nothing is downloaded, built or compiled twice. The process runs with the host's UID and
GID, so every file it writes belongs to the user. Secrets (HF_TOKEN, PERSPECTIVE_API_KEY, JUDGE_API_KEY) are passed
by name only: docker copies the value from this process's environment, so it appears on no command line and in no
image layer; a stored Hub login (`hf auth login`) is mounted read-only as a file instead.

Standard library only: it runs with the host's python3 before anything is installed there.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .base.errors import ArtifactError
from .base.provenance import code_commit
from .base.settings import ROOT, Settings, load

WORKDIR = "/workspace"
DOCKERFILE = ROOT / "docker" / "Dockerfile"
LABEL = "org.comp-trust-artifact"
SECRETS = {"hf_token": "HF_TOKEN", "perspective_key": "PERSPECTIVE_API_KEY", "judge_key": "JUDGE_API_KEY"}  # by name
PASSED = {"hf_endpoint": "HF_ENDPOINT", "perspective_url": "PERSPECTIVE_API_URL",
          "perspective_qps": "PERSPECTIVE_QPS", "toxicity_scorer": "TOXICITY_SCORER", "device": "ARTIFACT_DEVICE",
          "judge": "JUDGE", "judge_url": "JUDGE_URL", "judge_model": "JUDGE_MODEL", "judge_qps": "JUDGE_QPS",
          "model_judge": "MODEL_JUDGE"}
_GPUS = re.compile(r"^(all|none|\d+(,\d+)*|device=[\w,\-]+)$")
NVIDIA_DEVICE = Path("/dev/nvidiactl")  # present wherever the NVIDIA driver is loaded


def default_image() -> str:
    return f"comp-trust-artifact:{__version__}"


@dataclass(frozen=True)
class Host:
    uid: int
    gid: int
    tty: bool  # stdout is a terminal: allocate one in the container so progress bars draw

    @classmethod
    def here(cls) -> "Host":
        return cls(os.getuid(), os.getgid(), sys.stdout.isatty())

    @property
    def image_ids(self) -> tuple[int, int]:
        """UID/GID of the image's own user: the host's, except root, which gets 1000 (the user stays non-root)."""
        return (1000, 1000) if self.uid == 0 else (self.uid, self.gid)


def pyproject_sha256(root: Path = ROOT) -> str:
    return hashlib.sha256((root / "pyproject.toml").read_bytes()).hexdigest()


# Build arguments a user may set (make image BASE_IMAGE=... PIP_INDEX_URL=...): a mirror of the pinned base, package
# and Hub mirrors for a build behind a firewall, the scorer's revision. Addresses only: build arguments are readable
# in `docker history`, so no credential may be one.
BUILD_OPTIONS = ("BASE_IMAGE", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_FIND_LINKS", "TOXIC_BERT_REVISION",
                 "ENGINE")


def build_command(image: str, host: Host, commit: str, pyproject_sha: str, root: Path = ROOT,
                  options: dict[str, str] | None = None, hf_endpoint: str | None = None,
                  network: str | None = None) -> list[str]:
    uid, gid = host.image_ids
    args = {"UID": uid, "GID": gid, "CODE_COMMIT": commit, "PYPROJECT_SHA256": pyproject_sha}
    for name, value in (options or {}).items():
        if name not in BUILD_OPTIONS:
            raise ArtifactError(f"{name} is not a build option of the image; the ones there are: "
                                f"{', '.join(BUILD_OPTIONS)} (tokens are never build options, they reach "
                                "containers at run time)")
        args[name] = value
    if hf_endpoint:
        args["HF_ENDPOINT"] = hf_endpoint  # the Hub the scorer's weights come from is the one you use
    return ["docker", "build", "-f", str(root / "docker" / "Dockerfile"), "-t", image,
            *(["--network", network] if network else []),
            *[a for k, v in args.items() for a in ("--build-arg", f"{k}={v}")], str(root)]


def mounts(settings: Settings, root: Path = ROOT) -> list[tuple[Path, str, str, bool]]:
    """(host path, container path, env var naming it inside or '', read-only) for every mount of a run."""
    out = [(root, WORKDIR, "", False),
           (settings.store, "/data/store", "ARTIFACT_STORE", False),
           (settings.hf_cache or settings.hf_home / "hub", "/data/hf-hub", "HF_HUB_CACHE", False),
           (settings.cache / "kernels", "/data/kernels", "GPTQMODEL_TORCH_EXTENSIONS_DIR", False)]
    for path, where, var in ((settings.results, "/data/results", "ARTIFACT_RESULTS"),
                             (settings.recipes, "/data/recipes", "ARTIFACT_RECIPES"),
                             (settings.checksums, "/data/checksums", "ARTIFACT_CHECKSUMS")):
        if not _inside(path, root):  # inside the checkout they are already under /workspace
            out.append((path, where, var, False))
    if settings.hf_token is None and settings.hf_token_file and settings.hf_token_file.is_file():
        out.append((settings.hf_token_file, "/run/secrets/hf_token", "HF_TOKEN_PATH", True))
    return out


def run_command(settings: Settings, argv: list[str], image: str, host: Host, gpus: str = "all",
                interactive: bool = False, root: Path = ROOT) -> list[str]:
    if not _GPUS.match(gpus):
        raise ArtifactError(f"GPUS={gpus!r} is not understood; use GPUS=auto, GPUS=all, GPUS=none or GPU indices "
                            "like GPUS=0,1")
    cmd = ["docker", "run", "--rm", "--init", "--shm-size", "8g"]
    if gpus != "none":
        cmd += ["--gpus", gpus if gpus in ("all",) or gpus.startswith("device=") else f'"device={gpus}"']
    cmd += ["-it"] if interactive else ["-t"] if host.tty else []
    cmd += ["--user", f"{host.uid}:{host.gid}", "-w", WORKDIR]
    env = {}
    for src, dst, var, ro in mounts(settings, root):
        cmd += ["--mount", f"type=bind,src={src},dst={dst}" + (",readonly" if ro else "")]
        if var:
            env[var] = dst
    for field, var in PASSED.items():
        if getattr(settings, field) is not None:
            env[var] = str(getattr(settings, field))
    if settings.allow_cpu:
        env["ARTIFACT_ALLOW_CPU"] = "1"
    argv = list(argv)
    for i, arg in enumerate(argv):  # your model folder (MODEL=/path): mounted read-only where the host has it
        folder = _model_folder(arg, root)
        if folder is not None:
            cmd += ["--mount", f"type=bind,src={folder},dst={folder},readonly"]
            argv[i] = str(folder)  # an absolute path means the same folder on both sides
    for k, v in env.items():
        cmd += ["-e", f"{k}={v}"]
    for field, var in SECRETS.items():
        if getattr(settings, field) is not None:
            cmd += ["-e", var]  # the value comes from this process's environment, never from the command line
    return [*cmd, image, *argv]


def resolve_gpus(gpus: str, device: Path = NVIDIA_DEVICE, docker_host: str | None = None) -> tuple[str, str | None]:
    """GPUS=auto (make's default): every GPU where this host has the NVIDIA driver, none elsewhere, so a CPU
    machine with the image built runs it on the CPU instead of failing in docker. Returns (gpus, why) where why
    says what auto chose when it chose no GPU. A remote engine (DOCKER_HOST tcp:// or ssh://) gets all."""
    if gpus != "auto":
        return gpus, None
    remote = (docker_host or "").startswith(("tcp://", "ssh://"))
    if remote or device.exists():
        return "all", None
    return "none", (f"no NVIDIA driver on this host ({device} is absent), so the container gets no GPU; "
                    "GPUS=all asks for them anyway")


def image_labels(image: str) -> dict[str, str] | None:
    """The image's labels, or None when it is not built here or no Docker engine answers."""
    try:
        r = subprocess.run(["docker", "image", "inspect", "--format", "{{json .Config.Labels}}", image],
                           capture_output=True, text=True)
    except OSError:
        return None
    return (json.loads(r.stdout or "null") or {}) if r.returncode == 0 else None


def _model_folder(arg: str, root: Path) -> Path | None:
    """The absolute path of a model folder named on the command line outside the checkout (inside it, /workspace
    already holds it), else None."""
    from .base.catalog.user import looks_like_path
    if not looks_like_path(arg):
        return None
    path = Path(os.path.expanduser(arg)).resolve()
    return path if path.is_dir() and (path / "config.json").is_file() and not _inside(path, root) else None


def _inside(path: Path, root: Path) -> bool:
    try:
        Path(path).resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


def _engine() -> None:
    if shutil.which("docker") is None:
        raise ArtifactError("docker is not installed on this machine; install Docker Engine and the NVIDIA "
                            "Container Toolkit, or run the target in the local .venv with MODE=local")
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        raise ArtifactError("no Docker engine answers (`docker info` fails): start it (sudo systemctl start docker) "
                            "or add yourself to the docker group, or run the target in .venv with MODE=local")


def _preflight(image: str, host: Host, log) -> None:
    _engine()
    labels = image_labels(image)
    if labels is None:
        raise ArtifactError(f"the image {image} is not built here; run `make image` first, or use MODE=local")
    built_from = labels.get(f"{LABEL}.pyproject-sha256")
    if built_from and built_from != pyproject_sha256():
        log(f"warning: {image} was built from another pyproject.toml, so its versions are not this checkout's "
            "pins; `make image` rebuilds it")
    if labels.get(f"{LABEL}.uid") not in (None, str(host.image_ids[0])):
        log(f"warning: {image} was built for UID {labels[f'{LABEL}.uid']}, you are {host.uid}; `make image` "
            "rebuilds it for you")
    log(f"[mode: docker] {image}, code commit of the image {labels.get('org.opencontainers.image.revision', '?')}, "
        "checkout mounted at /workspace")


def _prepare(settings: Settings) -> None:
    """Create the mounted host folders first: docker would otherwise create them owned by root."""
    for src, _, _, ro in mounts(settings):
        if not ro:
            Path(src).mkdir(parents=True, exist_ok=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python3 -m artifact.container", description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="examples:\n  make image\n  make table3 MODE=docker\n  make shell GPUS=0")
    p.add_argument("action", choices=["build", "run", "shell"])
    p.add_argument("--image", default=default_image())
    p.add_argument("--gpus", default="auto",
                   help="auto (default: all where the NVIDIA driver is loaded, else none), all, none, or indices 0,1")
    p.add_argument("--print", action="store_true", help="print the docker command line instead of running it")
    p.add_argument("--build-arg", action="append", default=[], metavar="NAME=VALUE",
                   help=f"build: one of {', '.join(BUILD_OPTIONS)}")
    p.add_argument("--network", help="build: the network of the build's RUN steps (host reaches loopback mirrors)")
    argv = sys.argv[1:] if argv is None else list(argv)
    cut = argv.index("--") if "--" in argv else len(argv)
    args, command = p.parse_args(argv[:cut]), argv[cut + 1:]  # after --: the command to run in the image
    log = lambda m: print(m, file=sys.stderr)  # noqa: E731
    host, settings = Host.here(), load()
    try:
        if args.action == "build":
            bad = [a for a in args.build_arg if "=" not in a]
            if bad:
                raise ArtifactError(f"--build-arg {bad[0]} needs a value: NAME=VALUE")
            cmd = build_command(args.image, host, code_commit(), pyproject_sha256(),
                                options=dict(a.split("=", 1) for a in args.build_arg),
                                hf_endpoint=settings.hf_endpoint, network=args.network)
        else:
            if args.action == "run" and not command:
                raise ArtifactError("say what to run after --, e.g. python3 -m artifact.container run -- make help")
            gpus, why = resolve_gpus(args.gpus, docker_host=settings.docker_host)
            if why:
                log(f"[mode: docker] {why}")
            cmd = run_command(settings, command or ["bash"], args.image, host, gpus,
                              interactive=args.action == "shell")
        if args.print:
            print(shlex.join(cmd))
            return 0
        if args.action != "build":
            _preflight(args.image, host, log)
            _prepare(settings)
        else:
            _engine()
        rc = subprocess.run(cmd).returncode
    except ArtifactError as e:
        log(f"error: {e}")
        return e.exit_code
    if rc == 125 and args.action != "build" and gpus != "none":
        log("hint: docker could not start the container; if it says 'could not select device driver' install the "
            "NVIDIA Container Toolkit (nvidia-ctk runtime configure --runtime=docker, then restart docker), or "
            "run without a GPU with GPUS=none")
    return rc


if __name__ == "__main__":
    sys.exit(main())
