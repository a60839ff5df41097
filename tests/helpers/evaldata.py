"""Shared helpers of the evaluation tests: the vendored data as a source, and golden renders."""
from __future__ import annotations

from artifact.base import prompts
from artifact.evaluate import Request
from artifact.evaluate.data import source
from artifact.evaluate.dt import strings
from artifact.base.settings import load


def subset(benchmark: str = "decodingtrust"):
    return source(benchmark, "subset", load({}))


def golden(perspective: str, name: str) -> str:
    return strings(perspective)["prompts"]["rendered_llama2_examples"][name]


def llama2(messages) -> str:
    return prompts.render("llama-2", list(messages))


def req(meta: dict, key: str = "k") -> Request:
    return Request(key, "", 16, meta=meta)
