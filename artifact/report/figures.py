"""The paper's figures as pictures: `results/figures/<fig>.png` and `.svg`, drawn with matplotlib from a built
report (the same cells the table and its diff show), the way the paper draws each.

    fig2           relative score difference w.r.t. the dense 13b model, one panel per family, a bar per row
                   (dense 7b, each compression method) and per dimension; the paper's value beside ours
    fig7           the same per calibration seed of the 3-bit models, Avg and Std left out
    fig8           a radar chart of the three dense 13b models, one axis per dimension (0-100)
    fig3/10/11     score against bits for each method, the mean over calibration seeds with the seed spread
                   (± sample std) as a band, one panel per dimension

    fig4, fig6,    the per-scenario breakdowns: `breakdown.py` (recipes of kind breakdown)
    fig12-fig25
    fig9           drawn with fig3, from its cells: Pearson's r between bits and each dimension's score per method, over
                   every model (each calibration seed one point); the paper does not say whether the dense 16-bit model
                   is a point, so both are drawn side by side (`correlations`)

`series(report)` returns the arrays each figure plots (the tests compare them with the recipe's cells, not
pixels); `draw(report, folder)` renders them headless (Agg) and returns the files written.
"""
from __future__ import annotations

import math
import textwrap
from pathlib import Path

FIGURES = ("fig2", "fig3", "fig7", "fig8", "fig10", "fig11")
DERIVED = ("Avg", "Std")


def _seed(v) -> str:
    try:
        return str(int(float(v)))
    except (TypeError, ValueError):
        return str(v)


def _num(v) -> float:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else math.nan


def _ci(cell) -> tuple[float, float]:
    """A local cell's 95% interval (drawn as an error bar); NaNs where it has none (a replay, or no replicates)."""
    ci = getattr(cell, "ci95", None)
    return (float(ci[0]), float(ci[1])) if ci else (math.nan, math.nan)


def series(report) -> dict:
    """What the figure plots: {"kind": bars|lines, "columns": [...], "groups": {panel: {series: [values]}}, ...}."""
    r = report.result
    name = r.recipe.name
    columns = [c for c in r.recipe.columns if c not in DERIVED]
    ref = {(c.row, c.column): _num(c.reference) for c in report.cells}
    if r.recipe.kind == "relative":  # fig2 (family, group, row) and fig7 (method, seed): bars per dimension
        groups: dict[str, dict] = {}
        for key, labels in r.rows:
            panel = labels[0] if name == "fig2" else "LLAMA2 13b Chat, 3-bit"
            label = " ".join(labels[1:]) if name == "fig2" else f"{labels[0]} seed {_seed(labels[1])}"
            if name == "fig2" and labels[1:] == ("dense", "13b"):
                continue  # the baseline itself: all zeros
            groups.setdefault(panel, {})[label] = {
                "ours": [_num(r.cells[(key, c)].value) for c in columns],
                "ci": [_ci(r.cells[(key, c)]) for c in columns],
                "paper": [ref.get((key, c), math.nan) for c in columns]}
        return {"kind": "bars", "columns": columns, "groups": groups, "title": r.recipe.title, "source": r.source}
    if r.recipe.kind == "scores":  # fig8: one polygon per model
        return {"kind": "radar", "columns": columns, "title": r.recipe.title, "source": r.source,
                "groups": {"": {" ".join(labels): [_num(r.cells[(key, c)].value) for c in columns]
                                for key, labels in r.rows}},
                "ci": {" ".join(labels): [_ci(r.cells[(key, c)]) for c in columns] for key, labels in r.rows}}
    groups = {}  # spread: fig3/10/11, score vs bits per method and dimension
    for key, labels in r.rows:
        method, bits = labels[0], labels[1]
        for c in columns:
            cell = r.cells[(key, c)]
            line = groups.setdefault(c, {}).setdefault(method, {"bits": [], "mean": [], "std": [], "ci": []})
            line["bits"].append(float(bits) if str(bits).replace(".", "").isdigit() else math.nan)
            line["mean"].append(_num(cell.value))
            line["std"].append(_num(cell.std) if cell.std is not None else 0.0)
            line["ci"].append(_ci(cell))
    return {"kind": "lines", "columns": columns, "groups": groups, "title": r.recipe.title, "source": r.source}


def _points(report, with_dense: bool) -> dict[str, dict[str, list[tuple]]]:
    """Figure 9's points from Figure 3's cells: {method: {dimension: [(bits, score, resamples or None)]}}, each model
    (calibration seed) one point; with_dense adds the dense 13b model at 16 bits to every method."""
    r = report.result
    points: dict[str, dict[str, list]] = {}
    dense: dict[str, list] = {}
    for key, labels in r.rows:
        for c in r.recipe.columns:
            cell = r.cells[(key, c)]
            reps = cell.input_replicates or (None,) * len(cell.inputs)
            vals = [(i["value"], rep) for i, rep in zip(cell.inputs, reps, strict=True)
                    if isinstance(i["value"], (int, float))]
            if labels[0] == "dense 13b":
                dense[c] = vals
            elif not labels[0].startswith("dense"):
                points.setdefault(labels[0], {}).setdefault(c, []).extend((float(labels[1]), v, rep)
                                                                          for v, rep in vals)
    return {m: {c: pts + ([(16.0, v, rep) for v, rep in dense.get(c, [])] if with_dense else [])
                for c, pts in by.items()} for m, by in points.items()}


def _r(x, y) -> float:
    import numpy as np
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return float(np.corrcoef(x, y)[0, 1]) if len(x) >= 3 and np.std(x) > 0 and np.std(y) > 0 else math.nan


def correlations(report, with_dense: bool) -> dict:
    """Figure 9's data: {method: {dimension: Pearson r of bits and score}} (NaN with fewer than 3 points, as a local
    run covering few models has)."""
    return {m: {c: _r([p[0] for p in pts], [p[1] for p in pts]) for c, pts in by.items()}
            for m, by in _points(report, with_dense).items()}


def correlation_intervals(report, with_dense: bool) -> dict:
    """Local runs: {method: {dimension: 95% interval of r}}, r recomputed on each bootstrap resample of every model's
    score (the models were resampled alike, so the resamples pair up); None where a point has no resamples."""
    from .uncertainty import ci95
    out: dict[str, dict] = {}
    for m, by in _points(report, with_dense).items():
        for c, pts in by.items():
            reps = [p[2] for p in pts]
            ok = len(pts) >= 3 and None not in reps and len({len(r) for r in reps}) == 1
            rs = [_r([p[0] for p in pts], column) for column in zip(*reps, strict=True)] if ok else []
            out.setdefault(m, {})[c] = ci95(rs) if rs and not any(math.isnan(x) for x in rs) else None
    return out


def _fig9(plt, report, folder: Path) -> list[Path]:
    import numpy as np
    cols = list(report.result.recipe.columns)
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6), sharey=True)
    for ax, with_dense in zip(axes, (False, True), strict=True):
        corr = correlations(report, with_dense)
        cis = correlation_intervals(report, with_dense) if report.result.source != "published" else {}
        x = np.arange(len(cols))
        for i, (method, by_dim) in enumerate(corr.items()):
            pos = x - 0.2 + 0.4 * i
            ax.bar(pos, [by_dim.get(c, math.nan) for c in cols], 0.4, label=method)
            _errorbars(ax, pos, [by_dim.get(c, math.nan) for c in cols],
                       [cis.get(method, {}).get(c) or (math.nan, math.nan) for c in cols])
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_xticks(x, cols, rotation=45, fontsize=8)
        ax.set_title("3, 4, 8 bits and the dense 16-bit model" if with_dense else "3, 4 and 8 bits (our choice)",
                     fontsize=9)
        ax.set_ylabel("Pearson r (score vs bits)")
        ax.legend(fontsize=8)
    fig.suptitle("Figure 9: correlation of each dimension's score with the bit width, LLAMA2-13b-Chat, from Figure 3's "
                 f"models (SOURCE={report.result.source})\nthe paper does not say whether 16-bit is a point: "
                 "both choices are drawn", fontsize=9, y=1.06)
    fig.tight_layout()
    out = [folder / "fig9.png", folder / "fig9.svg"]
    fig.savefig(out[0], dpi=110, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(out[1], bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    return out


def is_figure(recipe) -> bool:
    return recipe.name in FIGURES or recipe.kind == "breakdown"


def names(root: Path | None = None) -> list[str]:
    """Every recipe that draws a figure, in the paper's order (Figure 9 is drawn with Figure 3)."""
    from . import recipes
    root = root or recipes.REPRODUCE
    return [n for n in recipes.available(root) if is_figure(recipes.load(n, root))]


def draw(report, folder: Path) -> list[Path]:
    """Render the figure of `report` into `folder` (PNG and SVG); nothing for a recipe that is not a figure."""
    if not is_figure(report.result.recipe):
        return []
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from . import breakdown
    if report.result.recipe.kind == "breakdown":
        s = breakdown.series(report)
        fig = breakdown.draw(plt, s)
        under = breakdown.caption(s)
    else:
        s = series(report)
        fig = {"bars": _bars, "lines": _lines, "radar": _radar}[s["kind"]](plt, s)
        under = f"SOURCE={s['source']}" + ("; error bars: 95% intervals" if s["source"] != "published" else "")
    text = "\n".join([*textwrap.wrap(s["title"], 150), *textwrap.wrap(f"({under}; made by comp-trust-artifact)", 150)])
    fig.suptitle(text, fontsize=9, y=1.0 + 0.035 * (text.count("\n") + 1) * 3.2 / fig.get_figheight())
    folder.mkdir(parents=True, exist_ok=True)
    name = report.result.recipe.name
    out = [folder / f"{name}.png", folder / f"{name}.svg"]
    fig.savefig(out[0], dpi=110, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(out[1], bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    if name == "fig3":  # Figure 9 is computed from Figure 3's models
        out += _fig9(plt, report, folder)
    return out


def _errorbars(ax, x, y, ci, label=None, color="black", zorder=4) -> None:
    """Each local value's 95% interval as a black error bar from its low to its high end (a percentile interval
    need not be centred on the value); nothing where there is none (a replay)."""
    import numpy as np
    if not ci:
        return
    lo, hi = (np.array(v, dtype=float) for v in zip(*ci, strict=True))
    keep = ~(np.isnan(lo) | np.isnan(hi) | np.isnan(np.array(y, dtype=float)))
    if keep.any():
        ax.errorbar(np.asarray(x, dtype=float)[keep], ((lo + hi) / 2)[keep], yerr=((hi - lo) / 2)[keep], fmt="none",
                    ecolor=color, elinewidth=0.8, capsize=2, zorder=zorder, label=label)


def _bars(plt, s: dict):
    import numpy as np
    panels = list(s["groups"].items())
    fig, axes = plt.subplots(len(panels), 1, figsize=(11, 3.2 * len(panels)), squeeze=False)
    x = np.arange(len(s["columns"]))
    for ax, (panel, rows) in zip(axes[:, 0], panels, strict=True):
        width = 0.8 / max(1, len(rows))
        for i, (label, vals) in enumerate(rows.items()):
            pos = x - 0.4 + width * (i + 0.5)
            ax.bar(pos, vals["ours"], width, label=label)
            _errorbars(ax, pos, vals["ours"], vals.get("ci"), label="95% interval" if i == 0 else None)
            paper = np.array(vals["paper"], dtype=float)
            if not np.all(np.isnan(paper)):  # the paper's value: a black tick on each bar
                ax.scatter(pos, paper, marker="_", s=80, color="black", zorder=3,
                           label="paper" if i == 0 else None)
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.set_xticks(x, s["columns"], fontsize=8)
        ax.set_ylabel("Δ score vs dense 13b")
        if len(panels) > 1:
            ax.set_title(panel, fontsize=9)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


def _lines(plt, s: dict):
    import numpy as np
    cols = s["columns"]
    n = len(cols)
    ncols = 3
    fig, axes = plt.subplots(math.ceil(n / ncols), ncols, figsize=(11, 3 * math.ceil(n / ncols)), squeeze=False)
    styles = iter(["--", ":", "-."])
    dashes = {}
    for ax, c in zip(axes.flat, cols, strict=False):
        for method, line in s["groups"][c].items():
            bits, mean, std = (np.array(line[k], dtype=float) for k in ("bits", "mean", "std"))
            if method.startswith("dense"):  # the paper's reference lines: the dense models
                style = dashes.setdefault(method, next(styles, "--"))
                ax.axhline(mean[0], color="grey", linestyle=style, linewidth=1, label=method)
                continue
            order = np.argsort(bits)
            bits, mean, std = bits[order], mean[order], std[order]
            ax.plot(bits, mean, marker="o", label=method)
            ax.fill_between(bits, mean - std, mean + std, alpha=0.2)
            _errorbars(ax, bits, mean, [line["ci"][j] for j in order] if line.get("ci") else None)
        ax.set_xticks([3, 4, 8])
        ax.set_title(c, fontsize=9)
        ax.set_xlabel("bits")
        ax.set_ylabel("score")
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8, bbox_to_anchor=(0.5, -0.02))
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def _radar(plt, s: dict):
    import numpy as np
    cols = s["columns"]
    angles = np.linspace(0, 2 * np.pi, len(cols), endpoint=False)
    fig = plt.figure(figsize=(9, 9))
    ax = fig.add_subplot(projection="polar")
    for label, vals in s["groups"][""].items():
        closed = np.append(vals, vals[0])
        ax.plot(np.append(angles, angles[0]), closed, marker="o", label=label)
        ax.fill(np.append(angles, angles[0]), closed, alpha=0.1)
        _errorbars(ax, angles, vals, s.get("ci", {}).get(label))
    ax.set_xticks(angles, cols, fontsize=9)
    ax.set_ylim(0, 100)
    ax.legend(loc="upper right", bbox_to_anchor=(1.25, 1.1), fontsize=9)
    return fig
