"""Stand-ins for the services an image build reaches, for building the image on a machine without them.

    python -m tests.helpers.standins --wheels DIR [--env-file FILE]

starts, on loopback until interrupted:
- the loopback Hub (tests/helpers/hub_server.py) holding `unitary/toxic-bert` as a tiny real BERT classifier with a
  `toxic` label and SmolLM2's tokenizer (the real checkpoint is 418 MB on huggingface.co);
- a plain HTTP listing of DIR, for pip's --find-links (a wheelhouse, such as a local CPU build of torch).

and writes HF_ENDPOINT=... and PIP_FIND_LINKS=... to FILE. With `docker build --network host` the build's RUN steps
reach both (docs/image.md, "Building the image without the registries"). The classifier is also what the scorer-step
test serves, so the two agree on what a stand-in toxic-bert is.
"""
from __future__ import annotations

import argparse
import functools
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SCORER_REPO = "unitary/toxic-bert"


def tiny_toxic_classifier(folder: Path, tokenizer: Path) -> dict[str, bytes]:
    """Save a 1-layer BERT with a single `toxic` label and the given tokenizer; return its files."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    BertForSequenceClassification(BertConfig(
        vocab_size=49152, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
        num_labels=1, id2label={0: "toxic"}, label2id={"toxic": 0},
        problem_type="multi_label_classification")).save_pretrained(folder)
    AutoTokenizer.from_pretrained(tokenizer).save_pretrained(folder)
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def main(argv: list[str] | None = None) -> int:
    from artifact.base import catalog
    from artifact.acquire import embedded
    from artifact.base.settings import load

    from tests.helpers.hub_server import HubServer

    p = argparse.ArgumentParser(prog="python -m tests.helpers.standins", description=__doc__.split("\n\n")[0])
    p.add_argument("--wheels", type=Path, required=True, help="a folder of wheels to serve for pip --find-links")
    p.add_argument("--env-file", type=Path, help="write HF_ENDPOINT= and PIP_FIND_LINKS= lines here")
    args = p.parse_args(argv)
    settings = load()
    base = embedded.ensure(catalog.get("smollm2-135m-instruct"), settings.store)
    with tempfile.TemporaryDirectory() as tmp, HubServer() as hub:
        hub.state.add("model", SCORER_REPO, tiny_toxic_classifier(Path(tmp), base))
        handler = functools.partial(SimpleHTTPRequestHandler, directory=str(args.wheels.resolve()))
        wheels = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=wheels.serve_forever, daemon=True).start()
        lines = f"HF_ENDPOINT={hub.url}\nPIP_FIND_LINKS=http://127.0.0.1:{wheels.server_address[1]}/\n"
        if args.env_file:
            args.env_file.write_text(lines)
        print(lines, end="", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            wheels.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
