import json

import pytest

from artifact.base import prompts
from artifact.base.errors import ArtifactError

from tests.helpers import ROOT

GOLDEN = json.loads((ROOT / "artifact" / "data" / "decodingtrust" / "prompts" / "chat_templates.json").read_text())


def cases():
    out = []
    for template, renders in GOLDEN["examples"]["fork_hfchat"].items():
        for shape, expected in renders.items():
            out.append((template, GOLDEN["examples"]["messages"][shape], expected, shape))
    extra = GOLDEN["fork_hfchat_extra_shapes"]
    for template, renders in extra["renders"].items():
        for shape, expected in renders.items():
            out.append((template, extra["messages"][shape], expected, shape))
    return out


@pytest.mark.parametrize("template,messages,expected,shape", cases(), ids=lambda v: v if isinstance(v, str) and
                         len(v) < 60 else None)
def test_fork_renders_byte_for_byte(template, messages, expected, shape):
    assert prompts.render(template, messages) == expected


def test_all_golden_shapes_are_covered():
    assert len(cases()) == 3 * 4 + 3 * 3


def test_template_fields_match_the_fork():
    for name, t in prompts.TEMPLATES.items():
        fork = GOLDEN["templates"][name]["fork"]
        assert t.system == fork["system"] and list(t.roles) == fork["roles"]
        assert (t.sep, t.sep_style, t.stop_str) == (fork["sep"], fork["sep_style"], fork.get("stop_str"))
        assert t.sep2 == fork.get("sep2", "")


def test_calibration_exchange_has_no_reply_slot():
    text = prompts.render_exchange("llama-2", "Name a colour.", "Blue.")
    assert text.startswith("<s>[INST] <<SYS>>\nYou are a helpful")
    assert text.endswith("Name a colour.[/INST] Blue. </s><s>")
    assert prompts.render_exchange("vicuna_v1.1", "Hi", "Hello").endswith("USER: Hi ASSISTANT: Hello</s>")


def test_bad_input():
    with pytest.raises(ArtifactError, match="unknown chat template 'llama-3'"):
        prompts.render("llama-3", [{"role": "user", "content": "x"}])
    with pytest.raises(ArtifactError, match="role must be"):
        prompts.render("llama-2", [{"role": "tool", "content": "x"}])
    assert prompts.render("llama-2", "raw prompt") == "raw prompt"
