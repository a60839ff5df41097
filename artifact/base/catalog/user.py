"""Your own models: any Hub model, any local folder, and the models you build from them, made into catalog entries.

  MODEL=hf:<org>/<name>[@<revision>]   a Hub model; `make pull` takes it at a pinned commit, like a catalog model
  MODEL=<path to a folder>             a local model folder (./x, ../x, /x, ~/x); copied into the store, hashed
  <ARTIFACT_RECIPES>/models/<name>.toml   one file per model: written by `make pull` / the first use of a folder /
                                       `make rebuild BASE=... METHOD=...`, or by hand. Schema: `FIELDS`, `COMPRESSION`.

A model's facts come from its own files once they are in the store (`facts.py`: config.json, its
quantization_config, the sparsity measured from the weights, its chat template); before that an entry knows only
its name and where it comes from. The paper's catalog (table.py) is never changed by any of this.
"""
from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from ..errors import BadInputError, FileFormatError
from .spec import FOLDER

MODELS_DIR = "models"
HUB_PREFIX = "hf:"
FOLDER_PREFIX = FOLDER
NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,95}$")
REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$")
REVISION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")

# key: (type, required, what it means); `source` is required unless the file has a [compression] table
FIELDS = {"name": (str, True, "the model's name in the store and in every table"),
          "source": (str, False, "hf:<org>/<name>[@<revision>] or folder:<absolute path>"),
          "template": (str, False, "conversation template: llama-2, vicuna_v1.1, redpajama-incite-instruct or "
                                   "tokenizer (the tokenizer's own chat_template)"),
          "licence": (str, False, "the weights' licence, for the model card"),
          "description": (str, False, "one line about the model"),
          "compression": (dict, False, "how it was made from another model: the table below")}
COMPRESSION = {"base": (str, True, "the model it starts from: a catalog id, your model's name or a reference"),
               "method": (str, True, "gptq, awq, magnitude, sparsegpt or wanda"),
               "bits": (int, False, "quantization bits"), "group_size": (int, False, "quantization group size"),
               "desc_act": (bool, False, "GPTQ: columns in order of decreasing activation"),
               "pattern": (str, False, "N:M sparsity, e.g. 2:4"), "sparsity": (float, False, "unstructured share"),
               "calibration": (str, False, "calibration set"), "samples": (int, False, "calibration sequences"),
               "seed": (int, False, "calibration draw seed"), "seqlen": (int, False, "tokens per sequence")}


@dataclass(frozen=True)
class Reference:
    """Where a model outside the catalog comes from."""

    kind: str  # "hub" | "folder"
    name: str  # its store name
    repo: str | None = None
    revision: str | None = None  # None: main
    path: Path | None = None

    @property
    def source(self) -> str:
        if self.kind == "hub":
            return HUB_PREFIX + self.repo + (f"@{self.revision}" if self.revision else "")
        return FOLDER_PREFIX + str(self.path)


def slug(text: str) -> str:
    """A store name from free text: lower case, runs of other characters as one hyphen."""
    out = re.sub(r"[^a-z0-9._]+", "-", text.lower()).strip("-._")
    return out[:96] or "model"


def looks_like_path(text: str) -> bool:
    return text.startswith(("/", "./", "../", "~")) or text in (".", "..")


def parse(text: str) -> Reference | None:
    """A model reference (`hf:...` or a path), or None when `text` is neither (a catalog or user model name)."""
    text = text.strip()
    if text.lower().startswith(HUB_PREFIX) or text.lower().startswith("hf://"):
        body = re.sub(r"^hf:(//)?", "", text, flags=re.I)
        repo, _, revision = body.partition("@")
        if not REPO.match(repo) or ".." in repo:
            raise BadInputError(f"{text!r} is not a Hub model reference; write hf:<org>/<name>[@<revision>], e.g. "
                                "hf:HuggingFaceTB/SmolLM2-135M-Instruct@main")
        if revision and (not REVISION.match(revision) or ".." in revision):
            raise BadInputError(f"{revision!r} is not a revision; give a branch, tag or commit after @, e.g. @main")
        org, _, rest = repo.partition("/")
        name = f"{slug(org)}--{slug(rest)}" + (f"--{slug(revision)}" if revision and revision != "main" else "")
        return Reference("hub", name, repo=repo, revision=revision or None)
    recorded = text.lower().startswith(FOLDER_PREFIX)  # an id already recorded: the folder may be gone since
    if recorded:
        text = text[len(FOLDER_PREFIX):]
    elif not looks_like_path(text):
        return None
    path = Path(os.path.expanduser(text)).resolve()
    if not recorded and not path.is_dir():
        raise BadInputError(f"{text} is not a folder here; give the path of a model folder (one that holds "
                            "config.json), or hf:<org>/<name> for a Hub model")
    return Reference("folder", "local--" + slug(path.name), path=path)


@dataclass(frozen=True)
class ModelFile:
    """One `<ARTIFACT_RECIPES>/models/<name>.toml`, checked."""

    path: Path
    name: str
    source: Reference | None
    template: str | None = None
    licence: str | None = None
    description: str | None = None
    compression: dict | None = None


def folder(recipes: Path) -> Path:
    return recipes / MODELS_DIR


def _line_of(text: str, key: str) -> int | None:
    for i, line in enumerate(text.splitlines(), 1):
        if re.match(rf"^\s*\[?\s*{re.escape(key)}\s*[=\]]", line):
            return i
    return None


def _check_table(path: Path, text: str, data: dict, schema: dict, where: str) -> None:
    for key, value in data.items():
        if key not in schema:
            raise FileFormatError(path, _line_of(text, key), f"unknown key {key!r}{where}",
                                  f"use one of {', '.join(schema)}")
        kind = schema[key][0]
        ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
        if kind is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok:
            raise FileFormatError(path, _line_of(text, key), f"{key} must be a {kind.__name__}{where}, not "
                                  f"{type(value).__name__} {value!r}", f"e.g. {key} = " + {
                                      str: '"..."', int: "4", bool: "true", float: "0.5", dict: "[...]"}[kind])
    for key, (_, required, meaning) in schema.items():
        if required and key not in data:
            raise FileFormatError(path, None, f"{key} is missing{where}", f"add {key} = ... ({meaning})")


def read(path: Path) -> ModelFile:
    """A model file, schema-checked: an unknown key, a wrong type or a missing field is one sentence naming the
    file and the line."""
    text = path.read_text(encoding="utf-8")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        # tomllib says where as "(at line N, column M)", or "(at end of document)": the last line
        m = re.fullmatch(r"(.*?) \(at (?:line (\d+), column \d+|(end of document))\)", str(e), flags=re.S)
        what, line = (m.group(1), int(m.group(2)) if m.group(2) else len(text.splitlines())) if m else (e, None)
        raise FileFormatError(path, line, f"not valid TOML ({what})", "fix the syntax") from None
    _check_table(path, text, data, FIELDS, "")
    comp = data.get("compression")
    if comp is not None:
        _check_table(path, text, comp, COMPRESSION, " in [compression]")
    elif "source" not in data:
        raise FileFormatError(path, None, "the model says neither where it comes from (source) nor how it was made "
                              "([compression])", 'add source = "hf:<org>/<name>" or a [compression] table')
    name = data["name"]
    if not NAME.match(name) or name != path.stem:
        raise FileFormatError(path, _line_of(text, "name"), f"name {name!r} must be the file's own name "
                              f"({path.stem!r}): lower-case letters, digits, '.', '_' and '-'",
                              f'write name = "{path.stem}" or rename the file')
    source = None
    if "source" in data:
        try:
            source = parse(data["source"] if data["source"].startswith((HUB_PREFIX, FOLDER_PREFIX)) else
                           FOLDER_PREFIX + data["source"])
        except BadInputError as e:
            raise FileFormatError(path, _line_of(text, "source"), str(e)) from None
    return ModelFile(path, name, source, data.get("template"), data.get("licence"), data.get("description"), comp)


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(name: str, comment: str, **fields) -> str:
    """The text of a model file: top-level fields, then [compression] when given."""
    comp = fields.pop("compression", None)
    lines = [f"# {comment}", f"name = {_toml_value(name)}"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in fields.items() if v is not None]
    if comp:
        lines += ["", "[compression]"] + [f"{k} = {_toml_value(v)}" for k, v in comp.items() if v is not None]
    return "\n".join(lines) + "\n"


def all_files(recipes: Path) -> list[ModelFile]:
    where = folder(recipes)
    return [read(p) for p in sorted(where.glob("*.toml"))] if where.is_dir() else []


def find(recipes: Path, name: str) -> ModelFile | None:
    path = folder(recipes) / f"{name}.toml"
    return read(path) if NAME.match(name) and path.is_file() else None
