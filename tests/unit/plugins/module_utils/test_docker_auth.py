"""Unit tests for module_utils/docker_auth.py and credential_store.as_account: the input checks
that run before any write, and how a helper is made to run as another user."""

from __future__ import annotations

import json
import os
import pwd

import pytest

from ansible_collections.cloud_registry.auth.plugins.module_utils import credential_store as cs
from ansible_collections.cloud_registry.auth.plugins.module_utils import docker_auth as da
from ansible_collections.cloud_registry.auth.plugins.module_utils.docker_config import Account

ME = pwd.getpwuid(os.geteuid()).pw_name


def params(**kw):
    base = {
        "users": [],
        "logins": [],
        "cred_helpers": {},
        "creds_store": None,
        "exclusive": False,
        "require_helper": False,
        "headless_fallback": None,
        "store": "auto",
        "verify": False,
        "verify_from": "controller",
        "validate_certs": True,
        "ca_cert": None,
        "timeout": 30,
    }
    base.update(kw)
    return base


def test_missing_users_are_all_named_before_anything_is_written(tmp_path):
    cfg = tmp_path / "config.json"
    p = params(
        users=[{"name": ME, "config_path": str(cfg)}, {"name": "no-such-cra-a"}, {"name": "no-such-cra-b"}],
        cred_helpers={"gcr.io": "gcloud"},
    )
    with pytest.raises(da.DockerAuthError, match="no-such-cra-a, no-such-cra-b do not exist"):
        da.apply(p)
    assert not cfg.exists()


def test_a_user_listed_twice_is_refused(tmp_path):
    with pytest.raises(da.DockerAuthError, match="listed more than once"):
        da.plan(params(users=[{"name": ME}, {"name": ME}]))


def test_shared_logins_come_first_and_take_the_module_defaults():
    p = params(
        users=[{"name": ME, "logins": [{"registry": "b.example", "store": "pass"}]}],
        logins=[{"registry": "a.example"}],
        store="file",
        ca_cert="/ca.pem",
    )
    ((_user, account, logins),) = da.plan(p)
    assert account.name == ME
    assert [(lg["registry"], lg["store"], lg["ca_cert"], lg["state"]) for lg in logins] == [
        ("a.example", "file", "/ca.pem", "present"),
        ("b.example", "pass", "/ca.pem", "present"),
    ]


def test_unreadable_password_file_fails_before_any_write(tmp_path):
    cfg = tmp_path / "config.json"
    p = params(
        users=[{"name": ME, "config_path": str(cfg)}],
        cred_helpers={"gcr.io": "gcloud"},
        logins=[{"registry": "r.example", "username": "u", "password_file": str(tmp_path / "nope")}],
    )
    with pytest.raises(Exception, match="cannot read password_file .*nope"):
        da.safe_apply(p)
    assert not cfg.exists()


def test_one_pass_writes_helpers_and_logins_then_is_idempotent(tmp_path):
    cfg = tmp_path / "config.json"
    pw = tmp_path / "pw"
    pw.write_text("s3cret-value\n")
    seen = []
    p = params(
        users=[{"name": ME, "config_path": str(cfg)}],
        cred_helpers={"gcr.io": "gcloud"},
        store="file",
        logins=[{"registry": "r.example:5000", "username": "u", "password_file": str(pw)}],
    )
    first = da.apply(json.loads(json.dumps(p)), on_secrets=seen.extend, want_diff=True)
    assert seen == ["s3cret-value"]
    assert first["changed"] is True
    data = json.loads(cfg.read_text())
    assert data["credHelpers"] == {"gcr.io": "gcloud"} and "r.example:5000" in data["auths"]
    assert "s3cret-value" not in json.dumps(first)
    second = da.apply(json.loads(json.dumps(p)))
    assert second["changed"] is False
    assert second["users"][ME]["logins"][0]["changed"] is False


def test_as_account_is_the_plain_runner_for_the_same_user():
    def runner(argv, **kw):
        return 0, "", ""

    me = Account(ME, "/home/x", os.geteuid(), os.getegid())
    assert cs.as_account(runner, me) is runner
    assert cs.as_account(runner, None) is runner


@pytest.mark.skipif(os.geteuid() != 0, reason="runuser is used from root only")
def test_as_account_runs_the_helper_through_runuser_in_the_users_session():
    calls = []

    def runner(argv, **kw):
        calls.append((argv, kw))
        return 0, "", ""

    other = Account("app", "/home/app", 4242, 4242)
    run = cs.as_account(runner, other)
    run(
        ["/usr/bin/timeout", "5", "/usr/bin/docker-credential-pass", "get"],
        data="x",
        environ_update={"GNUPGHOME": "/root/.gnupg", "PATH": "/usr/bin"},
    )
    argv, kw = calls[0]
    assert argv[0].endswith("runuser") and argv[1:4] == ["-u", "app", "--"]
    assert "HOME=/home/app" in argv and "USER=app" in argv
    assert argv[argv.index("GNUPGHOME") - 1 : argv.index("GNUPGHOME") + 1] == ["-u", "GNUPGHOME"]
    assert argv[-2:] == ["/usr/bin/docker-credential-pass", "get"]
    assert "GNUPGHOME" not in kw["environ_update"] and kw["data"] == "x"


def test_as_account_names_the_fix_when_not_root(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    run = cs.as_account(lambda *a, **k: (0, "", ""), Account("app", "/home/app", 4242, 4242))
    with pytest.raises(cs.CredentialStoreError, match="cannot run docker-credential-pass as app.*become: true"):
        run(["/usr/bin/docker-credential-pass", "get"])
