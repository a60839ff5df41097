"""Where the benchmark's input files come from, each verified by sha256 before use.

Three kinds of source, the same for DecodingTrust and MMLU:
  subset  the small real slices vendored in artifact/data/ (CC BY-SA 4.0 / MIT; see their READMEs): runs
          anywhere with no network, but scores on them are NOT comparable to the paper (always marked partial)
  local   a directory laid out like the fork's data/ folder (DecodingTrust) or MMLU's data/ folder (dev/, test/)
  hub     the Hub datasets AI-Secure/DecodingTrust and cais/mmlu at a revision pinned in checksums/<set>/hub.json
Full files are checked against the fork's MANIFEST.sha256 (the git blobs at commit 0cf3fc1), or, for blobs the
git mirrors lack, against their git blob ids; a Hub file that differs from git gets its own sha256 recorded in
the lock on first fetch and is verified against it from then on.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from ..base import fetch, ledger
from ..base.errors import ArtifactError, ChecksumMismatchError, FileFormatError
from ..base.fetch import verify_file
from ..base.provenance import rel as relpath
from ..base.provenance import sha256_file

DATA = Path(__file__).resolve().parents[1] / "data"


@dataclass(frozen=True)
class Benchmark:
    key: str
    vendored: Path
    repo: str  # the Hub dataset
    hub_path: str  # how a data-relative path maps to a file of the Hub dataset ("{rel}" = the same path)


BENCHMARKS = {
    "decodingtrust": Benchmark("decodingtrust", DATA / "decodingtrust", "AI-Secure/DecodingTrust", "{rel}"),
    "mmlu": Benchmark("mmlu", DATA / "mmlu", "cais/mmlu", "{rel}"),
}


@cache  # the manifests are read-only inputs; the Hub lock, which a fetch writes, is not cached
def read_manifest(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(path -> sha256, path -> git blob id) from a `sha256  [size]  path` manifest; paths relative to data/."""
    sha, blob = {}, {}
    if not path.is_file():
        return sha, blob
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if line.startswith("# ") and len(parts) == 3 and len(parts[1]) == 40:
            blob[parts[2].removeprefix("data/")] = parts[1]
        elif parts and not line.startswith("#") and parts[0] != "MISSING":
            sha[parts[-1].removeprefix("data/")] = parts[0]
    return sha, blob


@dataclass
class Source:
    benchmark: Benchmark
    kind: str  # subset | local | hub
    root: Path | None  # subset and local: the directory; hub: None
    checksums: Path
    settings: object = None
    used: dict = field(default_factory=dict)  # rel -> sha256 of every file read, for provenance
    unverified: list = field(default_factory=list)  # local files that no manifest lists
    _listing: dict = field(default_factory=dict, repr=False)  # hub: revision -> the Hub's hash of every file

    @property
    def partial(self) -> bool:
        return self.kind == "subset"

    def _lock_path(self) -> Path:
        return ledger.lock_path(self.checksums, "data", self.benchmark.key)

    def expected(self, rel: str) -> tuple[str, str] | None:
        if self.kind == "subset":
            sha, _ = read_manifest(self.checksums / self.benchmark.key / "subset.sha256")
            return ("sha256", sha[rel]) if rel in sha else None
        sha, blob = read_manifest(self.checksums / self.benchmark.key / "MANIFEST.sha256")
        lock = self._lock()
        if rel in lock.get("files", {}):
            return "sha256", lock["files"][rel]
        if rel in sha:
            return "sha256", sha[rel]
        if rel in blob:
            return "git-blob", blob[rel]
        return None

    def _lock(self) -> dict:
        return ledger.read_lock(self.checksums, "data", self.benchmark.key) or {}

    def exists(self, rel: str) -> bool:
        if self.kind == "hub":
            return True  # the Hub has every input; a fetch failure is reported when it is read
        return (self.root / rel).is_file()

    def path(self, rel: str) -> Path:
        """The verified local file for `rel` (a path relative to the benchmark's data folder)."""
        if self.kind == "hub":
            return self._fetch(rel)
        p = self.root / rel
        if not p.is_file():
            where = "the vendored subset" if self.kind == "subset" else f"DATA={self.root}"
            raise ArtifactError(f"input file {rel} is not in {where}; give a complete copy with DATA=<dir> "
                                "or fetch the benchmark with DATA=hub")
        self._verify(p, rel)
        return p

    def _verify(self, p: Path, rel: str, record: bool = False, digest: str | None = None) -> str:
        """Check `p` against what the manifests expect of `rel` (unless `record`: a first Hub fetch that differs
        from the fork, which the lock then records); returns its sha256 and notes it for provenance."""
        expected = self.expected(rel)
        digest = digest or sha256_file(p)
        if expected is None:
            if self.kind == "subset":
                raise FileFormatError(p, None, f"{rel} is not in {relpath(self.checksums)}/"
                                               f"{self.benchmark.key}/subset.sha256, so it is not used")
            if self.kind == "local":
                self.unverified.append(rel)  # no manifest knows it (e.g. a local MMLU copy): used, and said so
        elif not record and verify_file(p, *expected, sha256=digest):
            what = (f"sha256 {digest[:16]}… differs from the manifest's {expected[1][:16]}…" if expected[0] == "sha256"
                    else f"its git blob id differs from the fork's {expected[1][:12]}…")
            fix = ("restore it with `git checkout -- artifact/data`" if self.kind == "subset" else
                   "fetch the benchmark again (DATA=hub) or give an intact copy with DATA=<dir>")
            raise ChecksumMismatchError(p, f"{what}; the file is corrupt or another version, so it is not used", fix)
        self.used[rel] = digest
        return digest

    def _remote(self, revision: str) -> dict:
        """path -> ("sha256", LFS oid) or ("git-blob", blob id): what the Hub says each file of the revision is."""
        if revision not in self._listing:
            self._listing[revision] = fetch.dataset_listing(self.settings, self.benchmark.repo, revision)
        return self._listing[revision]

    def _fetch(self, rel: str) -> Path:
        """Download one file at the locked revision; check it against the Hub's own hash (a corrupt transfer is
        dropped from the cache), then against the fork's manifest and the lock (a first fetch records it)."""
        s, lock = self.settings, self._lock()
        repo, filename = self.benchmark.repo, self.benchmark.hub_path.format(rel=rel)
        with fetch.explain(s, repo, lock.get("revision")):
            revision = lock.get("revision") or fetch.dataset_head(s, repo)
            remote = self._remote(revision).get(filename)
            if remote is None:
                raise ArtifactError(f"the Hub dataset {repo} has no {filename} at {revision[:12]}; give a local "
                                    "copy of the benchmark with DATA=<dir>")
        # hashed once: the Hub's check, the fork's and the lock all use the digest
        p, digest = fetch.hub_file(s, repo, filename, revision, expected=remote)
        expected = self.expected(rel)
        locked = rel in lock.get("files", {})
        differs = expected is not None and not locked and verify_file(p, *expected, sha256=digest) is not None
        self._verify(p, rel, record=differs, digest=digest)
        if not locked or not lock.get("revision"):
            lock = {"repo": repo, "revision": revision, "files": lock.get("files", {}),
                    "differs_from_fork": lock.get("differs_from_fork", [])}
            lock["files"][rel] = digest
            if differs:
                lock["differs_from_fork"] = sorted({*lock["differs_from_fork"], rel})
                print(f"note: the Hub's {filename} is not the fork's file (sha256 {digest[:12]}… vs "
                      f"{expected[1][:12]}…); recorded in {relpath(self._lock_path())}")
            ledger.write_lock(self.checksums, "data", self.benchmark.key, lock)
        return p

    def describe(self) -> dict:
        d = {"benchmark": self.benchmark.key, "kind": self.kind, "files": dict(sorted(self.used.items())),
             "unverified": sorted(set(self.unverified))}
        if self.kind == "hub":
            lock = self._lock()
            d.update(repo=self.benchmark.repo, revision=lock.get("revision"),
                     differs_from_fork=sorted(set(lock.get("differs_from_fork", [])) & set(self.used)))
        elif self.root is not None:
            d["root"] = relpath(self.root)
        return d


def source(benchmark: str, spec: str, settings) -> Source:
    """DATA=subset (default), DATA=hub, or DATA=<directory>."""
    b = BENCHMARKS[benchmark]
    spec = (spec or "subset").strip()
    if spec == "subset":
        return Source(b, "subset", b.vendored, settings.checksums, settings)
    if spec == "hub":
        return Source(b, "hub", None, settings.checksums, settings)
    root = Path(spec).expanduser()
    if not root.is_dir():
        raise ArtifactError(f"DATA={spec} is not a directory; use subset, hub, or a folder laid out like the "
                            "benchmark's data/")
    return Source(b, "local", root, settings.checksums, settings)


def read_json(src: Source, rel: str):
    p = src.path(rel)
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise FileFormatError(p, e.lineno, f"not valid JSON ({e.msg})") from None


def read_jsonl(src: Source, rel: str) -> list[dict]:
    p, rows = src.path(rel), []
    for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise FileFormatError(p, i, f"not a JSON line ({e.msg})") from None
    return rows
