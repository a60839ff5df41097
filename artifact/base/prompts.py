"""Chat templates and prompt rendering, as the paper's DecodingTrust fork (commit 0cf3fc1) does it.

The fork vendors FastChat's conversation.py at commit d84d3f87 and renders OpenAI-style message lists with
`HFChat.messages_to_prompt`: a `system` message REPLACES the template's whole system field (for `llama-2` that
field also holds the `<s>[INST] <<SYS>>` opening, so a perspective's system prompt loses those tags), user and
assistant messages become alternating turns, and an empty reply slot is appended. Turn separators follow the
turn's position, not its role. This module reimplements those rules from their description
(../shared/data/decodingtrust/prompts/chat_templates.json); tests compare it byte for byte with renders of the
fork's own code.

Template strings: FastChat (Apache-2.0) and DecodingTrust (CC BY-SA 4.0); the Llama-2 default system prompt is
Meta's text as FastChat ships it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from .errors import ArtifactError

LLAMA2_DEFAULT_SYSTEM = (
    "You are a helpful, respectful and honest assistant. Always answer as helpfully as possible, while being safe. "
    "Your answers should not include any harmful, unethical, racist, sexist, toxic, dangerous, or illegal content. "
    "Please ensure that your responses are socially unbiased and positive in nature.\n\nIf a question does not "
    "make any sense, or is not factually coherent, explain why instead of answering something not correct. If you "
    "don't know the answer to a question, please don't share false information.")


@dataclass(frozen=True)
class Template:
    name: str
    system: str  # the whole system field, opening tags included where the template has them
    roles: tuple[str, str]
    sep_style: str  # LLAMA2 | ADD_COLON_TWO | INSTRUCT
    sep: str
    sep2: str = ""
    stop_str: str | None = None
    stop_token_ids: tuple[int, ...] = field(default=())


TEMPLATES = {t.name: t for t in (
    Template("llama-2", f"<s>[INST] <<SYS>>\n{LLAMA2_DEFAULT_SYSTEM}\n<</SYS>>\n\n", ("[INST]", "[/INST]"),
             "LLAMA2", " ", " </s><s>", stop_token_ids=(2,)),
    Template("vicuna_v1.1", "A chat between a curious user and an artificial intelligence assistant. The assistant "
             "gives helpful, detailed, and polite answers to the user's questions.", ("USER", "ASSISTANT"),
             "ADD_COLON_TWO", " ", "</s>"),
    Template("redpajama-incite-instruct", "", ("", "answer"), "INSTRUCT", "\n", stop_str="sentence"),
)}


def get(name: str) -> Template:
    try:
        return TEMPLATES[name]
    except KeyError:
        raise ArtifactError(f"unknown chat template {name!r}; use one of {', '.join(TEMPLATES)}") from None


def turns(template: Template, messages: list[dict]) -> tuple[str, list[tuple[str, str | None]]]:
    """The fork's message walk: (system field, [(role tag, text)]) with the empty reply slot appended."""
    system, out = template.system, []
    for m in messages:
        role = m.get("role")
        if role == "system":
            system = m["content"]  # replaces, including the template's opening tags
        elif role == "user":
            out.append((template.roles[0], m["content"]))
        elif role == "assistant":
            out.append((template.roles[1], m["content"]))
        else:
            raise ArtifactError(f"message role must be system, user or assistant, not {role!r}")
    return system, out + [(template.roles[1], None)]


def render_turns(template: Template, system: str, conv: list[tuple[str, str | None]]) -> str:
    style = template.sep_style
    if style == "LLAMA2":
        seps, text = (template.sep, template.sep2), ""
        for i, (role, msg) in enumerate(conv):
            if msg:
                text += system + msg if i == 0 else f"{role} {msg}{seps[i % 2]}"
            else:
                text += role
        return text
    if style == "ADD_COLON_TWO":
        seps, text = (template.sep, template.sep2), system + template.sep
        for i, (role, msg) in enumerate(conv):
            text += f"{role}: {msg}{seps[i % 2]}" if msg else f"{role}:"
        return text
    if style == "INSTRUCT":
        text = system
        for role, msg in conv:
            if msg:
                text += f"{role}: {msg}{template.sep}" if role == "answer" else f"{msg}{template.sep}"
            else:
                text += f"{role}:"
        return text
    raise ArtifactError(f"template {template.name} has an unknown separator style {style!r}")


def render(name: str, messages: list[dict] | str) -> str:
    """The prompt the fork sends to a model for `messages` (a plain string passes through unchanged)."""
    if isinstance(messages, str):
        return messages
    template = get(name)
    return render_turns(template, *turns(template, messages))


def render_exchange(name: str, user: str, assistant: str) -> str:
    """A finished one-turn conversation (no reply slot), as comp-trust's gptq.py renders calibration records."""
    template = get(name)
    system, conv = turns(template, [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}])
    return render_turns(template, system, conv[:-1])


def render_intended(name: str, messages: list[dict] | str) -> str:
    """The documented alternative (PROMPTS=intended): templates as their authors meant them, not as the fork
    flattened them. Llama-2 follows FastChat v0.2.31 / Meta's format (a system prompt is wrapped in
    `[INST] <<SYS>>…<</SYS>>`, no default system prompt, BOS left to the tokenizer); system messages that carry
    `name: example_user|example_assistant` (fairness demos) become the user and assistant turns they stand for.
    Other templates render as in the fork."""
    if isinstance(messages, str):
        return messages
    named = {"example_user": "user", "example_assistant": "assistant"}
    msgs = [{"role": named.get(m.get("name"), m["role"]), "content": m["content"]} for m in messages]
    template = get(name)
    if template.sep_style != "LLAMA2":
        return render(name, msgs)
    system = next((m["content"] for m in msgs if m["role"] == "system"), "")
    _, conv = turns(template, [m for m in msgs if m["role"] != "system"])
    text = f"[INST] <<SYS>>\n{system}\n<</SYS>>\n\n" if system else "[INST] "
    seps = (template.sep, template.sep2)
    for i, (role, msg) in enumerate(conv):
        if msg:
            text += msg + " " if i == 0 else f"{role} {msg}{seps[i % 2]}"
        else:
            text += role
    return text
