"""module_utils/distribution.py: the protocol pieces both HTTP clients share, and the one redirect rule, driven
through both clients (registry._Client for verification, tokens._http.request for the token providers) against
loopback servers that redirect."""

from __future__ import annotations

import http.server
import json
import threading

import pytest

from ansible_collections.cloud_registry.auth.plugins.module_utils import distribution, registry
from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens import _http


DENIED_BODY = json.dumps(
    {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}], "token": "never-quoted"}
).encode()


class _Server:
    """Records each request's path and headers; ``/go?to=URL`` redirects (``code``), ``/deny`` answers 401 with
    DENIED_BODY, anything else answers 200."""

    def __init__(self, code=302):
        self.seen = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):
                return

            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                outer.seen.append((self.command, self.path, dict(self.headers)))
                if self.path.startswith("/go?to="):
                    self.send_response(code)
                    self.send_header("Location", self.path[len("/go?to=") :])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                denied = self.path.startswith("/deny")
                body = DENIED_BODY if denied else json.dumps({"token": "t"}).encode()
                self.send_response(401 if denied else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_HEAD = _answer  # noqa: N815

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def servers():
    a, b = _Server(), _Server()
    yield a, b
    a.stop()
    b.stop()


def _via_registry(url, headers, method="GET", data=None):
    status, _h, _body = registry._Client(validate_certs=False).request(url, method=method, headers=headers, data=data)
    return status


def _via_tokens(url, headers, method="GET", data=None):
    return _http.request(method, url, "test", headers=headers, data=data, allow_http=True, ok=None).status


CLIENTS = [_via_registry, _via_tokens]
SECRET_HEADERS = {"Authorization": "Basic c2VjcmV0", "X-Identity-Header": "id-secret", "Metadata": "true"}


@pytest.mark.parametrize("client", CLIENTS)
def test_same_origin_redirect_keeps_the_headers(servers, client):
    a, _b = servers
    assert client(a.url + "/go?to=/final", dict(SECRET_HEADERS)) == 200
    final = a.seen[-1]
    assert final[1] == "/final" and final[2].get("Authorization") == "Basic c2VjcmV0"


@pytest.mark.parametrize("client", CLIENTS)
def test_cross_origin_redirect_carries_no_credential(servers, client):
    a, b = servers
    assert client(a.url + "/go?to=" + b.url + "/elsewhere", dict(SECRET_HEADERS, Accept="application/json")) == 200
    method, path, headers = b.seen[-1]
    assert (method, path) == ("GET", "/elsewhere")
    assert not {"Authorization", "X-Identity-Header", "Metadata"} & set(headers)
    assert headers.get("Accept") == "application/json"
    assert "id-secret" not in json.dumps(b.seen)


@pytest.mark.parametrize("client", CLIENTS)
def test_a_post_is_not_redirected(servers, client):
    a, b = servers
    status = client(
        a.url + "/go?to=" + b.url + "/token",
        {"Content-Type": "application/x-www-form-urlencoded"},
        method="POST",
        data=b"client_secret=s3cret",
    )
    assert status == 302 and b.seen == []


def test_never_from_https_to_http():
    import urllib.request

    handler = distribution.SafeRedirect()
    req = urllib.request.Request("https://registry.example/v2/", headers={"Authorization": "Basic x"})
    assert handler.redirect_request(req, None, 302, "Found", {}, "http://registry.example/v2/") is None
    assert handler.redirect_request(req, None, 302, "Found", {}, "file:///etc/passwd") is None
    kept = handler.redirect_request(req, None, 302, "Found", {}, "https://registry.example/v2/x")
    assert kept is not None and kept.get_header("Authorization") == "Basic x"


def test_protocol_pieces():
    assert distribution.basic_header("u", "p") == "Basic dTpw"
    assert distribution.token_url("https://auth.example/token", "reg", ["repository:a:pull", ""], None, True) == (
        "https://auth.example/token?service=reg&scope=repository%3Aa%3Apull&client_id=cloud_registry.auth&offline_token=true"
    )
    assert distribution.token_url("https://a/t?x=1", None, ()).startswith("https://a/t?x=1&client_id=")
    assert distribution.token_from({"access_token": "a", "refresh_token": ""}) == ("a", None)
    assert distribution.token_from({"token": 5}) == (None, None)
    for host in ("127.0.0.1", "127.0.0.1:5000", "[::1]:443", "::1", "localhost", "x.localhost:80"):
        assert distribution.is_loopback(host), host
    for host in ("10.0.0.1", "example.com", "[2001:db8::1]:5000"):
        assert not distribution.is_loopback(host), host


@pytest.mark.parametrize(
    "body, expected",
    [
        (b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}', "UNAUTHORIZED: authentication required"),
        (
            b'{"errors": [{"code": "A", "message": "1"}, {"code": "B", "message": "2"}, {"code": "C", "message": "3"}, '
            b'{"code": "D", "message": "4"}]}',
            "A: 1; B: 2; C: 3",
        ),
        (b'{"error": "invalid_client", "error_description": "bad secret"}', "error=invalid_client; error_description=bad secret"),
        (b'{"error": {"code": "Unauthorized", "message": "no"}}', "error.code=Unauthorized; error.message=no"),
        (b'{"Code": "InvalidAccessKeyId", "Message": "key not found"}', "Code=InvalidAccessKeyId; Message=key not found"),
        (b"<html>502 Bad Gateway</html>", ""),
        (b'["a list"]', ""),
        (b"", ""),
        (None, ""),
    ],
)
def test_error_summary_keeps_only_error_fields(body, expected):
    assert distribution.error_summary(body) == expected


def test_error_summary_never_quotes_a_token_and_is_bounded():
    token = "eyJ-not-a-real-token-" + "z" * 20
    body = json.dumps({"access_token": token, "refresh_token": token, "token": token, "error": "x"}).encode()
    assert distribution.error_summary(body) == "error=x"
    assert len(distribution.error_summary(json.dumps({"message": "m" * 1000}).encode())) == 300
    assert len(distribution.error_summary(json.dumps({"message": "m" * 1000}).encode(), limit=50)) == 50


def test_both_clients_quote_the_same_summary(servers):
    """One summary for both clients: verification's 401 and a token provider's 401 say the same of one body."""
    a, _b = servers
    with pytest.raises(registry.RegistryError) as reg_err:
        registry.fetch_token(registry._Client(validate_certs=False), a.url + "/deny", "svc", "bob", "pw", registry="reg.example")
    with pytest.raises(_http.TokenError) as tok_err:
        _http.request("GET", a.url + "/deny", "test", allow_http=True)
    for err in (reg_err.value, tok_err.value):
        assert "UNAUTHORIZED: authentication required" in str(err)
        assert "never-quoted" not in str(err)
