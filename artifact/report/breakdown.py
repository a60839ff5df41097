"""The paper's per-scenario figures (4, 6 and 12-25): one perspective's breakdown of LLAMA2-13b-Chat under GPTQ and
AWQ, drawn the way the paper draws them, from local runs beside the paper's values (read off its figures).

    bars   (Figures 12-25) one panel per column; x = the rows' second label (bits: 3, 4, 8, 16), a bar per method
           at 3/4/8 bits and the dense model's at 16; the dense 13b model also as a black line across, the dense 7b
           model as a red one (as the paper draws them). Ours: the bar (mean over the row's calibration seeds),
           each seed's value as a dot, the cell's 95% interval as an error bar; the paper's value as a black tick.
    lines  (Figures 4 and 6) one panel per column prefix ("Error Rate / Zero-shot": panel Error Rate, line
           Zero-shot); x = bits, GPTQ at 3/4/8 and the dense model at 16. Ours: solid lines with error bars; the
           paper's: dashed, hollow markers.

A replay (SOURCE=published) has no per-scenario scores: the figure shows the paper's values alone, marked NOT RUN,
with the command that fills it. `series(report)` returns what is plotted (the tests compare it with the cells).
"""
from __future__ import annotations

import math

from .figures import _ci, _errorbars, _num

SMALL = "dense 7b"  # drawn as a red line across every panel, as the paper draws the 7b model


def series(report) -> dict:
    """{"kind": "breakdown", "style", "columns", "ncols", "ylabel", "run": any local value?,
    "x": the x categories (the rows' second label: bits), "points": {column: [{"method", "x", "ours", "ci", "seeds",
    "paper"}, ...]}}. A row whose method starts with "dense" is the reference model: a bar and a black line."""
    r = report.result
    ref = {(c.row, c.column): _num(c.reference) for c in report.cells}
    fig = r.recipe.figure
    points = {}
    for c in r.recipe.columns:
        pts = []
        for key, labels in r.rows:
            cell = r.cells[(key, c)]
            pts.append({"method": labels[0], "x": labels[1], "ours": _num(cell.value),
                        "ci": _ci(cell),
                        "seeds": [_num(i["value"]) for i in cell.inputs if i["role"] != "baseline"]
                        if cell.value is not None else [],
                        "paper": ref.get((key, c), math.nan)})
        points[c] = pts
    run = any(not math.isnan(p["ours"]) for pts in points.values() for p in pts)
    xs = list(dict.fromkeys(labels[1] for _, labels in r.rows if labels[0] != SMALL))  # bits, in row order
    return {"kind": "breakdown", "style": fig.get("style", "bars"), "columns": list(r.recipe.columns), "x": xs,
            "xlabel": r.recipe.labels[1].lower(),
            "ncols": int(fig.get("ncols", 3)), "ylabel": fig.get("ylabel", "%"), "title": r.recipe.title,
            "source": r.source, "perspective": r.recipe.perspective, "run": run, "points": points}


def draw(plt, s: dict):
    fig = (_lines if s["style"] == "lines" else _bars)(plt, s)
    if not s["run"]:
        fig.text(0.5, 0.5, "NOT RUN", fontsize=40, color="grey", alpha=0.25, ha="center", va="center",
                 rotation=20, transform=fig.transFigure)
    return fig


def caption(s: dict) -> str:
    pts = [p for ps in s["points"].values() for p in ps]
    paper = any(not math.isnan(p["paper"]) for p in pts)
    if s["run"] and s["style"] == "lines":
        return (f"SOURCE={s['source']}: solid lines ours with 95% intervals" +
                (", dashed lines with hollow markers the paper's values (read off its figure)" if paper else ""))
    if s["run"]:
        return (f"SOURCE={s['source']}: bars ours (error bars: 95% intervals" +
                ("; dots: each calibration seed" if any(len(p["seeds"]) > 1 for p in pts) else "") + ")" +
                ("; black ticks the paper's values (read off its figure; hatched: not run here)" if paper else ""))
    why = "the paper publishes no per-scenario scores" if s["source"] == "published" else \
        "no local run of these models has per-scenario values yet"
    return (f"NOT RUN (SOURCE={s['source']}: {why}): the paper's values alone, read off its figure; make eval "
            f"PERSPECTIVE={s['perspective']} on these models, then SOURCE=local")


def _grid(plt, n: int, ncols: int):
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(11, 2.9 * nrows), squeeze=False)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat)


def _bars(plt, s: dict):
    import numpy as np
    cols = s["columns"]
    fig, axes = _grid(plt, len(cols), s["ncols"])
    methods = list(dict.fromkeys(p["method"] for p in s["points"][cols[0]] if not p["method"].startswith("dense")))
    denses = list(dict.fromkeys(p["method"] for p in s["points"][cols[0]] if p["method"].startswith("dense")
                                and p["method"] != SMALL))
    colors = dict(zip([*methods, *denses], plt.rcParams["axes.prop_cycle"].by_key()["color"], strict=False))
    at = {x: [m for m in methods if any(p["method"] == m and p["x"] == x for p in s["points"][cols[0]])]
          for x in s["x"]}  # the methods with a bar at each x, side by side and centred
    for ax, c in zip(axes, cols, strict=False):
        for p in s["points"][c]:
            if p["method"] == SMALL:  # the dense 7b model: a red line across, as the paper draws it
                if not math.isnan(p["ours"]):
                    ax.axhline(p["ours"], color="red", linewidth=1, label=f"{SMALL} (ours)")
                if not math.isnan(p["paper"]):
                    ax.axhline(p["paper"], color="red", linewidth=1, linestyle=":", label=f"{SMALL} (paper)")
                continue
            dense = p["method"] in denses
            i = s["x"].index(p["x"])
            width = 0.8 / max(1, len(at[p["x"]]))
            x = i if dense else i - 0.4 + width * (at[p["x"]].index(p["method"]) + 0.5)
            w = width if not dense else 0.8 / max(1, max(len(v) for v in at.values()))
            if not math.isnan(p["ours"]):
                ax.bar(x, p["ours"], w, color=colors[p["method"]], label=p["method"])
                if len(p["seeds"]) > 1:
                    ax.scatter([x] * len(p["seeds"]), p["seeds"], s=6, color="black", zorder=4)
                _errorbars(ax, [x], [p["ours"]], [p["ci"]], zorder=5)
                if dense:
                    ax.axhline(p["ours"], color="black", linewidth=0.8)
            elif not math.isnan(p["paper"]):  # not run: the paper's bar as an outline
                ax.bar(x, p["paper"], w, fill=False, edgecolor=colors[p["method"]], hatch="//",
                       label=f"{p['method']} (paper)")
            if not math.isnan(p["paper"]) and not math.isnan(p["ours"]):
                ax.scatter([x], [p["paper"]], marker="_", s=90, color="black", zorder=6, label="paper")
        ax.set_xticks(np.arange(len(s["x"])), s["x"])
        ax.set_xlabel(s["xlabel"], fontsize=8)
        ax.set_title(c, fontsize=9)
        low, high = ax.get_ylim()
        ax.set_ylim(min(0.0, low), max(high, 5.0))  # rates: from 0, never a range of nothing around 0
    axes[0].set_ylabel(s["ylabel"], fontsize=8)
    _legend(fig, axes)
    fig.tight_layout()
    return fig


def _lines(plt, s: dict):
    panels: dict[str, list[str]] = {}
    for c in s["columns"]:
        panel, _, line = c.partition(" / ")
        panels.setdefault(panel, []).append(c)
    fig, axes = _grid(plt, len(panels), s["ncols"] if len(panels) <= s["ncols"] else 3)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    names = list(dict.fromkeys(c.partition(" / ")[2] for c in s["columns"]))
    for ax, (panel, cols) in zip(axes, panels.items(), strict=False):
        for c in cols:
            name = c.partition(" / ")[2]
            color = colors[names.index(name) % len(colors)]
            pts = sorted((p for p in s["points"][c] if p["x"] in s["x"]), key=lambda p: s["x"].index(p["x"]))
            x = [s["x"].index(p["x"]) for p in pts]
            ours, paper = [p["ours"] for p in pts], [p["paper"] for p in pts]
            if any(not math.isnan(v) for v in ours):
                ax.plot(x, ours, marker="o", color=color, label=name)
                _errorbars(ax, x, ours, [p["ci"] for p in pts], color=color)
            ax.plot(x, paper, marker="o", markerfacecolor="none", linestyle="--", color=color, alpha=0.8,
                    label=f"{name} (paper)")
        ax.set_xticks(range(len(s["x"])), s["x"])
        ax.set_xlabel(s["xlabel"], fontsize=8)
        ax.set_title(panel, fontsize=9)
    axes[0].set_ylabel(s["ylabel"], fontsize=8)
    _legend(fig, axes)
    fig.tight_layout()
    return fig


def _legend(fig, axes) -> None:
    seen = {}
    for ax in axes:
        for h, label in zip(*ax.get_legend_handles_labels(), strict=True):
            seen.setdefault(label, h)
    if seen:  # nothing at all to draw (no local value and no paper value) leaves no legend
        fig.legend(seen.values(), seen.keys(), loc="upper center", ncol=min(6, len(seen)), fontsize=8,
                   bbox_to_anchor=(0.5, 0.0))
