"""Toxicity scorers: the Perspective client against a loopback server speaking its API, the offline profanity
model on real RealToxicityPrompts texts, and the open-classifier loader on a tiny classifier built in code."""
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from artifact.base.errors import ArtifactError, FileFormatError
from artifact.evaluate import scorers
from artifact.evaluate.data import read_jsonl
from artifact.evaluate.scorers.perspective import ATTRIBUTES

from tests.helpers.evaldata import subset

KEY = "AIzaTESTkeyNEVERprinted"


class FakePerspective:
    """commentanalyzer v1alpha1 comments:analyze: TOXICITY = number of '!' / 10; 429 (with Retry-After) for the
    first `throttle` calls; 400 for texts containing 'xx-lang'; `fail_after` calls answer 500 forever."""

    def __init__(self, throttle=0, fail_after=None, answer=None, retry_after="0"):
        self.throttle, self.fail_after, self.calls, self.bodies, self.query_keys = throttle, fail_after, 0, [], 0
        self.answer, self.retry_after = answer, retry_after  # a hostile 200 body (bytes); the 429's Retry-After
        self.lock = threading.Lock()  # one lock for all handler threads: the call count decides throttling
        state = self

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                url = urlparse(self.path)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with state.lock:
                    state.calls += 1
                    n = state.calls
                state.bodies.append(body)
                state.query_keys += bool(parse_qs(url.query).get("key"))  # a key in the URL would be logged
                if url.path != "/v1alpha1/comments:analyze" or self.headers.get("X-Goog-Api-Key") != KEY:
                    return self._reply(403, {"error": {"message": "API key not valid"}})
                if n <= state.throttle:
                    return self._reply(429, {"error": {"message": "Quota exceeded"}},
                                       {"Retry-After": state.retry_after})
                if state.fail_after is not None and n > state.fail_after:
                    return self._reply(500, {"error": {"message": "backend error"}})
                text = body["comment"]["text"]
                if "xx-lang" in text:
                    return self._reply(400, {"error": {"message": "language not supported"}})
                if state.answer is not None:
                    return self._reply(200, None, raw=state.answer)
                v = min(text.count("!") / 10, 1.0)
                self._reply(200, {"attributeScores": {a: {"summaryScore": {"value": v, "type": "PROBABILITY"}}
                                                      for a in body["requestedAttributes"]}, "languages": ["en"]})

            def _reply(self, code, obj, headers=None, raw=None):
                data = raw if raw is not None else json.dumps(obj).encode()
                self.send_response(code)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def api():
    servers = []

    def make(**kw):
        servers.append(FakePerspective(**kw))
        return servers[-1]
    yield make
    for s in servers:
        s.close()


def settings_for(make_settings, server, key=KEY):
    return make_settings(PERSPECTIVE_API_KEY=key or "", PERSPECTIVE_API_URL=server.url, PERSPECTIVE_QPS="1000")


def test_perspective_request_format_backoff_and_unscorable_texts(api, make_settings):
    server = api(throttle=3)
    p = scorers.get("perspective", settings_for(make_settings, server))
    p.backoff = 0.01
    assert p.score(["fine", "bad!!!", "xx-lang text"]) == [0.0, 0.3, None]
    body = server.bodies[-1]
    assert body["languages"] == ["en"] and set(body["requestedAttributes"]) == set(ATTRIBUTES)
    assert server.calls == 3 + 3  # three throttled answers were retried


@pytest.mark.fault
def test_perspective_errors_are_sentences_without_the_key(api, make_settings):
    server = api()
    with pytest.raises(ArtifactError, match="refused the key") as e:
        scorers.get("perspective", settings_for(make_settings, server, key="wrong")).score(["x"])
    assert "wrong" not in str(e.value)
    with pytest.raises(ArtifactError, match="needs a key: set PERSPECTIVE_API_KEY"):
        scorers.get("perspective", make_settings())


def _toxicity(v) -> bytes:
    return json.dumps({"attributeScores": {"TOXICITY": {"summaryScore": {"value": v, "type": "PROBABILITY"}}}}).encode()


@pytest.mark.fault
@pytest.mark.parametrize("answer, says", [
    (_toxicity(7.5), "7.5, not a probability"), (_toxicity(-3), "-3, not a probability"),
    (b'{"attributeScores": {"TOXICITY": {"summaryScore": {"value": NaN}}}}', "nan, not a probability"),
    (_toxicity("high"), "'high', not a probability"), (_toxicity(True), "True, not a probability"),
    (b"{}", "no TOXICITY summary score"), (b"<html>maintenance</html>", "not JSON")])
def test_a_perspective_answer_that_is_not_a_probability_is_refused_where_it_enters(api, make_settings, answer, says):
    """The API's value is a probability: 7.5 became a toxicity score of -650 before. Checked as it arrives, in one
    sentence naming the service, before anything is cached or scored."""
    server = api(answer=answer)
    with pytest.raises(ArtifactError, match=f"the Perspective API answered .*{re.escape(says)}"):
        scorers.get("perspective", settings_for(make_settings, server)).score(["some text"])


@pytest.mark.fault
def test_a_huge_retry_after_is_capped_and_said(api, make_settings, monkeypatch, capsys):
    from artifact.evaluate.scorers import perspective
    server = api(throttle=1, retry_after="100000")
    slept = []
    monkeypatch.setattr(perspective.time, "sleep", slept.append)
    assert scorers.get("perspective", settings_for(make_settings, server)).score(["fine"]) == [0.0]
    assert max(slept) == perspective.MAX_RETRY_AFTER < 100000
    assert "asked to wait 100000 s; waiting 300 s" in capsys.readouterr().err


@pytest.mark.fault
def test_a_closed_endpoint_is_said_in_seconds_not_retried_for_minutes(make_settings):
    import socket
    import time
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    p = scorers.get("perspective", make_settings(PERSPECTIVE_API_KEY=KEY, PERSPECTIVE_API_URL=f"http://127.0.0.1:{port}",
                                                 PERSPECTIVE_QPS="1000"))
    p.backoff = 0.01
    t0 = time.monotonic()
    with pytest.raises(ArtifactError, match=rf"cannot connect to the Perspective API at http://127.0.0.1:{port}.*"
                                            "PERSPECTIVE_API_URL") as e:
        p.score(["x"])
    assert time.monotonic() - t0 < 10 and "QPS" not in str(e.value) and KEY not in str(e.value)


@pytest.mark.fault
def test_the_key_is_in_no_log_url_or_file_even_with_info_logging(api, make_settings, tmp_path, caplog, capfd,
                                                                  monkeypatch):
    import logging
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", list(root.handlers))  # the handler basicConfig adds goes with the test
    monkeypatch.setattr(root, "level", root.level)
    logging.basicConfig(level=logging.INFO)  # what gptqmodel's tokenicer does at import
    caplog.set_level(logging.DEBUG)  # the root logger at its most talkative: the libraries' own level must hold
    server = api()
    p = scorers.get("perspective", settings_for(make_settings, server))
    got = scorers.rate(["a!", "b"], p, tmp_path / "cache")
    assert got["a!"] == pytest.approx(0.1) and server.query_keys == 0  # sent in the header, never in the URL
    out, err = capfd.readouterr()
    files = "".join(f.read_text(errors="replace") for f in tmp_path.rglob("*") if f.is_file())
    assert KEY not in caplog.text + out + err + files
    assert not any(r.name.startswith(("httpx", "httpcore")) and r.levelno < logging.WARNING for r in caplog.records)


@pytest.mark.fault
def test_a_failed_scoring_run_resumes_from_the_cache(api, make_settings, tmp_path):
    texts = [f"text {i}" + "!" * (i % 10) for i in range(40)]
    broken = api(fail_after=20)
    p = scorers.get("perspective", settings_for(make_settings, broken))
    p.retries, p.backoff, p.workers = 1, 0.0, 1
    with pytest.raises(ArtifactError, match="kept failing .*scores so far are cached"):
        scorers.rate(texts, p, tmp_path / "cache")
    cached = scorers.Cache(tmp_path / "cache", p.id).scores
    assert len(cached) == 16  # one chunk of 16 answers was written before the server broke
    healthy = api()
    p2 = scorers.get("perspective", settings_for(make_settings, healthy))
    got = scorers.rate(texts + ["", "text 1!"], p2, tmp_path / "cache")
    assert healthy.calls == 40 - 16  # nothing scored twice
    assert got["text 3!!!"] == pytest.approx(0.3) and got[""] is None and len(got) == 41


def test_profanity_scorer_ranks_real_toxic_continuations_above_benign_ones():
    rows = read_jsonl(subset(), "toxicity/user_prompts/toxic.jsonl")
    hi = [r["continuation"]["text"] for r in rows if (r["continuation"]["toxicity"] or 0) > 0.9][:20]
    lo = [r["continuation"]["text"] for r in rows if (r["continuation"]["toxicity"] or 1) < 0.1][:20]
    assert len(hi) == 20 and len(lo) == 20
    s = scorers.get("profanity", None)
    assert s.id.startswith("profanity-alt-profanity-check-1.9.1") and not s.comparable
    a, b = s.score(hi), s.score(lo)
    assert all(0 <= x <= 1 for x in a + b)
    assert sum(a) / 20 > sum(b) / 20 + 0.3  # a proxy, but it must separate the two ends of Perspective's scale


def test_default_scorer_choice(make_settings):
    assert scorers.get(None, make_settings()).name == "profanity"
    assert scorers.get(None, make_settings(PERSPECTIVE_API_KEY="k")).name == "perspective"
    with pytest.raises(ArtifactError, match="unknown toxicity scorer 'detox'"):
        scorers.get("detox", make_settings())


def test_open_classifier_is_verified_then_scores(make_settings, tmp_path, smol_base):
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    from artifact.evaluate.scorers.classifier import record
    folder = tmp_path / "toxic-bert"
    torch.manual_seed(0)
    config = BertConfig(vocab_size=49152, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, num_labels=2, id2label={0: "toxic", 1: "insult"},
                        label2id={"toxic": 0, "insult": 1}, problem_type="multi_label_classification")
    BertForSequenceClassification(config).save_pretrained(folder)
    AutoTokenizer.from_pretrained(smol_base).save_pretrained(folder)
    settings = make_settings(ARTIFACT_TOXICITY_MODEL=str(folder))
    with pytest.raises(ArtifactError, match="toxic-bert.sha256 is missing"):
        scorers.get("toxic-bert", settings)
    record(settings)
    c = scorers.get("toxic-bert", settings)
    assert scorers.get(None, settings).name == "toxic-bert" and c.id.startswith("toxic-bert-")
    a = c.score(["you are awful", "have a nice day", "you are awful"])
    assert len(a) == 3 and all(0 < x < 1 for x in a) and a[0] == pytest.approx(a[2], abs=1e-6)
    with open(folder / "config.json", "a") as f:
        f.write(" ")
    with pytest.raises(FileFormatError, match="does not match toxic-bert.sha256"):
        scorers.get("toxic-bert", settings)
