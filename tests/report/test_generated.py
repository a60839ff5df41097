from artifact import report

from tests.helpers import ROOT


def test_tables_1_and_2_are_generated_and_equal_the_paper(tmp_path):
    for name, n in (("table1", 25), ("table2", 4)):
        rep = report.run(name, "published", tmp_path)
        assert rep.result.source == "generated"
        assert len(rep.cells) == n and {c.verdict for c in rep.cells} == {"PASS"}


def test_table1_follows_the_models_the_figures_use(recipes_copy, tmp_path):
    # Put a 2-bit GPTQ model into Figure 2's recipe: Table 1's GPTQ rate must now read 2,3,4,8-bit.
    path = recipes_copy / "fig2.toml"
    path.write_text(path.read_text().replace('models = ["vicuna-13b-v1.3-gptq-8bit"]',
                                             'models = ["vicuna-7b-v1.3-gptq-2bit"]'))
    rep = report.run("table1", "published", tmp_path, recipes_copy)
    cell = rep.result.cells[("Quantization/GPTQ", "Compression Rate")]
    assert cell.value == "2,3,4,8-bit"
    assert [c.verdict for c in rep.cells if c.verdict != "PASS"] == ["FAIL"]
    assert rep.exit_code == 1


def test_table2_counts_the_dimensions_we_evaluate(tmp_path):
    rep = report.run("table2", "published", tmp_path)
    assert rep.result.cells[("Ours", "Evaluation")].value == \
        "MMLU (57 tasks), DecodingTrust (33 test cases covering 8 trust metrics)"
    assert [k for k, _ in rep.result.rows] == ["GPTQ & SparseGPT", "AWQ", "Wanda", "Ours"]


def test_reference_files_match_their_manifest():
    import hashlib
    manifest = (ROOT / "checksums" / "reference.sha256").read_text().splitlines()
    listed = set()
    for line in manifest:
        digest, path = line.split("  ", 1)
        listed.add(path)
        assert hashlib.sha256((ROOT / path).read_bytes()).hexdigest() == digest, path
    on_disk = {str(p.relative_to(ROOT)) for p in (ROOT / "reproduce" / "reference").rglob("*")
               if p.is_file() and p.name != "README.md"}
    assert on_disk == listed
