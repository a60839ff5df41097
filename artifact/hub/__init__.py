"""The Hugging Face Hub: pull released models into the store, push rebuilt ones, verify both by sha256.

Tokens come only from HF_TOKEN or huggingface_hub's stored login; they are handed to the client and never printed,
logged, or written into a recipe, card, manifest or result. Every Hub failure becomes one sentence that says
what to do (see `explain`).
"""
from __future__ import annotations

import hashlib
from contextlib import contextmanager
from dataclasses import dataclass

from ..errors import ArtifactError
from ..settings import Settings

LOGIN_HINT = "set HF_TOKEN to a token from https://huggingface.co/settings/tokens (or run `hf auth login`)"


class HubError(ArtifactError):
    """A Hub request that failed; the message says what to do."""


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
    except e.GatedRepoError:
        raise HubError(f"{repo} is gated: ask for access at {site(settings)}/{repo} while logged in, then "
                       f"{LOGIN_HINT}") from None
    except e.RevisionNotFoundError:
        raise HubError(f"{repo} has no revision {revision!r}; `make models MODEL=...` shows the catalog's") from None
    except e.RepositoryNotFoundError:
        raise HubError(f"{repo} was not found on {site(settings)} (or it is private and the token cannot see it)"
                       ) from None
    except e.HfHubHTTPError as err:
        status = err.response.status_code if err.response is not None else None
        if status == 401:
            have = "the Hub refused the token (HTTP 401)" if settings.hf_token else "this needs a Hugging Face token"
            raise HubError(f"{have} for {repo}; {LOGIN_HINT}" + (" with write access" if writing else "")) from None
        if status == 403:
            raise HubError(f"the token may not {'write to' if writing else 'read'} {repo} (HTTP 403); use a token "
                           "with that permission") from None
        raise HubError(f"the Hub answered HTTP {status} for {repo}; retry later") from None
    except (httpx.HTTPError, OSError) as err:
        if isinstance(err, ArtifactError):
            raise
        raise HubError(f"cannot reach the Hub at {site(settings)} ({type(err).__name__}); check the network or "
                       "HF_ENDPOINT") from None


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
    from ..provenance import sha256_file
    got = (sha256 or sha256_file(path)) if kind == "sha256" else git_blob_sha1(path.read_bytes())
    return None if got == expected else got
