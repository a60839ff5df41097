"""The model card pushed with a model: what it is, how it was made, its checksums, its trust card, the paper.

The trust card: every local score of the model (one per dimension: the full-data one where there is one, else the
one on most items) with its 95% interval, the data and limits it was computed on, the code commit and the digest of
its score.json; and the same scores as the Hub's `model-index` metadata (huggingface_hub's EvalResult), which the
Hub shows on the model's page. `read_trust` reads them back from a pulled card.
"""
from __future__ import annotations

from pathlib import Path

from ..base.catalog import ModelSpec
from ..base.dimensions import BY_KEY, DIMENSIONS
from ..base.provenance import sha256_file
from ..base.results import read_scores

CITATION = """@inproceedings{hong2024decoding,
  title     = {Decoding Compressed Trust: Scrutinizing the Trustworthiness of Efficient LLMs Under Compression},
  author    = {Hong, Junyuan and Duan, Jinhao and Zhang, Chenhui and Li, Zhangheng and Xie, Chulin and
               Lieberman, Kelsey and Diffenderfer, James and Bartoldson, Brian and Jaiswal, Ajay and Xu, Kaidi and
               Kailkhura, Bhavya and Hendrycks, Dan and Song, Dawn and Wang, Zhangyang and Li, Bo},
  booktitle = {Proceedings of the 41st International Conference on Machine Learning (ICML)},
  year      = {2024}
}"""


def _licence_tag(licence: str) -> str:
    return "llama2" if "Llama 2" in licence else "apache-2.0" if licence.startswith("Apache") else "other"


DATASETS = {"mmlu": ("cais/mmlu", "MMLU")}  # the rest: DecodingTrust, one dataset name per dimension
TASK = ("text-generation", "Trustworthiness under compression (Decoding Compressed Trust)")


def trust_records(results: Path, spec: ModelSpec) -> list:
    """One score per dimension: the full-data one where there is one, else the one resting on most items."""
    best: dict = {}
    for r in read_scores(results):
        if r.model not in spec.all_ids() or r.score is None:
            continue
        rank = (not r.partial, r.items or 0)
        if r.dimension not in best or rank > best[r.dimension][0]:
            best[r.dimension] = (rank, r)
    order = {d.key: i for i, d in enumerate(DIMENSIONS)}
    return [r for _, r in sorted(best.values(), key=lambda x: order.get(x[1].dimension, 99))]


def _limits(r) -> str:
    limit = (r.data.get("limit") or {}).get("per_task")
    data = (r.data.get("data") or {}).get("source") if isinstance(r.data.get("data"), dict) else r.data.get("data")
    parts = [f"data {data or '?'}", f"LIMIT {limit} per task" if limit else "all items"]
    return ", ".join(parts) + ("; partial: " + "; ".join(r.data.get("missing") or []) if r.partial else "")


def _scores(results: Path, spec: ModelSpec) -> list[str]:
    records = trust_records(results, spec)
    if not records:
        return ["No scores were computed for this model yet (`make eval MODEL=...`)."]
    rows = [f"| {BY_KEY[r.dimension].label if r.dimension in BY_KEY else r.dimension} | {r.score:.2f} | "
            + (f"[{r.ci95[0]:.2f}, {r.ci95[1]:.2f}]" if r.ci95 else "—") + f" | {r.items or '?'} | {_limits(r)} | "
            f"`{(r.data.get('provenance') or {}).get('code_commit') or '?'}` | `{sha256_file(r.path)[:16]}…` |"
            for r in records]
    return ["Scored by [comp-trust-artifact](https://github.com/decoding-comp-trust) exactly as the paper did (the "
            "DecodingTrust fork's prompts and scorers, the paper's generative MMLU); 95% intervals from a bootstrap "
            "over items. A partial score (LIMIT items, the vendored subset, capped replies) is not directly "
            "comparable with the paper's full-data numbers.", "",
            "| dimension | score | 95% interval | items | data and limits | code commit | score.json sha256 |",
            "| --- | --- | --- | --- | --- | --- | --- |", *rows]


def model_index(spec: ModelSpec, results: Path) -> list:
    """The trust scores as huggingface_hub EvalResults (the card's `model-index`)."""
    from huggingface_hub import EvalResult
    out = []
    for r in trust_records(results, spec):
        dim = BY_KEY.get(r.dimension)
        if dim is None:
            continue
        dtype, dname = DATASETS.get(dim.key, ("AI-Secure/DecodingTrust", f"DecodingTrust {dim.label}"))
        out.append(EvalResult(task_type=TASK[0], task_name=TASK[1], dataset_type=dtype, dataset_name=dname,
                              metric_type=dim.key, metric_name=dim.label, metric_value=round(r.score, 2),
                              metric_config="partial" if r.partial else "full", verified=False,
                              source_name="comp-trust-artifact", source_url="https://github.com/decoding-comp-trust"))
    return out


def read_trust(text: str) -> dict[str, dict]:
    """{dimension: {"value", "config"}} from a card's model-index (empty where it has none or cannot be read)."""
    from huggingface_hub import ModelCard
    try:
        results = ModelCard(text).data.eval_results or []
    except Exception:  # noqa: BLE001 - another tool's card: its metadata is not ours to judge
        return {}
    return {r.metric_type: {"value": r.metric_value, "config": r.metric_config} for r in results
            if r.metric_type in BY_KEY and isinstance(r.metric_value, (int, float))
            and r.source_name == "comp-trust-artifact"}


def model_card(spec: ModelSpec, recipe: dict, manifest: dict[str, str], results: Path) -> str:
    base = spec.base
    params = recipe.get("parameters") or {}
    cal = recipe.get("calibration") or {}
    versions = recipe.get("versions") or {}
    from huggingface_hub import ModelCardData
    evals = model_index(spec, results)
    data = ModelCardData(base_model=base.hub, license=_licence_tag(base.licence), library_name="transformers",
                         tags=["compressed", spec.method, "decoding-compressed-trust"], model_name=spec.name,
                         eval_results=evals or None)
    front = ["---", data.to_yaml(), "---", ""]
    made = [f"| method | {spec.method} |", *(f"| {k} | {v} |" for k, v in params.items())]
    if cal:
        made += [f"| calibration set | {cal.get('dataset')} (sha256 `{cal.get('sha256', '')[:16]}…`) |",
                 f"| calibration draw | {cal.get('samples')} × {cal.get('sampler')} sampler, seed {cal.get('seed')}, "
                 f"{cal.get('seqlen')} tokens, digest `{cal.get('digest', '')[:16]}…` |"]
    made += [f"| base model | {base.hub} ({recipe.get('base', {}).get('model', '')}) |",
             f"| made on | {recipe.get('device', '?')} in {recipe.get('wall_time_s', '?')} s, "
             f"{recipe.get('made', '')} |",
             f"| code commit | `{recipe.get('code_commit', 'unknown')}` |",
             "| libraries | " + ", ".join(f"{k} {v}" for k, v in versions.items()) + " |"]
    files = ["| file | sha256 |", "| --- | --- |", *(f"| {k} | `{v}` |" for k, v in sorted(manifest.items()))]
    body = [
        f"# {spec.name}", "",
        (f"`{base.hub}`, dense, scored" if spec.method == "none" else
         f"`{base.hub}` compressed with **{spec.method}** ({spec.rate}), rebuilt") + " the way *Decoding Compressed "
        "Trust* (Hong et al., ICML 2024) made and scored its released models, by "
        "[comp-trust-artifact](https://github.com/decoding-comp-trust). Id: "
        f"`{spec.id}`.", "",
        "## How it was made", "", "| | |", "| --- | --- |", *made, "",
        "`recipe.json` in this repository holds the full recipe; `SHA256SUMS` the checksums below.", "",
        "## Files", "", *files, "",
        "## Trust card", "", *_scores(results, spec), "",
        "## Licence", "", f"The weights derive from `{base.hub}`: {base.licence}. Its terms apply.", "",
        "## Citation", "", "```bibtex", CITATION, "```", ""]
    return "\n".join(front + body)
