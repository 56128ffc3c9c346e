"""credhelper_config ``user`` and ``headless_fallback`` with the real secretservice helper.

Two real users: one as on a headless server (no D-Bus session bus), one as on a
workstation (a real dbus-daemon session bus with gnome-keyring's secret service on
it, see tests/support/desktop_session.py). The real docker-credential-secretservice
decides what works; the module must keep it only where it does.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from support.desktop_session import as_user, drop_user, make_user, start_session


def task_play(args: dict, name: str = "configure") -> str:
    return (
        json.dumps(
            [
                {
                    "hosts": "all",
                    "gather_facts": False,
                    "tasks": [{"name": name, "cloud_registry.auth.credhelper_config": args, "register": "out"}],
                }
            ]
        )
        + "\n"
    )


@pytest.fixture
def headless_user():
    user = make_user("crah")
    try:
        yield user
    finally:
        drop_user(user)


@pytest.fixture
def desktop_user():
    user = make_user("crad")
    try:
        start_session(user)
        yield user
    finally:
        drop_user(user)


def _cfg(user) -> Path:
    return Path(user.pw_dir) / ".docker" / "config.json"


@pytest.mark.matrix
def test_headless_user_never_gets_secretservice(playbook, headless_user):
    args = {
        "user": headless_user.pw_name,
        "creds_store": "secretservice",
        "helpers": {"quay.io": "secretservice", "europe-west1-docker.pkg.dev": "gcloud"},
        "headless_fallback": "file",
    }
    pb = task_play(args)
    runs = [playbook(pb, check=True, diff=True), playbook(pb, diff=True), playbook(pb, check=True), playbook(pb)]
    for r in runs:
        assert r.rc == 0, r.output
    assert [r.result("configure")["changed"] for r in runs] == [True, True, False, False]
    res = runs[1].result("configure")
    assert res["secretservice_usable"] is False
    assert res["headless_fallback"] == ["credsStore", "quay.io"]
    warning = " ".join(res.get("warnings", []))
    assert f"cannot work for {headless_user.pw_name}" in warning and "no D-Bus session bus" in warning
    cfg = _cfg(headless_user)
    assert json.loads(cfg.read_text()) == {"credHelpers": {"europe-west1-docker.pkg.dev": "gcloud"}}
    # the user's own file and directory, as `docker login` run by that user would leave them
    assert (cfg.stat().st_uid, cfg.parent.stat().st_uid) == (headless_user.pw_uid, headless_user.pw_uid)
    assert stat.S_IMODE(cfg.parent.stat().st_mode) == 0o700 and stat.S_IMODE(cfg.stat().st_mode) == 0o600


def test_existing_secretservice_store_is_repaired(playbook, headless_user):
    cfg = _cfg(headless_user)
    cfg.parent.mkdir(mode=0o700)
    cfg.write_text(json.dumps({"credsStore": "secretservice", "psFormat": "table {{.ID}}"}))
    r = playbook(task_play({"user": headless_user.pw_name, "headless_fallback": "file"}))
    assert r.rc == 0, r.output
    res = r.result("configure")
    assert res["changed"] and res["headless_fallback"] == ["credsStore"]
    assert json.loads(cfg.read_text()) == {"psFormat": "table {{.ID}}"}


def test_check_only_writes_nothing_for_a_fine_user(playbook, headless_user):
    """headless_fallback alone, for a user with nothing to repair: no file, no directory."""
    r = playbook(task_play({"user": headless_user.pw_name, "headless_fallback": "file"}))
    assert r.rc == 0, r.output
    assert not r.result("configure")["changed"]
    assert not _cfg(headless_user).parent.exists()


def test_desktop_user_keeps_secretservice(playbook, desktop_user):
    # the real helper works for this user: it stores and lists through the session's keyring
    probe = as_user(desktop_user, "docker-credential-secretservice", "list")
    assert probe.returncode == 0, probe.stderr
    args = {"user": desktop_user.pw_name, "creds_store": "secretservice", "headless_fallback": "file"}
    r = playbook(task_play(args))
    assert r.rc == 0, r.output
    res = r.result("configure")
    assert res["secretservice_usable"] is True and res["headless_fallback"] == []
    assert not res.get("warnings")
    assert json.loads(_cfg(desktop_user).read_text()) == {"credsStore": "secretservice"}


def test_unknown_user_and_bad_fallback_change_nothing(playbook, headless_user):
    r = playbook(task_play({"user": "no-such-user-cra", "creds_store": "pass"}))
    assert r.rc != 0
    assert "user no-such-user-cra does not exist on this host" in r.result("configure")["msg"]
    r = playbook(task_play({"user": headless_user.pw_name, "creds_store": "pass", "headless_fallback": "secretservice"}))
    assert r.rc != 0
    assert "headless_fallback cannot be secretservice" in r.result("configure")["msg"]
    assert not _cfg(headless_user).parent.exists()
