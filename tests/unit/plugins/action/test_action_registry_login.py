"""plugins/action/registry_login.py: one verification per credential per run on the controller, the password
sent to the host by file (never as a module argument), the host verifying for itself when asked to, and
internal options refused."""

from __future__ import annotations

import json
import os
import stat

USER, PASSWORD = "ci-bot", "registry-Passw0rd-unit"
MODULE = "cloud_registry.auth.registry_login"


def _login(registry, cfg, **kw):
    args = {"registry": registry.host_port, "username": USER, "password": PASSWORD, "config_path": str(cfg)}
    args.update(kw)
    return args


def _auth(cfg, registry):
    return json.loads(cfg.read_text())["auths"][registry.host_port]["auth"]


def test_one_verification_for_every_host_and_the_password_goes_by_file(run_action, basic_registry, tmp_path):
    configs = [tmp_path / ("host%d" % i) / "config.json" for i in range(3)]
    runs = [run_action(MODULE, _login(basic_registry, cfg)) for cfg in configs]
    for run, cfg in zip(runs, configs):
        assert run.result.get("failed") is not True, run.result
        assert run.result["changed"] is True
        assert _auth(cfg, basic_registry) and stat.S_IMODE(cfg.stat().st_mode) == 0o600
        # what the host was given: the verified scheme, and the password only in the secrets file
        assert run.module_args["_verified_scheme"] == "basic"
        assert run.module_args["password"].startswith("__cloud_registry_auth_secret_")  # a placeholder
        assert PASSWORD not in json.dumps(run.module_args)
        assert PASSWORD in run.secrets and run.secrets_left is False
        assert stat.S_IMODE(run.secrets_dir.st_mode) == 0o700 and run.secrets_dir.st_uid == os.getuid()
        assert PASSWORD not in json.dumps(run.result, default=str)
    assert basic_registry.count("logins") == 1  # 3 hosts, one credential, one run: one login


def test_a_second_run_of_the_same_host_changes_nothing(run_action, basic_registry, tmp_path):
    cfg = tmp_path / "config.json"
    assert run_action(MODULE, _login(basic_registry, cfg)).result["changed"] is True
    before = cfg.read_bytes()
    again = run_action(MODULE, _login(basic_registry, cfg))
    assert again.result["changed"] is False and cfg.read_bytes() == before


def test_a_wrong_password_fails_every_host_with_one_request_and_writes_nothing(run_action, basic_registry, tmp_path):
    configs = [tmp_path / ("host%d" % i) / "config.json" for i in range(2)]
    results = [run_action(MODULE, _login(basic_registry, cfg, password="wrong-Passw0rd")).result for cfg in configs]
    for result, cfg in zip(results, configs):
        assert result["failed"] is True
        assert basic_registry.host_port in result["msg"] and repr(USER) in result["msg"]
        assert "check the credentials" in result["msg"]
        assert "wrong-Passw0rd" not in json.dumps(result)
        assert not cfg.exists()
    assert results[0]["msg"] == results[1]["msg"]
    assert basic_registry.count("logins") == 1  # the failure is shared by the run too


def test_verify_from_host_verifies_on_each_host(run_action, basic_registry, tmp_path):
    for i in range(2):
        run = run_action(MODULE, _login(basic_registry, tmp_path / ("h%d.json" % i), verify_from="host"))
        assert run.result["changed"] is True, run.result
        assert "_verified_scheme" not in run.module_args
    assert basic_registry.count("logins") == 2


def test_a_password_file_is_read_and_verified_on_the_host(run_action, basic_registry, tmp_path):
    secret = tmp_path / "password"
    secret.write_text(PASSWORD + "\n")
    secret.chmod(0o600)
    args = _login(basic_registry, tmp_path / "config.json", password_file=str(secret))
    del args["password"]
    run = run_action(MODULE, args)
    assert run.result["changed"] is True, run.result
    assert "_verified_scheme" not in run.module_args and run.secrets is None  # the controller never read it
    assert basic_registry.count("logins") == 1


def test_check_and_diff_mode_write_nothing_and_show_no_secret(run_action, basic_registry, tmp_path):
    cfg = tmp_path / "config.json"
    run = run_action(MODULE, _login(basic_registry, cfg), check=True, diff=True)
    assert run.result["changed"] is True and not cfg.exists()
    assert basic_registry.host_port in json.dumps(run.result["diff"])
    assert PASSWORD not in json.dumps(run.result, default=str)


def test_internal_options_cannot_come_from_a_task(run_action, basic_registry, tmp_path):
    for name, value in (("_verified_scheme", "basic"), ("_secrets_file", "/etc/shadow")):
        cfg = tmp_path / "config.json"
        run = run_action(MODULE, _login(basic_registry, cfg, **{name: value}))
        assert run.result["failed"] is True and run.module_args is None
        assert "%s is internal to %s" % (name, MODULE) in run.result["msg"]
        assert not cfg.exists()
    assert basic_registry.count("logins") == 0


def test_bad_arguments_fail_on_the_controller(run_action, basic_registry, tmp_path):
    args = _login(basic_registry, tmp_path / "config.json", password_file=str(tmp_path / "pw"))
    run = run_action(MODULE, args)
    assert run.result["failed"] is True and run.module_args is None
    assert "mutually exclusive" in run.result["msg"] and "password" in run.result["msg"]
    assert basic_registry.count("logins") == 0
