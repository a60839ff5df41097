import pytest

from artifact.errors import FileFormatError, UnknownTableError
from artifact.report import recipes


PAPER_ORDER = ["table1", "table2", "table3", "table4", "fig2", "fig3", "fig4", "fig6", "fig7", "fig8", "fig10", "fig11",
               *(f"fig{n}" for n in range(12, 26))]


def test_every_recipe_loads_in_paper_order():
    assert recipes.available() == PAPER_ORDER
    for name in PAPER_ORDER:
        r = recipes.load(name)
        assert r.title and r.paper
        if r.reference:
            assert r.reference.is_file()


def test_table3_recipe_says_which_models_make_each_row():
    r = recipes.load("table3")
    assert r.row("13b/4/GPTQ").models == tuple(f"llama-2-13b-chat-gptq-4bit-s{i}" for i in range(3))
    assert r.row("70b/16/none").models == ("llama-2-70b-chat",)
    assert len(r.rows) * len(r.columns) == 54


def test_unknown_table_suggests_close_names():
    with pytest.raises(UnknownTableError, match="did you mean 'table3'"):
        recipes.load("table33")


def _break(copy, name, old, new):
    path = copy / f"{name}.toml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    return path


def _line_of(path, needle):
    return next(i for i, l in enumerate(path.read_text().splitlines(), 1) if needle in l)


def test_unknown_model_in_a_recipe_names_file_and_line(recipes_copy):
    path = _break(recipes_copy, "table3", '"llama-2-70b-chat-gptq-4bit-s0"', '"llama-2-70b-chat-gptq-4bit-s7"')
    with pytest.raises(FileFormatError) as e:
        recipes.load("table3", recipes_copy)
    assert e.value.line == _line_of(path, "4bit-s7") and str(path) in str(e.value)
    assert "not a catalog model" in str(e.value)


def test_invalid_toml_names_the_line(recipes_copy):
    path = _break(recipes_copy, "fig2", 'kind = "relative"', 'kind = relative')
    with pytest.raises(FileFormatError) as e:
        recipes.load("fig2", recipes_copy)
    assert e.value.line == _line_of(path, "kind = relative")


def test_unknown_column_and_claim_row_are_refused(recipes_copy):
    _break(recipes_copy, "table3", '"Privacy", "Stereotype"]', '"Privacy", "Stereotyp"]')
    with pytest.raises(FileFormatError, match="column 'Stereotyp'"):
        recipes.load("table3", recipes_copy)
    _break(recipes_copy, "fig3", 'pairs = [["GPTQ/3", "dense 13b/16"]]', 'pairs = [["GPTQ/5", "dense 13b/16"]]')
    with pytest.raises(FileFormatError, match="names row 'GPTQ/5'"):
        recipes.load("fig3", recipes_copy)


def test_relative_rows_need_a_baseline(recipes_copy):
    _break(recipes_copy, "fig7", 'baseline = ["llama-2-13b-chat"]\n', "")
    with pytest.raises(FileFormatError, match="needs a `baseline`"):
        recipes.load("fig7", recipes_copy)


def test_known_mismatch_coverage():
    r = recipes.load("fig2")
    assert r.known_for("LLAMA2/pruning/mag", "OOD") is not None
    assert r.known_for("LLAMA2/pruning/mag", "Ethics") is None
