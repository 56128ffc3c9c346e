"""module_utils/tokens/_http: the token providers' HTTP client.

The URL policy (https, plain http only on loopback with allow_http, metadata endpoints),
messages that never carry a query string, credentials or a token, and the request path
against a server on 127.0.0.1 (status handling, unreachable and silent endpoints, a CA
file that cannot be read). Redirects are covered with the verification client in
test_distribution.py.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens import _http
from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens.base import TokenError

TOKEN = "eyJ-not-a-real-token-" + "z" * 20


@pytest.mark.parametrize(
    "url, kw",
    [
        ("https://login.example/oauth2/token", {}),
        ("http://127.0.0.1:8080/token", {"allow_http": True}),
        ("http://[::1]:8080/token", {"allow_http": True}),
        ("http://localhost/token", {"allow_http": True}),
        ("http://169.254.169.254/metadata/identity/oauth2/token", {"metadata": True}),
        ("http://100.100.100.200/latest/meta-data/ram/security-credentials/", {"metadata": True}),
        ("http://127.0.0.1:41234/msi/token", {"metadata": True}),  # App Service's loopback identity endpoint
    ],
)
def test_accepted_urls(url, kw):
    assert _http.check_url(url, "p", **kw) == url


@pytest.mark.parametrize(
    "url, kw, match",
    [
        ("ftp://host/x", {}, "'ftp://host/x' is not an http\\(s\\) URL; give a URL such as"),
        ("https:///no-host", {}, "'https:///no-host' is not an http\\(s\\) URL"),
        ("http://login.example/token", {}, "refusing plain http for login.example; use https, or set allow_http"),
        ("http://10.0.0.5/token", {"allow_http": True}, "allow_http accepts only loopback hosts .* not 10.0.0.5"),
        ("http://10.0.0.5/metadata", {"metadata": True}, "refusing plain http"),
    ],
)
def test_refused_urls_name_the_fix(url, kw, match):
    with pytest.raises(TokenError, match="registry_token provider=p: " + match):
        _http.check_url(url, "p", **kw)


def test_describe_drops_query_and_credentials():
    text = _http.describe("https://user:pw@login.example:8443/tenant/token?client_secret=" + TOKEN)
    assert text == "https://login.example:8443/tenant/token"
    assert _http.describe("http://[::1]:80/x?y=1") == "http://[::1]:80/x"


class _Handler(BaseHTTPRequestHandler):
    routes: dict = {}

    def log_message(self, *args):
        pass

    def do_POST(self):  # noqa: N802 - http.server's naming
        self.do_GET()

    def do_GET(self):  # noqa: N802
        status, body = self.routes.get(self.path.split("?")[0], (404, b'{"error": "not_found"}'))
        if status == "silent":
            threading.Event().wait(3)
            return
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def server():
    _Handler.routes = {
        "/ok": (200, json.dumps({"access_token": TOKEN}).encode()),
        "/denied": (401, json.dumps({"error": "invalid_client", "access_token": TOKEN}).encode()),
        "/html": (200, b"<html>hello</html>"),
        "/silent": ("silent", b""),
    }
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d" % srv.server_address[1]
    srv.shutdown()
    srv.server_close()


def test_request_ok_and_json_body(server):
    res = _http.request("POST", server + "/ok", "p", form={"grant_type": "client_credentials"}, allow_http=True)
    assert res.status == 200 and _http.json_body("p", server + "/ok", res) == {"access_token": TOKEN}


def test_a_refused_status_names_provider_endpoint_and_fix_not_the_query_or_token(server):
    with pytest.raises(TokenError) as err:
        _http.request("POST", server + "/denied?client_secret=" + TOKEN, "azure", allow_http=True)
    msg = str(err.value)
    assert msg.startswith("registry_token provider=azure: POST %s/denied returned HTTP 401 (error=invalid_client)" % server)
    assert "check the credentials" in msg and TOKEN not in msg


def test_ok_none_hands_any_status_to_the_caller(server):
    assert _http.request("GET", server + "/nowhere", "p", allow_http=True, ok=None).status == 404


def test_a_body_that_is_not_json_is_named(server):
    res = _http.request("GET", server + "/html", "p", allow_http=True)
    with pytest.raises(TokenError, match="did not return JSON \\(HTTP 200\\); check the endpoint URL"):
        _http.json_body("p", server + "/html", res)


def test_unreachable_and_silent_endpoints(server):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]  # bound, never listening: connection refused
        with pytest.raises(TokenError, match="cannot reach http://127.0.0.1:%d/token .*check the endpoint URL" % closed):
            _http.request("GET", "http://127.0.0.1:%d/token" % closed, "p", allow_http=True, timeout=5)
    with pytest.raises(TokenError, match="did not answer within 1s; check the endpoint or raise timeout"):
        _http.request("GET", server + "/silent", "p", allow_http=True, timeout=1)


def test_an_unreadable_ca_file_is_named(tmp_path):
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    with pytest.raises(TokenError, match="cannot load ca_path %s.*give a PEM file" % bad):
        _http.request("GET", "https://127.0.0.1:1/token", "p", ca_path=str(bad))
