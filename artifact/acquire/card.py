"""The model card pushed with a rebuilt model: what it is, how it was made, its checksums, any scores, the paper."""
from __future__ import annotations

from pathlib import Path

from ..base.catalog import ModelSpec
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


def _scores(results: Path, spec: ModelSpec) -> list[str]:
    rows = [f"| {r.dimension} | {r.data.get('score')} | {r.data.get('scorer', '')} |" for r in read_scores(results)
            if r.model in spec.all_ids()]
    if not rows:
        return ["No scores were computed for this model yet (`make eval MODEL=...`)."]
    return ["| dimension | score | scorer |", "| --- | --- | --- |", *rows]


def model_card(spec: ModelSpec, recipe: dict, manifest: dict[str, str], results: Path) -> str:
    base = spec.base
    params = recipe.get("parameters") or {}
    cal = recipe.get("calibration") or {}
    versions = recipe.get("versions") or {}
    front = ["---", f"base_model: {base.hub}", f"license: {_licence_tag(base.licence)}", "library_name: transformers",
             "tags:", "  - compressed", f"  - {spec.method}", "  - decoding-compressed-trust", "---", ""]
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
        f"`{base.hub}` compressed with **{spec.method}** ({spec.rate}), rebuilt the way *Decoding Compressed Trust* "
        "(Hong et al., ICML 2024) made its released models, by "
        "[comp-trust-artifact](https://github.com/decoding-comp-trust). Catalog id: "
        f"`{spec.id}`.", "",
        "## How it was made", "", "| | |", "| --- | --- |", *made, "",
        "`recipe.json` in this repository holds the full recipe; `SHA256SUMS` the checksums below.", "",
        "## Files", "", *files, "",
        "## Scores", "", *_scores(results, spec), "",
        "## Licence", "", f"The weights derive from `{base.hub}`: {base.licence}. Its terms apply.", "",
        "## Citation", "", "```bibtex", CITATION, "```", ""]
    return "\n".join(front + body)
