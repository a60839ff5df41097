"""A download that survives the process: bytes go to `<file>.part` next to their destination, flushed as they
arrive, and a later call continues from the part's size with an HTTP Range request.

huggingface_hub 1.x downloads into a process-unique temporary file that it deletes on failure, so a killed run
restarts from zero; this keeps its HTTP session, headers and URL scheme, and adds the resume. Integrity is not
judged here: the caller verifies the finished file by sha256.
"""
from __future__ import annotations

from pathlib import Path

CHUNK = 1 << 20


def fetch(repo: str, filename: str, commit: str, dest: Path, size: int, endpoint: str | None, token: str | None,
          progress: bool = True) -> int:
    """Download `filename` of `repo` at `commit` to `dest`; returns the byte offset it resumed from."""
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
        with open(part, "ab" if start else "wb") as f, \
                tqdm(total=size, initial=start, unit="B", unit_scale=True, desc=filename, disable=not progress,
                     leave=False) as bar:
            for chunk in response.iter_bytes(CHUNK):
                f.write(chunk)
                f.flush()
                bar.update(len(chunk))
    part.replace(dest)
    return start
