"""No secret in any error, whatever a hostile peer sends back, at any verbosity.

Peers that echo the request into their errors: a registry (Basic) and a token service
(Bearer) that put the ``Authorization`` header and the query string into the error
body, and credential helpers that print their input or their record when they fail.
Every derived form of the password (raw, base64 of ``user:password``, JSON-escaped,
URL-encoded) is looked for in the whole ``ansible-playbook -vvvv`` output.
"""

from __future__ import annotations

import base64
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from support.leaks import leaked

USER = "ci-bot"
PASSWORD = 'S3cr3t/with "quotes" & sp@ces+ünï'


def assert_clean(text: str, secret: str = PASSWORD):
    assert leaked(text, secret, user=USER) == [], "a derived form of the secret leaked"


class EchoPeer(BaseHTTPRequestHandler):
    """/v2/ of a registry; mode basic: 401 Basic, and 401 echoing the header to a login.
    mode bearer: 401 Bearer realm=/token; the realm answers 401 echoing header and query."""

    mode = "basic"

    def log_message(self, *a):
        pass

    def _send(self, code, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # noqa: N802 - http.server API
        auth = self.headers.get("Authorization", "")
        host = self.headers.get("Host")
        if self.path.startswith("/v2/"):
            if self.mode == "basic":
                challenge = ("WWW-Authenticate", 'Basic realm="echo"')
                msg = f"authentication required; you sent: {auth}" if auth else "authentication required"
                self._send(401, {"errors": [{"code": "UNAUTHORIZED", "message": msg}]}, [challenge])
            else:
                challenge = ("WWW-Authenticate", f'Bearer realm="http://{host}/token",service="echo"')
                self._send(401, {"errors": [{"code": "UNAUTHORIZED", "message": "token required"}]}, [challenge])
            return
        if self.path.startswith("/token"):
            self._send(
                401,
                {
                    "error": "invalid_grant",
                    "error_description": f"denied {auth} for {self.path}",
                    "details": f"raw: {base64.b64decode(auth.split()[-1]).decode(errors='replace')}",
                },
            )
            return
        self._send(404, {"errors": [{"code": "NOT_FOUND", "message": self.path}]})


@pytest.fixture(params=["basic", "bearer"])
def echo_registry(request):
    handler = type("Handler", (EchoPeer,), {"mode": request.param})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def play(module_args: dict, verify_from: str = "controller") -> str:
    args = dict(module_args, verify_from=verify_from)
    return (
        json.dumps(
            [{"hosts": "all", "gather_facts": False, "tasks": [{"name": "login", "cloud_registry.auth.registry_login": args}]}]
        )
        + "\n"
    )


@pytest.mark.matrix
@pytest.mark.parametrize("verify_from", ["controller", "host"])
def test_an_echoing_registry_or_token_service_leaks_nothing(playbook, tmp_path, echo_registry, verify_from):
    cfg = tmp_path / "config.json"
    args = {"registry": echo_registry, "username": USER, "password": PASSWORD, "config_path": str(cfg)}
    for env in ({}, {"ANSIBLE_DEBUG": "1"}):
        run = playbook(play(args, verify_from), verbosity=4, json_output=False, env=env)
        assert run.rc != 0
        assert "failed" in run.output and "401" in run.output, run.output[-2000:]
        assert_clean(run.output)
    assert not cfg.exists()


def _helper(tmp_path, body: str):
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    helper = bindir / "docker-credential-echo"
    helper.write_text("#!/bin/sh\n" + body)
    helper.chmod(0o755)
    return bindir


@pytest.mark.parametrize(
    "script",
    [
        # store: prints what it was given (the JSON record, password JSON-escaped) and fails
        'case "$1" in store) cat; echo; exit 1;; get) echo "credentials not found in native keychain"; exit 1;; esac\n',
        # get: prints a stored record on its error path
        'case "$1" in get) cat >/dev/null; printf \'{"Username":"ci-bot","Secret":"%s"}\' "$ECHO_SECRET"; exit 1;; '
        "store) exit 1;; esac\n",
    ],
)
def test_helpers_that_echo_their_input_or_record_leak_nothing(playbook, tmp_path, script):
    bindir = _helper(tmp_path, script)
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"credHelpers": {"registry.example.com": "echo"}}))
    args = {"registry": "registry.example.com", "username": USER, "password": PASSWORD, "config_path": str(cfg), "verify": False}
    env = {"PATH": f"{bindir}:{os.environ['PATH']}", "ECHO_SECRET": PASSWORD}
    run = playbook(play(args), verbosity=4, json_output=False, env=env)
    assert run.rc != 0 and "docker-credential-echo" in run.output, run.output[-2000:]
    assert_clean(run.output)
