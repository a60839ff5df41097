import json
import subprocess

from tests.helpers import ROOT


def test_table3_prints_all_cells_pass(cli, tmp_path):
    r = cli("table", "table3")
    assert r.returncode == 0, r.stderr
    assert "54 cells: 54 PASS" in r.stdout and "SOURCE=published" in r.stdout
    assert (tmp_path / "results" / "tables" / "table3.json").is_file()


def test_tables_writes_a_report_and_exits_0(cli, tmp_path):
    r = cli("tables", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "| table3  | published |     54 |" in r.stdout
    assert (tmp_path / "results" / "tables" / "REPORT.md").read_text().count("\n---\n") == 26
    assert {p.stem for p in (tmp_path / "results" / "tables").glob("*.json")} == {
        "table1", "table2", "table3", "table4", "fig2", "fig3", "fig7", "fig8", "fig10", "fig11", "fig4", "fig6",
        *(f"fig{n}" for n in range(12, 26))}
    # a replay of a per-scenario figure: every cell NOT-RUN, never a failure
    assert "| fig12   | published |      0 |      0 |      0 |        24 |" in r.stdout


def test_exit_1_on_fail(cli, recipes_copy):
    ref = recipes_copy / "reference" / "table3.csv"
    ref.write_text(ref.read_text().replace("7b,4,GPTQ,45.6", "7b,4,GPTQ,46.6"))
    r = cli("table", "table3", recipes=recipes_copy)
    assert r.returncode == 1
    assert "FAIL ×1: 7b/4/GPTQ · MMLU paper 46.60 → 45.60" in r.stdout


def test_exit_2_with_one_sentence_on_bad_input(cli, recipes_copy):
    for args, needle in ((["table", "table9"], "unknown table 'table9'"),
                         (["models", "llama-2-13b-chat-gptq-5bit-s0"], "unknown model"),
                         (["diff", "fig99"], "unknown table 'fig99'")):
        r = cli(*args)
        assert r.returncode == 2 and needle in r.stderr and r.stderr.count("\n") == 1, (args, r.stderr)
    ref = recipes_copy / "reference" / "table3.csv"
    ref.write_text(ref.read_text().replace("66.4,76.2", "66.4,seventy"))
    r = cli("table", "table3", recipes=recipes_copy)
    assert r.returncode == 2 and "table3.csv:2: column 'Ethics' holds 'seventy'" in r.stderr
    assert r.stdout == ""


def test_models_json_and_filter(cli):
    r = cli("models", "--filter", "method=sparsegpt", "base=llama-2-13b-chat", "--json")
    names = {m["name"] for m in json.loads(r.stdout)}
    assert names == {"llama-2-13b-chat-sparsegpt-2to4", "llama-2-13b-chat-sparsegpt-2to4-s0",
                     "llama-2-13b-chat-sparsegpt-2to4-s1", "llama-2-13b-chat-sparsegpt-2to4-s2",
                     "llama-2-13b-chat-sparsegpt-1to2", "llama-2-13b-chat-sparsegpt-4to8"}


def test_dry_run_lists_the_models_of_each_cell_and_writes_nothing(cli, tmp_path):
    r = cli("table", "table4", "--dry-run")
    assert r.returncode == 0
    assert "llama-2-13b-chat-gptq-3bit-s1 (mtbench)" in r.stdout and "0 of 8 cells" in r.stdout
    assert not (tmp_path / "results").exists()


def test_diff_uses_the_last_build_source(cli, tmp_path):
    assert cli("table", "table3", "--source", "local").returncode == 0
    r = cli("diff", "table3")
    assert "SOURCE=local" in r.stdout and "54 NOT-RUN" in r.stdout


def test_help_has_examples(cli):
    r = cli("table", "--help")
    assert r.returncode == 0 and "examples:" in r.stdout and "fig2" in r.stdout


def test_make_targets():
    env_run = dict(cwd=ROOT, capture_output=True, text=True, timeout=300)
    help_ = subprocess.run(["make", "help"], **env_run)
    for target in ("setup", "test", "models", "table1", "table2", "table3", "table4", "fig2", "fig3", "diff",
                   "clean", "help", "replay"):
        assert f"\n  {target} " in help_.stdout, target
    r = subprocess.run(["make", "diff"], **env_run)
    assert r.returncode == 2 and "make diff TABLE=table3" in r.stderr


def test_make_table3_prints_all_cells_pass(tmp_path):
    import os
    import pytest
    if not (ROOT / ".venv" / ".setup-done").exists():
        pytest.skip("needs `make setup` first")
    env = {**os.environ, "ARTIFACT_RESULTS": str(tmp_path)}
    r = subprocess.run(["make", "-s", "table3", "MODE=local"], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert "54 cells: 54 PASS" in r.stdout and (tmp_path / "tables" / "table3.md").is_file()
