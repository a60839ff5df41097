"""`make sweep`: every job a table's missing local cells need, run on Slurm (submitit) or here one at a time.

    plan (plan.py) -> results/sweeps/<table>/manifest.json -> EXECUTOR=slurm: submitted with afterok dependencies
                                                           -> EXECUTOR=local: run here in order
    make sweep-status: each job against the queue; RESUBMIT=1 resubmits failed and lost ones; all done: the table

The manifest records the plan, the code commit, the Slurm options and each job's Slurm id (every id it has had).
Every job runs `python -m artifact sweep-job <manifest> <id>`, which refuses to run under another code commit than
the sweep's: results of two code versions are never mixed into one sweep. Shards of one perspective write their own
files and the scoring job merges them (`make eval SHARD=i/k`), so a lost job is simply resubmitted.
"""
from __future__ import annotations

import logging
import json
import os
import pickle
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ..base import guard
from ..base.errors import ArtifactError, BadInputError, BusyError
from ..base.provenance import code_commit, now_utc
from ..base.settings import ROOT, Settings
from . import slurm
from .plan import Plan, make
from ..base.results import Layout

logger = logging.getLogger(__name__)

LIVE = {"PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED", "RESIZING"}


def folder(settings: Settings, table: str) -> Path:
    return Layout(settings.results).sweep(table)


@dataclass
class Options:
    executor: str = "local"  # slurm | local
    partition: str | None = None
    gpus_per_job: int = 1
    time_min: int = 720
    account: str | None = None
    qos: str | None = None
    slurm_args: dict | None = None
    limit: int | None = None
    data: str = "hub"
    filter: tuple = ()
    backend: str | None = None

    def check(self) -> None:
        if self.executor not in ("slurm", "local"):
            raise BadInputError(f"EXECUTOR={self.executor} is not an executor; use slurm or local")
        if self.executor == "slurm" and not slurm.available():
            raise BadInputError("EXECUTOR=slurm needs Slurm's sbatch and squeue on PATH, and neither answers here; "
                                "run on a cluster's login node, or use EXECUTOR=local")
        if self.time_min < 1 or self.gpus_per_job < 0:
            raise BadInputError(f"TIME={self.time_min} minutes and GPUS_PER_JOB={self.gpus_per_job} must be a "
                                "positive time and a number of GPUs (0 or more)")


def read(path: Path) -> dict:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ArtifactError(f"{path}: no readable sweep manifest ({type(e).__name__}); start one with make sweep "
                            "TABLE=<table>") from None
    if not isinstance(data, dict) or not isinstance(data.get("jobs"), list):
        raise ArtifactError(f"{path}: not a sweep manifest (no job list); start a new one with make sweep")
    return data


def write(path: Path, manifest: dict) -> None:
    guard.write_text(path, json.dumps(manifest, indent=2) + "\n")


def plan(table: str, settings: Settings, options: Options) -> Plan:
    return make(table, settings, options.limit, options.data, list(options.filter), options.time_min / 60,
                options.backend)


def start(table: str, settings: Settings, options: Options) -> dict:
    """Plan and submit (slurm) or run (local) a sweep; refused while another sweep of this table is live."""
    options.check()
    if options.executor == "slurm":
        slurm.check_partition(options.partition)
    base = folder(settings, table)
    base.mkdir(parents=True, exist_ok=True)
    with guard.lock(base / ".lock", f"the sweep of {table} in {base}"):
        path = base / "manifest.json"
        if path.is_file() and read(path).get("executor") == "slurm":  # a local sweep is live while it holds the lock
            live = [j for j in status(read(path), base)["jobs"] if j["state"] in LIVE]
            if live:
                raise BusyError(f"a sweep of {table} is still live in the queue ({len(live)} jobs, first "
                                f"{live[0]['id']} as Slurm job {live[0]['slurm_id']}, {path}); wait for it, follow it "
                                "with make sweep-status, or scancel its jobs first")
        p = plan(table, settings, options)
        for note in p.notes:
            logger.info(f"note: {note}")
        manifest = {"table": table, "executor": options.executor, "code_commit": code_commit(), "made": now_utc(),
                    "by": {"pid": os.getpid(), "host": socket.gethostname(), "command": " ".join(sys.argv)},
                    "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(options).items()},
                    "basis": p.basis, "skipped": p.skipped, "jobs": [j.to_dict() for j in p.jobs]}
        write(path, manifest)
        if not p.jobs:
            logger.info(f"{table}: nothing to do: every local cell it can have is there")
            return manifest
        if options.executor == "slurm":
            _submit(path, manifest, [j["id"] for j in manifest["jobs"]])
        else:
            run_local(path, manifest)
        return manifest


def _submit(path: Path, manifest: dict, ids: list[str]) -> None:
    jobs = {j["id"]: j for j in manifest["jobs"]}
    done = {j["id"] for j in status(manifest, path.parent)["jobs"] if j["state"] == "COMPLETED"}
    for jid in ids:
        job = jobs[jid]
        after = [jobs[a]["slurm_id"] for a in job["after"] if a not in done]
        sid = slurm.submit(path, jid, f"ct-{jid}"[:128], after, manifest["options"], path.parent / "jobs")
        job["slurm_id"] = sid
        job.setdefault("history", []).append(sid)
        job["submitted"] = now_utc()
        write(path, manifest)  # after each job: a crash mid-submission leaves the ones submitted, recorded
        logger.info(f"submitted {jid} as Slurm job {sid}" + (f" (after {', '.join(after)})" if after else ""))


def run_local(path: Path, manifest: dict) -> None:
    """Run the jobs here in order, one at a time; a job whose dependency failed is skipped, a done one kept."""
    logs = path.parent / "jobs"
    logs.mkdir(parents=True, exist_ok=True)
    for job in manifest["jobs"]:
        if job.get("state") == "COMPLETED":
            continue
        bad = [a for a in job["after"] if next(j for j in manifest["jobs"] if j["id"] == a).get("state") != "COMPLETED"]
        if bad:
            job["state"], job["reason"] = "CANCELLED", f"DependencyNeverSatisfied ({bad[0]})"
            write(path, manifest)
            continue
        logger.info(f"[{manifest['jobs'].index(job) + 1}/{len(manifest['jobs'])}] {job['id']}")
        started = time.time()
        job["log"] = str(logs / f"{job['id'].replace(':', '_')}.log")
        with open(job["log"], "w", encoding="utf-8") as out:
            rc = subprocess.run([sys.executable, "-m", "artifact", "sweep-job", str(path), job["id"]], cwd=ROOT,
                                stdout=out, stderr=subprocess.STDOUT).returncode
        job["state"] = "COMPLETED" if rc == 0 else "FAILED"
        job["exit"], job["elapsed_s"] = rc, round(time.time() - started, 1)
        write(path, manifest)


def job_argv(path: Path, job_id: str) -> list[str]:
    """The `python -m artifact` arguments of one job, refused under another code commit than the sweep's."""
    manifest = read(path)
    job = next((j for j in manifest["jobs"] if j["id"] == job_id), None)
    if job is None:
        raise BadInputError(f"{path} has no job {job_id}; make sweep-status lists its jobs")
    same_code(manifest, path)
    return list(job["argv"])


def same_code(manifest: dict, path: Path) -> None:
    """Refuse to run or resubmit a sweep's jobs from another code commit than the one that planned it."""
    here, planned = code_commit(), manifest.get("code_commit")
    if planned != here:
        raise ArtifactError(f"{path} was planned at code commit {planned} and the checkout is now at {here}: its "
                            f"results would mix two code versions in one table; check out {planned} again, or start "
                            "a new sweep (make sweep)")


def status(manifest: dict, sweep_folder: Path | None = None) -> dict:
    """Each job's state: Slurm's where it still knows the job, else the outcome submitit recorded, else LOST."""
    jobs = [dict(j) for j in manifest["jobs"]]
    if manifest.get("executor") == "slurm":
        known = slurm.states([j["slurm_id"] for j in jobs if j.get("slurm_id")])
        for j in jobs:
            sid = j.get("slurm_id")
            q = known.get(sid or "")
            if not sid:
                j["state"] = "NOT SUBMITTED"
            elif q:
                j.update(state=q["state"], elapsed=q["elapsed"], reason=q["reason"])
            else:
                j["state"] = _outcome((sweep_folder or Path()) / "jobs", sid)
            if j["state"] == "PENDING" and "DependencyNeverSatisfied" in (j.get("reason") or ""):
                j["state"] = "BLOCKED"
    else:
        for j in jobs:
            j.setdefault("state", "PENDING")
    return {**manifest, "jobs": jobs}


class _Plain(pickle.Unpickler):
    """Reads plain data only (tuples, strings, numbers): any reference to a class or function, the way a pickle runs
    code, is refused. submitit's result file is `("success", <our command's output>)` or `("error", <traceback>)`;
    results folders are often shared on clusters, so a planted file must not run anything (#31)."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"refused: the file refers to {module}.{name}")


def _outcome(jobs: Path, sid: str) -> str:
    result = jobs / f"{sid}_0_result.pkl"
    if not result.is_file() or result.is_symlink():
        return "LOST"
    try:
        with open(result, "rb") as f:
            kind = _Plain(f).load()[0]
    except Exception:  # noqa: BLE001 - a torn, foreign or code-carrying file is no outcome
        return "LOST"
    return "COMPLETED" if kind == "success" else "FAILED"


def resubmit(path: Path) -> list[str]:
    """Resubmit every failed, lost, blocked or never-submitted job (Slurm) or rerun them (local)."""
    manifest = read(path)
    same_code(manifest, path)
    with guard.lock(path.parent / ".lock", f"the sweep in {path.parent}"):
        current = status(manifest, path.parent)
        local = manifest["executor"] != "slurm"
        again = [j["id"] for j in current["jobs"] if j["state"] != "COMPLETED" and (local or j["state"] not in LIVE)]
        if not again:
            return []
        if manifest["executor"] == "slurm":
            slurm.cancel([j["slurm_id"] for j in current["jobs"] if j["id"] in again and j.get("slurm_id")])
            for j in manifest["jobs"]:
                if j["id"] in again:
                    j.pop("state", None)
            _submit(path, manifest, again)
        else:
            for j in manifest["jobs"]:
                if j["id"] in again:
                    j.pop("state", None)
            run_local(path, manifest)
        return again
