"""The one place where the environment is read. Everything else receives these values as arguments."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REPRODUCE = ROOT / "reproduce"
CHECKSUMS = ROOT / "checksums"


@dataclass(frozen=True)
class Settings:
    results: Path  # tables, diffs and (later) evaluation results
    recipes: Path  # table recipes, reference numbers and tolerances (the repository's reproduce/)
    store: Path  # the model store: one folder per model
    checksums: Path  # sha256 manifests and calibration locks (the repository's checksums/)
    device: str | None  # "cpu" or "cuda" to force one; None: CUDA when torch sees a GPU
    allow_cpu: bool  # let a multi-billion-parameter rebuild run on the CPU anyway (days, not hours)
    hf_endpoint: str | None  # HF_ENDPOINT: another Hub (a mirror, or a test server); None: huggingface.co
    hf_cache: Path | None  # HF_HUB_CACHE, else HF_HOME/hub; None: huggingface_hub's default
    hf_token: str | None  # HF_TOKEN; None: huggingface_hub's stored login, if any. Never printed or written.
    perspective_key: str | None = None  # PERSPECTIVE_API_KEY: Google's Perspective API. Never printed or written.
    perspective_url: str | None = None  # PERSPECTIVE_API_URL: another endpoint (a test server); None: Google's
    perspective_qps: float = 1.0  # PERSPECTIVE_QPS: requests per second the key's quota allows (Google's default 1)
    toxicity_scorer: str | None = None  # TOXICITY_SCORER: perspective | toxic-bert | profanity; None: choose
    toxicity_model: Path | None = None  # ARTIFACT_TOXICITY_MODEL: folder of the open classifier (toxic-bert)
    cache: Path | None = None  # XDG_CACHE_HOME/comp-trust-artifact: the image run mode keeps its kernel cache here
    hf_home: Path | None = None  # HF_HOME, else XDG_CACHE_HOME/huggingface: where a stored Hub login lives
    hf_token_file: Path | None = None  # HF_TOKEN_PATH, else HF_HOME/token: the stored login (mounted, never read)
    image: str | None = None  # ARTIFACT_IMAGE: the image this process runs in (set by docker/Dockerfile)
    judge: str = "api"  # JUDGE: api (an OpenAI-compatible endpoint) | local (a stored model, MODEL_JUDGE)
    judge_url: str | None = None  # JUDGE_URL: the endpoint's base URL; None: OpenAI's
    judge_model: str = "gpt-4"  # JUDGE_MODEL: the paper's judge
    judge_key: str | None = None  # JUDGE_API_KEY. Never printed or written.
    judge_qps: float = 1.0  # JUDGE_QPS: judge requests per second
    model_judge: str | None = None  # MODEL_JUDGE: the stored model that judges with JUDGE=local
    vllm_gpu_memory: float = 0.9  # VLLM_GPU_MEMORY_UTILIZATION: the share of GPU memory vLLM takes (BACKEND=vllm)
    docker_host: str | None = None  # DOCKER_HOST: a remote engine (tcp:// or ssh://) gets GPUS=all under GPUS=auto
    verbose: bool = False  # VERBOSE: the libraries' messages on the terminal too, not only in <results>/logs/


# HTTP and Hub client loggers: held at WARNING, so a dependency that calls logging.basicConfig(level=INFO) at import
# (gptqmodel's tokenicer does) cannot make them log request lines (URLs, headers) of the Hub or the Perspective API.
QUIET = ("httpx", "httpcore", "urllib3", "huggingface_hub", "filelock")


def quiet_libraries() -> None:
    import logging
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)


def pick_device(settings: Settings) -> str:
    """ARTIFACT_DEVICE when set, else CUDA where torch sees a GPU, else the CPU."""
    import torch
    if settings.device:
        if settings.device.startswith("cuda") and not torch.cuda.is_available():
            from .errors import BadInputError
            raise BadInputError(f"ARTIFACT_DEVICE={settings.device} but torch sees no CUDA GPU here (torch "
                                f"{torch.__version__}); unset it or set ARTIFACT_DEVICE=cpu, or run on the GPU "
                                "machine (`make check` reports what it sees)")
        return settings.device
    return "cuda" if torch.cuda.is_available() else "cpu"


def _positive(name: str, raw: str | None, default: float) -> float:
    from .errors import BadInputError
    raw = raw or ""
    try:
        value = float(raw) if raw else default
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise BadInputError(f"{name}={raw} is not a positive number; set it to e.g. {default:g}, or unset it")
    return value


def _folder(name: str, value, must_exist: bool = False) -> Path:
    """A folder setting: it may be missing (it is created when first written; an input folder must exist) but must
    not be a file. Set to the empty string it counts as unset (the caller passes the default)."""
    from .errors import BadInputError
    path = Path(value)
    if must_exist and not path.is_dir():
        raise BadInputError(f"{name}={path} is not a folder; point {name} at a copy of reproduce/, or unset it")
    if path.exists() and not path.is_dir():
        raise BadInputError(f"{name}={path} is a file, not a folder; point {name} at a folder (it is created when "
                            "missing), or unset it")
    return path


def _device(device: str | None) -> str | None:
    import re

    from .errors import BadInputError
    if device is not None and not re.fullmatch(r"cpu|cuda(:\d+)?", device):
        raise BadInputError(f"ARTIFACT_DEVICE={device} is not a device; use cpu, cuda or cuda:<n>, or unset it")
    return device


YES, NO = ("1", "yes", "true", "on"), ("", "0", "no", "false", "off")  # the Makefile's NO list, lower-cased


def yes_no(name: str, raw: str | None) -> bool:
    """A yes/no variable, read the way the Makefile reads DRY_RUN and FORCE: 1/yes/true/on, 0/no/false/off or unset;
    anything else is refused in one sentence rather than guessed."""
    value = (raw or "").strip().lower()
    if value in YES:
        return True
    if value in NO:
        return False
    from .errors import BadInputError
    raise BadInputError(f"{name}={raw} is not yes or no; set it to 1 (yes) or 0 (no), or unset it")


def load(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    cache = Path(env.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    hf_home = Path(env.get("HF_HOME") or cache / "huggingface")
    return Settings(
        results=_folder("ARTIFACT_RESULTS", env.get("ARTIFACT_RESULTS") or ROOT / "results"),
        recipes=_folder("ARTIFACT_RECIPES", env.get("ARTIFACT_RECIPES") or REPRODUCE, must_exist=True),
        store=_folder("ARTIFACT_STORE", env.get("ARTIFACT_STORE") or cache / "comp-trust-artifact" / "models"),
        checksums=_folder("ARTIFACT_CHECKSUMS", env.get("ARTIFACT_CHECKSUMS") or CHECKSUMS),
        device=_device(env.get("ARTIFACT_DEVICE") or None),
        allow_cpu=yes_no("ARTIFACT_ALLOW_CPU", env.get("ARTIFACT_ALLOW_CPU")),
        hf_endpoint=env.get("HF_ENDPOINT") or None,
        hf_cache=Path(env["HF_HUB_CACHE"]) if env.get("HF_HUB_CACHE") else
        Path(env["HF_HOME"]) / "hub" if env.get("HF_HOME") else None,
        hf_token=env.get("HF_TOKEN") or None,
        perspective_key=env.get("PERSPECTIVE_API_KEY") or None,
        perspective_url=env.get("PERSPECTIVE_API_URL") or None,
        perspective_qps=_positive("PERSPECTIVE_QPS", env.get("PERSPECTIVE_QPS"), 1.0),
        toxicity_scorer=env.get("TOXICITY_SCORER") or None,
        toxicity_model=Path(env["ARTIFACT_TOXICITY_MODEL"]) if env.get("ARTIFACT_TOXICITY_MODEL") else
        Path(env.get("ARTIFACT_STORE") or cache / "comp-trust-artifact" / "models") / "_scorers" / "toxic-bert",
        cache=cache / "comp-trust-artifact",
        hf_home=hf_home,
        hf_token_file=Path(env.get("HF_TOKEN_PATH") or hf_home / "token"),
        image=env.get("ARTIFACT_IMAGE") or None,
        judge=_judge(env.get("JUDGE") or "api"),
        judge_url=env.get("JUDGE_URL") or None,
        judge_model=env.get("JUDGE_MODEL") or "gpt-4",
        judge_key=env.get("JUDGE_API_KEY") or None,
        judge_qps=_positive("JUDGE_QPS", env.get("JUDGE_QPS"), 1.0),
        model_judge=env.get("MODEL_JUDGE") or None,
        vllm_gpu_memory=_share("VLLM_GPU_MEMORY_UTILIZATION", env.get("VLLM_GPU_MEMORY_UTILIZATION"), 0.9),
        docker_host=env.get("DOCKER_HOST") or None,
        verbose=yes_no("VERBOSE", env.get("VERBOSE")),
    )


def fault_wanted() -> str | None:
    """ARTIFACT_FAULT, the fault suite's kill point (artifact/base/faults.py, docs/development.md): a test hook read at
    each point as it is passed, so not a setting, but read here like every other variable."""
    return os.environ.get("ARTIFACT_FAULT") or None


def _share(name: str, raw: str | None, default: float) -> float:
    from .errors import BadInputError
    try:
        value = float(raw) if raw else default
    except ValueError:
        value = -1.0
    if not 0 < value <= 1:
        raise BadInputError(f"{name}={raw} is not a share of GPU memory; give a number in (0, 1], e.g. 0.8, or unset "
                            "it")
    return value


def _judge(kind: str) -> str:
    from .errors import BadInputError
    if kind not in ("api", "local"):
        raise BadInputError(f"JUDGE={kind} is not a judge; use api (an OpenAI-compatible endpoint: JUDGE_URL, "
                            "JUDGE_MODEL, JUDGE_API_KEY) or local (a stored model: MODEL_JUDGE=<id>)")
    return kind


# Another CPU's float32 rounding on this one: each switch makes torch, MKL or oneDNN take another kernel path (vector
# width, BLAS branch, thread count). tests/compress/test_cross_cpu.py rebuilds under each; `make bench-demo-flips`
# evaluates under each.
KERNEL_PATHS = {
    "ATEN_CPU_CAPABILITY=default": {"ATEN_CPU_CAPABILITY": "default"},
    "ATEN_CPU_CAPABILITY=avx2": {"ATEN_CPU_CAPABILITY": "avx2"},
    "MKL_CBWR=COMPATIBLE": {"MKL_CBWR": "COMPATIBLE"},
    "ONEDNN_MAX_CPU_ISA=AVX2": {"ONEDNN_MAX_CPU_ISA": "AVX2"},
    "OMP_NUM_THREADS=1": {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"},
}

# The one kernel path every calibrated CPU build runs on (artifact/compress/pinned.py): torch's scalar kernels, MKL's
# branch that gives the same results on Intel and AMD processors, one thread (a reduction's order follows the count).
BUILD_KERNEL_PATH = {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE", "OMP_NUM_THREADS": "1",
                     "MKL_NUM_THREADS": "1"}


def kernel_env(switch: dict[str, str]) -> dict[str, str]:
    """This process's environment with every kernel-path switch removed, then `switch` set."""
    names = {k for sw in KERNEL_PATHS.values() for k in sw}
    return {**{k: v for k, v in os.environ.items() if k not in names}, **switch}
