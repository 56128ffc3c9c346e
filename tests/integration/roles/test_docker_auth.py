"""docker_auth role on this host (local connection, as root) for real users.

Real components: Debian's docker-registry (htpasswd, TLS with a test CA) via
tests/fixtures/registry_env.py, the registry_login / credhelper_config modules,
docker-credential-secretservice (installed here, and this host has no D-Bus
session bus: the headless case), skopeo and the docker CLI reading the files the
role wrote, as the users who own them.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest

from fixtures.registry_env import make_ca, push_image, start_registry

from support.desktop_session import as_user, drop_user, make_user, start_session  # noqa: E402

pytestmark = [pytest.mark.docker, pytest.mark.slow]

PASSWORD = "pw-" + secrets.token_hex(8)

PLAY = """
- name: Docker auth for users
  hosts: localhost
  gather_facts: false
  roles:
    - role: cloud_registry.auth.docker_auth
"""


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    work = tmp_path_factory.mktemp("registry")
    reg = start_registry(work, auth="htpasswd", users={"alice": PASSWORD}, ca=make_ca(work))
    try:
        push_image(reg, "demo/tiny", "1", "alice", PASSWORD, work)
        yield reg
    finally:
        reg.stop()


@pytest.fixture
def users():
    names = [f"cra{secrets.token_hex(3)}" for _unused in range(2)]
    for n in names:
        subprocess.run(["useradd", "-m", "-s", "/bin/sh", n], check=True)
    try:
        yield [pwd.getpwnam(n) for n in names]
    finally:
        for n in names:
            subprocess.run(["userdel", "-r", n], capture_output=True, check=False)


def _changed(run) -> bool:
    return any(s.get("changed", 0) for s in run.stats().values())


def _as(user, *cmd):
    return subprocess.run(
        ["runuser", "-u", user.pw_name, "--", "env", f"HOME={user.pw_dir}", *cmd],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_users_files_headless_and_real_clients(tmp_path, playbook, registry, users):
    u1, u2 = users
    # u2 already has a config from a `docker login` on a host with the secretservice package
    d2 = Path(u2.pw_dir) / ".docker"
    d2.mkdir(mode=0o700)
    (d2 / "config.json").write_text(json.dumps({"credsStore": "secretservice", "psFormat": "table {{.ID}}"}))
    os.chown(d2, u2.pw_uid, u2.pw_gid)
    os.chown(d2 / "config.json", u2.pw_uid, u2.pw_gid)
    os.chmod(d2 / "config.json", 0o644)

    ev = {
        "docker_auth_users": [{"name": u1.pw_name, "creds_store": "secretservice"}, {"name": u2.pw_name}],
        "docker_auth_cred_helpers": {"europe-west1-docker.pkg.dev": "gcloud"},
        "docker_auth_logins": [
            {"registry": registry.host, "username": "alice", "password": PASSWORD, "store": "file"},
        ],
        "docker_auth_ca_cert": str(registry.ca_path),
    }
    runs = [playbook(PLAY, extra_vars=ev, check=c, diff=True) for c in (True, False, True, False)]
    for r in runs:
        assert r.rc == 0, r.output
        assert PASSWORD not in r.output
    assert [_changed(r) for r in runs] == [True, True, False, False]
    assert "cannot work for" in runs[1].output and u1.pw_name in runs[1].output and u2.pw_name in runs[1].output

    # the user's own skopeo reads the user's own file (CA copied where the user can read it)
    cert_dir = Path(tempfile.mkdtemp(prefix="cra-ca-"))
    cert_dir.chmod(0o755)
    shutil.copy(registry.ca_path, cert_dir / "ca.crt")
    (cert_dir / "ca.crt").chmod(0o644)
    for u in (u1, u2):
        cfg_path = Path(u.pw_dir) / ".docker" / "config.json"
        st = cfg_path.stat()
        assert (st.st_uid, st.st_gid) == (u.pw_uid, u.pw_gid)
        dst = cfg_path.parent.stat()
        assert (dst.st_uid, stat.S_IMODE(dst.st_mode)) == (u.pw_uid, 0o700)
        cfg = json.loads(cfg_path.read_text())
        assert "credsStore" not in cfg, cfg  # headless: never secretservice
        assert cfg["credHelpers"] == {"europe-west1-docker.pkg.dev": "gcloud"}
        assert registry.host in cfg["auths"]
        res = _as(u, "skopeo", "inspect", "--cert-dir", str(cert_dir), f"docker://{registry.host}/demo/tiny:1")
        assert res.returncode == 0, res.stderr
        assert json.loads(res.stdout)["Name"] == f"{registry.host}/demo/tiny"
    shutil.rmtree(cert_dir)
    assert stat.S_IMODE((Path(u1.pw_dir) / ".docker" / "config.json").stat().st_mode) == 0o600
    assert stat.S_IMODE((Path(u2.pw_dir) / ".docker" / "config.json").stat().st_mode) == 0o644  # kept
    assert json.loads((Path(u2.pw_dir) / ".docker" / "config.json").read_text())["psFormat"] == "table {{.ID}}"

    # the docker CLI can use what was written (no credsStore it cannot reach)
    registry.trust_docker()
    ref = f"{registry.host}/demo/tiny:1"
    try:
        res = subprocess.run(
            ["docker", "--config", str(d2), "pull", ref], capture_output=True, text=True, timeout=180, check=False
        )
        assert res.returncode == 0, res.stderr
    finally:
        subprocess.run(["docker", "rmi", "-f", ref], capture_output=True, check=False)

    # -vvvv output of a real run carries no secret
    loud = playbook(PLAY, extra_vars=ev, verbosity=4, json_output=False)
    assert loud.rc == 0
    assert PASSWORD not in loud.output


def test_missing_user_changes_nothing(tmp_path, playbook, registry, users):
    u1 = users[0]
    ev = {
        "docker_auth_users": [{"name": u1.pw_name}, {"name": "no-such-user-cra"}],
        "docker_auth_logins": [{"registry": registry.host, "username": "alice", "password": PASSWORD}],
        "docker_auth_ca_cert": str(registry.ca_path),
    }
    r = playbook(PLAY, extra_vars=ev)
    assert r.rc != 0
    assert "no-such-user-cra do not exist" in r.output
    assert not (Path(u1.pw_dir) / ".docker").exists()


def test_wrong_password_changes_nothing(tmp_path, playbook, registry, users):
    u1 = users[0]
    ev = {
        "docker_auth_users": [{"name": u1.pw_name}],
        "docker_auth_logins": [{"registry": registry.host, "username": "alice", "password": "wrong-" + PASSWORD}],
        "docker_auth_ca_cert": str(registry.ca_path),
        "docker_auth_store": "file",
    }
    r = playbook(PLAY, extra_vars=ev)
    assert r.rc != 0
    assert "wrong-" + PASSWORD not in r.output
    assert not (Path(u1.pw_dir) / ".docker" / "config.json").exists()


@pytest.fixture
def desktop_and_headless():
    desk, head = make_user("crad"), make_user("crah")
    try:
        start_session(desk)
        yield desk, head
    finally:
        drop_user(desk)
        drop_user(head)


def test_secretservice_where_it_works_file_where_it_cannot(tmp_path, playbook, registry, desktop_and_headless):
    """The same role vars on a workstation user (real session bus + gnome-keyring) and a headless
    user: the first gets credsStore secretservice and the secret in the keyring, the second the
    file; both pull with their own skopeo."""
    desk, head = desktop_and_headless
    ev = {
        "docker_auth_users": [{"name": desk.pw_name}, {"name": head.pw_name}],
        "docker_auth_creds_store": "secretservice",
        "docker_auth_logins": [
            {"registry": registry.host, "username": "alice", "password": PASSWORD, "store": "secretservice"},
        ],
        "docker_auth_ca_cert": str(registry.ca_path),
    }
    runs = [playbook(PLAY, extra_vars=ev, check=c, diff=True) for c in (True, False, True, False)]
    for r in runs:
        assert r.rc == 0, r.output
        assert PASSWORD not in r.output
    assert [_changed(r) for r in runs] == [True, True, False, False]
    notes = [line for line in runs[1].output.splitlines() if "cannot work for" in line]
    assert notes and all(head.pw_name in n and desk.pw_name not in n for n in notes), notes

    desk_cfg = json.loads((Path(desk.pw_dir) / ".docker" / "config.json").read_text())
    assert desk_cfg == {"credsStore": "secretservice"}  # the secret is in the keyring, not the file
    listed = as_user(desk, "docker-credential-secretservice", "list")
    assert json.loads(listed.stdout) == {registry.host: "alice"}
    head_cfg = json.loads((Path(head.pw_dir) / ".docker" / "config.json").read_text())
    assert "credsStore" not in head_cfg and registry.host in head_cfg["auths"]

    got = as_user(desk, "docker-credential-secretservice", "get", stdin=registry.host)
    assert json.loads(got.stdout)["Secret"] == PASSWORD  # the keyring holds the real secret

    # each user's own client pulls with what the role wrote: the docker CLI as the workstation
    # user (it runs the helper on that user's session bus), skopeo as the headless one
    registry.trust_docker()
    ref = f"{registry.host}/demo/tiny:1"
    subprocess.run(["usermod", "-aG", "docker", desk.pw_name], check=True)
    cert_dir = Path(tempfile.mkdtemp(prefix="cra-ca-"))
    cert_dir.chmod(0o755)
    shutil.copy(registry.ca_path, cert_dir / "ca.crt")
    (cert_dir / "ca.crt").chmod(0o644)
    try:
        res = as_user(desk, "docker", "pull", ref)
        assert res.returncode == 0, res.stderr
        res = as_user(head, "skopeo", "inspect", "--cert-dir", str(cert_dir), f"docker://{ref}", session=False)
        assert res.returncode == 0, res.stderr
        assert json.loads(res.stdout)["Name"] == f"{registry.host}/demo/tiny"
    finally:
        shutil.rmtree(cert_dir)
        subprocess.run(["docker", "rmi", "-f", ref], capture_output=True, check=False)


@pytest.fixture
def nologin_with_pass(tmp_path):
    """A nologin account (no shell, no sudo on this host) whose own ``pass`` store holds
    its registry secrets: ~/.gnupg with a passphrase-less key and ~/.password-store."""
    from support.pass_store import make_pass_store, stop_agent

    name = f"cran{secrets.token_hex(3)}"
    subprocess.run(["useradd", "-m", "-s", "/usr/sbin/nologin", name], check=True)
    user = pwd.getpwnam(name)
    try:
        env = make_pass_store(Path(user.pw_dir))
        stop_agent(env)  # root's agent for that GNUPGHOME: the user starts their own
        os.rename(env["GNUPGHOME"], Path(user.pw_dir) / ".gnupg")
        os.rename(env["PASSWORD_STORE_DIR"], Path(user.pw_dir) / ".password-store")
        subprocess.run(["chown", "-R", f"{user.pw_uid}:{user.pw_gid}", user.pw_dir], check=True)
        yield user
    finally:
        subprocess.run(["pkill", "-u", name], capture_output=True, check=False)
        subprocess.run(["userdel", "-r", name], capture_output=True, check=False)


def test_no_sudo_nologin_user_helper_runs_as_the_user(tmp_path, playbook, registry, users, nologin_with_pass):
    """No become at all (this host has no sudo): files are written by the module as root and
    owned by their users; only docker-credential-pass runs as the nologin user, in that
    user's own GnuPG and password store."""
    nolog, plain = nologin_with_pass, users[0]
    ev = {
        "docker_auth_users": [
            {
                "name": nolog.pw_name,
                "logins": [{"registry": registry.host, "username": "alice", "password": PASSWORD, "store": "pass"}],
            },
            {
                "name": plain.pw_name,
                "logins": [{"registry": registry.host, "username": "alice", "password": PASSWORD, "store": "file"}],
            },
        ],
        "docker_auth_cred_helpers": {"europe-west1-docker.pkg.dev": "gcloud"},
        "docker_auth_ca_cert": str(registry.ca_path),
    }
    runs = [playbook(PLAY, extra_vars=ev, diff=True) for _unused in range(2)]
    for r in runs:
        assert r.rc == 0, r.output
        assert PASSWORD not in r.output
    assert [_changed(r) for r in runs] == [True, False]

    cfg_path = Path(nolog.pw_dir) / ".docker" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    assert cfg["credHelpers"] == {"europe-west1-docker.pkg.dev": "gcloud", registry.host: "pass"}
    assert registry.host not in cfg.get("auths", {})  # the secret is in the user's pass store only
    assert cfg_path.stat().st_uid == nolog.pw_uid
    got = subprocess.run(
        ["runuser", "-u", nolog.pw_name, "--", "env", f"HOME={nolog.pw_dir}", "docker-credential-pass", "get"],
        input=registry.host,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert got.returncode == 0, got.stdout + got.stderr
    assert json.loads(got.stdout) == {"ServerURL": registry.host, "Username": "alice", "Secret": PASSWORD}
    # the store's files belong to the user, not to root (the helper really ran as the user)
    store = Path(nolog.pw_dir) / ".password-store"
    assert {p.stat().st_uid for p in store.rglob("*.gpg")} == {nolog.pw_uid}

    plain_cfg = json.loads((Path(plain.pw_dir) / ".docker" / "config.json").read_text())
    assert registry.host in plain_cfg["auths"] and plain_cfg["credHelpers"] == {"europe-west1-docker.pkg.dev": "gcloud"}


@pytest.fixture
def service_user():
    """A nologin service account with no GnuPG key and no password store."""
    name = f"cras{secrets.token_hex(3)}"
    subprocess.run(["useradd", "-m", "-s", "/usr/sbin/nologin", name], check=True)
    try:
        yield pwd.getpwnam(name)
    finally:
        subprocess.run(["pkill", "-u", name], capture_output=True, check=False)
        subprocess.run(["userdel", "-r", name], capture_output=True, check=False)


def test_provision_pass_for_a_headless_service_user(tmp_path, playbook, registry, service_user):
    """store: pass for a user without a password store fails with the helper's own message; with
    docker_auth_provision_pass the role makes the user's key and store first (check mode creates nothing), then
    the real docker-credential-pass of that user holds the login; a second run changes nothing."""
    user = service_user
    ev = {
        "docker_auth_users": [
            {
                "name": user.pw_name,
                "logins": [{"registry": registry.host, "username": "alice", "password": PASSWORD, "store": "pass"}],
            }
        ],
        "docker_auth_ca_cert": str(registry.ca_path),
    }
    bare = playbook(PLAY, extra_vars=ev)
    assert bare.rc != 0 and "docker-credential-pass" in bare.output and PASSWORD not in bare.output
    store = Path(user.pw_dir) / ".password-store"
    assert not (store / ".gpg-id").exists()

    ev["docker_auth_provision_pass"] = True
    check = playbook(PLAY, extra_vars=ev, check=True)
    assert check.rc == 0 and _changed(check), check.output
    assert not (store / ".gpg-id").exists() and not (Path(user.pw_dir) / ".gnupg" / "pubring.kbx").exists()
    runs = [playbook(PLAY, extra_vars=ev) for _unused in range(2)]
    for r in runs:
        assert r.rc == 0, r.output
        assert PASSWORD not in r.output
    assert [_changed(r) for r in runs] == [True, False]
    assert (store / ".gpg-id").stat().st_uid == user.pw_uid
    got = subprocess.run(
        ["runuser", "-u", user.pw_name, "--", "env", f"HOME={user.pw_dir}", "docker-credential-pass", "get"],
        input=registry.host,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert got.returncode == 0, got.stdout + got.stderr
    assert json.loads(got.stdout)["Secret"] == PASSWORD
    cfg = json.loads((Path(user.pw_dir) / ".docker" / "config.json").read_text())
    assert cfg["credHelpers"] == {registry.host: "pass"} and registry.host not in cfg.get("auths", {})
