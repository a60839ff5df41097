"""A Hugging Face Hub stand-in on loopback for tests: enough of the Hub's HTTP API for the real huggingface_hub
client to resolve revisions and download files (HEAD metadata, ranged GET for resume, optional token check).

Repos live in memory: {(repo_type, repo_id): {revision: {"sha": commit, "files": {path: bytes}}}}.
"""
from __future__ import annotations

import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote

RESOLVE = re.compile(r"^/(?:(datasets|spaces)/)?(.+?)/resolve/([^/]+)/(.+)$")
REVISION = re.compile(r"^/api/(models|datasets|spaces)/(.+?)/revision/([^/?]+)")


class HubState:
    def __init__(self, token: str | None = None):
        self.repos: dict = {}
        self.token = token
        self.requests: list[tuple[str, str, dict]] = []  # (method, path, headers) for assertions
        self.corrupt: set[str] = set()  # paths whose served bytes are flipped (a corrupted download)
        self.fail_after: dict[str, int] = {}  # path -> cut the body after N bytes once (an interrupted download)

    def add(self, repo_type: str, repo_id: str, files: dict[str, bytes], revision: str = "main") -> str:
        sha = hashlib.sha1(json.dumps(sorted((k, hashlib.sha256(v).hexdigest()) for k, v in files.items()))
                           .encode()).hexdigest()
        self.repos.setdefault((repo_type, repo_id), {})[revision] = {"sha": sha, "files": dict(files)}
        self.repos[(repo_type, repo_id)][sha] = self.repos[(repo_type, repo_id)][revision]
        return sha


def _handler(state: HubState):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output clean
            pass

        def _authorized(self) -> bool:
            if state.token is None:
                return True
            return self.headers.get("Authorization") == f"Bearer {state.token}"

        def _error(self, code: int, message: str, error_code: str | None = None):
            body = json.dumps({"error": message}).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            if error_code:
                self.send_header("X-Error-Code", error_code)
            self.send_header("X-Error-Message", message)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _lookup(self, repo_type, repo_id, revision):
            repo = state.repos.get((repo_type, repo_id))
            if repo is None:
                return None, self._error(404, "Repository not found", "RepoNotFound")
            rev = repo.get(unquote(revision))
            if rev is None:
                return None, self._error(404, f"Invalid rev id: {revision}", "RevisionNotFound")
            return rev, None

        def _resolve(self, head: bool):
            state.requests.append((self.command, self.path, dict(self.headers)))
            if not self._authorized():
                return self._error(401, "Invalid credentials in Authorization header")
            path = self.path.split("?")[0]
            m = RESOLVE.match(path)
            rm = REVISION.match(path)
            if rm and not head:
                kind, repo_id, revision = rm.groups()
                rev, _ = self._lookup(kind[:-1], repo_id, revision)
                if rev is None:
                    return
                body = json.dumps({"id": repo_id, "sha": rev["sha"],
                                   "siblings": [{"rfilename": f} for f in rev["files"]]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            if not m:
                return self._error(404, "Not found")
            kind, repo_id, revision, filename = m.groups()
            rev, _ = self._lookup((kind or "models")[:-1] if kind else "model", repo_id, revision)
            if rev is None:
                return
            data = rev["files"].get(unquote(filename))
            if data is None:
                return self._error(404, "Entry not found", "EntryNotFound")
            digest = hashlib.sha256(data).hexdigest()
            if unquote(filename) in state.corrupt:
                data = bytes([data[0] ^ 0xFF]) + data[1:]
            start = 0
            rng = self.headers.get("Range")
            if rng and rng.startswith("bytes="):
                start = int(rng[6:].split("-")[0])
            body = data[start:]
            self.send_response(206 if start else 200)
            self.send_header("X-Repo-Commit", rev["sha"])
            self.send_header("ETag", f'"{digest}"')
            self.send_header("Content-Length", str(len(body)))
            if start:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.end_headers()
            if head:
                return
            cut = state.fail_after.pop(unquote(filename), None)
            if cut is not None:
                self.wfile.write(body[:cut])
                self.wfile.flush()
                self.connection.close()  # the connection drops mid-download
                return
            self.wfile.write(body)

        def do_HEAD(self):
            self._resolve(head=True)

        def do_GET(self):
            self._resolve(head=False)

    return Handler


class HubServer:
    def __init__(self, token: str | None = None):
        self.state = HubState(token)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
