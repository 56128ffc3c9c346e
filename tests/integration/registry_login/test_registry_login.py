"""registry_login against real components: Debian's docker-registry (htpasswd and token
auth, TLS with a session CA), the Docker Engine (``docker pull``), the docker CLI
(``docker manifest inspect``), skopeo, and the real ``docker-credential-pass``.

Every mutation follows the 4-run pattern (check, run, check, run) and is then read
back by a real client."""

from __future__ import annotations

import base64
import json
import os
import subprocess
from pathlib import Path

import pytest

from support.pass_store import make_pass_store, stop_agent


def play(args: dict, name: str = "login", hosts: str = "all") -> str:
    return (
        json.dumps(
            [{"hosts": hosts, "gather_facts": False, "tasks": [{"name": name, "cloud_registry.auth.registry_login": args}]}]
        )
        + "\n"
    )


def four_runs(playbook, pb, **kw):
    runs = [
        playbook(pb, check=True, diff=True, **kw),
        playbook(pb, diff=True, **kw),
        playbook(pb, check=True, diff=True, **kw),
        playbook(pb, **kw),
    ]
    for r in runs:
        assert r.rc == 0, r.output
    return runs


def changed(runs, task="login", host="localhost"):
    return [r.result(task, host)["changed"] for r in runs]


def base_args(reg, cfg: Path, **extra) -> dict:
    args = {
        "registry": reg.host,
        "username": reg.username,
        "password": reg.password,
        "config_path": str(cfg),
        "ca_cert": str(reg.ca_path),
    }
    args.update(extra)
    return args


def docker_pull(image: str, config_dir: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, DOCKER_CONFIG=str(config_dir))
    proc = subprocess.run(["docker", "pull", "-q", image], env=env, capture_output=True, text=True, timeout=120, check=False)
    subprocess.run(["docker", "rmi", "-f", image], capture_output=True, timeout=60, check=False)
    return proc


def manifest_inspect(image: str, config_dir: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, DOCKER_CONFIG=str(config_dir))
    return subprocess.run(
        ["docker", "manifest", "inspect", image], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def skopeo_inspect(reg, authfile: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["skopeo", "inspect", "--authfile", str(authfile), "--cert-dir", str(reg.cert_dir), f"docker://{reg.image}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.docker
@pytest.mark.matrix
def test_htpasswd_four_runs_then_docker_pull(playbook, tmp_path, htpasswd_registry):
    reg = htpasswd_registry
    cfg = tmp_path / "docker" / "config.json"
    # a foreign key and another registry's login must survive
    cfg.parent.mkdir(mode=0o700)
    cfg.write_text(json.dumps({"auths": {"other.example:5000": {"auth": "b3RoZXI6b3RoZXI="}}, "psFormat": "x"}))
    runs = four_runs(playbook, play(base_args(reg, cfg)))
    assert changed(runs) == [True, True, False, False]
    res = runs[1].result("login")
    assert res["registry"] == reg.host
    assert res["store"] == "file"
    assert res["verified"] is True
    assert res["auth_scheme"] == "basic"
    assert res["config_path"] == str(cfg)
    data = json.loads(cfg.read_text())
    assert data["psFormat"] == "x" and "other.example:5000" in data["auths"]
    stored = base64.b64decode(data["auths"][reg.host]["auth"]).decode()
    assert stored == f"{reg.username}:{reg.password}"
    # real clients read what the module wrote
    assert docker_pull(reg.image, cfg.parent).returncode == 0
    m = manifest_inspect(reg.image, cfg.parent)
    assert m.returncode == 0, m.stderr
    assert json.loads(m.stdout)["schemaVersion"] == 2
    # negative control: without the login the same pull is refused
    empty = tmp_path / "empty"
    empty.mkdir()
    assert docker_pull(reg.image, empty).returncode != 0


@pytest.mark.docker
def test_token_registry_identity_token_docker_and_skopeo(playbook, tmp_path, token_registry):
    reg = token_registry
    cfg = tmp_path / "docker" / "config.json"
    runs = four_runs(playbook, play(base_args(reg, cfg)))
    assert changed(runs) == [True, True, False, False]
    res = runs[1].result("login")
    assert res["auth_scheme"] == "bearer" and res["verified"] is True
    entry = json.loads(cfg.read_text())["auths"][reg.host]
    # like docker login: the refresh token is stored, the password is not
    assert entry["identitytoken"]
    assert base64.b64decode(entry["auth"]).decode() == f"{reg.username}:"
    assert reg.password not in cfg.read_text()
    pull = docker_pull(reg.image, cfg.parent)
    assert pull.returncode == 0, pull.stderr
    assert manifest_inspect(reg.image, cfg.parent).returncode == 0
    sk = skopeo_inspect(reg, cfg)
    assert sk.returncode == 0, sk.stderr
    assert json.loads(sk.stdout)["Name"] == reg.image.rsplit(":", 1)[0]


@pytest.mark.matrix
def test_containers_format_skopeo(playbook, tmp_path, htpasswd_registry):
    reg = htpasswd_registry
    auth = tmp_path / "containers" / "auth.json"
    runs = four_runs(playbook, play(base_args(reg, auth, format="containers")))
    assert changed(runs) == [True, True, False, False]
    sk = skopeo_inspect(reg, auth)
    assert sk.returncode == 0, sk.stderr
    assert json.loads(sk.stdout)["RepoTags"] == ["1"]
    assert oct(auth.stat().st_mode & 0o777) == "0o600"
    assert oct(auth.parent.stat().st_mode & 0o777) == "0o700"


def test_identity_token_kept_while_valid_and_replaced_when_revoked(playbook, tmp_path, token_registry):
    reg = token_registry
    cfg = tmp_path / "config.json"
    pb = play(base_args(reg, cfg))
    assert playbook(pb).rc == 0
    first = json.loads(cfg.read_text())["auths"][reg.host]["identitytoken"]
    again = playbook(pb)
    assert again.rc == 0 and again.result("login")["changed"] is False
    assert json.loads(cfg.read_text())["auths"][reg.host]["identitytoken"] == first
    # the token service forgets the token (revoked): the next run replaces it
    with reg.token_service._lock:
        reg.token_service._refresh.pop(first)
    third = playbook(pb, diff=True)
    assert third.rc == 0 and third.result("login")["changed"] is True
    new = json.loads(cfg.read_text())["auths"][reg.host]["identitytoken"]
    assert new != first
    assert reg.token_service.refresh_user(new) == reg.username


def test_logout_removes_legacy_keys_and_keeps_the_rest(playbook, tmp_path, htpasswd_registry):
    reg = htpasswd_registry
    cfg = tmp_path / "config.json"
    token = base64.b64encode(f"{reg.username}:{reg.password}".encode()).decode()
    cfg.write_text(
        json.dumps(
            {
                "auths": {
                    f"https://{reg.host}/v1/": {"auth": token},
                    f"http://{reg.host}": {"auth": token},
                    reg.host: {"auth": token},
                    "keep.example": {"auth": "a2VlcDprZWVw"},
                },
                "credHelpers": {"gcr.io": "gcloud"},
            }
        )
    )
    cfg.chmod(0o640)
    runs = four_runs(playbook, play({"registry": f"https://{reg.host}/", "state": "absent", "config_path": str(cfg)}))
    assert changed(runs) == [True, True, False, False]
    data = json.loads(cfg.read_text())
    assert data == {"auths": {"keep.example": {"auth": "a2VlcDprZWVw"}}, "credHelpers": {"gcr.io": "gcloud"}}
    assert oct(cfg.stat().st_mode & 0o777) == "0o640"  # an existing file keeps its mode
    diff = runs[0].result("login")["diff"]
    assert reg.password not in json.dumps(diff) and token not in json.dumps(diff)
    sk = skopeo_inspect(reg, cfg)
    assert sk.returncode != 0  # logged out: the real client is refused


@pytest.mark.docker
def test_store_pass_with_real_helper(playbook, tmp_path, htpasswd_registry, token_registry):
    reg = htpasswd_registry
    env = make_pass_store(tmp_path / "pass")
    try:
        cfg = tmp_path / "docker" / "config.json"
        runs = four_runs(playbook, play(base_args(reg, cfg, store="pass")), env=env)
        assert changed(runs) == [True, True, False, False]
        assert runs[1].result("login")["store"] == "pass"
        data = json.loads(cfg.read_text())
        assert data["credHelpers"] == {reg.host: "pass"}
        assert reg.host not in data.get("auths", {})
        assert reg.password not in cfg.read_text()
        full_env = dict(os.environ, **env)
        got = subprocess.run(
            ["docker-credential-pass", "get"],
            input=reg.host,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert got.returncode == 0, got.stdout
        assert json.loads(got.stdout)["Secret"] == reg.password
        # the docker CLI asks the helper: pull works through pass
        pull = subprocess.run(
            ["docker", "pull", "-q", reg.image],
            env=dict(full_env, DOCKER_CONFIG=str(cfg.parent)),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        subprocess.run(["docker", "rmi", "-f", reg.image], capture_output=True, timeout=60, check=False)
        assert pull.returncode == 0, pull.stderr
        # logout erases it from pass, 4 runs
        out = four_runs(playbook, play({"registry": reg.host, "state": "absent", "config_path": str(cfg)}), env=env)
        assert changed(out) == [True, True, False, False]
        gone = subprocess.run(
            ["docker-credential-pass", "get"],
            input=reg.host,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        # pass 0.6.x words "not found" its own ways: an error, or empty credentials once its store is empty
        if gone.returncode == 0:
            assert json.loads(gone.stdout)["Secret"] == ""
        else:
            assert "credentials not found" in gone.stdout or "not in the password store" in gone.stdout

        # store=auto with credsStore=pass: the secret goes to pass, the file only keeps credsStore;
        # a token registry's identity token is stored as Username "<token>" like the docker CLI does
        tcfg = tmp_path / "tdocker" / "config.json"
        tcfg.parent.mkdir(mode=0o700)
        tcfg.write_text(json.dumps({"credsStore": "pass"}))
        treg = token_registry
        targs = base_args(treg, tcfg)
        first = playbook(play(targs), env=env)
        second = playbook(play(targs), env=env)
        assert first.rc == 0 and second.rc == 0, first.output + second.output
        assert first.result("login")["store"] == "pass" and first.result("login")["changed"] is True
        assert second.result("login")["changed"] is False
        assert json.loads(tcfg.read_text()) == {"credsStore": "pass"}
        got = subprocess.run(
            ["docker-credential-pass", "get"],
            input=treg.host,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert json.loads(got.stdout)["Username"] == "<token>"
        assert treg.token_service.refresh_user(json.loads(got.stdout)["Secret"]) == treg.username
        pull = subprocess.run(
            ["docker", "pull", "-q", treg.image],
            env=dict(full_env, DOCKER_CONFIG=str(tcfg.parent)),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        subprocess.run(["docker", "rmi", "-f", treg.image], capture_output=True, timeout=60, check=False)
        assert pull.returncode == 0, pull.stderr
    finally:
        stop_agent(env)


def test_password_file_read_on_the_host(playbook, tmp_path, htpasswd_registry):
    reg = htpasswd_registry
    pw = tmp_path / "pw"
    pw.write_text(reg.password + "\n")
    pw.chmod(0o600)
    cfg = tmp_path / "config.json"
    args = base_args(reg, cfg)
    del args["password"]
    args["password_file"] = str(pw)
    runs = four_runs(playbook, play(args))
    assert changed(runs) == [True, True, False, False]
    stored = base64.b64decode(json.loads(cfg.read_text())["auths"][reg.host]["auth"]).decode()
    assert stored == f"{reg.username}:{reg.password}"
    host_side = dict(args, verify_from="host", config_path=str(tmp_path / "host.json"))
    r = playbook(play(host_side))
    assert r.rc == 0, r.output
    assert r.result("login")["verified"] is True
    assert skopeo_inspect(reg, tmp_path / "host.json").returncode == 0


def test_owner_group_mode_four_runs(playbook, tmp_path, htpasswd_registry):
    """``become`` writes another user's file: owner, group and mode are set and then kept."""
    import grp
    import pwd

    if os.getuid() != 0:
        pytest.skip("chown to another user needs root")
    reg = htpasswd_registry
    nobody = pwd.getpwnam("nobody")
    group = grp.getgrgid(nobody.pw_gid).gr_name
    cfg = tmp_path / "home" / ".docker" / "config.json"
    runs = four_runs(playbook, play(base_args(reg, cfg, owner="nobody", group=group, mode="0640")))
    assert changed(runs) == [True, True, False, False]
    st = cfg.stat()
    assert (st.st_uid, st.st_gid, oct(st.st_mode & 0o777)) == (nobody.pw_uid, nobody.pw_gid, "0o640")
    assert skopeo_inspect(reg, cfg).returncode == 0
