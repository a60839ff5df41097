"""The demo compared with its recorded run reply by reply (artifact/report/replies.py): identical replies must repeat
the recorded number exactly, differing replies keep the interval verdict up to the measured near-tie rate, and a
model whose bytes differ is judged against the calibration seeds' spread, named as such."""
import csv
import json
import shutil

import pytest
import torch
from safetensors.torch import save_file

from artifact import demo, report
from artifact.base import store
from artifact.base.dimensions import BY_LABEL
from artifact.report import recipes, replies
from artifact.report.diff import load_reference
from artifact.base.results import Results
from artifact.base.settings import REPRODUCE

MODELS = {"dense": "smollm2-135m-instruct", "magnitude 2:4": "smollm2-135m-instruct-magnitude-2to4",
          "gptq 4-bit": "smollm2-135m-instruct-gptq-4bit-s0"}


@pytest.fixture
def world(tmp_path):
    """A copy of the demo's recipe folder, a results tree with one score and 20 replies per cell (each cell at its
    recorded value), and a store with one small safetensors model per row."""
    root = tmp_path / "demo"
    shutil.copytree(demo.DEMO.root, root)
    for f in ("replies.jsonl", "models.json", "seeds.csv"):
        (root / "reference" / f).unlink(missing_ok=True)
    recipe = recipes.load("demo", root)
    ref = {k: v.value for k, v in load_reference(recipe).items()}
    results, shelf = tmp_path / "results", tmp_path / "store"
    for row in recipe.rows:
        folder = store.folder(shelf, row.models[0])
        folder.mkdir(parents=True)
        save_file({"a": torch.arange(6.0), "b": torch.ones(3)}, str(folder / "model.safetensors"))
        (folder / store.MANIFEST).write_text(store.manifest_text(store.manifest(folder)))
        for col in recipe.columns:
            v = ref[(row.key, col)]
            where = Results(results / "demo" / "eval" / row.models[0] / "d" / BY_LABEL[col].key / "c")
            where.folder.mkdir(parents=True)
            where.append([{"key": f"{col}-{i}", "prompt_sha256": "p", "replies": [f"reply {i} of {row.key}"]}
                          for i in range(20)])
            lo, hi = max(v - 2, 0), min(v + 2, 100)
            where.write_score({"model": row.models[0], "dimension": BY_LABEL[col].key, "score": v, "partial": True,
                               "revision": "r", "config_hash": "c", "ci95": [lo, hi], "items": 20,
                               "interval": {"replicates": [lo, v, hi]}})
    return root, results, shelf, recipe, ref


def _run(world, allowed=0.05):
    root, results, shelf, recipe, ref = world
    rep = report.run("demo", "demo", results, root, REPRODUCE / "tolerances.toml")
    agreement = replies.compare(root, rep.result, shelf, allowed)
    if agreement is not None:
        rep.replies = agreement
        replies.judge(rep.cells, agreement, replies.seed_spread(root, ref), 10.0)
    return rep, {(c.row, c.column): c for c in rep.cells}


def _set(world, row, col, value=None, change=0):
    """Give one cell another score, and change the first `change` of its replies."""
    _, results, _, _, _ = world
    where = Results(results / "demo" / "eval" / MODELS[row] / "d" / BY_LABEL[col].key / "c")
    if value is not None:
        s = where.read_score()
        lo, hi = max(value - 2, 0), min(value + 2, 100)
        where.write_score({**s, "score": value, "ci95": [lo, hi], "interval": {"replicates": [lo, value, hi]}})
    if change:
        rows = [{"key": f"{col}-{i}", "prompt_sha256": "p",
                 "replies": [f"reply {i} of {row}" + (" (flipped)" if i < change else "")]} for i in range(20)]
        where.samples.unlink()
        where.append(rows)


def _record(world):
    root, results, shelf, _, _ = world
    rep = report.run("demo", "demo", results, root, REPRODUCE / "tolerances.toml")
    return replies.record(root, rep.result, shelf)


def test_without_recorded_replies_nothing_changes(world):
    rep, cells = _run(world)
    assert rep.replies is None and all(c.verdict == "PASS" for c in cells.values())


def test_identical_replies_must_repeat_the_recorded_number_exactly(world):
    written = _record(world)
    assert [p.name for p in written] == ["replies.jsonl", "models.json"]
    lines = written[0].read_text().splitlines()
    first = json.loads(lines[0])
    assert len(lines) == 3 * 9 * 20 and first["sha256"] == replies.digest(first["replies"])
    rep, cells = _run(world)
    assert all(c.verdict == "PASS" and c.why == "" for c in cells.values())
    assert all(m.same for m in rep.replies.models.values())
    # the same replies, a score 1 point off: inside the interval, yet only a scoring change can do that
    ref = world[4][("dense", "Ethics")]
    _set(world, "dense", "Ethics", value=ref + 1.0)
    rep, cells = _run(world)
    assert cells[("dense", "Ethics")].verdict == "FAIL" and "scoring code" in cells[("dense", "Ethics")].why
    assert rep.exit_code == 1


def test_a_few_flipped_replies_keep_the_interval_verdict_and_more_warn(world):
    _record(world)
    _set(world, "dense", "OOD", change=2)  # 2 of 180 replies of the dense model: 1.1%
    rep, cells = _run(world, allowed=0.02)
    c = cells[("dense", "OOD")]
    assert c.verdict == "PASS" and c.why.startswith("2 of 20 replies differ from the recorded run")
    assert "more than near-tie flips" not in c.why
    text = rep.summary()
    assert "`smollm2-135m-instruct` (bytes identical to the recorded build): 178 of 180 replies identical" in text
    assert 'OOD `OOD-0`: recorded "reply 0 of dense" → now "reply 0 of dense (flipped)"' in text
    rep, cells = _run(world, allowed=0.005)  # more than the measured near-tie rate: at least a WARN
    c = cells[("dense", "OOD")]
    assert c.verdict == "WARN" and "1.1% of smollm2-135m-instruct's replies differ" in c.why
    assert rep.exit_code == 0


def test_a_model_whose_bytes_differ_is_judged_against_the_seed_spread(world):
    root, results, shelf, recipe, ref = world
    _record(world)
    folder = store.folder(shelf, MODELS["gptq 4-bit"])
    save_file({"a": torch.arange(6.0) + 1, "b": torch.ones(3)}, str(folder / "model.safetensors"))
    (folder / store.MANIFEST).write_text(store.manifest_text(store.manifest(folder)))
    with open(root / "reference" / "seeds.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["row", "model", *recipe.columns])
        for seed, shift in ((1, 20.0), (2, -10.0)):
            w.writerow(["gptq 4-bit", f"smollm2-135m-instruct-gptq-4bit-s{seed}",
                        *(f"{ref[('gptq 4-bit', c)] + shift:.2f}" for c in recipe.columns)])
    mmlu = ref[("gptq 4-bit", "MMLU")]
    _set(world, "gptq 4-bit", "MMLU", value=mmlu + 19.0, change=20)  # within the seeds' [-10, +20]
    _set(world, "gptq 4-bit", "Ethics", value=ref[("gptq 4-bit", "Ethics")] - 45.0)  # far below every seed
    rep, cells = _run(world)
    c = cells[("gptq 4-bit", "MMLU")]
    assert c.verdict == "PASS" and "bytes differ from the recorded build (1 of 2 tensors)" in c.why
    assert "spread of 3 calibration seeds' builds" in c.why
    assert cells[("gptq 4-bit", "Ethics")].verdict == "FAIL"
    assert "**bytes differ from the recorded build: 1 of 2 tensors**" in rep.summary()
    # magnitude has no seeds: its cells keep their interval verdict, and say why
    folder = store.folder(shelf, MODELS["magnitude 2:4"])
    save_file({"a": torch.arange(6.0), "b": torch.zeros(3)}, str(folder / "model.safetensors"))
    (folder / store.MANIFEST).write_text(store.manifest_text(store.manifest(folder)))
    _, cells = _run(world)
    assert cells[("magnitude 2:4", "OOD")].verdict == "PASS"
    assert "no other seeds are recorded for it" in cells[("magnitude 2:4", "OOD")].why


def test_tensor_digests_name_the_tensors_that_differ(tmp_path):
    save_file({"a": torch.arange(4.0), "b": torch.ones(2, dtype=torch.float16)}, str(tmp_path / "model.safetensors"))
    before = store.tensor_digests(tmp_path)
    assert set(before) == {"model.safetensors:a", "model.safetensors:b"} and all(len(v) == 16 for v in before.values())
    save_file({"a": torch.arange(4.0), "b": torch.ones(2, dtype=torch.float32)}, str(tmp_path / "model.safetensors"))
    assert store.tensors_differing(before, store.tensor_digests(tmp_path)) == ["model.safetensors:b"]  # dtype counts
    (tmp_path / "bad.safetensors").write_bytes(b"\x01")
    with pytest.raises(Exception, match="not a safetensors file"):
        store.tensor_digests(tmp_path)


def test_a_model_whose_weights_match_but_another_file_differs_is_still_judged_exactly(world):
    root, results, shelf, recipe, ref = world
    _record(world)
    folder = store.folder(shelf, MODELS["dense"])
    (folder / "tokenizer_config.json").write_text("{}")
    (folder / store.MANIFEST).write_text(store.manifest_text(store.manifest(folder)))
    rep, cells = _run(world)
    assert all(c.verdict == "PASS" and c.why == "" for c in cells.values())
    assert "weights identical to the recorded build, other files differ" in rep.summary()
