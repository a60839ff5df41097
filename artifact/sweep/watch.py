"""What `make sweep-status` shows: each job against the queue, each table cell with the jobs it still waits for,
the log tail of a failed job; and the table itself once every job is done."""
from __future__ import annotations

from pathlib import Path

from ..report import build, recipes, sources
from ..base.settings import Settings
from . import slurm
from .plan import source_for

DONE = "COMPLETED"
BAD = slurm.FAILED | {"LOST", "BLOCKED", "NOT SUBMITTED"}  # Slurm's failures and ours (sweep.status)


def job_rows(current: dict, base: Path) -> list[dict]:
    rows = []
    for j in current["jobs"]:
        tail = []
        if j["state"] in BAD:
            if current.get("executor") == "slurm" and j.get("slurm_id"):
                tail = slurm.log_tail(base / "jobs", j["slurm_id"])
            elif j.get("log") and Path(j["log"]).is_file():
                lines = Path(j["log"]).read_text(encoding="utf-8", errors="replace").splitlines()
                tail = [x for x in lines if x.strip()][-8:]
        rows.append({"id": j["id"], "state": j["state"], "slurm_id": j.get("slurm_id") or "-",
                     "elapsed": j.get("elapsed") or (f"{j['elapsed_s']:.0f}s" if j.get("elapsed_s") else "-"),
                     "tail": tail, "reason": j.get("reason") or ""})
    return rows


def cell_rows(current: dict, settings: Settings) -> list[dict]:
    """The table's cells that have no local value yet, each with the scoring jobs it waits for and their state."""
    recipe = recipes.load(current["table"], settings.recipes)
    states = {j["id"]: j["state"] for j in current["jobs"]}
    out = []
    source = source_for(current["options"].get("data", "hub"))
    for cell in build.plan(recipe, sources.get(source, settings.results, settings.recipes)):
        if cell["available"]:
            continue
        waits = []
        for need in cell["needs"]:
            name, metric = need.rsplit(" (", 1)
            if name in cell["missing"]:
                jid = f"score:{name}:{metric.rstrip(')')}"
                waits.append(f"{jid} ({states.get(jid, 'not in this sweep')})")
        out.append({"cell": f"{cell['row']} / {cell['column']}", "waits": waits})
    return out


def finished(current: dict) -> bool:
    return bool(current["jobs"]) and all(j["state"] == DONE for j in current["jobs"])
