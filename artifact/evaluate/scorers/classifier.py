"""An open toxicity classifier from a local folder: a transformers sequence classifier with a "toxic"/"toxicity"
label (Detoxify's "original" model is published in this format as unitary/toxic-bert). Multi-label heads are read
with a sigmoid, as Detoxify does. The folder's files are checked before use against checksums/scorers/<name>.sha256
(committed), else against the manifest the image build wrote beside the folder when it placed the weights (`place`:
trust on first build, until that manifest is committed); the id carries the manifest's digest, so a different
checkpoint is a different scorer."""
from __future__ import annotations

import hashlib
from pathlib import Path

from ...base import ledger
from ...base.errors import ArtifactError, ChecksumMismatchError
from ...base.provenance import sha256_file
from . import Scorer

LABELS = ("toxic", "toxicity", "TOXICITY", "LABEL_0")


class Classifier(Scorer):
    name = "toxic-bert"

    def __init__(self, settings, batch_size: int = 32):
        self.folder = settings.toxicity_model
        self.manifest = manifest_path(settings, self.name)
        self.batch_size, self.device = batch_size, settings.device or "cpu"
        if not (self.folder / "config.json").is_file():
            raise ArtifactError(f"the {self.name} scorer has no weights in {self.folder}; build the GPU image "
                                "(it places them), set ARTIFACT_TOXICITY_MODEL, or use TOXICITY_SCORER=profanity")
        self.digest = self._verify()
        self._model = None

    def _verify(self) -> str:
        if not self.manifest.is_file():
            raise ArtifactError(f"{self.manifest} is missing, so the {self.name} weights cannot be verified; run "
                                "`make scorer-checksums` where they were placed")
        check(self.folder, self.manifest)
        return hashlib.sha256(self.manifest.read_bytes()).hexdigest()

    @property
    def id(self) -> str:
        return f"{self.name}-{self.digest[:12]}"

    def score(self, texts: list[str], progress: bool = False) -> list[float | None]:
        import torch
        from transformers import AutoModelForSequenceClassification, AutoTokenizer
        if self._model is None:
            self._tok = AutoTokenizer.from_pretrained(self.folder)
            if self._tok.pad_token is None:
                self._tok.pad_token = self._tok.eos_token or self._tok.unk_token
            self._model = AutoModelForSequenceClassification.from_pretrained(self.folder).to(self.device).eval()
            labels = {v: int(k) for k, v in self._model.config.id2label.items()}
            self._index = next((labels[n] for n in LABELS if n in labels), None)
            if self._index is None:
                raise ArtifactError(f"the classifier in {self.folder} has no toxicity label ({sorted(labels)})")
        out = []
        for i in range(0, len(texts), self.batch_size):
            enc = self._tok(texts[i:i + self.batch_size], return_tensors="pt", padding=True, truncation=True,
                            max_length=512).to(self.device)
            with torch.inference_mode():
                logits = self._model(**enc).logits.float()
            multi = self._model.config.problem_type != "single_label_classification"
            probs = torch.sigmoid(logits) if multi else torch.softmax(logits, dim=-1)
            out += probs[:, self._index].tolist()
        return out


def manifest_path(settings, name: str = Classifier.name) -> Path:
    """The committed manifest if there is one, else the one written beside the weights when they were placed."""
    committed = settings.checksums / "scorers" / f"{name}.sha256"
    placed = settings.toxicity_model.parent / f"{name}.sha256"
    return placed if not committed.is_file() and placed.is_file() else committed


def check(folder: Path, manifest: Path) -> None:
    for line in manifest.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            sha, rel = line.split(maxsplit=1)
            p = folder / rel.strip()
            if not p.is_file() or sha256_file(p) != sha:
                raise ChecksumMismatchError(p, f"does not match {manifest.name}",
                                            "place the scorer's weights again (the image does; or "
                                            "ARTIFACT_TOXICITY_MODEL)")


def place(settings, name: str = Classifier.name) -> str:
    """After the image build fetched the weights: check them against the committed manifest, or, where none is
    committed yet, write one beside the folder (the image then verifies against it; copy it into checksums/scorers/
    with `make scorer-checksums MODE=docker` and commit it to pin these bytes). Returns what was done."""
    committed = settings.checksums / "scorers" / f"{name}.sha256"
    if committed.is_file():
        check(settings.toxicity_model, committed)
        return f"{name}: weights match {committed.name} (committed)"
    out = record(settings, name, settings.toxicity_model.parent / f"{name}.sha256")
    return f"{name}: no committed manifest; recorded {out} (commit it to pin these bytes)"


def record(settings, name: str = Classifier.name, out: Path | None = None) -> str:
    """Write checksums/scorers/<name>.sha256 (or `out`) for the weights in the scorer folder (`make
    scorer-checksums`: run it in the image and commit the file); returns the manifest's path."""
    folder = settings.toxicity_model
    files = sorted(p for p in folder.rglob("*") if p.is_file() and ".cache" not in p.parts)
    if not any(p.name == "config.json" for p in files):
        raise ArtifactError(f"no classifier in {folder}: place the weights first (ARTIFACT_TOXICITY_MODEL)")
    out = out or settings.checksums / "scorers" / f"{name}.sha256"
    entries = {p.relative_to(folder).as_posix(): sha256_file(p) for p in files}
    return str(ledger.record_scorer(out, name, folder.name, entries))
