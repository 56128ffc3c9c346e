"""registry_auth_info against files written by the real docker CLI, read back by the real
docker CLI, and credentials checked by real registries (distribution, htpasswd and token
auth): states, reasons, file problems, drift, once-per-credential verification across
hosts, and no secret in any output (-vvvv, ANSIBLE_DEBUG)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from support.pass_store import make_pass_store

pytestmark = [pytest.mark.slow]


def jwt(claims: dict) -> str:
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256', 'typ': 'JWT'})}.{part(claims)}.c2lnbmF0dXJl"


def ecr_token(expiration: float) -> str:
    blob = {"payload": "opaque", "datakey": "opaque", "version": "2", "type": "DATA_KEY", "expiration": int(expiration)}
    return base64.b64encode(json.dumps(blob).encode()).decode()


def docker(config_dir: Path, *args, stdin=None, env=None):
    return subprocess.run(
        ["docker", *args],
        env=dict(os.environ, **(env or {}), DOCKER_CONFIG=str(config_dir)),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def play(args: dict) -> str:
    return (
        json.dumps(
            [{"hosts": "all", "gather_facts": False, "tasks": [{"name": "info", "cloud_registry.auth.registry_auth_info": args}]}]
        )
        + "\n"
    )


@pytest.fixture
def fleet_file(tmp_path, htpasswd_registry, token_registry):
    """One config.json: a real `docker login`, then entries as other tools and older clients leave them."""
    cfg_dir = tmp_path / "docker"
    cfg_dir.mkdir()
    # a config with credHelpers: the CLI keeps logins inline (it picks a default credsStore only for a new config)
    (cfg_dir / "config.json").write_text(json.dumps({"credHelpers": {"ghcr.io": "cra-not-installed"}}))
    login = docker(
        cfg_dir,
        "login",
        "-u",
        htpasswd_registry.username,
        "--password-stdin",
        htpasswd_registry.host,
        stdin=htpasswd_registry.password,
    )
    assert login.returncode == 0, login.stderr
    cfg = cfg_dir / "config.json"
    data = json.loads(cfg.read_text())
    now = time.time()
    secrets = {
        "wrong": "wrong-" + token_registry.password,
        "hub": "hub-secret-" + os.urandom(6).hex(),
        "expired": jwt({"sub": "ci", "exp": int(now - 3600)}),
        "ecr": ecr_token(now + 2 * 86400),
    }
    data["auths"].update(
        {
            token_registry.host: {"auth": base64.b64encode(f"{token_registry.username}:{secrets['wrong']}".encode()).decode()},
            "docker.io": {"auth": base64.b64encode(f"hubuser:{secrets['hub']}".encode()).decode()},
            "expired.example.com": {"auth": base64.b64encode(b"ci:").decode(), "identitytoken": secrets["expired"]},
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com": {"auth": base64.b64encode(f"AWS:{secrets['ecr']}".encode()).decode()},
        }
    )
    assert data["credHelpers"] == {"ghcr.io": "cra-not-installed"}
    data["credHelpers"]["https://gcr.io"] = "gcloud"
    cfg.write_text(json.dumps(data, indent=2))
    cfg.chmod(0o640)
    return cfg, secrets


def by_key(result) -> dict:
    return {e["key"]: e for e in result["entries"]}


def test_states_reasons_and_one_verification_per_credential(playbook, tmp_path, fleet_file, htpasswd_registry, token_registry):
    cfg, secrets = fleet_file
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("".join(f"h{i} ansible_connection=local\n" for i in range(3)))
    pings = htpasswd_registry.verifications()
    tokens = token_registry.verifications()
    before = cfg.read_bytes()
    args = {
        "files": [{"path": str(cfg)}],
        "verify": True,
        "ca_cert": str(htpasswd_registry.ca_path),
        "expiring_within": 3 * 86400,
        "expected": [
            {"path": str(cfg), "registry": htpasswd_registry.host, "username": htpasswd_registry.username},
            {"path": str(cfg), "registry": "quay.io", "username": "robot"},
            {"path": str(cfg), "registry": "ghcr.io", "helper": "gcloud"},
        ],
    }
    run = playbook(play(args), inventory=inventory, forks=3)
    assert run.rc == 0, run.output
    results = run.tasks["info"]
    assert set(results) == {"h0", "h1", "h2"}
    # one check per unique credential for the three hosts, the refused one too
    assert htpasswd_registry.verifications() - pings == 1
    assert token_registry.verifications() - tokens == 1
    assert cfg.read_bytes() == before  # read only

    res = results["h1"]
    assert not res["changed"]
    entries = by_key(res)
    good = entries[htpasswd_registry.host]
    assert (good["state"], good["verified"], good["username"], good["kind"]) == (
        "valid",
        True,
        htpasswd_registry.username,
        "password",
    )
    refused = entries[token_registry.host]
    assert refused["state"] == "invalid" and refused["verified"] is False and "401" in refused["verify_error"]
    hub = entries["docker.io"]
    assert hub["state"] == "ignored" and "https://index.docker.io/v1/" in hub["reason"] and hub["verified"] is None
    assert entries["ghcr.io"]["state"] == "helper_missing" and "cra-not-installed" in entries["ghcr.io"]["reason"]
    assert entries["https://gcr.io"]["state"] == "ignored" and "rename the key to gcr.io" in entries["https://gcr.io"]["reason"]
    expired = entries["expired.example.com"]
    assert (expired["state"], expired["kind"], expired["expiry_source"]) == ("expired", "identity_token", "jwt")
    ecr = entries["123456789012.dkr.ecr.eu-west-1.amazonaws.com"]
    assert (ecr["state"], ecr["expiry_source"], ecr["username"]) == ("expiring", "ecr", "AWS")
    assert res["summary"]["states"]["valid"] == 1 and res["summary"]["states"]["invalid"] == 1
    assert res["summary"]["earliest_expiry"] == expired["expires_at"]
    assert res["files"][0]["problems"] == [f"{cfg} has mode 0640: others can read the credentials; chmod 600 {cfg}"]
    problems = sorted(d["problem"] for d in res["drift"])
    assert len(problems) == 2, res["drift"]
    assert "quay.io" in problems[1] and "no login" in problems[1]
    assert "ghcr.io" in problems[0] and "cra-not-installed, wants gcloud" in problems[0]
    for value in [htpasswd_registry.password, *secrets.values()]:
        assert value not in run.output


def test_ignored_is_what_the_docker_cli_does(playbook, tmp_path, token_registry):
    """The module's "ignored" is what the real docker CLI does. A credHelpers entry for a missing helper: the CLI
    drops the error and still reads the inline login (the module says so). For the real docker-credential-pass,
    which has nothing stored: the CLI reads only the helper, never the (working) inline login."""
    cfg_dir = tmp_path / "docker"
    cfg_dir.mkdir()
    cfg = cfg_dir / "config.json"
    cfg.write_text(json.dumps({"auths": {"other.example.com": {"auth": "dTpw"}}}))
    pass_env = make_pass_store(tmp_path / "pass")
    login = docker(
        cfg_dir, "login", "-u", token_registry.username, "--password-stdin", token_registry.host, stdin=token_registry.password
    )
    assert login.returncode == 0, login.stderr
    data = json.loads(cfg.read_text())
    assert docker(cfg_dir, "manifest", "inspect", token_registry.image).returncode == 0

    def inspect(helper):
        cfg.write_text(json.dumps(dict(data, credHelpers={token_registry.host: helper})))
        run = playbook(play({"files": [{"path": str(cfg)}]}), inventory="localhost ansible_connection=local\n", env=pass_env)
        assert run.rc == 0, run.output
        entries = run.tasks["info"]["localhost"]["entries"]
        [inline] = [e for e in entries if e["stored"] == "inline" and e["key"] == token_registry.host]
        [helper_entry] = [e for e in entries if e["stored"] == "helper"]
        return inline, helper_entry, docker(cfg_dir, "manifest", "inspect", token_registry.image, env=pass_env)

    inline, helper_entry, cli = inspect("cra-not-installed")
    assert helper_entry["state"] == "helper_missing"
    assert inline["state"] == "present" and "only because docker-credential-cra-not-installed" in inline["reason"]
    assert cli.returncode == 0, cli.stderr  # the CLI did read it

    inline, helper_entry, cli = inspect("pass")
    assert (helper_entry["state"], helper_entry["helper_present"]) == ("unverifiable", True)
    assert inline["state"] == "ignored"
    assert f"credHelpers sends {token_registry.host} to docker-credential-pass" in inline["reason"]
    assert cli.returncode != 0 and "unauthorized" in (cli.stderr + cli.stdout).lower()  # the CLI did not

    # list_helpers asks the real docker-credential-pass (list: registries and user names, no secret): nothing kept
    # for the registry -> empty; after a real `docker login` into it, the entry carries the helper's user name
    def listed():
        run = playbook(
            play({"files": [{"path": str(cfg)}], "list_helpers": True}),
            inventory="localhost ansible_connection=local\n",
            env=pass_env,
        )
        assert run.rc == 0, run.output
        [entry] = [e for e in run.tasks["info"]["localhost"]["entries"] if e["stored"] == "helper"]
        assert token_registry.password not in run.output
        return entry

    entry = listed()
    assert entry["state"] == "empty" and "docker-credential-pass keeps no login for" in entry["reason"]
    stored = docker(
        cfg_dir,
        "login",
        "-u",
        token_registry.username,
        "--password-stdin",
        token_registry.host,
        stdin=token_registry.password,
        env=pass_env,
    )
    assert stored.returncode == 0, stored.stderr
    assert token_registry.password not in cfg.read_text()  # it went to pass
    entry = listed()
    # the token registry answered the login with an identity token, which docker keeps as user "<token>"
    assert (entry["state"], entry["kind"], entry["username"]) == ("unverifiable", "identity_token", None)


def test_users_homes_bad_files_and_no_secret_with_debug(playbook, tmp_path, htpasswd_registry):
    """Users' own files under their homes, a broken file reported (not failed, not changed), and with -vvvv and
    ANSIBLE_DEBUG=1 the password is nowhere: only its sealed form travelled."""
    home = tmp_path / "home"
    (home / ".docker").mkdir(parents=True)
    good = home / ".docker" / "config.json"
    good.write_text(
        json.dumps(
            {
                "auths": {
                    htpasswd_registry.host: {
                        "auth": base64.b64encode(f"{htpasswd_registry.username}:{htpasswd_registry.password}".encode()).decode()
                    }
                }
            }
        )
    )
    good.chmod(0o600)
    broken = tmp_path / "broken.json"
    broken.write_text('{"auths": {')
    args = {
        "files": [{"path": str(good)}, {"path": str(broken), "format": "containers"}, {"path": str(tmp_path / "absent.json")}],
        "verify": True,
        "ca_cert": str(htpasswd_registry.ca_path),
    }
    run = playbook(
        play(args), inventory="localhost ansible_connection=local\n", verbosity=4, json_output=False, env={"ANSIBLE_DEBUG": "1"}
    )
    assert run.rc == 0, run.output[-3000:]
    assert htpasswd_registry.password not in run.output
    quiet = playbook(play(args), inventory="localhost ansible_connection=local\n")
    files = {Path(f["path"]).name: f for f in quiet.tasks["info"]["localhost"]["files"]}
    assert files["config.json"]["exists"] and files["config.json"]["problems"] == []
    assert "broken.json is not valid JSON" in files["broken.json"]["error"]
    assert files["absent.json"]["exists"] is False
    assert broken.read_text() == '{"auths": {'
    [entry] = quiet.tasks["info"]["localhost"]["entries"]
    assert entry["state"] == "valid"


def test_bad_input_names_the_option(playbook):
    run = playbook(
        play({"files": [{"path": "/tmp/x.json", "format": "podman"}]}), inventory="localhost ansible_connection=local\n"
    )
    assert run.rc != 0
    assert "format" in run.output and "podman" in run.output
    refused = playbook(play({"_wrap_key": "x"}), inventory="localhost ansible_connection=local\n")
    assert refused.rc != 0 and "_wrap_key is internal" in refused.output


def test_registry_login_expires_at_is_reported_as_recorded(playbook, tmp_path, htpasswd_registry):
    """registry_login with expires_at (what the registry_token lookup returns) records it beside the file; the
    password itself says nothing of its expiry, so registry_auth_info reports the recorded one; a login without
    it drops the record; bad expires_at fails and changes nothing."""
    cfg = tmp_path / "docker" / "config.json"
    reg = htpasswd_registry

    def login(expires_at):
        task = {
            "name": "login",
            "cloud_registry.auth.registry_login": {
                "registry": reg.host,
                "username": reg.username,
                "password": reg.password,
                "config_path": str(cfg),
                "ca_cert": str(reg.ca_path),
                "expires_at": expires_at,
            },
        }
        info = {"name": "info", "cloud_registry.auth.registry_auth_info": {"files": [{"path": str(cfg)}]}}
        return playbook(
            json.dumps([{"hosts": "all", "gather_facts": False, "tasks": [task, info]}]) + "\n",
            inventory="localhost ansible_connection=local\n",
        )

    run = login("2031-01-01T00:00:00Z")
    assert run.rc == 0, run.output
    assert run.tasks["login"]["localhost"]["expires_at"] == "2031-01-01T00:00:00Z"
    [entry] = run.tasks["info"]["localhost"]["entries"]
    want = ("2031-01-01T00:00:00Z", "recorded", "present")
    assert (entry["expires_at"], entry["expiry_source"], entry["state"]) == want
    assert reg.password not in (cfg.parent / "cloud-registry-auth.expiry.json").read_text()
    again = login("2031-01-01T00:00:00Z")
    assert again.rc == 0 and again.tasks["login"]["localhost"]["changed"] is False
    bad = login("next tuesday")
    assert bad.rc != 0 and "expires_at must be an ISO 8601 time" in bad.output
    assert json.loads((cfg.parent / "cloud-registry-auth.expiry.json").read_text())["files"]["config.json"]
    dropped = login("")
    assert dropped.rc == 0 and dropped.tasks["login"]["localhost"]["changed"] is True
    assert not (cfg.parent / "cloud-registry-auth.expiry.json").exists()
    assert dropped.tasks["info"]["localhost"]["entries"][0]["expiry_source"] is None
