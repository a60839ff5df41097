import pytest

from artifact.base.errors import FileFormatError, UnknownTableError
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
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


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


def _error(copy, name) -> FileFormatError:
    with pytest.raises(FileFormatError) as e:
        recipes.load(name, copy)
    return e.value


def test_a_misspelled_key_is_refused_at_its_line(recipes_copy):
    """A misspelled `threshold` must not silently become 0.0."""
    text = (recipes_copy / "fig3.toml").read_text()
    second = text.index("threshold = 20.0")
    path = recipes_copy / "fig3.toml"
    path.write_text(text[:second] + "treshold = 20.0" + text[second + len("threshold = 20.0"):])
    e = _error(recipes_copy, "fig3")
    assert "unknown key 'treshold' in the 2nd [[claims]]" in str(e) and "threshold" in str(e)
    assert e.line == _line_of(path, "treshold = 20.0")
    path = _break(recipes_copy, "table3", 'kind = "scores"', 'kind = "scores"\ncolumn = ["MMLU"]')
    e = _error(recipes_copy, "table3")
    assert "unknown key 'column'; a recipe's top level may hold" in str(e) and e.line == _line_of(path, "column = ")


def test_a_tolerance_class_must_be_in_the_tolerances_file(recipes_copy):
    path = _break(recipes_copy, "fig2", 'tolerance = "relative"', 'tolerance = "relativ"')
    e = _error(recipes_copy, "fig2")
    assert "tolerance 'relativ' is not a class of" in str(e) and "tolerances.toml" in str(e)
    assert "absolute, relative, two_decimals" in str(e) and e.line == _line_of(path, 'tolerance = "relativ"')


def test_errors_point_at_the_line_of_the_entry_they_are_about(recipes_copy):
    """Not at the first place the same text occurs: the 4th row's labels, the 3rd claim's columns."""
    path = _break(recipes_copy, "table3", 'labels = ["70b", "16", "none"]', 'labels = ["70b", "16"]')
    e = _error(recipes_copy, "table3")
    assert "has 2 labels, the table has 3" in str(e) and e.line == _line_of(path, 'labels = ["70b", "16"]')
    path = _break(recipes_copy, "fig3", 'columns = ["OOD"]', 'columns = ["OOD", "Stereotyp"]')  # the 3rd claim
    e = _error(recipes_copy, "fig3")
    assert "claim 3bit-gptq-ood-30 names column 'Stereotyp'" in str(e)
    assert e.line == _line_of(path, 'columns = ["OOD", "Stereotyp"]')


def test_a_value_of_the_wrong_type_is_one_sentence(recipes_copy):
    path = _break(recipes_copy, "fig3", "threshold = 20.0", 'threshold = "twenty"')
    e = _error(recipes_copy, "fig3")
    assert "'threshold' must be a number, not 'twenty'" in str(e) and e.line == _line_of(path, '"twenty"')
