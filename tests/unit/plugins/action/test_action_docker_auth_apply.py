"""plugins/action/docker_auth_apply.py: every credential verified once on the controller for all users and
hosts of a run, the logins' passwords sent by file, internal login keys refused, and a failed verification
failing the host before anything is written."""

from __future__ import annotations

import getpass
import json

USER, PASSWORD = "ci-bot", "registry-Passw0rd-unit"
MODULE = "cloud_registry.auth.docker_auth_apply"


def _args(registry, tmp_path, host, **login):
    entry = {"registry": registry.host_port, "username": USER, "password": PASSWORD}
    entry.update(login)
    me = getpass.getuser()
    other = "nobody"  # a second user of the host: the suite runs as root, which may write another user's file
    return {
        "logins": [entry],
        "cred_helpers": {"gcr.io": "gcloud"},
        "users": [
            {"name": me, "config_path": str(tmp_path / host / "alice.json")},
            {
                "name": other,
                "config_path": str(tmp_path / host / "bob.json"),
                "logins": [dict(entry, registry="127.0.0.1:1", verify=False)],
            },
        ],
    }


def test_one_verification_for_all_users_and_hosts(run_action, basic_registry, tmp_path):
    for host in ("h1", "h2"):
        run = run_action(MODULE, _args(basic_registry, tmp_path, host))
        assert run.result.get("changed") is True, run.result
        assert PASSWORD not in json.dumps(run.module_args) and PASSWORD in run.secrets
        assert run.module_args["logins"][0]["_verified_scheme"] == "basic"
        assert "_verified_scheme" not in run.module_args["users"][1]["logins"][0]  # verify: false
        for name in ("alice", "bob"):
            config = json.loads((tmp_path / host / (name + ".json")).read_text())
            assert config["credHelpers"] == {"gcr.io": "gcloud"}
            assert basic_registry.host_port in config["auths"]
        assert "127.0.0.1:1" in json.loads((tmp_path / host / "bob.json").read_text())["auths"]
        assert PASSWORD not in json.dumps(run.result, default=str)
    assert basic_registry.count("logins") == 1


def test_a_rejected_password_writes_nothing_for_any_user(run_action, basic_registry, tmp_path):
    run = run_action(MODULE, _args(basic_registry, tmp_path, "h1", password="wrong-Passw0rd"))
    assert run.result["failed"] is True and run.module_args is None
    assert basic_registry.host_port in run.result["msg"] and "wrong-Passw0rd" not in json.dumps(run.result, default=str)
    assert not (tmp_path / "h1").exists()


def test_internal_login_keys_and_a_missing_username_are_refused(run_action, basic_registry, tmp_path):
    for login, message in (
        ({"_identity_token": "forged"}, "_identity_token is internal to " + MODULE),
        ({"_verified_scheme": "basic"}, "_verified_scheme is internal to " + MODULE),
        ({"username": None}, "login to %s: username is required" % basic_registry.host_port),
    ):
        run = run_action(MODULE, _args(basic_registry, tmp_path, "h1", **login))
        assert run.result["failed"] is True and message in run.result["msg"], run.result
        assert run.module_args is None
    assert basic_registry.count("logins") == 0 and not (tmp_path / "h1").exists()


def test_check_mode_verifies_and_writes_nothing(run_action, basic_registry, tmp_path):
    run = run_action(MODULE, _args(basic_registry, tmp_path, "h1"), check=True, diff=True)
    assert run.result["changed"] is True and not (tmp_path / "h1").exists()
    assert basic_registry.count("logins") == 1 and PASSWORD not in json.dumps(run.result, default=str)
