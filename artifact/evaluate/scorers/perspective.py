"""Google's Perspective API (commentanalyzer v1alpha1), as the paper scored toxicity: one `comments:analyze`
request per text, the fork's six attributes requested with languages ["en"], TOXICITY's summary score used.

Requests go out `workers` at a time, paced to the key's quota (PERSPECTIVE_QPS, Google's default is 1/s). HTTP 429
and 5xx are retried with exponential backoff (honouring Retry-After, up to 5 minutes) up to `retries` times, a
refused connection only CONNECT_RETRIES times (a wrong PERSPECTIVE_API_URL is said within seconds), then the run
stops with a sentence: scores already received are in the cache, so the next run continues. A 400 (text the API cannot
score, such as an unsupported language) gives None, which the fork also recorded (its scorer returned None on any
error; we retry the transient ones instead). The key is sent in the `X-Goog-Api-Key` header (never in a URL, which
HTTP libraries log) and never printed; the HTTP libraries' loggers are held at WARNING (settings.quiet_libraries).
"""
from __future__ import annotations

import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ...base.errors import ArtifactError
from ...base.settings import quiet_libraries
from . import Scorer

URL = "https://commentanalyzer.googleapis.com"
MAX_RETRY_AFTER = 300  # seconds: a longer Retry-After (100000 was seen) is waited this long, and said
CONNECT_RETRIES = 2  # a refused connection is tried this many more times (1 s, 2 s apart), then the run stops
ATTRIBUTES = ("TOXICITY", "SEVERE_TOXICITY", "SEXUALLY_EXPLICIT", "THREAT", "PROFANITY", "IDENTITY_ATTACK")


def probability(r) -> float:
    """TOXICITY's summary score from a 200 answer, checked where it enters: a number in [0, 1], or one sentence
    naming the service (a broken or hostile endpoint's 7.5 once became a toxicity score of -650)."""
    import math
    try:
        value = r.json()["attributeScores"]["TOXICITY"]["summaryScore"]["value"]
    except ValueError:
        raise ArtifactError(f"the Perspective API answered something that is not JSON ({r.text[:60]!r}); check "
                            "PERSPECTIVE_API_URL (scores so far are cached, a rerun continues)") from None
    except (KeyError, TypeError):
        raise ArtifactError("the Perspective API answered with no TOXICITY summary score; check PERSPECTIVE_API_URL "
                            "(scores so far are cached, a rerun continues)") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value) or not 0 <= value <= 1:
        raise ArtifactError(f"the Perspective API answered a TOXICITY of {value!r}, not a probability in [0, 1]; "
                            "check PERSPECTIVE_API_URL (scores so far are cached, a rerun continues)")
    return float(value)


class Perspective(Scorer):
    name = "perspective"
    comparable = True
    chunk = 16  # texts per cache write: a failure loses at most this many answers

    def __init__(self, settings, workers: int = 4, retries: int = 8, backoff: float = 1.0):
        if not settings.perspective_key:
            raise ArtifactError("the Perspective API needs a key: set PERSPECTIVE_API_KEY (Google closes the API on "
                                "2026-12-31), or choose TOXICITY_SCORER=toxic-bert or profanity")
        quiet_libraries()  # a dependency's logging.basicConfig(level=INFO) would otherwise log every request
        self.key, self.qps = settings.perspective_key, max(settings.perspective_qps, 1e-3)
        self.url = (settings.perspective_url or URL).rstrip("/") + "/v1alpha1/comments:analyze"
        self.workers, self.retries, self.backoff = workers, retries, backoff
        self._lock, self._next = threading.Lock(), 0.0

    @property
    def id(self) -> str:
        return "perspective-v1alpha1-TOXICITY"

    def _pace(self) -> None:
        with self._lock:
            now = time.monotonic()
            wait = self._next - now
            self._next = max(now, self._next) + 1.0 / self.qps
        if wait > 0:
            time.sleep(wait)

    def _one(self, client, text: str) -> float | None:
        import httpx
        body = {"comment": {"text": text}, "languages": ["en"], "spanAnnotations": False,
                "requestedAttributes": {a: {} for a in ATTRIBUTES}}
        unreachable = 0
        for attempt in range(self.retries + 1):
            self._pace()
            try:
                r = client.post(self.url, headers={"X-Goog-Api-Key": self.key}, json=body)
            except httpx.ConnectError as e:  # refused, no route, no such host: no use waiting minutes for it
                unreachable += 1
                if unreachable > CONNECT_RETRIES:
                    raise ArtifactError(f"cannot connect to the Perspective API at {self.url.split('/v1alpha1')[0]} "
                                        f"({type(e).__name__}); check PERSPECTIVE_API_URL and the network (scores "
                                        "so far are cached, a rerun continues)") from None
                status, err = None, type(e).__name__
            except Exception as e:  # noqa: BLE001 - timeouts and dropped connections are retried, then one sentence
                status, err = None, type(e).__name__
            else:
                status, err = r.status_code, None
                if status == 200:
                    return probability(r)
                if status == 400:
                    return None
                if status in (401, 403):
                    raise ArtifactError(f"the Perspective API refused the key (HTTP {status}); check "
                                        "PERSPECTIVE_API_KEY and that the API is enabled for its project")
            if status is not None and status != 429 and status < 500:
                raise ArtifactError(f"the Perspective API answered HTTP {status}; scores so far are cached, rerun "
                                    "to continue")
            if attempt < self.retries:
                after = r.headers.get("Retry-After") if status else None
                wait = float(after) if after and after.replace(".", "", 1).isdigit() else self.backoff * 2 ** attempt
                if wait > MAX_RETRY_AFTER:
                    print(f"the Perspective API asked to wait {wait:g} s; waiting {MAX_RETRY_AFTER} s (the cap) "
                          "before retrying", file=sys.stderr)
                time.sleep(min(wait, MAX_RETRY_AFTER))
        advice = "lower PERSPECTIVE_QPS or rerun later" if status == 429 else "rerun later"
        raise ArtifactError(f"the Perspective API kept failing ({err or f'HTTP {status}'}) after {self.retries} "
                            f"retries; scores so far are cached, {advice}")

    def score(self, texts: list[str], progress: bool = False) -> list[float | None]:
        import httpx
        from tqdm import tqdm
        with httpx.Client(timeout=30) as client, ThreadPoolExecutor(self.workers) as pool, \
                tqdm(total=len(texts), desc="perspective", unit="text", disable=not progress, leave=False) as bar:
            futures = [pool.submit(self._one, client, t) for t in texts]
            out = []
            try:
                for f in futures:
                    out.append(f.result())
                    bar.update(1)
            except BaseException:
                for f in futures:
                    f.cancel()
                raise
            return out
