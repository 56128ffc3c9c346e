"""Unit tests for module_utils/login.py: what a login/logout writes, idempotency rules,
identity tokens, check mode, errors. Files only (tmp_path); no network, no helper."""

from __future__ import annotations

import base64
import json
import os

import pytest

from ansible_collections.cloud_registry.auth.plugins.module_utils import login as lg
from ansible_collections.cloud_registry.auth.plugins.module_utils.docker_config import MASK


def b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


def read(p):
    return json.loads(p.read_text())


def test_login_writes_inline_then_is_idempotent(tmp_path):
    cfg = tmp_path / "d" / "config.json"
    out = lg.login(str(cfg), "https://Reg.Example:5000/v2/", "bob", "pw1", store="file")
    assert out.changed and out.key == "reg.example:5000" and out.store == "file"
    assert read(cfg) == {"auths": {"reg.example:5000": {"auth": b64("bob:pw1")}}}
    assert oct(cfg.stat().st_mode & 0o777) == "0o600" and oct(cfg.parent.stat().st_mode & 0o777) == "0o700"
    again = lg.login(str(cfg), "reg.example:5000", "bob", "pw1", store="file")
    assert not again.changed and again.diffs == []
    changed = lg.login(str(cfg), "reg.example:5000", "bob", "pw2", store="file", check_mode=True)
    assert changed.changed
    assert read(cfg)["auths"]["reg.example:5000"]["auth"] == b64("bob:pw1")  # check mode wrote nothing
    shown = json.dumps(changed.diffs)
    assert "pw1" not in shown and "pw2" not in shown and b64("bob:pw2") not in shown and MASK in shown


def test_legacy_key_is_normalised_and_other_keys_kept(tmp_path):
    cfg = tmp_path / "config.json"
    cfg.write_text(
        json.dumps(
            {
                "auths": {"https://reg.example/v1/": {"auth": b64("bob:pw")}, "other": {"auth": b64("o:o")}},
                "proxies": {"default": {}},
            }
        )
    )
    out = lg.login(str(cfg), "reg.example", "bob", "pw", store="file")
    assert out.changed  # same secret, but under the legacy key: moved
    assert read(cfg) == {
        "auths": {"reg.example": {"auth": b64("bob:pw")}, "other": {"auth": b64("o:o")}},
        "proxies": {"default": {}},
    }


def test_identity_token_written_like_docker_login_and_kept(tmp_path):
    cfg = tmp_path / "config.json"
    out = lg.login(str(cfg), "reg.example", "bob", "pw", store="file", identity_token="tok-1")
    assert out.changed and out.existing_identity_token is None
    assert read(cfg)["auths"]["reg.example"] == {"auth": b64("bob:"), "identitytoken": "tok-1"}
    # next run: a new token from the registry, the stored one is kept and handed back for checking
    keep = lg.login(str(cfg), "reg.example", "bob", "pw", store="file", identity_token="tok-2")
    assert not keep.changed and keep.existing_identity_token == "tok-1"
    assert read(cfg)["auths"]["reg.example"]["identitytoken"] == "tok-1"
    # the caller found it revoked: replace
    repl = lg.login(str(cfg), "reg.example", "bob", "pw", store="file", identity_token="tok-2", keep_identity_token=False)
    assert repl.changed and read(cfg)["auths"]["reg.example"]["identitytoken"] == "tok-2"
    # another user never inherits a token
    other = lg.login(str(cfg), "reg.example", "eve", "pw", store="file", identity_token="tok-3")
    assert other.changed and other.existing_identity_token is None
    assert read(cfg)["auths"]["reg.example"] == {"auth": b64("eve:"), "identitytoken": "tok-3"}


def test_auto_store_follows_creds_store_and_helpers(tmp_path):
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"credHelpers": {"reg.example": "nosuchhelper-xyz"}}))
    before = cfg.read_bytes()
    with pytest.raises(Exception) as e:
        lg.safe_run({"registry": "reg.example", "username": "u", "password": "p", "config_path": str(cfg), "verify": False})
    assert isinstance(e.value, lg.LoginError)
    assert "docker-credential-nosuchhelper-xyz" in str(e.value) and "p" not in str(e.value).split()
    assert cfg.read_bytes() == before
    # store=file ignores the helper, like a plain inline login
    res = lg.run(
        {"registry": "reg.example", "username": "u", "password": "p", "config_path": str(cfg), "verify": False, "store": "file"}
    )
    assert res["store"] == "file" and "_existing_identity_token" not in res
    assert res["verified"] is False and res["auth_scheme"] is None


def test_logout_removes_every_spelling_and_missing_file_is_ok(tmp_path):
    cfg = tmp_path / "config.json"
    cfg.write_text(
        json.dumps(
            {
                "auths": {
                    "reg.example": {"auth": "x"},
                    "http://reg.example": {"auth": "y"},
                    "https://reg.example/": {"auth": "z"},
                    "keep": {"auth": "k"},
                }
            }
        )
    )
    out = lg.logout(str(cfg), "reg.example", check_mode=True)
    assert out.changed and len(read(cfg)["auths"]) == 4
    out = lg.logout(str(cfg), "reg.example")
    assert out.changed and read(cfg) == {"auths": {"keep": {"auth": "k"}}}
    assert not lg.logout(str(cfg), "reg.example").changed
    missing = tmp_path / "nope" / "config.json"
    res = lg.logout(str(missing), "reg.example")
    assert not res.changed and not missing.parent.exists()  # no directory created by a logout


def test_password_file(tmp_path):
    p = tmp_path / "pw"
    p.write_bytes(b"s3cret\r\n")
    assert lg.read_password_file(str(p)) == "s3cret"
    p.write_bytes(b"\n")
    with pytest.raises(lg.LoginError, match="empty"):
        lg.read_password_file(str(p))
    with pytest.raises(lg.LoginError, match="cannot read password_file"):
        lg.read_password_file(str(tmp_path / "missing"))


@pytest.mark.parametrize("fmt, key", [("docker", "https://index.docker.io/v1/"), ("containers", "docker.io")])
def test_docker_hub_keys(tmp_path, fmt, key):
    cfg = tmp_path / "c.json"
    res = lg.run(
        {
            "registry": "registry-1.docker.io",
            "username": "u",
            "password": "p",
            "config_path": str(cfg),
            "verify": False,
            "format": fmt,
            "store": "file",
        }
    )
    assert res["registry"] == key and key in read(cfg)["auths"]


def test_mode_and_existing_mode_kept(tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text("{}")
    os.chmod(cfg, 0o644)
    lg.login(str(cfg), "r.example", "u", "p", store="file")
    assert oct(cfg.stat().st_mode & 0o777) == "0o644"
    out = lg.login(str(cfg), "r.example", "u", "p", store="file", mode="0600")
    assert out.changed and oct(cfg.stat().st_mode & 0o777) == "0o600"


def test_bad_input_messages(tmp_path):
    with pytest.raises(lg.LoginError, match="username is required"):
        lg.login(str(tmp_path / "c.json"), "r.example", "", "p")
    with pytest.raises(lg.LoginError, match="password or password_file"):
        lg.login(str(tmp_path / "c.json"), "r.example", "u", "")
    (tmp_path / "bad.json").write_text("[1, 2")
    with pytest.raises(lg.LoginError, match="not valid JSON"):
        lg.safe_run(
            {
                "registry": "r.example",
                "username": "u",
                "password": "p",
                "config_path": str(tmp_path / "bad.json"),
                "verify": False,
            }
        )
    assert (tmp_path / "bad.json").read_text() == "[1, 2"


@pytest.mark.parametrize("state", ["present", "absent"])
def test_the_registry_name_is_parsed_once_per_login(tmp_path, monkeypatch, state):
    """One parse of the name the task gave (``Reference``), handed down: stored keys are still parsed to compare."""
    from ansible_collections.cloud_registry.auth.plugins.module_utils import reference

    given = "https://Reg.Example:5000/v2/"
    parsed = []
    split = reference.split_server
    monkeypatch.setattr(reference, "split_server", lambda server: parsed.append(server) or split(server))
    cfg = tmp_path / "config.json"
    res = lg.run(
        {
            "registry": given,
            "username": "u",
            "password": "p",
            "config_path": str(cfg),
            "verify": False,
            "store": "file",
            "state": state,
        }
    )
    assert res["registry"] == "reg.example:5000" and parsed.count(given) == 1, parsed
    bad = {"registry": "reg example", "username": "u", "password": "p", "config_path": str(cfg), "state": state}
    with pytest.raises(lg.LoginError, match="white space"):
        lg.safe_run(bad)


def test_a_reference_parses_to_itself_and_reads_as_given():
    from ansible_collections.cloud_registry.auth.plugins.module_utils.reference import Reference, normalize_registry

    ref = Reference.parse("HTTPS://Reg.Example:5000/")
    assert Reference.parse(ref) is ref and str(ref) == "HTTPS://Reg.Example:5000/"
    assert normalize_registry(ref) == normalize_registry("reg.example:5000") == "reg.example:5000"
