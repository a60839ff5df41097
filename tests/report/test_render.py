import csv
import json

from artifact import report

from tests.helpers import ROOT


def test_table3_files_carry_provenance(tmp_path):
    rep = report.run("table3", "published", tmp_path)
    paths = report.write(rep, tmp_path)
    assert sorted(p.name for p in paths) == ["table3.csv", "table3.json", "table3.md"]
    assert not list((tmp_path / "tables").glob("*.tmp"))
    data = json.loads((tmp_path / "tables" / "table3.json").read_text())
    prov = data["provenance"]
    assert prov["code_commit"] and prov["time"].endswith("+00:00")
    assert prov["versions"]["python"] and "tabulate" in prov["versions"]
    for key in ("recipe", "reference", "tolerances"):
        assert len(prov[key]["sha256"]) == 64 and (ROOT / prov[key]["file"]).is_file()
    assert data["counts"]["cells"]["PASS"] == 54 and data["exit_code"] == 0
    for cell in data["cells"]:
        for i in cell["inputs"]:
            assert i["id"] and i["origin"]["file"].startswith("reproduce/reference/website/")
            assert i["origin"]["line"] >= 2 and len(i["origin"]["sha256"]) == 64


def test_csv_and_markdown_hold_the_table(tmp_path):
    rep = report.run("table3", "published", tmp_path)
    report.write(rep, tmp_path)
    rows = list(csv.reader(open(tmp_path / "tables" / "table3.csv", newline="")))
    assert rows[0][:4] == ["Size", "Bits", "Method", "MMLU"] and len(rows) == 7
    assert float(rows[2][3]) == 53.6
    md = (tmp_path / "tables" / "table3.md").read_text()
    assert "SOURCE=published" in md and "## Per-cell diff" in md and "## Provenance" in md
    assert "| 13b    | 4      | GPTQ     | 52.1" in md


def test_spread_csv_has_std_and_count(tmp_path):
    rep = report.run("fig3", "published", tmp_path)
    report.write(rep, tmp_path)
    rows = list(csv.DictReader(open(tmp_path / "tables" / "fig3.csv", newline="")))
    gptq3 = next(r for r in rows if (r["Method"], r["Bits"]) == ("GPTQ", "3"))
    assert gptq3["Ethics n"] == "3" and abs(float(gptq3["Ethics std"]) - 9.81) < 0.01
    awq4 = next(r for r in rows if (r["Method"], r["Bits"]) == ("AWQ", "4"))
    assert awq4["Ethics"] == "69.17" and awq4["Ethics std"] == ""  # the unseeded fallback run
    cell = rep.result.cells[("AWQ/4", "Ethics")]
    assert "used llama-2-13b-chat-awq-4bit" in cell.note and cell.inputs[0]["role"] == "fallback"


def test_diff_notes_are_numbered_once(tmp_path):
    rep = report.run("fig7", "published", tmp_path)
    text = report.render.diff_table(rep.cells, 1)
    assert text.count("do not reconcile") == 1 and text.count("[1]") == 61
