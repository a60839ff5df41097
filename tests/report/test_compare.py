"""make compare's arithmetic: which paper models a model is compared against, when two local scores are paired, and
when a change lies beyond the paper's (the end-to-end run is in tests/test_yours.py)."""
import pytest

from artifact.base import catalog
from artifact.base.dimensions import BY_KEY
from artifact.base.errors import BadInputError
from artifact.report import compare
from artifact.report.sources import Value, published


def value(v, limit=None, items=10, reps=None):
    return Value(v, {"limit": limit}, (v - 1, v + 1), items, tuple(reps) if reps else None)


def test_the_paper_models_made_the_same_way_are_the_default():
    gptq4 = compare.similar(catalog.get("smollm2-135m-instruct-gptq-4bit-s0"))
    names = {s.name for s in gptq4}
    assert "llama-2-13b-chat-gptq-4bit-s0" in names and "vicuna-13b-v1.3-gptq-4bit" in names
    assert all(s.method == "gptq" and s.bits == 4 and s.base.size == "13b" for s in gptq4)
    pruned = compare.similar(catalog.get("smollm2-135m-instruct-wanda-2to4-s0"))
    assert pruned and all(s.method == "wanda" and s.pattern == "2:4" for s in pruned)
    dense = {s.name for s in compare.similar(catalog.get("smollm2-135m-instruct"))}
    assert dense == {"llama-2-13b-chat", "llama-2-13b", "vicuna-13b-v1.3"}


def test_two_scores_are_paired_only_when_resampled_alike():
    a, b = value(50, 5, 10, [50, 52, 48]), value(40, 5, 10, [41, 40, 39])
    assert compare.paired(a, b) == (9, 12, 9)
    assert compare.paired(a, value(40, 7, 10, [41, 40, 39])) is None  # another LIMIT: other items
    assert compare.paired(a, value(40, 5, 12, [41, 40, 39])) is None  # another item count
    assert compare.paired(a, None) is None


@pytest.mark.parametrize("ci, paper, beyond", [((-9, -5), [-1.5, -1.2], True), ((-2, 1), [-1.5, -1.2], False),
                                               ((3, 4), [-1, 2.5], True), ((-3, 4), [], False)])
def test_a_change_is_beyond_the_paper_when_its_interval_excludes_every_change_the_paper_saw(ci, paper, beyond):
    ch = compare.Change(BY_KEY["mmlu"], sum(ci) / 2, ci, [(f"m{i}", v) for i, v in enumerate(paper)])
    assert ch.beyond_paper is beyond


class Scores:
    def __init__(self, values):
        self.values = values

    def lookup(self, spec, dim):
        return self.values.get((spec.name, dim.key))


def test_changes_sit_beside_the_papers_and_a_model_without_scores_is_one_sentence():
    mine, base = catalog.get("smollm2-135m-instruct-gptq-4bit-s0"), catalog.get("smollm2-135m-instruct")
    local = Scores({(mine.name, "mmlu"): value(20, 5, 25, [20, 24, 16]), (base.name, "mmlu"): value(30, 5, 25,
                                                                                                   [30, 31, 29])})
    c = compare.compare(mine, base, compare.similar(mine), local, published())
    mmlu = next(ch for ch in c.changes if ch.dim.key == "mmlu")
    assert mmlu.value == -10 and mmlu.ci is not None and len(mmlu.paper) == 5
    assert all(-2 < v < 0 for _, v in mmlu.paper)  # the paper's GPTQ 4-bit MMLU changes: about -1.5 to -1.2
    assert mmlu.beyond_paper and [r.source for r in c.rows][:2] == ["local (partial)"] * 2  # LIMIT=5
    assert "## Change from smollm2-135m-instruct" in compare.markdown(c)
    with pytest.raises(BadInputError, match="has no local scores yet"):
        compare.compare(mine, base, [], Scores({}), published())


def test_the_report_takes_every_compare_page(tmp_path):
    assert compare.pages(tmp_path / "none") == []
    (tmp_path / "b.md").write_text("## b\n")
    (tmp_path / "a.md").write_text("## a\n")
    assert compare.pages(tmp_path) == ["## a\n", "## b\n"]
