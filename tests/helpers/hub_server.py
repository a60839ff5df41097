"""A Hugging Face Hub stand-in on loopback, for tests that drive the real huggingface_hub client.

It speaks the parts of the Hub's HTTP API the artifact uses: repo create, model-card YAML validation, refs and
branch create, revision info
(with blob ids and LFS sha256), tree, preupload, the LFS batch API with basic transfer (PUT + verify), NDJSON
commits, and resolve (HEAD metadata, ranged GET for resumed downloads). Write calls need the token; reads of a
gated repo too. Xet storage is not spoken: uploads need HF_HUB_DISABLE_XET=1 in the client.

Test hooks: `corrupt` (paths served with a flipped first byte), `fail_after` (path -> cut the body after N bytes
once, a dropped connection), `stall_after` (path -> send N bytes, then hang: a download to kill), `oversize` (path
-> N bytes more than the file, after it, with the metadata still listing the true size) and `dribble` (path ->
seconds between single bytes).
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

LFS_THRESHOLD = 1024  # bigger files go through LFS, like the Hub's binary/large rule
TYPES = {"models": "model", "datasets": "dataset", "spaces": "space"}


def blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class HubState:
    def __init__(self, token: str | None = None):
        self.token = token
        self.repos: dict = {}  # (type, id) -> {"branches": {name: sha}, "commits": {sha: files}, "gated": bool}
        self.lfs: dict[str, bytes] = {}
        self.requests: list[tuple[str, str, dict]] = []
        self.corrupt: set[str] = set()
        self.fail_after: dict[str, int] = {}
        self.stall_after: dict[str, int] = {}  # path -> send N bytes, then hang; every GET until `release` is set
        self.oversize: dict[str, int] = {}  # path -> this many extra bytes after the file (a hostile or broken Hub)
        self.dribble: dict[str, float] = {}  # path -> send one byte every this many seconds
        self.release = threading.Event()
        self.lock = threading.Lock()

    def _commit(self, repo: dict, files: dict[str, bytes], message: str) -> str:
        sha = hashlib.sha1(json.dumps([message, len(repo["commits"]), sorted(
            (k, hashlib.sha256(v).hexdigest()) for k, v in files.items())]).encode()).hexdigest()
        repo["commits"][sha] = dict(files)
        return sha

    def add(self, repo_type: str, repo_id: str, files: dict[str, bytes], revision: str = "main",
            gated: bool = False) -> str:
        """Create or update a repo branch directly (test setup); returns the new commit."""
        repo = self.repos.setdefault((repo_type, repo_id), {"branches": {}, "commits": {}, "gated": gated})
        repo["gated"] = repo["gated"] or gated
        sha = self._commit(repo, files, f"add {revision}")
        repo["branches"][revision] = sha
        return sha

    def files(self, repo_type: str, repo_id: str, revision: str) -> dict[str, bytes] | None:
        repo = self.repos.get((repo_type, repo_id))
        if repo is None:
            return None
        sha = repo["branches"].get(revision, revision)
        return repo["commits"].get(sha)


class _Handler(BaseHTTPRequestHandler):
    state: HubState
    base: str

    def log_message(self, *args):
        pass

    # ----------------------------------------------------------------- helpers
    def _send(self, code: int, body: bytes = b"", headers: dict | None = None, ctype="application/json"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, code: int, obj):
        self._send(code, json.dumps(obj).encode())

    def _error(self, code: int, message: str, error_code: str | None = None):
        headers = {"X-Error-Message": message, **({"X-Error-Code": error_code} if error_code else {})}
        self._send(code, json.dumps({"error": message}).encode(), headers)

    def _partial(self, code: int, headers: dict, body: bytes, cut: int) -> None:
        """Announce the whole body but send only its first `cut` bytes."""
        self.send_response(code)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:cut])
        self.wfile.flush()

    def _auth(self) -> bool:
        return self.state.token is not None and self.headers.get("Authorization") == f"Bearer {self.state.token}"

    def _need_write(self) -> bool:
        if not self._auth():
            self._error(401, "Invalid credentials in Authorization header")
            return False
        return True

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _repo(self, rtype: str, repo_id: str, revision: str | None = None):
        repo = self.state.repos.get((rtype, repo_id))
        if repo is None:
            self._error(404, "Repository Not Found", "RepoNotFound")
            return None, None
        if repo["gated"] and not self._auth():
            self._error(401, f"Access to model {repo_id} is restricted. You must have access to it and be "
                             "authenticated to access it.", "GatedRepo")
            return None, None
        if revision is None:
            return repo, None
        sha = repo["branches"].get(revision, revision)
        if sha not in repo["commits"]:
            self._error(404, f"Invalid rev id: {revision}", "RevisionNotFound")
            return None, None
        return repo, sha

    @staticmethod
    def _entry(path: str, data: bytes) -> dict:
        entry = {"size": len(data), "blobId": blob_sha1(data)}
        if len(data) > LFS_THRESHOLD:
            entry["lfs"] = {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data), "pointerSize": 134}
        return entry

    # ----------------------------------------------------------------- routes
    def do_HEAD(self):
        self._route()

    def do_GET(self):
        self._route()

    def do_POST(self):
        self._route()

    def do_PUT(self):
        self._route()

    def _route(self):
        url = urlparse(self.path)
        path, query = unquote(url.path), parse_qs(url.query)
        self.state.requests.append((self.command, self.path, dict(self.headers)))
        with self.state.lock:
            for pattern, method, handler in ROUTES:
                m = re.match(pattern, path)
                if m and self.command in method:
                    return handler(self, *m.groups(), query=query)
        self._error(404, f"no route for {self.command} {path}")

    def create_repo(self, query):
        if not self._need_write():
            return
        body = json.loads(self._body() or b"{}")
        repo_id = f"{body['organization']}/{body['name']}" if body.get("organization") else body["name"]
        rtype = body.get("type") or "model"
        if (rtype, repo_id) in self.state.repos:  # the Hub's 409 carries the url, which exist_ok relies on
            return self._send(409, json.dumps({"error": "You already created this model repo",
                                               "url": f"{self.base}/{repo_id}"}).encode())
        self.state.add(rtype, repo_id, {".gitattributes": b"*.safetensors filter=lfs diff=lfs merge=lfs -text\n"})
        self._json(200, {"url": f"{self.base}/{repo_id}", "name": repo_id, "id": repo_id})

    def validate_yaml(self, query):
        content = json.loads(self._body()).get("content", "")
        if content.startswith("---") and content.count("---") < 2:
            return self._json(400, {"error": "unterminated YAML front matter"})
        self._json(200, {"errors": [], "warnings": []})

    def revision_info(self, kind, repo_id, revision, query):
        repo, sha = self._repo(TYPES[kind], repo_id, revision)
        if repo is None:
            return
        files = repo["commits"][sha]
        siblings = [{"rfilename": p, **(self._entry(p, d) if query.get("blobs") else {})} for p, d in
                    sorted(files.items())]
        self._json(200, {"id": repo_id, "modelId": repo_id, "sha": sha, "siblings": siblings,
                         "gated": "manual" if repo["gated"] else False, "private": False})

    def refs(self, kind, repo_id, query):
        repo, _ = self._repo(TYPES[kind], repo_id)
        if repo is None:
            return
        branches = [{"name": b, "ref": f"refs/heads/{b}", "targetCommit": s} for b, s in repo["branches"].items()]
        self._json(200, {"branches": branches, "tags": [], "converts": [], "pullRequests": []})

    def create_branch(self, kind, repo_id, branch, query):
        if not self._need_write():
            return
        repo, _ = self._repo(TYPES[kind], repo_id)
        if repo is None:
            return
        if branch in repo["branches"]:
            return self._error(409, f"Reference already exists: refs/heads/{branch}")
        body = json.loads(self._body() or b"{}")
        repo["branches"][branch] = repo["branches"][body.get("startingPoint") or "main"]
        self._json(200, {})

    def tree(self, kind, repo_id, revision, subpath, query):
        repo, sha = self._repo(TYPES[kind], repo_id, revision)
        if repo is None:
            return
        out = []
        for p, d in sorted(repo["commits"][sha].items()):
            if subpath and not p.startswith(subpath.lstrip("/")):
                continue
            e = self._entry(p, d)
            item = {"type": "file", "path": p, "size": e["size"], "oid": e["blobId"]}
            if "lfs" in e:
                item["lfs"] = {"oid": e["lfs"]["sha256"], "size": e["size"], "pointerSize": 134}
            out.append(item)
        self._json(200, out)

    def preupload(self, kind, repo_id, revision, query):
        if not self._need_write():
            return
        repo, _ = self._repo(TYPES[kind], repo_id, revision)
        if repo is None:
            return
        files = json.loads(self._body())["files"]
        self._json(200, {"files": [{"path": f["path"], "uploadMode": "lfs" if f["size"] > LFS_THRESHOLD else
                                    "regular", "shouldIgnore": False} for f in files]})

    def lfs_batch(self, prefix, repo_id, query):
        if not self._need_write():
            return
        objects = json.loads(self._body())["objects"]
        self._json(200, {"transfer": "basic", "objects": [
            {"oid": o["oid"], "size": o["size"], "actions": {
                "upload": {"href": f"{self.base}/lfs-upload/{o['oid']}"},
                "verify": {"href": f"{self.base}/lfs-verify/{o['oid']}"}}} for o in objects]})

    def lfs_upload(self, oid, query):
        data = self._body()
        if hashlib.sha256(data).hexdigest() != oid:
            return self._error(400, "sha256 mismatch")
        self.state.lfs[oid] = data
        self._send(200)

    def lfs_verify(self, oid, query):
        self._json(200 if oid in self.state.lfs else 404, {})

    def commit(self, kind, repo_id, revision, query):
        if not self._need_write():
            return
        repo, sha = self._repo(TYPES[kind], repo_id, revision)
        if repo is None:
            return
        files, message = dict(repo["commits"][sha]), ""
        for line in self._body().splitlines():
            item = json.loads(line)
            key, value = item["key"], item["value"]
            if key == "header":
                message = value["summary"]
            elif key == "file":
                files[value["path"]] = base64.b64decode(value["content"])
            elif key == "lfsFile":
                if value["oid"] not in self.state.lfs:
                    return self._error(400, f"LFS object {value['oid']} was not uploaded")
                files[value["path"]] = self.state.lfs[value["oid"]]
            elif key == "deletedFile":
                files.pop(value["path"], None)
        new = self.state._commit(repo, files, message)
        repo["branches"][revision] = new
        self._json(200, {"commitOid": new, "commitUrl": f"{self.base}/{repo_id}/commit/{new}",
                         "pullRequestUrl": None})

    def resolve(self, prefix, repo_id, revision, filename, query):
        rtype = {"datasets/": "dataset", "spaces/": "space"}.get(prefix or "", "model")
        repo, sha = self._repo(rtype, repo_id, revision)
        if repo is None:
            return
        data = repo["commits"][sha].get(filename)
        if data is None:
            return self._error(404, "Entry not found", "EntryNotFound")
        entry = self._entry(filename, data)
        headers = {"X-Repo-Commit": sha}
        if "lfs" in entry:
            headers.update({"X-Linked-Etag": f'"{entry["lfs"]["sha256"]}"', "X-Linked-Size": str(len(data)),
                            "ETag": f'"{entry["blobId"]}"'})
        else:
            headers["ETag"] = f'"{entry["blobId"]}"'
        if filename in self.state.corrupt:
            data = bytes([data[0] ^ 0xFF]) + data[1:]
        start = 0
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes="):
            start = int(rng[6:].split("-")[0])
        body = data[start:]
        code = 206 if start else 200
        if start:
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        if self.command == "GET" and filename in self.state.stall_after and not self.state.release.is_set():
            self._partial(code, headers, body, self.state.stall_after[filename])
            self.state.lock.release()  # let other requests through while this one hangs
            try:
                self.state.release.wait(60)
            finally:
                self.state.lock.acquire()
            self.close_connection = True
            return
        if self.command == "GET" and filename in self.state.oversize:
            body = body + b"\0" * self.state.oversize[filename]
        if self.command == "GET" and filename in self.state.dribble:
            self._partial(code, headers, body, 0)
            self.state.lock.release()
            try:
                for i in range(len(body)):
                    if self.state.release.wait(self.state.dribble[filename]):
                        break
                    self.wfile.write(body[i:i + 1])
                    self.wfile.flush()
            except OSError:  # the client gave up
                pass
            finally:
                self.state.lock.acquire()
            self.close_connection = True
            return
        if self.command == "GET" and filename in self.state.fail_after:
            self._partial(code, headers, body, self.state.fail_after.pop(filename))
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self._send(code, body, headers, ctype="application/octet-stream")


ROUTES = [
    (r"^/api/repos/create$", ("POST",), _Handler.create_repo),
    (r"^/api/validate-yaml$", ("POST",), _Handler.validate_yaml),
    (r"^/api/(models|datasets|spaces)/(.+?)/revision/([^/]+)$", ("GET",), _Handler.revision_info),
    (r"^/api/(models|datasets|spaces)/(.+?)/refs$", ("GET",), _Handler.refs),
    (r"^/api/(models|datasets|spaces)/(.+?)/branch/([^/]+)$", ("POST",), _Handler.create_branch),
    (r"^/api/(models|datasets|spaces)/(.+?)/tree/([^/]+)(/.*)?$", ("GET",), _Handler.tree),
    (r"^/api/(models|datasets|spaces)/(.+?)/preupload/([^/]+)$", ("POST",), _Handler.preupload),
    (r"^/api/(models|datasets|spaces)/(.+?)/commit/([^/]+)$", ("POST",), _Handler.commit),
    (r"^/(datasets/|spaces/)?(.+?)\.git/info/lfs/objects/batch$", ("POST",), _Handler.lfs_batch),
    (r"^/lfs-upload/([0-9a-f]{64})$", ("PUT",), _Handler.lfs_upload),
    (r"^/lfs-verify/([0-9a-f]{64})$", ("POST",), _Handler.lfs_verify),
    (r"^/(datasets/|spaces/)?(.+?)/resolve/([^/]+)/(.+)$", ("GET", "HEAD"), _Handler.resolve),
]


class HubServer:
    def __init__(self, token: str | None = None):
        self.state = HubState(token)
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        handler.base = self.url
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
