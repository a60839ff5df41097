"""The figures: the arrays each one plots equal the recipe's cells (and the paper's reference values), every figure
renders headless into a valid PNG of the expected size and a valid SVG, and the self-contained HTML report loads
in headless Chromium with every image."""
from __future__ import annotations

import base64
import math
import shutil
import struct
import subprocess
import xml.etree.ElementTree as ET

import pytest

from artifact import report
from artifact.report import figures, html
from artifact.base.results import Layout
from artifact.base.settings import REPRODUCE


def _rep(name, tmp_path):
    return report.run(name, "published", tmp_path, REPRODUCE)


def _same(a, b) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, abs=1e-9)


@pytest.mark.parametrize("name", ["fig2", "fig7"])
def test_bar_figures_plot_the_cells_and_the_papers_values(name, tmp_path):
    rep = _rep(name, tmp_path)
    s = figures.series(rep)
    cols = [c for c in rep.result.recipe.columns if c not in figures.DERIVED]
    ref = {(c.row, c.column): c.reference for c in rep.cells}
    plotted = 0
    for key, labels in rep.result.rows:
        panel = labels[0] if name == "fig2" else "LLAMA2 13b Chat, 3-bit"
        bars = [v for lab, v in s["groups"].get(panel, {}).items()
                if lab == (" ".join(labels[1:]) if name == "fig2" else f"{labels[0]} seed {int(float(labels[1]))}")]
        if not bars:
            assert name == "fig2" and labels[1:] == ("dense", "13b")  # only the baseline row is not drawn
            continue
        (vals,) = bars
        for i, c in enumerate(cols):
            assert _same(vals["ours"][i], float(rep.result.cells[(key, c)].value))
            assert _same(vals["paper"][i], float(ref[(key, c)]) if (key, c) in ref else math.nan)
            plotted += 1
    assert plotted == (len(rep.result.rows) - 3) * 9 if name == "fig2" else plotted == 6 * 8


@pytest.mark.parametrize("name", ["fig3", "fig10", "fig11"])
def test_line_figures_plot_mean_and_seed_spread_per_bits(name, tmp_path):
    rep = _rep(name, tmp_path)
    s = figures.series(rep)
    for key, labels in rep.result.rows:
        for c in rep.result.recipe.columns:
            line = s["groups"][c][labels[0]]
            i = line["bits"].index(float(labels[1]))
            cell = rep.result.cells[(key, c)]
            assert _same(line["mean"][i], float(cell.value) if cell.value is not None else math.nan)
            assert _same(line["std"][i], float(cell.std) if cell.std is not None else 0.0)


def test_figure_8_plots_the_three_dense_models(tmp_path):
    rep = _rep("fig8", tmp_path)
    s = figures.series(rep)
    assert s["kind"] == "radar" and list(s["groups"][""]) == ["LLAMA2 13b", "LLAMA2 13b Chat", "Vicuna 13b"]
    for key, labels in rep.result.rows:
        row = [float(rep.result.cells[(key, c)].value) for c in rep.result.recipe.columns]
        assert s["groups"][""][labels[0]] == row
    assert s["groups"][""]["LLAMA2 13b Chat"][:3] == [53.6, 37.4, 58.8]  # the website's dense row


def _png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_every_figure_renders_headless_to_png_and_svg(tmp_path):
    assert figures.names()[:2] == ["fig2", "fig3"] and len(figures.names()) == len(figures.FIGURES) + 16
    for name in figures.names():
        rep = _rep(name, tmp_path)
        files = figures.draw(rep, tmp_path / "figures")
        assert [f.name for f in files] == [f"{name}.png", f"{name}.svg"] + (["fig9.png", "fig9.svg"]
                                                                           if name == "fig3" else [])
        for png, svg in zip(files[::2], files[1::2], strict=True):
            w, h = _png_size(png)
            assert 900 <= w <= 1400 and 300 <= h <= 1400, (png.name, w, h)  # 11 inches wide at 110 dpi, trimmed
            root = ET.parse(svg).getroot()
            assert root.tag.endswith("svg") and len(list(root.iter())) > 100
    assert figures.draw(_rep("table3", tmp_path), tmp_path / "figures") == []  # a table draws nothing


def test_the_html_report_loads_offline_with_every_image(tmp_path):
    results = tmp_path / "r"
    md = results / "tables" / "REPORT.md"
    (results / "tables").mkdir(parents=True)
    for name in figures.names():
        report.write(_rep(name, results), results)
    md.write_text("# Report\n\n" + "\n\n".join(f"![{n}](../figures/{n}.png)" for n in figures.names()) + "\n")
    out = html.write(md, Layout(results).figures)
    text = out.read_text()
    assert text.count("data:image/png;base64,") == len(figures.names()) and "../figures/" not in text
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Chromium is not installed (apt-get install chromium): the HTML was checked, not rendered")
    dom = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000",
                          "--dump-dom", out.as_uri()], capture_output=True, text=True, timeout=120).stdout
    n = len(figures.names())
    assert f'data-images="{n}"' in dom and dom.count('data-loaded="yes"') == n and 'data-loaded="no"' not in dom


def test_make_report_writes_the_tables_figures_and_html(tmp_path):
    import sys
    from tests.helpers import ROOT
    r = subprocess.run([sys.executable, "-m", "artifact", "report"], cwd=ROOT, capture_output=True, text=True,
                       env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "ARTIFACT_RESULTS": str(tmp_path / "r")},
                       timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "r" / "figures").glob("*.png")) == sorted(
        f"{n}.png" for n in (*figures.names(), "fig9"))
    page = (tmp_path / "r" / "tables" / "REPORT.html").read_text()
    assert page.count("data:image/png;base64,") == len(figures.names()) + 1  # and Figure 9
    assert "Figure 2" in page and "Figure 25" in page and "<table>" in page


def test_figure_9_is_pearsons_r_of_every_model_against_bits(tmp_path):
    import numpy as np
    rep = _rep("fig3", tmp_path)
    cells = rep.result.cells
    rows = dict(rep.result.rows)
    for with_dense in (False, True):
        corr = figures.correlations(rep, with_dense)
        for method in ("GPTQ", "AWQ"):
            for c in ("MMLU", "Fairness"):
                pts = [(float(rows[k][1]), i["value"]) for k in rows if rows[k][0] == method
                       for i in cells[(k, c)].inputs]
                if with_dense:
                    pts += [(16.0, i["value"]) for k in rows if rows[k][0] == "dense 13b" for i in cells[(k, c)].inputs]
                x, y = np.array(pts).T
                assert corr[method][c] == pytest.approx(np.corrcoef(x, y)[0, 1], abs=1e-12)
    # the two readings of the paper's recipe give a different picture: GPTQ's Fairness changes sign
    as_printed, as_meant = figures.correlations(rep, False), figures.correlations(rep, True)
    assert as_printed["GPTQ"]["Fairness"] > 0 > as_meant["GPTQ"]["Fairness"]


def test_local_figures_draw_each_cells_interval(tmp_path):
    """SOURCE=local: the arrays behind the error bars are the cells' 95% intervals (Figure 8 from hand-written score
    records of the three dense models; the replicates make each interval)."""
    import json

    from artifact.base import catalog
    from artifact.base.dimensions import BY_LABEL
    rep0 = _rep("fig8", tmp_path)
    for i, name in enumerate(["llama-2-13b", "llama-2-13b-chat", "vicuna-13b-v1.3"]):
        for j, label in enumerate(rep0.result.recipe.columns):
            key = BY_LABEL[label].key
            folder = tmp_path / "eval" / name / "0123456789abcdef" / key / "cafe"
            folder.mkdir(parents=True)
            reps = [40.0 + i + j + d for d in (0.0, -3.0, 2.0, 4.0, -1.0)]
            (folder / "score.json").write_text(json.dumps({
                "model": catalog.get(name).id, "dimension": key, "score": reps[0], "revision": "r",
                "config_hash": "cafe", "ci95": [min(reps), max(reps)], "items": 50, "interval": {"replicates": reps}}))
    rep = report.run("fig8", "local", tmp_path, REPRODUCE)
    s = figures.series(rep)
    for key, labels in rep.result.rows:
        cis = s["ci"][labels[0]]
        for c, ci in zip(rep.result.recipe.columns, cis, strict=True):
            cell = rep.result.cells[(key, c)]
            assert cell.ci95 is not None and ci == tuple(cell.ci95)
    assert [f.name for f in figures.draw(rep, tmp_path / "figures")] == ["fig8.png", "fig8.svg"]
    assert all(math.isnan(x) for v in figures.series(rep0)["ci"].values() for ci in v for x in ci)  # a replay: none


def test_figures_of_a_local_run_that_covers_few_models_still_draw(tmp_path):
    """`make report SOURCE=local` on an empty or partial results folder: every figure drawn (empty where nothing
    was run), Figure 9 without correlations rather than an error."""
    for name in figures.names():
        rep = report.run(name, "local", tmp_path, REPRODUCE)
        files = figures.draw(rep, tmp_path / "figures")
        assert files and all(f.stat().st_size > 0 for f in files), name
    rep = report.run("fig3", "local", tmp_path, REPRODUCE)
    assert all(math.isnan(r) for by in figures.correlations(rep, True).values() for r in by.values())
    from artifact.report import breakdown
    s = breakdown.series(report.run("fig12", "local", tmp_path, REPRODUCE))
    assert "no local run of these models has per-scenario values yet" in breakdown.caption(s)


def test_figure_9_of_a_local_run_has_intervals_from_the_models_resamples(tmp_path):
    """r recomputed on resample b of every model's score, for each b: the 2.5th-97.5th percentiles are r's interval."""
    import json

    import numpy as np

    from artifact.base import catalog
    from artifact.base.confidence import ci95
    rep0 = _rep("fig3", tmp_path)
    reps = {}
    for row in rep0.result.recipe.rows:
        for k, name in enumerate(row.models):
            bits = 16.0 if row.labels[0].startswith("dense") else float(row.labels[1])
            r = [50.0 + 2 * bits + k + d for d in (0.0, -4.0, 3.0, 6.0, -2.0)]
            reps[name] = (bits, r)
            folder = tmp_path / "eval" / name / "0123456789abcdef" / "mmlu" / "cafe"
            folder.mkdir(parents=True)
            (folder / "score.json").write_text(json.dumps({
                "model": catalog.get(name).id, "dimension": "mmlu", "score": r[0], "revision": "r",
                "config_hash": "cafe", "ci95": [min(r), max(r)], "items": 50, "interval": {"replicates": r}}))
    rep = report.run("fig3", "local", tmp_path, REPRODUCE)
    for with_dense in (False, True):
        got = figures.correlation_intervals(rep, with_dense)["GPTQ"]["MMLU"]
        pts = [v for n, v in reps.items() if "gptq" in n or (with_dense and n == "llama-2-13b-chat")]
        x = [b for b, _ in pts]
        want = ci95([np.corrcoef(x, [r[i] for _, r in pts])[0, 1] for i in range(5)])
        assert got == pytest.approx(want)
        assert figures.correlations(rep, with_dense)["GPTQ"]["MMLU"] == pytest.approx(
            np.corrcoef(x, [r[0] for _, r in pts])[0, 1])
    assert figures.correlation_intervals(rep, False)["GPTQ"]["Ethics"] is None  # not evaluated: no interval
    assert [f.name for f in figures.draw(rep, tmp_path / "figures")][-2:] == ["fig9.png", "fig9.svg"]


@pytest.mark.fault
def test_markup_in_a_report_is_shown_as_text_and_only_its_own_figures_are_inlined(tmp_path):
    """A recipe's title or notes holding HTML reach REPORT.md verbatim; in REPORT.html they are text, not markup, and
    no file outside the results' figures folder is ever read into the page."""
    secret = tmp_path / "secret.txt"
    secret.write_text("SENTINEL-local-file")
    results = tmp_path / "r"
    (results / "tables").mkdir(parents=True)
    (results / "figures").mkdir()
    figures_png = results / "figures" / "fig2.png"
    report.write(_rep("fig2", results), results)
    md = results / "tables" / "REPORT.md"
    md.write_text(f'# Title <script>alert("t")</script>\n\nnotes <img src="{secret}"><script>alert(1)</script> '
                  f'<img src="../../secret.txt">\n\n![fig2](../figures/fig2.png)\n\n`<code kept>`\n')
    page = html.render(md, Layout(results).figures)
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<title>Title &lt;script&gt;" in page
    assert "SENTINEL" not in page and base64.b64encode(b"SENTINEL-local-file").decode() not in page
    assert page.count("data:image/png;base64,") == 1 and figures_png.is_file()
    assert "&lt;code kept&gt;" in page
