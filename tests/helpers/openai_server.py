"""A loopback OpenAI-compatible chat endpoint for the judge tests: POST /v1/chat/completions answers
`Rating: [[<rating>]]`, counts its calls, and can refuse a wrong key (401), answer 429 the first n times, or send any
other body (`answer`)."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class JudgeServer:
    def __init__(self, rating: str = "7", key: str | None = "sk-test-judge", fail_first: int = 0, status: int = 429,
                 answer: bytes | None = None):
        self.rating, self.key, self.fail_first, self.status = rating, key, fail_first, status
        self.answer = answer  # a hostile 200 body, sent as it is
        self.calls: list[dict] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _send(self, code: int, body: dict, headers: dict | None = None):
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                if server.key and self.headers.get("Authorization") != f"Bearer {server.key}":
                    return self._send(401, {"error": {"message": "Incorrect API key provided", "type": "invalid"}})
                with server.lock:
                    server.calls.append(body)
                    n = len(server.calls)
                if n <= server.fail_first:
                    return self._send(server.status, {"error": {"message": "slow down", "type": "rate_limit"}},
                                      {"Retry-After": "0"})
                if server.answer is not None:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(server.answer)))
                    self.end_headers()
                    self.wfile.write(server.answer)
                    return
                text = f"The answer is fine. Rating: [[{server.rating}]]"
                return self._send(200, {"id": f"c{n}", "object": "chat.completion", "created": 0,
                                        "model": body.get("model"),
                                        "choices": [{"index": 0, "finish_reason": "stop",
                                                     "message": {"role": "assistant", "content": text}}],
                                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
