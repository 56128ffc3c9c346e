"""registry_login faults, concurrency, secrecy and the once-per-run verification,
against the real docker-registry and token service (see tests/integration/conftest.py)."""

from __future__ import annotations

import base64
import json
import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from fixtures.registry_env import make_ca
from support.ports import free_port

COLLECTIONS = Path(__file__).resolve().parents[3] / ".tmp" / "collections"


ORIGINAL = {
    "auths": {"keep.example": {"auth": "a2VlcDprZWVw"}},
    "credHelpers": {"gcr.io": "gcloud"},
    "psFormat": "table {{.ID}}",
}


def play(args: dict, name: str = "login", hosts: str = "all") -> str:
    return (
        json.dumps(
            [{"hosts": hosts, "gather_facts": False, "tasks": [{"name": name, "cloud_registry.auth.registry_login": args}]}]
        )
        + "\n"
    )


def fleet(tmp_path: Path, n: int, prefix: str = "h") -> Path:
    inv = tmp_path / f"fleet_{prefix}_{n}.ini"
    lines = ["[fleet]"]
    for i in range(n):
        d = tmp_path / f"{prefix}{i}"
        d.mkdir(exist_ok=True)
        lines.append(f"{prefix}{i} ansible_connection=local cfg={d}/config.json")
    inv.write_text("\n".join(lines) + "\n")
    return inv


def seed(path: Path, content: bytes | None = None) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = content if content is not None else json.dumps(ORIGINAL, indent="\t").encode()
    path.write_bytes(raw)
    path.chmod(0o600)
    return raw


def failures(run) -> dict:
    return {h: r.get("msg", "") for h, r in run.tasks.get("login", {}).items() if r.get("failed")}


# -- bad input / unreachable: clear error, file byte-identical -------------------


def test_wrong_password_fails_every_host_once_and_changes_nothing(playbook, tmp_path, token_registry):
    reg = token_registry
    inv = fleet(tmp_path, 4)
    before = {i: seed(tmp_path / f"h{i}" / "config.json") for i in range(4)}
    start = reg.token_service.stats()["verifications"]
    wrong = "wrong-" + reg.password
    run = playbook(
        play(
            {
                "registry": reg.host,
                "username": reg.username,
                "password": wrong,
                "config_path": "{{ cfg }}",
                "ca_cert": str(reg.ca_path),
            }
        ),
        inventory=inv,
        forks=4,
    )
    assert run.rc != 0
    msgs = failures(run)
    assert set(msgs) == {f"h{i}" for i in range(4)}
    for msg in msgs.values():
        assert reg.host in msg and repr(reg.username) in msg and "401" in msg
        assert wrong not in msg and reg.password not in msg
    for i in range(4):
        assert (tmp_path / f"h{i}" / "config.json").read_bytes() == before[i]
    # one verification for four hosts: the failure is shared too
    assert reg.token_service.stats()["verifications"] - start == 1


@pytest.mark.matrix
def test_unreachable_registry(playbook, tmp_path):
    cfg = tmp_path / "config.json"
    raw = seed(cfg)
    port = free_port()
    run = playbook(
        play(
            {"registry": f"127.0.0.1:{port}", "username": "u", "password": "p-unreachable", "config_path": str(cfg), "timeout": 5}
        )
    )
    assert run.rc != 0
    msg = run.result("login")["msg"]
    assert f"https://127.0.0.1:{port}/v2/" in msg and "cannot reach" in msg
    assert cfg.read_bytes() == raw


class _Broken(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):  # noqa: N802 - http.server API
        body = b'{"errors":[{"code":"UNKNOWN","message":"storage driver: disk full"}]}'
        self.send_response(500)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.mark.parametrize("verify_from", ["controller", "host"])
def test_a_failing_or_stuck_plain_http_registry_is_reported_as_what_it_did(playbook, tmp_path, verify_from):
    """No scheme, loopback: HTTPS is tried first, then plain HTTP. A registry that answers
    500 there is not a "TLS handshake" problem, and one that hangs is named as hanging."""
    cfg = tmp_path / "config.json"
    raw = seed(cfg)
    broken = ThreadingHTTPServer(("127.0.0.1", 0), _Broken)
    threading.Thread(target=broken.serve_forever, daemon=True).start()
    stuck = socket.socket()
    stuck.bind(("127.0.0.1", 0))
    stuck.listen(16)  # accepts (the kernel does), never answers
    try:
        args = {"username": "u", "password": "p-broken", "config_path": str(cfg), "timeout": 2, "verify_from": verify_from}
        run = playbook(play(dict(args, registry=f"127.0.0.1:{broken.server_address[1]}")))
        msg = run.result("login")["msg"]
        assert run.rc != 0 and "answered HTTP 500: UNKNOWN: storage driver: disk full" in msg, msg
        assert "TLS" not in msg and "check its logs" in msg
        run = playbook(play(dict(args, registry=f"127.0.0.1:{stuck.getsockname()[1]}")))
        msg = run.result("login")["msg"]
        assert run.rc != 0 and "did not answer within 2 seconds, over HTTPS nor plain HTTP" in msg, msg
        assert "TLS" not in msg
    finally:
        broken.shutdown()
        broken.server_close()
        stuck.close()
    assert cfg.read_bytes() == raw


def test_bad_ca(playbook, tmp_path, htpasswd_registry):
    reg = htpasswd_registry
    other = make_ca(tmp_path / "other-ca", name="some-other-ca")
    cfg = tmp_path / "config.json"
    raw = seed(cfg)
    run = playbook(
        play(
            {
                "registry": reg.host,
                "username": reg.username,
                "password": reg.password,
                "config_path": str(cfg),
                "ca_cert": str(other.cert_path),
            }
        )
    )
    assert run.rc != 0
    msg = run.result("login")["msg"]
    assert "could not be verified" in msg and str(other.cert_path) in msg and reg.host in msg
    assert reg.password not in msg
    assert cfg.read_bytes() == raw


@pytest.mark.parametrize(
    "case",
    ["malformed_json", "directory", "unknown_helper", "auths_not_object", "bad_registry_name"],
)
def test_bad_input_changes_nothing(playbook, tmp_path, htpasswd_registry, case):
    reg = htpasswd_registry
    cfg = tmp_path / "config.json"
    args = {
        "registry": reg.host,
        "username": reg.username,
        "password": reg.password,
        "config_path": str(cfg),
        "ca_cert": str(reg.ca_path),
    }
    expect = []
    if case == "malformed_json":
        raw = seed(cfg, b'{"auths": {"x": {"auth": "eDp5"}},,}')
        expect = [str(cfg), "not valid JSON"]
    elif case == "directory":
        cfg.mkdir()
        (cfg / "inside").write_text("x")
        raw = None
        expect = [str(cfg), "directory"]
    elif case == "unknown_helper":
        raw = seed(cfg)
        args["store"] = "nosuchhelper"
        expect = ["docker-credential-nosuchhelper", "not installed"]
    elif case == "auths_not_object":
        raw = seed(cfg, b'{"auths": ["a", "b"]}')
        expect = [str(cfg), "auths"]
    else:
        raw = seed(cfg)
        args["registry"] = "bad host name!/x"
        expect = ["bad host name!"]
    run = playbook(play(args))
    assert run.rc != 0
    msg = run.result("login")["msg"]
    for e in expect:
        assert e in msg, msg
    assert reg.password not in msg
    if raw is None:
        assert cfg.is_dir() and sorted(p.name for p in cfg.iterdir()) == ["inside"]
    else:
        assert cfg.read_bytes() == raw


# -- atomicity and locking ------------------------------------------------------

WRITER = textwrap.dedent(
    r"""
    import sys
    sys.path.insert(0, sys.argv[1])
    from ansible_collections.cloud_registry.auth.plugins.module_utils.login import login
    path = sys.argv[2]
    i = 0
    while True:
        login(path, "registry.example.test:5000", "writer", "secret-%d" % (i % 2), store="file")
        i += 1
        sys.stdout.write("%d\n" % i)
        sys.stdout.flush()
    """
)


def test_sigkill_mid_write_leaves_old_or_new_file(tmp_path):
    cfg = tmp_path / "config.json"
    big = {
        "auths": {f"r{i}.example.test": {"auth": base64.b64encode(f"u{i}:p{i}".encode()).decode()} for i in range(20000)},
        "psFormat": "keep",
    }
    cfg.write_text(json.dumps(big))
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    allowed = {base64.b64encode(f"writer:secret-{i}".encode()).decode() for i in (0, 1)}
    rng = random.Random(1234)
    kills = 0
    writes = 0
    for _unused in range(12):
        proc = subprocess.Popen([sys.executable, str(script), str(COLLECTIONS), str(cfg)], stdout=subprocess.PIPE, text=True)
        proc.stdout.readline()  # one write completed: the next ones are under way
        time.sleep(rng.random() * 0.3)  # kill somewhere inside a later write
        proc.send_signal(signal.SIGKILL)
        writes += len(proc.stdout.read().split()) + 1
        proc.wait()
        kills += 1
        data = json.loads(cfg.read_text())  # always complete JSON
        assert data["psFormat"] == "keep"
        assert len(data["auths"]) in (20000, 20001)
        entry = data["auths"].get("registry.example.test:5000")
        assert entry is None or entry["auth"] in allowed
    assert kills == 12 and writes >= 12
    assert json.loads(cfg.read_text())["auths"]["registry.example.test:5000"]["auth"] in allowed


@pytest.mark.matrix
def test_twenty_concurrent_runs_on_one_file_lose_nothing(playbook, tmp_path):
    cfg = tmp_path / "shared" / "config.json"
    seed(cfg)
    inv = tmp_path / "twenty.ini"
    inv.write_text("[fleet]\n" + "".join(f"w{i} ansible_connection=local\n" for i in range(20)))
    run = playbook(
        play(
            {
                "registry": "reg{{ inventory_hostname[1:] }}.example.test:5000",
                "username": "u",
                "password": "p-{{ inventory_hostname }}",
                "verify": False,
                "config_path": str(cfg),
            }
        ),
        inventory=inv,
        forks=20,
    )
    assert run.rc == 0, run.output
    data = json.loads(cfg.read_text())
    for i in range(20):
        auth = data["auths"][f"reg{i}.example.test:5000"]["auth"]
        assert base64.b64decode(auth).decode() == f"u:p-w{i}"
    assert data["auths"]["keep.example"] == ORIGINAL["auths"]["keep.example"]
    assert data["credHelpers"] == ORIGINAL["credHelpers"] and data["psFormat"] == ORIGINAL["psFormat"]
    assert all(r["verified"] is False for r in run.tasks["login"].values())


# -- secrets never shown --------------------------------------------------------


def test_no_secret_in_vvvv_output(playbook, tmp_path, htpasswd_registry, token_registry):
    pw_file = tmp_path / "pw"
    pw_file.write_text(token_registry.password + "\n")
    wrong = "wrong-" + htpasswd_registry.password
    tasks = []
    for reg, extra in (
        (htpasswd_registry, {"password": htpasswd_registry.password}),
        (token_registry, {"password_file": str(pw_file)}),
        (htpasswd_registry, {"password": htpasswd_registry.password, "format": "containers", "verify_from": "host"}),
    ):
        args = {
            "registry": reg.host,
            "username": reg.username,
            "config_path": str(tmp_path / "c" / "config.json"),
            "ca_cert": str(reg.ca_path),
        }
        if extra.get("format"):
            args["config_path"] = str(tmp_path / "c" / "auth.json")
        args.update(extra)
        tasks.append({"name": f"login {len(tasks)}", "cloud_registry.auth.registry_login": args})
    tasks.append(
        {
            "name": "wrong",
            "ignore_errors": True,
            "cloud_registry.auth.registry_login": {
                "registry": htpasswd_registry.host,
                "username": "alice",
                "password": wrong,
                "config_path": str(tmp_path / "c" / "config.json"),
                "ca_cert": str(htpasswd_registry.ca_path),
            },
        }
    )
    pb = json.dumps([{"hosts": "all", "gather_facts": False, "tasks": tasks}]) + "\n"
    runs = [
        playbook(pb, verbosity=4, diff=True, json_output=False),
        playbook(pb, verbosity=4, diff=True, check=True, json_output=False),
    ]
    written = (tmp_path / "c" / "config.json").read_text()
    token = json.loads(written)["auths"][token_registry.host]["identitytoken"]
    secrets_ = {
        htpasswd_registry.password,
        token_registry.password,
        wrong,
        token,
        base64.b64encode(f"alice:{htpasswd_registry.password}".encode()).decode(),
        base64.b64encode(f"alice:{token_registry.password}".encode()).decode(),
    }
    for r in runs:
        assert "changed" in r.output or "ok:" in r.output
        assert "401" in r.output  # the failing task ran and said why
        for s in secrets_:
            assert s not in r.output
    assert "ok=" in runs[0].output and "failed=0" in runs[0].output  # ignore_errors counted as ignored


# -- once per credential per run ------------------------------------------------


@pytest.mark.slow
def test_one_verification_per_credential_whatever_the_hosts(playbook, tmp_path, htpasswd_registry, token_registry):
    inv = fleet(tmp_path, 24)
    tasks = []
    for reg in (htpasswd_registry, token_registry):
        tasks.append(
            {
                "name": f"login {reg.auth}",
                "cloud_registry.auth.registry_login": {
                    "registry": reg.host,
                    "username": reg.username,
                    "password": reg.password,
                    "config_path": "{{ cfg }}",
                    "ca_cert": str(reg.ca_path),
                },
            }
        )
    pb = json.dumps([{"hosts": "all", "gather_facts": False, "tasks": tasks}]) + "\n"
    h0, t0 = htpasswd_registry.verifications(), token_registry.verifications()
    run = playbook(pb, inventory=inv, forks=8)
    assert run.rc == 0, run.output
    assert len(run.tasks["login htpasswd"]) == 24 and len(run.tasks["login token"]) == 24
    assert htpasswd_registry.verifications() - h0 == 1
    assert token_registry.verifications() - t0 == 1
    # all hosts got the same identity token from that one verification
    tokens = {
        json.loads((tmp_path / f"h{i}" / "config.json").read_text())["auths"][token_registry.host]["identitytoken"]
        for i in range(24)
    }
    assert len(tokens) == 1
    # a second run: still one verification; each host checks the token it keeps from
    # there (the token never travels back to the controller): one refresh-token check a host
    r0 = token_registry.token_service.stats()["refreshes"]
    again = playbook(pb, inventory=inv, forks=8)
    assert again.rc == 0 and not any(r["changed"] for r in again.tasks["login token"].values())
    assert token_registry.verifications() - t0 == 2
    assert token_registry.token_service.stats()["refreshes"] - r0 == 24
    # the counter is real: verify_from=host makes every host verify
    inv5 = fleet(tmp_path, 5, prefix="v")
    host_pb = play(
        {
            "registry": htpasswd_registry.host,
            "username": htpasswd_registry.username,
            "password": htpasswd_registry.password,
            "config_path": "{{ cfg }}",
            "ca_cert": str(htpasswd_registry.ca_path),
            "verify_from": "host",
        }
    )
    h1 = htpasswd_registry.verifications()
    assert playbook(host_pb, inventory=inv5, forks=5).rc == 0
    assert htpasswd_registry.verifications() - h1 == 5


def test_run_cache_leaves_no_plain_secret(playbook, tmp_path, token_registry):
    """The controller's run cache holds no readable secret and is private."""
    tmpdir = tmp_path / "ctrl-tmp"
    tmpdir.mkdir()
    reg = token_registry
    run = playbook(
        play(
            {
                "registry": reg.host,
                "username": reg.username,
                "password": reg.password,
                "config_path": str(tmp_path / "config.json"),
                "ca_cert": str(reg.ca_path),
            }
        ),
        env={"TMPDIR": str(tmpdir)},
    )
    assert run.rc == 0, run.output
    token = json.loads((tmp_path / "config.json").read_text())["auths"][reg.host]["identitytoken"]
    base = tmpdir / f"cloud_registry_auth-{os.getuid()}"
    assert oct(base.stat().st_mode & 0o777) == "0o700"
    files = [p for p in base.rglob("*") if p.is_file()]
    assert files
    for p in files:
        body = p.read_bytes()
        assert reg.password.encode() not in body and token.encode() not in body
        assert reg.password not in p.name and reg.username not in p.name
        assert oct(p.stat().st_mode & 0o777) == "0o600"


def test_spellings_of_one_registry_share_one_verification(playbook, tmp_path, htpasswd_registry):
    """``host:port``, ``https://host:port/`` and ``HOST:port/v2/`` are one registry: hosts that
    spell it differently share one verification; an explicit ``http://`` is another endpoint."""
    reg = htpasswd_registry
    spellings = [reg.host, f"https://{reg.host}/", f"{reg.host.upper()}/v2/", f"https://{reg.host}"]
    lines = ["[all]"] + [
        f"s{i} ansible_connection=local cfg={tmp_path / f's{i}' / 'config.json'} spelled='{s}'" for i, s in enumerate(spellings)
    ]
    (tmp_path / "spell.ini").write_text("\n".join(lines) + "\n")
    pb = play(
        {
            "registry": "{{ spelled }}",
            "username": reg.username,
            "password": reg.password,
            "config_path": "{{ cfg }}",
            "ca_cert": str(reg.ca_path),
        }
    )
    before = reg.verifications()
    run = playbook(pb, inventory=tmp_path / "spell.ini", forks=4)
    assert run.rc == 0, run.output
    assert reg.verifications() - before == 1
    for i in range(len(spellings)):
        assert list(json.loads((tmp_path / f"s{i}" / "config.json").read_text())["auths"]) == [reg.host]
