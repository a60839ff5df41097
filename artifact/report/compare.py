"""`make compare`: your model beside the paper's, with intervals.

  scores   your model's local scores (95% bootstrap interval), its dense base's where it was evaluated, and the
           paper's rows: the published scores of the catalog models compared against, labelled as such
  changes  your model minus its base, per dimension, with a paired-bootstrap interval (both were scored on the same
           items and resampled alike), beside the paper's changes under the same method and rate: the published
           score of each of the paper's compressed models minus its own dense base (the Figure 2 and 3 view)
  beyond   the dimensions where your change's interval excludes every change the paper saw (and where it excludes 0)

Pure: it reads the two score sources it is given and returns the comparison; cli/tables.py writes it.
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from ..base import catalog
from ..base.catalog import ModelSpec
from ..base.dimensions import DIMENSIONS, Dimension
from ..base.errors import BadInputError
from .uncertainty import ci95, minus

COLUMNS = tuple(d for d in DIMENSIONS if d.perspective)  # MMLU and the eight trust dimensions


@dataclass
class Row:
    label: str
    source: str  # "local" | "local (partial)" | "published"
    values: dict = field(default_factory=dict)  # dim key -> sources.Value


@dataclass
class Change:
    dim: Dimension
    value: float | None  # yours - base
    ci: tuple | None
    paper: list = field(default_factory=list)  # [(paper model name, its change)]

    @property
    def beyond_paper(self) -> bool:
        """Your change's interval lies wholly above or below every change the paper saw for this method."""
        if self.ci is None or not self.paper:
            return False
        changes = [c for _, c in self.paper]
        return self.ci[0] > max(changes) or self.ci[1] < min(changes)

    @property
    def beyond_zero(self) -> bool:
        return self.ci is not None and (self.ci[0] > 0 or self.ci[1] < 0)


@dataclass
class Comparison:
    yours: ModelSpec
    base: ModelSpec | None
    rows: list[Row]
    changes: list[Change]
    against: list[ModelSpec]


def similar(spec: ModelSpec) -> list[ModelSpec]:
    """The paper's models made the way yours was (same method and bits or pattern), each with its dense base; for a
    dense model, the paper's dense 13b models."""
    paper = catalog.paper()
    if spec.method == "none":
        return [s for s in paper if s.method == "none" and s.base.size == "13b"]
    return [s for s in paper if s.method == spec.method and s.rate == spec.rate and s.base.size == "13b"]


def resolve_against(text: str | None, spec: ModelSpec, recipes) -> list[ModelSpec]:
    """AGAINST=: catalog ids (comma-separated) or a table or figure name (its rows' models); default `similar`."""
    if not text:
        return similar(spec)
    from . import recipes as recipes_mod
    if text in recipes_mod.available(recipes):
        names = [m for row in recipes_mod.load(text, recipes).rows for m in row.models]
        return [catalog.get(n) for n in dict.fromkeys(names)]
    return [catalog.get(t.strip()) for t in text.split(",") if t.strip()]


def _row(spec: ModelSpec, local, full) -> Row:
    """`local`: every local score (partial ones too); `full`: those on the full data (sources.LocalScores both)."""
    values = {d.key: v for d in COLUMNS if (v := local.lookup(spec, d)) is not None}
    partial = any(full.lookup(spec, d) is None or v.origin.get("limit") for d in COLUMNS
                  if (v := values.get(d.key)) is not None)
    return Row(spec.name, "local (partial)" if partial else "local", values)


def paired(a, b) -> tuple | None:
    """The replicate-wise difference, where both scores were resampled alike (same items: same LIMIT, same count)."""
    if a is None or b is None or a.origin.get("limit") != b.origin.get("limit") or a.items != b.items:
        return None
    return minus(a.replicates, b.replicates)


def compare(yours: ModelSpec, base: ModelSpec | None, against: list[ModelSpec], local, published,
            full=None, card: dict | None = None) -> Comparison:
    """`local`: local scores, partial ones included; `full`: those on the full data only (default: `local`);
    `card`: the scores its pulled model card carries ({dimension: {"value", "config"}}), shown as their own row."""
    full = full or local
    mine = _row(yours, local, full)
    from .sources import Value
    carded = Row(f"{yours.name} (its model card)", "model card", {
        k: Value(float(v["value"]), {"source": "model card", "config": v.get("config")})
        for k, v in (card or {}).items()})
    if not mine.values and not carded.values:
        raise BadInputError(f"{yours.name} has no local scores yet; `make eval MODEL={yours.name} PERSPECTIVE=all` "
                            "first (LIMIT= for a quick, partial look)")
    rows = [r for r in (mine, carded) if r.values]
    base_row = _row(base, local, full) if base is not None else None
    if base_row is not None and base_row.values:
        rows.append(base_row)
    paper_rows = []
    for spec in against:
        values = {d.key: v for d in COLUMNS if (v := published.lookup(spec, d)) is not None}
        if values:
            paper_rows.append(Row(spec.name, "published", values))
    rows += paper_rows
    changes = []
    if mine.values and base_row is not None and base_row.values:
        pairs = _paper_pairs(against)
        for d in COLUMNS:
            a, b = mine.values.get(d.key), base_row.values.get(d.key)
            diff = None if a is None or b is None else a.value - b.value
            reps = paired(a, b)
            paper = [(s.name, v.value - w.value) for s, dense in pairs
                     if (v := published.lookup(s, d)) is not None and (w := published.lookup(dense, d)) is not None]
            changes.append(Change(d, diff, ci95(reps) if reps else None, paper))
    return Comparison(yours, base, rows, changes, against)


def _paper_pairs(against: list[ModelSpec]) -> list[tuple[ModelSpec, ModelSpec]]:
    """(compressed, its dense base) for each compressed model compared against."""
    return [(s, catalog.base_of(s)) for s in against if s.method != "none"]


def _cell(v, decimals: int = 1) -> str:
    if v is None:
        return "—"
    text = f"{v.value:.{decimals}f}"
    return text + (f" [{v.ci95[0]:.{decimals}f}, {v.ci95[1]:.{decimals}f}]" if v.ci95 else "")


def markdown(c: Comparison, figure: str | None = None) -> str:
    from tabulate import tabulate
    head = ["model", "source", *(d.label for d in COLUMNS)]
    table = tabulate([[r.label, r.source, *(_cell(r.values.get(d.key)) for d in COLUMNS)] for r in c.rows],
                     headers=head, tablefmt="github", disable_numparse=True)
    out = [f"## {c.yours.name} beside the paper", "",
           f"Your model's local scores with their 95% bootstrap intervals, then the published scores of the paper's "
           f"models ({sum(r.source == 'published' for r in c.rows)} of the {len(c.against)} compared against have "
           "published scores; `published` rows are the paper's numbers, not runs of ours). "
           "A `local (partial)` row was scored on LIMIT items or the vendored subset: its interval says how sure it "
           "is, and the paper's full-data numbers are not directly comparable.", "", table]
    if c.changes:
        rows = []
        for ch in c.changes:
            paper = ", ".join(f"{v:+.1f}" for _, v in ch.paper) or "—"
            mine = "—" if ch.value is None else f"{ch.value:+.1f}" + (
                f" [{ch.ci[0]:+.1f}, {ch.ci[1]:+.1f}]" if ch.ci else "")
            mark = " ‡" if ch.beyond_paper else " *" if ch.beyond_zero else ""
            rows.append([ch.dim.label, mine + mark, paper,
                         f"{statistics.fmean([v for _, v in ch.paper]):+.1f}" if ch.paper else "—"])
        out += ["", f"## Change from {c.base.name}", "",
                "Your model minus its dense base (paired bootstrap, 95%), beside the paper's changes under the same "
                "method and rate (each published compressed model minus its own dense base). * the interval excludes "
                "0; ‡ it excludes every change the paper saw.", "",
                tabulate(rows, headers=["dimension", "yours", "the paper's", "paper mean"], tablefmt="github",
                         disable_numparse=True)]
        beyond = [ch for ch in c.changes if ch.beyond_paper]
        out += ["", f"**Beyond the paper's range** ({len(beyond)} of {len(c.changes)}): " +
                ("; ".join(f"{ch.dim.label} {ch.value:+.1f} [{ch.ci[0]:+.1f}, {ch.ci[1]:+.1f}] vs "
                           f"{min(v for _, v in ch.paper):+.1f} to {max(v for _, v in ch.paper):+.1f}"
                           for ch in beyond) or "none") + "."]
    if figure:
        out += ["", f"![{c.yours.name} beside the paper]({figure})"]
    return "\n".join(out) + "\n"


def pages(folder) -> list[str]:
    """The pages `make compare` wrote (results/compare/*.md), for REPORT.md; their figure links resolve from
    results/tables/ as from results/compare/ (both ../figures/)."""
    return [p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.md"))] if folder.is_dir() else []


def to_dict(c: Comparison) -> dict:
    return {"model": c.yours.id, "name": c.yours.name, "base": c.base.id if c.base else None,
            "against": [s.id for s in c.against],
            "rows": [{"model": r.label, "source": r.source,
                      "scores": {k: {"value": v.value, "ci95": v.ci95, "items": v.items, "origin": v.origin}
                                 for k, v in r.values.items()}} for r in c.rows],
            "changes": [{"dimension": ch.dim.key, "change": ch.value, "ci95": ch.ci, "paper": dict(ch.paper),
                         "beyond_paper": ch.beyond_paper, "beyond_zero": ch.beyond_zero} for ch in c.changes]}


def figure(c: Comparison, path) -> None:
    """Left: every row's score per dimension (yours with its interval). Right, with a base: your change with its
    interval beside each of the paper's changes."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    panels = 2 if c.changes else 1
    fig, axes = plt.subplots(1, panels, figsize=(6.5 * panels, 5.2), squeeze=False)
    ax = axes[0][0]
    xs = range(len(COLUMNS))
    for i, r in enumerate(c.rows):
        pts = [(x, r.values[d.key]) for x, d in zip(xs, COLUMNS, strict=True) if d.key in r.values]
        if not pts:
            continue
        local = r.source.startswith("local")
        off = (i - len(c.rows) / 2) * 0.08
        ys = [v.value for _, v in pts]
        errs = [[v.value - v.ci95[0] if v.ci95 else 0 for _, v in pts], [v.ci95[1] - v.value if v.ci95 else 0
                                                                          for _, v in pts]]
        ax.errorbar([x + off for x, _ in pts], ys, yerr=errs if local else None, fmt="o" if local else "x",
                    ms=6 if local else 5, capsize=3, label=f"{r.label} ({r.source})", alpha=1 if local else 0.7)
    ax.set_xticks(list(xs), [d.label for d in COLUMNS], rotation=40, ha="right")
    ax.set_ylabel("score")
    ax.set_title("scores: yours (with 95% intervals) and the paper's")
    ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=2, frameon=False)
    if c.changes:
        ax = axes[0][1]
        for x, ch in enumerate(c.changes):
            if ch.value is not None:
                err = [[ch.value - ch.ci[0]], [ch.ci[1] - ch.value]] if ch.ci else None
                ax.errorbar([x - 0.12], [ch.value], yerr=err, fmt="o", color="C0", capsize=3,
                            label="yours (95%)" if x == 0 else None)
            for j, (_, v) in enumerate(ch.paper):
                ax.plot([x + 0.12], [v], "_", color="C3", ms=14, mew=2,
                        label="the paper's (published)" if x == 0 and j == 0 else None)
        ax.axhline(0, color="#888", lw=0.8)
        ax.set_xticks(range(len(c.changes)), [ch.dim.label for ch in c.changes], rotation=40, ha="right")
        ax.set_ylabel(f"change from {c.base.name}")
        ax.set_title("change from the dense base")
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
