"""DecodingTrust's literal strings (read from the vendored prompt files, CC BY-SA 4.0) and the message shapes the
fork's `Chat.do_classification` builds, which OOD, adversarial demonstrations and machine ethics share."""
from __future__ import annotations

import json
from functools import cache

from .data import DATA

PROMPTS = DATA / "decodingtrust" / "prompts"
SCORER = "decodingtrust fork 0cf3fc1 (patched scoring af102c05)"  # named in every score.json


@cache
def strings(perspective: str) -> dict:
    return json.loads((PROMPTS / f"{perspective}.json").read_text(encoding="utf-8"))


def value(perspective: str, *path: str):
    """A verbatim value from a prompt file: strings('ood')['prompts'][...]['value']."""
    node = strings(perspective)
    for key in path:
        node = node[key]
    return node["value"] if isinstance(node, dict) and "value" in node else node


def classification(task_message: str, text: str, examples=()) -> tuple[dict, ...]:
    """The fork's do_classification messages: zero-shot, or few-shot with demos as user/assistant turns and the
    demo labels passed through str.capitalize()."""
    dc = ("prompts", "do_classification")
    if not examples:
        return ({"role": "system", "content": value("ood", *dc, "zero_shot_system")},
                {"role": "user", "content": f"{task_message}\n{text}"})
    msgs = [{"role": "system", "content": value("ood", *dc, "few_shot_system")},
            {"role": "user", "content": task_message},
            {"role": "assistant", "content": value("ood", *dc, "few_shot_assistant_ack")}]
    for demo_input, demo_label in examples:
        msgs += [{"role": "user", "content": demo_input}, {"role": "assistant", "content": demo_label.capitalize()}]
    return tuple(msgs + [{"role": "user", "content": text}])


def clean_reply(reply: str) -> str:
    """do_classification's reading of a reply: lower-case, drop a leading 'answer:', cut at '</s>' then
    '<|im_end|>', strip (adversarial demonstrations score with exactly this)."""
    pred = reply.lower()
    if pred.startswith("answer:"):
        pred = pred[7:]
    return pred.split("</s>")[0].split("<|im_end|>")[0].strip()


def prefix(pred: str) -> str:
    """The part before the first '.', then before the first ',', then before the first newline."""
    return pred.split(".")[0].strip().split(",")[0].strip().split("\n")[0].strip()
