"""End-to-end proofs for Google registry credentials, with REAL components:

(a) a GCR-like token service (``tests/fixtures/token_service.py`` with a pluggable
    credential check) in front of the real distribution registry (``docker-registry``)
    accepts ``oauth2accesstoken`` + an access token only when the Google OAuth stand-in
    (``tests/fixtures/google_cloud.py``) says, through its ``tokeninfo`` endpoint, that it
    issued it. The ``registry_token`` lookup mints (service-account key -> RS256 JWT
    assertion -> token endpoint; or the metadata server), ``registry_login`` logs in, and
    the real ``docker pull`` works.
(b) the same registry through ``credhelper_config`` + the REAL ``docker-credential-gcloud``
    of the installed Google Cloud CLI (``CLOUDSDK_CONFIG`` in a temp dir, an activated
    service-account key whose ``token_uri`` and ``auth/token_host`` point at the local
    OAuth endpoint), then ``docker pull`` with ``DOCKER_CONFIG``.

Everything talks to 127.0.0.1 only (gcloud's metadata probing goes to the stand-in too).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from google.auth.transport.requests import Request
from google.oauth2 import service_account

from fixtures.google_cloud import GoogleCloudStub
from fixtures.registry_env import make_ca, push_image, start_registry

pytestmark = pytest.mark.docker

PULLER = "puller@demo-project.iam.gserviceaccount.com"
GCR_USERNAMES = ("oauth2accesstoken", "_dcgcloud_token")  # what GCR/AR accept with an access token


JSON_KEY_USERNAMES = ("_json_key", "_json_key_base64")  # GAR/GCR's key-file login


def json_key_is_active(google, username, password):
    """What GAR checks for a ``_json_key`` login: the password is a service-account key file
    whose private key is an active key of that account (here: the one the stand-in issued)."""
    from cryptography.hazmat.primitives import serialization

    try:
        text = base64.b64decode(password, validate=True).decode() if username == "_json_key_base64" else password
        info = json.loads(text)
        account = google.service_accounts[info["client_email"]]
        key = serialization.load_pem_private_key(info["private_key"].encode(), password=None)
    except (ValueError, KeyError, TypeError):
        return False
    return info.get("private_key_id") == account["key_id"] and (
        key.public_key().public_numbers() == account["public_key"].public_numbers()
    )


@pytest.fixture(scope="module")
def google(tmp_path_factory):
    stub = GoogleCloudStub().start()
    stub.add_project("demo-project", 424242424242)
    key = stub.add_service_account(PULLER)
    work = tmp_path_factory.mktemp("gcp-keys")
    stub.key_path = work / "puller.json"
    stub.key_path.write_text(json.dumps(key))
    stub.key_path.chmod(0o600)
    stub.key = key
    yield stub
    stub.stop()


@pytest.fixture(scope="module")
def gcr(google, tmp_path_factory):
    """docker-registry behind a token service that validates Google access tokens."""
    seen = []

    def check_credentials(username, password):
        seen.append(username)
        if username in JSON_KEY_USERNAMES:
            return json_key_is_active(google, username, password)
        if username not in GCR_USERNAMES or not password:
            return False
        url = google.url + "/tokeninfo?" + urllib.parse.urlencode({"access_token": password})
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - loopback stand-in
                info = json.load(resp)
        except urllib.error.HTTPError:
            return False
        return int(info.get("expires_in", 0)) > 0

    work = tmp_path_factory.mktemp("gcr")
    ca = make_ca(work / "ca")
    reg = start_registry(work, "token", ca=ca, check_credentials=check_credentials)
    try:
        reg.trust_docker()
        creds = service_account.Credentials.from_service_account_info(
            google.key, scopes=["https://www.googleapis.com/auth/cloud-platform"]
        )
        creds.refresh(Request())
        reg.image = push_image(reg, "demo-project/app", "1", "oauth2accesstoken", creds.token, work)
        reg.seen_usernames = seen
    except Exception:
        reg.stop()
        raise
    yield reg
    reg.stop()


def docker_pull(image, env):
    proc = subprocess.run(["docker", "pull", "-q", image], env=env, capture_output=True, text=True, timeout=180, check=False)
    subprocess.run(["docker", "rmi", "-f", image], capture_output=True, timeout=60, check=False)
    return proc


LOOKUP_PLAY = """
- hosts: localhost
  gather_facts: false
  vars:
    lookup_args: {lookup_args}
  tasks:
    - name: mint
      ansible.builtin.set_fact:
        gcr_cred: "{{{{ lookup('cloud_registry.auth.registry_token', 'gcp', **lookup_args) }}}}"
      no_log: true
    - name: mint again (same identity, same run)
      ansible.builtin.set_fact:
        gcr_cred2: "{{{{ lookup('cloud_registry.auth.registry_token', 'gcp', **lookup_args) }}}}"
      no_log: true
    - name: shape
      ansible.builtin.assert:
        that:
          - gcr_cred.username == 'oauth2accesstoken'
          - gcr_cred.registry == '{registry}'
          - gcr_cred.expires_at is match('^\\\\d{{4}}-\\\\d\\\\d-\\\\d\\\\dT\\\\d\\\\d:\\\\d\\\\d:\\\\d\\\\dZ$')
          - gcr_cred2.password == gcr_cred.password
    - name: login
      cloud_registry.auth.registry_login:
        registry: "{{{{ gcr_cred.registry }}}}"
        username: "{{{{ gcr_cred.username }}}}"
        password: "{{{{ gcr_cred.password }}}}"
        config_path: "{config}"
        ca_cert: "{ca}"
"""


def _lookup_play(reg, cfg, **lookup_args):
    lookup_args.setdefault("registry", reg.host)
    return LOOKUP_PLAY.format(lookup_args=json.dumps(lookup_args), registry=reg.host, config=cfg, ca=reg.ca_path)


def _env(tmp_path, **extra):
    env = {"ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp")}
    env.update(extra)
    return env


def test_lookup_key_file_registry_login_docker_pull(playbook, google, gcr, tmp_path):
    cfg = tmp_path / "docker" / "config.json"
    minted = google.count("token_ok")
    run = playbook(_lookup_play(gcr, cfg, credentials_file=str(google.key_path)), env=_env(tmp_path))
    assert run.rc == 0, run.output
    assert run.result("login")["changed"]
    assert google.count("token_ok") == minted + 1  # minted once for two evaluations
    stored = json.loads(cfg.read_text())
    assert gcr.host in stored["auths"]

    pull = docker_pull(gcr.image, dict(os.environ, DOCKER_CONFIG=str(cfg.parent)))
    assert pull.returncode == 0, pull.stderr
    assert "oauth2accesstoken" in gcr.seen_usernames


def test_token_service_refuses_a_token_google_did_not_issue(playbook, gcr, tmp_path):
    cfg = tmp_path / "docker" / "config.json"
    pb = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: login
      cloud_registry.auth.registry_login:
        registry: "%s"
        username: oauth2accesstoken
        password: ya29.c.not-issued-by-the-oauth-endpoint
        config_path: "%s"
        ca_cert: "%s"
""" % (gcr.host, cfg, gcr.ca_path)
    run = playbook(pb)
    assert run.rc != 0
    assert not cfg.exists() or gcr.host not in json.loads(cfg.read_text()).get("auths", {})


def test_lookup_metadata_server_registry_login(playbook, google, gcr, tmp_path):
    google.set_metadata("puller@demo-project.iam.gserviceaccount.com", "demo-project")
    cfg = tmp_path / "docker" / "config.json"
    before = google.count("metadata_token")
    run = playbook(
        _lookup_play(gcr, cfg, auth_kind="machineaccount"),
        env=_env(
            tmp_path,
            GCE_METADATA_HOST=google.host_port,
            GCE_METADATA_IP=google.host_port,
            GOOGLE_APPLICATION_CREDENTIALS="",
            CLOUDSDK_CONFIG=str(tmp_path / "no-gcloud"),
        ),
    )
    assert run.rc == 0, run.output
    assert google.count("metadata_token") == before + 1
    pull = docker_pull(gcr.image, dict(os.environ, DOCKER_CONFIG=str(cfg.parent)))
    assert pull.returncode == 0, pull.stderr


def test_lookup_impersonation_registry_login(playbook, google, gcr, tmp_path):
    target = "registry-reader@demo-project.iam.gserviceaccount.com"
    if target not in google.service_accounts:
        google.add_service_account(target)
    google.grant_token_creator(target, PULLER)
    cfg = tmp_path / "docker" / "config.json"
    before = google.count("generateAccessToken_ok")
    run = playbook(
        _lookup_play(
            gcr, cfg, credentials_file=str(google.key_path), impersonate_service_account=target, iam_endpoint=google.url
        ),
        env=_env(tmp_path),
    )
    assert run.rc == 0, run.output
    assert google.count("generateAccessToken_ok") == before + 1
    pull = docker_pull(gcr.image, dict(os.environ, DOCKER_CONFIG=str(cfg.parent)))
    assert pull.returncode == 0, pull.stderr


def test_no_token_or_key_in_vvvv_output(playbook, google, gcr, tmp_path):
    cfg = tmp_path / "docker" / "config.json"
    run = playbook(
        _lookup_play(gcr, cfg, credentials_file=str(google.key_path)),
        env=_env(tmp_path),
        verbosity=4,
        json_output=False,
    )
    assert run.rc == 0, run.output[-3000:]
    assert "TASK [login]" in run.output
    issued = list(google.tokens)
    assert issued
    for token in issued:
        assert token not in run.output
    for line in google.key["private_key"].splitlines()[1:-1]:
        assert line not in run.output


def _gcloud(args, env):
    return subprocess.run(["gcloud", *args], env=env, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.skipif(not shutil.which("docker-credential-gcloud"), reason="Google Cloud CLI not installed")
def test_credhelper_config_with_real_docker_credential_gcloud(playbook, google, gcr, tmp_path):
    sdk = tmp_path / "gcloud-config"
    sdk.mkdir()
    (sdk / "gce").write_text("False")  # gcloud's "am I on GCE" cache: never probe
    env = dict(
        os.environ,
        CLOUDSDK_CONFIG=str(sdk),
        GCE_METADATA_ROOT=google.host_port,  # any metadata probe goes to the stand-in
        GCE_METADATA_HOST=google.host_port,
        GCE_METADATA_IP=google.host_port,
        CLOUDSDK_CORE_DISABLE_PROMPTS="1",
    )
    for prop, value in (
        ("core/disable_usage_reporting", "true"),
        ("component_manager/disable_update_check", "true"),
        ("auth/token_host", google.token_uri),
        ("artifacts/allow_unrecognized_registry", "true"),
    ):
        res = _gcloud(["config", "set", prop, value], env)
        assert res.returncode == 0, res.stderr
    minted = google.count("token_ok")
    res = _gcloud(["auth", "activate-service-account", "--key-file", str(google.key_path)], env)
    assert res.returncode == 0, res.stderr
    assert PULLER in res.stderr + res.stdout

    docker_dir = tmp_path / "docker"
    pb = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: helper
      cloud_registry.auth.credhelper_config:
        helper: gcloud
        registries: ["%s"]
        config_path: "%s/config.json"
        require_helper: true
""" % (gcr.host, docker_dir)
    first = playbook(pb, diff=True)
    assert first.rc == 0, first.output
    assert first.result("helper")["changed"]
    assert not playbook(pb).result("helper")["changed"]
    assert json.loads((docker_dir / "config.json").read_text())["credHelpers"] == {gcr.host: "gcloud"}

    gcr.seen_usernames.clear()
    pull = docker_pull(gcr.image, dict(env, DOCKER_CONFIG=str(docker_dir)))
    assert pull.returncode == 0, pull.stderr
    assert "_dcgcloud_token" in gcr.seen_usernames  # the credential came from docker-credential-gcloud
    assert google.count("token_ok") > minted  # minted by gcloud at the local OAuth endpoint

    # and with a gcloud config that has no activated account, the same pull is refused
    # (no "gcloud auth revoke": that would call Google's revoke endpoint)
    empty = tmp_path / "gcloud-empty"
    empty.mkdir()
    (empty / "gce").write_text("False")
    pull = docker_pull(gcr.image, dict(env, CLOUDSDK_CONFIG=str(empty), DOCKER_CONFIG=str(docker_dir)))
    assert pull.returncode != 0


def test_lookup_application_default_credentials(playbook, google, gcr, tmp_path):
    """No Google option at all: Application Default Credentials from GOOGLE_APPLICATION_CREDENTIALS."""
    cfg = tmp_path / "docker" / "config.json"
    minted = google.count("token_ok")
    run = playbook(
        _lookup_play(gcr, cfg),
        env=_env(
            tmp_path,
            GOOGLE_APPLICATION_CREDENTIALS=str(google.key_path),
            CLOUDSDK_CONFIG=str(tmp_path / "no-gcloud"),
            GCE_METADATA_HOST=google.host_port,
            GCE_METADATA_IP=google.host_port,
        ),
    )
    assert run.rc == 0, run.output
    assert google.count("token_ok") == minted + 1
    pull = docker_pull(gcr.image, dict(os.environ, DOCKER_CONFIG=str(cfg.parent)))
    assert pull.returncode == 0, pull.stderr


KEY_AUTH_PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: login
      vars:
        cred: "{{{{ lookup('cloud_registry.auth.registry_token', 'gcp', credentials_file='{key}',
                          key_auth='{key_auth}', registry='{registry}') }}}}"
      cloud_registry.auth.registry_login:
        registry: "{{{{ cred.registry }}}}"
        username: "{{{{ cred.username }}}}"
        password: "{{{{ cred.password }}}}"
        config_path: "{config}"
        ca_cert: "{ca}"
"""


@pytest.mark.parametrize("key_auth, username", [("json_key", "_json_key"), ("json_key_base64", "_json_key_base64")])
def test_key_auth_login_and_docker_pull(playbook, google, gcr, tmp_path, key_auth, username):
    """The key-file login of the Artifact Registry docs (``docker login -u _json_key``), end to end:
    the lookup hands out the key as a password, registry_login verifies it against the registry's
    token service, and the real docker CLI pulls with the stored login."""
    cfg = tmp_path / "docker" / "config.json"
    pb = KEY_AUTH_PLAY.format(key=google.key_path, key_auth=key_auth, registry=gcr.host, config=cfg, ca=gcr.ca_path)
    runs = [playbook(pb), playbook(pb, verbosity=4, json_output=False)]
    assert runs[0].rc == 0, runs[0].output
    assert runs[0].result("login")["changed"] and runs[0].result("login")["auth_scheme"] == "bearer"
    assert runs[1].rc == 0 and google.key["private_key_id"] not in runs[1].output
    assert "PRIVATE KEY" not in runs[0].output + runs[1].output
    entry = json.loads(cfg.read_text())["auths"][gcr.host]
    # like `docker login`: the registry's refresh token is kept, the key file itself is not
    assert base64.b64decode(entry["auth"]).decode() == username + ":" and entry["identitytoken"]
    assert "PRIVATE KEY" not in cfg.read_text()
    pull = docker_pull(gcr.image, dict(os.environ, DOCKER_CONFIG=str(cfg.parent)))
    assert pull.returncode == 0, pull.stderr
    assert username in gcr.seen_usernames


def test_key_auth_with_a_key_google_does_not_know_is_refused(playbook, google, gcr, tmp_path):
    """A well-formed key file of the right account but a different private key: the registry
    refuses it, and nothing is written."""
    stranger = GoogleCloudStub().add_service_account(PULLER)  # same email, another key, not registered here
    other = tmp_path / "other.json"
    other.write_text(json.dumps(stranger))
    cfg = tmp_path / "docker" / "config.json"
    run = playbook(KEY_AUTH_PLAY.format(key=other, key_auth="json_key", registry=gcr.host, config=cfg, ca=gcr.ca_path))
    assert run.rc != 0
    assert "PRIVATE KEY" not in run.output
    assert not cfg.exists()


REFRESH_SITE = """\
- hosts: localhost
  gather_facts: false
  vars:
    cred: "{{{{ lookup('cloud_registry.auth.registry_token', 'gcp', credentials_file='{key}', registry='{registry}') }}}}"
  roles:
    - role: cloud_registry.auth.docker_auth
      vars:
        docker_auth_users: [{{name: root, config_path: "{config}"}}]
        docker_auth_logins:
          - registry: "{{{{ cred.registry }}}}"
            username: "{{{{ cred.username }}}}"
            password: "{{{{ cred.password }}}}"
            expires_at: "{{{{ cred.expires_at }}}}"
        docker_auth_ca_cert: "{ca}"
        docker_auth_refresh_timer:
          playbook: site.yml
          unit_dir: "{units}"
          environment_file: "{envfile}"
          before: 600
  post_tasks:
    - name: inventory of the login
      cloud_registry.auth.registry_auth_info:
        files: [{{path: "{config}"}}]
      register: info
"""


def _unit_value(text, key):
    return [ln.split("=", 1)[1] for ln in text.splitlines() if ln.startswith(key + "=")]


def _fire(service_path):
    """Run the service the way systemd's ExecStart=, WorkingDirectory= and EnvironmentFile= say (systemd itself
    is not PID 1 here; the unit files were checked by systemd-analyze)."""
    import shlex

    text = Path(service_path).read_text()
    argv = [w.replace("%%", "%").replace("$$", "$") for w in shlex.split(_unit_value(text, "ExecStart")[0])]
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
    for line in Path(_unit_value(text, "EnvironmentFile")[0]).read_text().splitlines():
        key, _sep, value = line.partition("=")
        env[key] = value
    return subprocess.run(
        argv, cwd=_unit_value(text, "WorkingDirectory")[0], env=env, capture_output=True, text=True, timeout=300, check=False
    )


def _epoch(text, fmt="%Y-%m-%dT%H:%M:%SZ"):
    import calendar
    import time

    return calendar.timegm(time.strptime(text, fmt))


def _on_calendar_epoch(timer_path):
    return _epoch(_unit_value(Path(timer_path).read_text(), "OnCalendar")[0], "%Y-%m-%d %H:%M:%S UTC")


def test_docker_auth_refresh_timer_renews_a_short_lived_login(playbook, google, gcr, tmp_path):
    """The docker_auth role logs in with a minted access token and its expires_at, records the expiry beside
    config.json (registry_auth_info reports it), and writes a systemd timer that runs the same playbook again
    10 minutes before the token expires. Running that service (its ExecStart, as systemd would) mints a new token,
    logs in again, and moves the timer to the new token's expiry; the real docker pull works with the new login.
    No token is in the units."""
    import sys

    cfg, units = tmp_path / "docker" / "config.json", tmp_path / "units"
    envfile = tmp_path / "refresh.env"
    # what the runner's unit needs: the collection, the controller's Python, no metadata probe off loopback
    env = {
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "ansible-tmp"),
        "GCE_METADATA_HOST": google.host_port,
        "GCE_METADATA_IP": google.host_port,
        "NO_GCE_CHECK": "True",
        "HOME": os.environ.get("HOME", "/root"),
        "ANSIBLE_COLLECTIONS_PATH": str(Path(__file__).resolve().parents[3] / ".tmp" / "collections"),
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
        "ANSIBLE_LOCALHOST_WARNING": "false",
    }
    envfile.write_text("".join("%s=%s\n" % (k, env[k]) for k in sorted(env)))
    site = tmp_path / "site.yml"
    site.write_text(
        REFRESH_SITE.format(key=google.key_path, registry=gcr.host, config=cfg, ca=gcr.ca_path, units=units, envfile=envfile)
    )
    timer, service = units / "cloud-registry-auth-docker-logins.timer", units / "cloud-registry-auth-docker-logins.service"
    lifetime = google.token_lifetime
    gcr.token_service.issue_refresh_tokens = False  # as GCR: the access token itself is the stored credential
    try:
        google.token_lifetime = 2400
        keys = ("ANSIBLE_LOCAL_TEMP", "GCE_METADATA_HOST", "GCE_METADATA_IP", "NO_GCE_CHECK")
        first = playbook(site, env={k: env[k] for k in keys})
        assert first.rc == 0, first.output
        sched = first.result("cloud_registry.auth.docker_auth : Schedule the next refresh of the short-lived logins")
        assert sched["changed"] and sched["systemd"] is False  # no systemd as PID 1 here: written, not started
        assert "systemctl enable --now cloud-registry-auth-docker-logins.timer" in " ".join(sched["warnings"])
        info = first.result("inventory of the login")["entries"][0]
        # an opaque access token: its expiry is known only from the record the login left
        assert (info["expiry_source"], info["state"]) == ("recorded", "expiring")
        expires = info["expires_at"]
        assert _on_calendar_epoch(timer) == _epoch(expires) - 600
        token1 = json.loads(cfg.read_text())["auths"][gcr.host]
        assert "identitytoken" not in token1
        secrets = [v for v in token1.values() if len(v) > 8] + [base64.b64decode(token1["auth"]).decode().split(":", 1)[1]]
        for unit in (timer, service):
            text = unit.read_text()
            assert not [s for s in secrets if s and s in text]
        verify = subprocess.run(
            ["systemd-analyze", "verify", "--man=no", str(service), str(timer)], capture_output=True, text=True, check=False
        )
        assert verify.returncode == 0 and not verify.stderr.strip(), verify.stderr

        # what the timer runs, 10 minutes before the expiry (here: now), with a longer-lived token to come
        google.token_lifetime = 3599
        fired = _fire(service)
        assert fired.returncode == 0, fired.stdout[-3000:] + fired.stderr[-3000:]
        token2 = json.loads(cfg.read_text())["auths"][gcr.host]
        assert token2 != token1
        record = json.loads((cfg.parent / "cloud-registry-auth.expiry.json").read_text())
        expires2 = record["files"]["config.json"][gcr.host]["expires_at"]
        assert expires2 > expires
        assert _on_calendar_epoch(timer) == _epoch(expires2) - 600
        pull = docker_pull(gcr.image, dict(os.environ, DOCKER_CONFIG=str(cfg.parent)))
        assert pull.returncode == 0, pull.stderr
        for token in (token1, token2):
            access_token = base64.b64decode(token["auth"]).decode().split(":", 1)[1]
            assert access_token not in first.output + fired.stdout + fired.stderr + timer.read_text()
            assert access_token not in (cfg.parent / "cloud-registry-auth.expiry.json").read_text()
    finally:
        google.token_lifetime = lifetime
        gcr.token_service.issue_refresh_tokens = True
