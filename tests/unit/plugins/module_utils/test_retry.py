"""module_utils/retry.py, and the clients that use it: bounded attempts, backoff only when asked, the last
attempt's own error at the end; GcpClient.request retries reads (not writes) on 429/5xx and unreachable
endpoints, and renews its token once on 401, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import http.server
import json
import threading

import pytest

from ansible_collections.cloud_registry.auth.plugins.module_utils.gcp_api import GcpApiError, GcpClient
from ansible_collections.cloud_registry.auth.plugins.module_utils.retry import TryAgain, backoff, retrying


def test_returns_the_first_result_and_stops_trying():
    calls = []

    def attempt(n):
        calls.append(n)
        if n < 3:
            raise TryAgain(ValueError("busy"))
        return "done"

    sleeps = []
    assert retrying(attempt, 5, base=0.5, sleep=sleeps.append) == "done"
    assert calls == [1, 2, 3] and sleeps == [0.5, 1.0]


def test_raises_the_last_error_after_the_last_attempt_and_sleeps_only_between():
    sleeps = []

    def attempt(n):
        raise TryAgain(KeyError("attempt %d" % n))

    with pytest.raises(KeyError, match="attempt 4"):
        retrying(attempt, 4, base=1.0, cap=3, sleep=sleeps.append)
    assert sleeps == [1.0, 2.0, 3]  # capped; none after the last attempt


def test_conflicts_retry_at_once_and_other_errors_are_not_retried():
    sleeps, calls = [], []

    def attempt(n):
        calls.append(n)
        raise TryAgain(wait=False)

    with pytest.raises(TryAgain):
        retrying(attempt, 3, base=1.0, sleep=sleeps.append)
    assert calls == [1, 2, 3] and sleeps == []

    def broken(n):
        calls.append(n)
        raise RuntimeError("not a retry")

    calls.clear()
    with pytest.raises(RuntimeError):
        retrying(broken, 3, sleep=sleeps.append)
    assert calls == [1]


def test_backoff_grows_is_capped_and_jitter_stays_within_twice():
    assert [backoff(n, 0.5) for n in (1, 2, 3, 4)] == [0.5, 1.0, 2.0, 4.0]
    assert backoff(10, 1.0, cap=8) == 8
    assert backoff(2, 0.5, jitter=True, rand=lambda: 0.0) == 1.0
    assert backoff(2, 0.5, jitter=True, rand=lambda: 0.999) == pytest.approx(1.999)


class _Scripted(http.server.BaseHTTPRequestHandler):
    """Answers with the next status of the server's script; records method and Authorization."""

    def _answer(self):
        server = self.server
        server.seen.append((self.command, self.headers.get("Authorization")))
        status = server.script.pop(0) if server.script else 200
        error = {"error": {"code": status, "status": "UNAVAILABLE", "message": "try later"}}
        body = json.dumps({"ok": True} if status < 400 else error).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def scripted():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Scripted)
    server.script, server.seen = [], []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _client(url, sleeps, retries=3):
    return GcpClient({"access_token": "ya29.test-token"}, endpoints={"secretmanager": url}, retries=retries, sleep=sleeps.append)


def test_a_read_is_retried_on_503_and_429_with_backoff(scripted):
    scripted.script = [503, 429, 200]
    sleeps = []
    client = _client("http://127.0.0.1:%d" % scripted.server_port, sleeps)
    assert client.request("GET", "secretmanager", "/v1/x") == {"ok": True}
    assert [m for m, _a in scripted.seen] == ["GET"] * 3 and client.calls == 3
    assert sleeps == [1.0, 2.0]


def test_a_read_gives_up_with_the_servers_answer(scripted):
    scripted.script = [503] * 10
    sleeps = []
    client = _client("http://127.0.0.1:%d" % scripted.server_port, sleeps, retries=2)
    with pytest.raises(GcpApiError, match="503"):
        client.request("GET", "secretmanager", "/v1/x", what="read secret x")
    assert len(scripted.seen) == 3 and sleeps == [1.0, 2.0]


def test_a_write_is_never_retried(scripted):
    scripted.script = [503, 200]
    sleeps = []
    client = _client("http://127.0.0.1:%d" % scripted.server_port, sleeps)
    with pytest.raises(GcpApiError, match="503"):
        client.request("POST", "secretmanager", "/v1/x", body={"a": 1})
    assert [m for m, _a in scripted.seen] == ["POST"] and sleeps == []


def test_401_renews_the_token_once(scripted):
    scripted.script = [401, 200]
    client = _client("http://127.0.0.1:%d" % scripted.server_port, [])
    assert client.request("POST", "secretmanager", "/v1/x", body={}) == {"ok": True}
    assert [a for _m, a in scripted.seen] == ["Bearer ya29.test-token"] * 2
    scripted.seen.clear()
    scripted.script = [401, 401, 200]
    with pytest.raises(GcpApiError, match="401"):
        client.request("POST", "secretmanager", "/v1/x", body={})
    assert len(scripted.seen) == 2


def test_an_unreachable_endpoint_is_retried_for_reads_and_named():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Scripted)
    port = server.server_port
    server.server_close()  # nothing listens there now
    sleeps = []
    client = _client("http://127.0.0.1:%d" % port, sleeps, retries=2)
    with pytest.raises(GcpApiError, match=r"cannot reach http://127.0.0.1:%d \(ConnectionError\)" % port):
        client.request("GET", "secretmanager", "/v1/x")
    assert sleeps == [1.0, 2.0]
    sleeps.clear()
    with pytest.raises(GcpApiError, match="cannot reach"):
        client.request("POST", "secretmanager", "/v1/x", body={})
    assert sleeps == []
