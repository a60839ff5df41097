"""Slurm through submitit: submit a sweep's jobs with their afterok dependencies, and read the queue.

Submission is submitit's (`AutoExecutor(cluster="slurm")`: the sbatch script, the job folder, the pickled call).
The job's call is `python -m artifact sweep-job <manifest> <job id>`, so nothing but the manifest's path and the
job's id is pickled (no environment: a token in it would land on disk); Slurm hands the job the submitting shell's
environment. The queue is read with `squeue` and `scontrol`, not submitit's `sacct`, which needs Slurm's
accounting database and answers nothing without one (measured on a one-node cluster without accounting).
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from ..base.errors import ArtifactError, BadInputError
from ..base.settings import ROOT

FAILED = {"FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE", "PREEMPTED"}


def available() -> bool:
    return shutil.which("sbatch") is not None and shutil.which("squeue") is not None


def partitions() -> list[str]:
    r = subprocess.run(["sinfo", "-h", "-o", "%R"], capture_output=True, text=True, timeout=30)
    if r.returncode:
        raise ArtifactError(f"sinfo failed ({r.stderr.strip()[:200] or r.returncode}); is the Slurm controller up?")
    return sorted({line.strip() for line in r.stdout.splitlines() if line.strip()})


def check_partition(name: str | None) -> None:
    if name is None:
        return
    known = partitions()
    if name not in known:
        raise BadInputError(f"PARTITION={name} is not a partition of this cluster; its partitions: "
                            f"{', '.join(known) or 'none'}")


def extra_args(text: str | None) -> dict[str, str]:
    """SLURM_ARGS='key=value,key2=value2' -> sbatch options (#SBATCH --key=value)."""
    out = {}
    for part in filter(None, (text or "").split(",")):
        key, sep, value = part.partition("=")
        key = key.strip().lstrip("-")
        if not key or not key.replace("-", "").replace("_", "").isalnum():
            raise BadInputError(f"SLURM_ARGS: {part!r} is not key=value (e.g. SLURM_ARGS=constraint=h100,mem=64G)")
        out[key.replace("-", "_")] = value.strip() if sep else ""
    return out


def submit(manifest: Path, job_id: str, name: str, after: list[str], options: dict, folder: Path) -> str:
    """Submit one job; returns Slurm's job id."""
    import submitit
    from submitit.helpers import CommandFunction
    ex = submitit.AutoExecutor(folder=str(folder), cluster="slurm")
    extra = dict(options.get("slurm_args") or {})
    if after:
        extra["dependency"] = "afterok:" + ":".join(after)
    params = {"name": name, "timeout_min": int(options["time_min"]), "slurm_partition": options.get("partition"),
              "gpus_per_node": int(options.get("gpus_per_job") or 0), "cpus_per_task": options.get("cpus", 1),
              "slurm_account": options.get("account"), "slurm_qos": options.get("qos"),
              "slurm_additional_parameters": extra}
    ex.update_parameters(**{k: v for k, v in params.items() if v not in (None, "")})
    job = ex.submit(CommandFunction([sys.executable, "-m", "artifact", "sweep-job", str(manifest), job_id],
                                    cwd=str(ROOT), verbose=True))  # live logs
    return str(job.job_id)


def states(ids: list[str]) -> dict[str, dict]:
    """{slurm id: {state, elapsed, reason}} for the ids Slurm still knows (squeue, then scontrol for the finished)."""
    out: dict[str, dict] = {}
    if not ids:
        return out
    r = subprocess.run(["squeue", "-h", "-o", "%i|%T|%M|%r", "-j", ",".join(ids)], capture_output=True, text=True,
                       timeout=60)
    for line in r.stdout.splitlines():
        jid, state, elapsed, reason = (line.split("|") + ["", "", ""])[:4]
        out[jid.strip()] = {"state": state, "elapsed": elapsed, "reason": reason}
    for jid in ids:
        if jid in out:
            continue
        r = subprocess.run(["scontrol", "show", "job", "-o", jid], capture_output=True, text=True, timeout=60)
        if r.returncode == 0 and "JobState=" in r.stdout:
            fields = dict(f.split("=", 1) for f in r.stdout.split() if "=" in f)
            out[jid] = {"state": fields.get("JobState", "?"), "elapsed": fields.get("RunTime", ""),
                        "reason": fields.get("Reason", "")}
    return out


def cancel(ids: list[str]) -> None:
    if ids:
        subprocess.run(["scancel", *ids], capture_output=True, text=True, timeout=60)


def log_tail(folder: Path, slurm_id: str, lines: int = 8) -> list[str]:
    """The last lines of a job's stderr (else stdout) as submitit wrote them."""
    for suffix in ("err", "out"):
        path = Path(folder) / f"{slurm_id}_0_log.{suffix}"
        if path.is_file():
            text = [x for x in path.read_text(encoding="utf-8", errors="replace").splitlines() if x.strip()]
            said = [x for x in text if x.startswith("error: ")]  # our one sentence, above submitit's traceback
            tail = [x for x in text if not x.startswith((" ", "Traceback"))][-lines:]
            if said and said[-1] not in tail:
                tail = [said[-1], "...", *tail]
            if text:
                return tail
    return []
