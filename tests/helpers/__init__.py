"""What the tests share: paths, the Hub test token, calibration sequences; the loopback Hub (hub_server.py), the
image build's stand-ins (standins.py) and evaluation data helpers (evaldata.py). Fixtures live in tests/conftest.py."""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
HUB_TOKEN = "hf_TESTtokenZZ9cantappearANYWHERE"


def calibration_ids(tokenizer, n: int = 8, length: int = 64, seed: int = 0) -> list[list[int]]:
    """Real text (the vendored Alpaca records) cut into n equal-length token sequences."""
    import random

    from artifact.compress import calibration
    records = calibration.read_records(calibration.VENDORED / "alpaca_data_cleaned.first256.json", "alpaca")
    flat = []
    for r in random.Random(seed).sample(records, 64):
        flat += tokenizer(calibration.as_text(r))["input_ids"]
    return [flat[i * length:(i + 1) * length] for i in range(n)]
