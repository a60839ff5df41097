"""The one way anything is fetched from the Hugging Face Hub and verified: models (acquire/pull.py), calibration
sets (compress/calibration.py) and benchmark data (evaluate/data.py) all come through here.

    api(settings)                      the Hub client, with the endpoint and token of the settings
    explain(settings, repo)            every Hub or network failure as one sentence (HubError) that says what to do
    remote_files(client, repo, rev)    what the Hub says each file of a model revision is (size, sha256, blob id)
    hub_file(settings, repo, ...)      one dataset (or model) file at a commit, checked against the Hub's own hash
    download(...)                      a resumable download of one model file into the store's staging folder
    verify_file(path, kind, digest)    a file against a sha256 or a git blob id

Tokens come only from HF_TOKEN or huggingface_hub's stored login; they are handed to the client and never printed,
logged, or written into a recipe, card, manifest or result. Every Hub failure becomes one sentence that says
what to do (see `explain`).
"""
from __future__ import annotations

import hashlib
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import (ArtifactError, BadInputError, ChecksumMismatchError, HubError, HubNotFoundError,
                     RevisionNotFoundError)
from .settings import Settings

NOT_A_REPO_ID = ("is not a Hub repo id: write org/name with letters, digits, '-', '_' and '.' (no spaces, no '..' or "
                 "'--', at most 96 characters)")
LOGIN_HINT = "set HF_TOKEN to a token from https://huggingface.co/settings/tokens (or run `hf auth login`)"


def api(settings: Settings):
    from huggingface_hub import HfApi
    return HfApi(endpoint=settings.hf_endpoint, token=settings.hf_token)


def site(settings: Settings) -> str:
    return (settings.hf_endpoint or "https://huggingface.co").rstrip("/")


@contextmanager
def explain(settings: Settings, repo: str, revision: str | None = None, writing: bool = False):
    """Turn huggingface_hub / network exceptions into one sentence (never including the token)."""
    import httpx
    from huggingface_hub import errors as e

    try:
        yield
    except e.HFValidationError:
        raise BadInputError(f"{repo!r} {NOT_A_REPO_ID}") from None
    except e.GatedRepoError:
        raise HubError(f"{repo} is gated: ask for access at {site(settings)}/{repo} while logged in, then "
                       f"{LOGIN_HINT}") from None
    except e.RevisionNotFoundError:
        raise RevisionNotFoundError(f"{repo} has no revision {revision!r}; `make models MODEL=...` shows the "
                                    "catalog's") from None
    except e.RepositoryNotFoundError:
        raise HubNotFoundError(f"{repo} was not found on {site(settings)} (or it is private and the token cannot "
                               "see it)") from None
    except e.HfHubHTTPError as err:
        status = err.response.status_code if err.response is not None else None
        if status == 401:
            have = "the Hub refused the token (HTTP 401)" if settings.hf_token else "this needs a Hugging Face token"
            raise HubError(f"{have} for {repo}; {LOGIN_HINT}" + (" with write access" if writing else "")) from None
        if status == 403:
            raise HubError(f"the token may not {'write to' if writing else 'read'} {repo} (HTTP 403); use a token "
                           "with that permission") from None
        raise HubError(f"the Hub answered HTTP {status} for {repo}; retry later") from None
    except e.OfflineModeIsEnabled:
        raise HubError(f"HF_HUB_OFFLINE is set, so {repo} cannot be fetched from the Hub; unset HF_HUB_OFFLINE to "
                       "fetch it (or put it in the store from another machine)") from None
    except (httpx.HTTPError, OSError) as err:  # (an ArtifactError is neither: it passes through untouched)
        if isinstance(err, OSError) and local_problem(err):
            raise ArtifactError(local_problem(err)) from None
        raise HubError(f"cannot reach the Hub at {site(settings)} ({type(err).__name__}); check the network or "
                       "HF_ENDPOINT") from None


NETWORK_ERRNOS = {"ENETUNREACH", "EHOSTUNREACH", "ENETDOWN", "ECONNREFUSED", "ECONNRESET", "ECONNABORTED",
                  "ETIMEDOUT", "EPIPE", "EHOSTDOWN"}


def local_problem(err: OSError) -> str | None:
    """One sentence for an OSError that happened on this machine's disk, not on the way to the Hub (None for a
    network error): a full disk, a file-size limit, a read-only or unwritable folder, a name too long."""
    import errno
    import socket
    import ssl
    name = errno.errorcode.get(err.errno or 0, "")
    if isinstance(err, (ConnectionError, TimeoutError, socket.gaierror, socket.herror, ssl.SSLError)) or \
            name in NETWORK_ERRNOS or not name:
        return None
    where = f"{err.filename}: " if err.filename else ""
    if name in ("ENOSPC", "EDQUOT", "EFBIG"):
        return (f"{where}no space left to write it ({err.strerror or name}); free space, or point ARTIFACT_STORE / "
                "HF_HUB_CACHE at a larger disk, and rerun: what was verified is kept")
    return f"{where}{err.strerror or name} on this machine (not the Hub); fix the path or its permissions and rerun"


def check_repo_id(repo: str, what: str = "REPO") -> str:
    """`repo` if it is a valid Hub repo id (org/name), else BadInputError in one sentence."""
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id
    try:
        validate_repo_id(repo)
    except HFValidationError:
        raise BadInputError(f"{what}={repo!r} {NOT_A_REPO_ID}") from None
    return repo


def check_revision(revision: str | None, what: str = "REVISION") -> str | None:
    """`revision` if it can name a branch, tag or commit (git's ref rules, in short), else BadInputError."""
    if revision is None:
        return None
    bad = (not revision or revision.startswith(("/", "-", ".")) or revision.endswith(("/", ".", ".lock")) or
           ".." in revision or "//" in revision or "@{" in revision or
           any(ord(c) < 33 or ord(c) == 127 or c in "~^:?*[\\" for c in revision))
    if bad:
        raise BadInputError(f"{what}={revision!r} is not a branch, tag or commit name (no spaces, '..', '~^:?*[\\', "
                            "leading '/', '-' or '.'); give e.g. main, 4bit_128g or a commit sha")
    return revision


@dataclass(frozen=True)
class RemoteFile:
    path: str
    size: int
    sha256: str | None  # the LFS object id, for LFS files
    blob_id: str | None  # the git blob sha1, for every file


def remote_files(client, repo: str, revision: str) -> tuple[str, dict[str, RemoteFile]]:
    """(commit sha, {path: RemoteFile}) of a repo at a revision."""
    info = client.model_info(repo, revision=revision, files_metadata=True)
    files = {s.rfilename: RemoteFile(s.rfilename, s.size or 0, s.lfs.sha256 if s.lfs else None, s.blob_id)
             for s in info.siblings or []}
    return info.sha, files


def git_blob_sha1(data: bytes) -> str:
    """The id git (and the Hub) gives a file's content."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def verify_file(path, kind: str, expected: str, sha256: str | None = None) -> str | None:
    """None when the file matches `expected` ("sha256" or "git-blob"), else the digest found; `sha256` is the
    file's digest when the caller has it already."""
    from .provenance import sha256_file
    got = (sha256 or sha256_file(path)) if kind == "sha256" else git_blob_sha1(path.read_bytes())
    return None if got == expected else got


# a download that brings less than STALL_BYTES in STALL_SECONDS is given up (a read timeout alone never ends a
# connection that dribbles one byte every 20 s)
STALL_BYTES, STALL_SECONDS = 64 * 1024, 120.0



def download(repo: str, filename: str, commit: str, dest: Path, size: int, endpoint: str | None, token: str | None,
          progress: bool = True) -> int:
    """Download `filename` of `repo` at `commit` to `dest`, resuming from `<dest>.part`; returns the byte offset
    it resumed from. huggingface_hub 1.x downloads into a process-unique temporary file that it deletes on failure,
    so a killed run would restart from zero; this keeps its HTTP session, headers and URL scheme and adds the
    resume. Integrity is not judged here: the caller verifies the finished file by sha256."""
    from huggingface_hub import hf_hub_url
    from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status
    from tqdm import tqdm

    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    start = part.stat().st_size if part.exists() else 0
    if start > size:  # not a prefix of this file: start over
        part.unlink()
        start = 0
    headers = build_hf_headers(token=token)
    headers["Accept-Encoding"] = "identity"
    if start:
        headers["Range"] = f"bytes={start}-"
    url = hf_hub_url(repo, filename, revision=commit, endpoint=endpoint)
    with get_session().stream("GET", url, headers=headers, follow_redirects=True, timeout=60) as response:
        hf_raise_for_status(response)
        if start and response.status_code != 206:  # the server ignored the range: take the whole file
            start = 0
        written, window, window_bytes = start, time.monotonic(), 0
        with open(part, "ab" if start else "wb") as f, \
                tqdm(total=size, initial=start, unit="B", unit_scale=True, desc=filename, disable=not progress,
                     leave=False) as bar:
            for chunk in response.iter_bytes():  # as it arrives: a chunk size would wait for that much
                if written + len(chunk) > size:  # never more than the Hub's own listing says the file is
                    f.close()
                    part.unlink(missing_ok=True)
                    raise HubError(f"the Hub sent more than the {size:,} bytes listed for {filename}; refused, nothing "
                                   "of it is kept (pull again; if it repeats, the repo's files are inconsistent)")
                f.write(chunk)
                f.flush()
                bar.update(len(chunk))
                written, window_bytes = written + len(chunk), window_bytes + len(chunk)
                if window_bytes >= STALL_BYTES or written == size:
                    window, window_bytes = time.monotonic(), 0
                elif time.monotonic() - window > STALL_SECONDS:
                    raise HubError(f"{filename} stalled: less than {STALL_BYTES // 1024} kB in {STALL_SECONDS:g} s; "
                                   f"retry later (the {written:,} bytes so far are kept, and the pull resumes there)")
    part.replace(dest)
    return start


def dataset_head(settings: Settings, repo: str) -> str:
    """The commit `main` of a Hub dataset points at now (a lock pins it on first fetch)."""
    return api(settings).dataset_info(repo, revision="main").sha


def dataset_listing(settings: Settings, repo: str, revision: str) -> dict[str, tuple[str, str]]:
    """path -> ("sha256", LFS oid) or ("git-blob", blob id): what the Hub says each file of a dataset commit is."""
    info = api(settings).dataset_info(repo, revision=revision, files_metadata=True)
    return {s.rfilename: ("sha256", s.lfs.sha256) if s.lfs else ("git-blob", s.blob_id) for s in info.siblings or []}


def hub_file(settings: Settings, repo: str, filename: str, revision: str, expected: tuple[str, str] | None = None,
             repo_type: str = "dataset") -> tuple[Path, str]:
    """(local path, sha256) of one file of a dataset (or model) at `revision`, through huggingface_hub's cache. With
    `expected` (the Hub's own ("sha256" | "git-blob", digest)), a download that does not match is removed from the
    cache and refused, so the next run fetches it anew."""
    from huggingface_hub import hf_hub_download

    from .provenance import sha256_file
    with explain(settings, repo, revision):
        p = Path(hf_hub_download(repo, filename, repo_type=repo_type, revision=revision, cache_dir=settings.hf_cache,
                                 endpoint=settings.hf_endpoint, token=settings.hf_token))
    digest = sha256_file(p)
    if expected and verify_file(p, *expected, sha256=digest):
        blob = p.resolve()
        p.unlink(missing_ok=True)
        blob.unlink(missing_ok=True)
        raise ChecksumMismatchError(p, f"the download does not match the Hub's {expected[0]} {expected[1][:12]}…",
                                    "it was removed from the cache: run again to fetch it anew")
    return p, digest
