"""registry_token lookup in real ansible-playbook runs.

* 200 hosts, forks 20: the stand-in's token endpoints receive exactly one request.
* cache_dir: a second run makes zero requests; min_ttl forces a new mint; modes and
  file names on disk; the run cache of a finished run is swept.
* ACR-shaped end to end: the lookup mints (Azure stand-in), registry_login verifies the
  credential against the REAL distribution registry (token auth whose token service
  accepts the ACR username + refresh token, as ACR does) and writes config.json,
  skopeo reads the image with it; ``-vvvv`` output holds no secret.
* oauth2 against the real registry's token service; ECR through moto's server;
  Alibaba through the signature-verifying stand-in and a credentials file.
* Bad input: clear errors naming the provider and the fix.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import time
from pathlib import Path

import pytest

from fixtures.alibaba_stand_in import AlibabaStandIn
from fixtures.azure_stand_in import AzureStandIn
from fixtures.registry_env import push_image, start_registry

REGISTRY, TENANT, CLIENT, SECRET = "myreg.azurecr.io", "tenant-1", "app-1", "client-secret-VALUE-6f1e"
ACR_USER = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def az():
    svc = AzureStandIn(REGISTRY, TENANT, {CLIENT: SECRET}).start()
    yield svc
    svc.stop()


def azure_lookup(**extra) -> str:
    args = {
        "provider": "azure",
        "registry": REGISTRY,
        "tenant_id": TENANT,
        "client_id": CLIENT,
        "client_secret": "{{ az_secret }}",
        "authority_host": "{{ az_url }}",
        "endpoint_url": "{{ az_url }}",
        "allow_http": True,
    }
    args.update(extra)
    parts = []
    for k, v in args.items():
        if isinstance(v, str) and v.startswith("{{"):
            parts.append("%s=%s" % (k, v[2:-2].strip()))
        else:
            parts.append("%s=%s" % (k, str(v).lower() if isinstance(v, bool) else ("'%s'" % v if isinstance(v, str) else v)))
    return "lookup('cloud_registry.auth.registry_token', %s)" % ", ".join(parts)


def az_vars(az) -> dict:
    return {"az_url": az.url, "az_secret": SECRET}


def fleet_inventory(tmp_path: Path, n: int) -> Path:
    inv = tmp_path / "fleet.ini"
    inv.write_text("[fleet]\n" + "".join("h%03d\n" % i for i in range(n)) + "[fleet:vars]\nansible_connection=local\n")
    return inv


def wait_until(predicate, limit=60.0):
    """Poll ``predicate`` (a bounded wait for a background effect; nothing is asserted about time)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return predicate()


def assert_no_secret(text: str, secrets):
    for s in secrets:
        assert s not in text, "a secret leaked into the output"


@pytest.mark.slow
def test_200_hosts_forks_20_mint_exactly_once(playbook, tmp_path, az):
    inv = fleet_inventory(tmp_path, 200)
    pb = """
    - hosts: fleet
      gather_facts: false
      tasks:
        - name: mint
          ansible.builtin.set_fact:
            tok: "{{ %s }}"
          no_log: true
        - name: same credential everywhere
          ansible.builtin.assert:
            that:
              - tok.password == hostvars['h000'].tok.password
              - tok.username == '%s'
              - tok.registry == '%s'
              - tok.expires_at is match('^20[0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9:]{8}Z$')
          no_log: true
    """ % (azure_lookup(), ACR_USER, REGISTRY)
    run = playbook(
        pb,
        inventory=inv,
        forks=20,
        extra_vars=az_vars(az),
        env={"CLOUD_REGISTRY_TOKEN_RUN_CACHE_DIR": str(tmp_path / "runcache")},
    )
    assert run.rc == 0, run.output[-3000:]
    stats = run.stats()
    assert len(stats) == 200 and all(s["ok"] == 2 and s["failures"] == 0 for s in stats.values())
    assert az.stats() == {"aad": 1, "exchange": 1, "managed": 0, "failures": 0}
    assert_no_secret(run.output, [SECRET, *az.issued_refresh_tokens])


@pytest.mark.matrix
def test_cache_dir_across_runs_min_ttl_and_what_is_left_on_disk(playbook, tmp_path, az):
    cache_dir = tmp_path / "tokcache"
    runbase = tmp_path / "runcache"
    pb = """
    - hosts: all
      gather_facts: false
      tasks:
        - name: mint
          ansible.builtin.set_fact:
            tok: "{{ %s }}"
          no_log: true
        - name: expiry
          ansible.builtin.debug:
            msg: "{{ tok.expires_at }}"
    """ % azure_lookup(cache_dir=str(cache_dir), min_ttl="{{ ttl }}")
    env = {"CLOUD_REGISTRY_TOKEN_RUN_CACHE_DIR": str(runbase)}

    az.refresh_lifetime = 1000
    first = playbook(pb, extra_vars=dict(az_vars(az), ttl=300), env=env)
    assert first.rc == 0, first.output[-3000:]
    assert az.stats()["exchange"] == 1
    root = runbase / ("cloud_registry_auth-%d" % os.getuid())
    # the run cache does not outlive the run: its reaper removes it once ansible-playbook exited
    assert wait_until(lambda: not os.listdir(root)), os.listdir(root)

    # second run: 1000 s token, min_ttl 600 -> reused from cache_dir, zero requests
    az.reset()
    second = playbook(pb, extra_vars=dict(az_vars(az), ttl=600), env=env)
    assert second.rc == 0, second.output[-3000:]
    assert az.stats() == {"aad": 0, "exchange": 0, "managed": 0, "failures": 0}
    assert second.result("expiry")["msg"] == first.result("expiry")["msg"]

    # third run: min_ttl 1200 > what is left of the 1000 s token -> minted again
    az.refresh_lifetime = 3600
    third = playbook(pb, extra_vars=dict(az_vars(az), ttl=1200), env=env)
    assert third.rc == 0, third.output[-3000:]
    assert az.stats()["exchange"] == 1
    assert third.result("expiry")["msg"] > first.result("expiry")["msg"]

    # on disk: 0700 dirs, 0600 files, hash names only, no secret in any name
    for base in (cache_dir,):
        assert stat.S_IMODE(base.stat().st_mode) == 0o700
        for p in base.rglob("*"):
            assert stat.S_IMODE(p.stat().st_mode) == (0o700 if p.is_dir() else 0o600)
            assert_no_secret(p.name, [SECRET, *az.issued_refresh_tokens])
    names = sorted(p.name for p in cache_dir.iterdir() if p.name != ".key")
    assert len(names) == 2 and names[0].endswith(".json") and names[1].endswith(".lock")
    assert len((cache_dir / ".key").read_bytes()) == 32  # the random key that names the entries
    assert len(names[0]) == 64 + len(".json")
    for run in (first, second, third):
        assert_no_secret(run.output, [SECRET, *az.issued_refresh_tokens])


def test_cache_dir_entries_it_did_not_write_are_refused(playbook, tmp_path, az):
    """A planted or edited entry (a user's password in config.json!) and one another user
    could have written are not used: the run mints, warns, and leaves a private entry."""
    cache_dir = tmp_path / "tokcache"
    pb = """
    - hosts: localhost
      gather_facts: false
      tasks:
        - name: mint
          ansible.builtin.set_fact:
            tok: "{{ %s }}"
          no_log: true
        - name: show
          ansible.builtin.debug:
            msg: "{{ tok.password | hash('sha256') }}"
    """ % azure_lookup(cache_dir=str(cache_dir))
    env = {"CLOUD_REGISTRY_TOKEN_RUN_CACHE_DIR": str(tmp_path / "runcache")}
    first = playbook(pb, extra_vars=az_vars(az), env=env)
    assert first.rc == 0, first.output[-3000:]
    entry = next(cache_dir.glob("*.json"))
    data = json.loads(entry.read_text())
    planted = "planted-password-" + "8d1c"
    for attack in ("edited", "mode"):
        az.reset()
        if attack == "edited":
            entry.write_text(json.dumps(dict(data, password=planted)))  # the MAC field kept as it was
        else:
            entry.write_text(json.dumps(data))
            entry.chmod(0o644)
        run = playbook(pb, extra_vars=az_vars(az), env=env, json_output=False)
        assert run.rc == 0, run.output[-3000:]
        assert az.stats()["exchange"] == 1, attack  # minted again: the entry was not used
        assert "ignored and removed the cache_dir file %s" % entry in run.output.replace("\n", " "), attack
        assert ("MAC does not match" if attack == "edited" else "mode 0o644") in run.output, attack
        assert planted not in run.output
        assert stat.S_IMODE(entry.stat().st_mode) == 0o600 and json.loads(entry.read_text())["password"] != planted
    # an intact entry is still used: nothing minted, no warning
    az.reset()
    again = playbook(pb, extra_vars=az_vars(az), env=env, json_output=False)
    assert again.rc == 0 and az.stats()["exchange"] == 0 and "ignored and removed" not in again.output


def test_wrong_secret_fails_every_host_with_one_request(playbook, tmp_path, az):
    pb = """
    - hosts: fleet
      gather_facts: false
      tasks:
        - name: mint
          ansible.builtin.set_fact:
            tok: "{{ %s }}"
    """ % azure_lookup(client_secret="wrong-secret-VALUE-123")
    run = playbook(
        pb,
        inventory=fleet_inventory(tmp_path, 20),
        forks=10,
        extra_vars=az_vars(az),
        env={"CLOUD_REGISTRY_TOKEN_RUN_CACHE_DIR": str(tmp_path / "rc")},
    )
    assert run.rc != 0
    results = run.tasks["mint"]
    assert len(results) == 20 and all(r.get("failed") for r in results.values())
    assert all("HTTP 401" in r["msg"] and "check tenant_id, client_id and client_secret" in r["msg"] for r in results.values())
    assert az.stats() == {"aad": 1, "exchange": 0, "managed": 0, "failures": 1}  # not 20 attempts with a wrong secret
    assert_no_secret(run.output, [SECRET, "wrong-secret-VALUE-123"])


def test_token_shorter_than_min_ttl_is_refused(playbook, tmp_path, az):
    az.refresh_lifetime = 120
    pb = """
    - hosts: all
      gather_facts: false
      tasks:
        - name: mint
          ansible.builtin.set_fact:
            tok: "{{ %s }}"
          ignore_errors: true
    """ % azure_lookup()
    run = playbook(pb, extra_vars=az_vars(az), env={"CLOUD_REGISTRY_TOKEN_RUN_CACHE_DIR": str(tmp_path / "rc")})
    res = run.result("mint")
    assert res.get("failed") is True
    assert "provider=azure: the provider returned a credential valid for only 1" in res["msg"]
    assert "not more than min_ttl=300s; lower min_ttl below the provider's token lifetime" in res["msg"]
    assert az.stats()["exchange"] == 1
    assert_no_secret(run.output, [SECRET, *az.issued_refresh_tokens])


@pytest.mark.matrix
def test_bad_input_gives_clear_errors(playbook, tmp_path, az):
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    pb = """
    - hosts: all
      gather_facts: false
      tasks:
        - name: unknown provider
          ansible.builtin.debug:
            msg: "{{ lookup('cloud_registry.auth.registry_token', provider='quay-magic') }}"
          ignore_errors: true
        - name: ecr without region
          ansible.builtin.debug:
            msg: "{{ lookup('cloud_registry.auth.registry_token', provider='ecr', aws_access_key_id='AKIAX',
                     aws_secret_access_key=az_secret) }}"
          ignore_errors: true
        - name: wrong secret
          ansible.builtin.debug:
            msg: "{{ %s }}"
          ignore_errors: true
        - name: unreachable
          ansible.builtin.debug:
            msg: "{{ %s }}"
          ignore_errors: true
        - name: misspelt option
          ansible.builtin.debug:
            msg: "{{ lookup('cloud_registry.auth.registry_token', provider='azure', regsitry='x') }}"
          ignore_errors: true
    """ % (
        azure_lookup(client_secret="not-the-secret-XYZ"),
        azure_lookup(endpoint_url="http://127.0.0.1:%d" % dead_port, aad_access_token="aad-token-ABC-123"),
    )
    env = {
        "AWS_REGION": "",
        "AWS_DEFAULT_REGION": "",
        "AWS_CONFIG_FILE": str(tmp_path / "none"),
        "CLOUD_REGISTRY_TOKEN_RUN_CACHE_DIR": str(tmp_path / "runcache"),
    }
    run = playbook(pb, extra_vars=az_vars(az), env=env)
    msgs = {
        t: run.result(t)["msg"]
        for t in ("unknown provider", "ecr without region", "wrong secret", "unreachable", "misspelt option")
    }
    assert "unknown provider 'quay-magic'; use one of: acr, alibaba, azure, ecr, gcp, oauth2" in msgs["unknown provider"]
    assert "provider=ecr: no AWS region; set the region option" in msgs["ecr without region"]
    assert "provider=azure" in msgs["wrong secret"] and "HTTP 401" in msgs["wrong secret"]
    assert "check tenant_id, client_id and client_secret" in msgs["wrong secret"]
    assert "provider=azure: cannot reach http://127.0.0.1:%d/oauth2/exchange" % dead_port in msgs["unreachable"]
    assert "unknown option(s) regsitry" in msgs["misspelt option"]
    assert_no_secret(run.output, [SECRET, "not-the-secret-XYZ", "aad-token-ABC-123"])
    assert az.stats()["exchange"] == 0


@pytest.mark.matrix
def test_acr_shaped_end_to_end_with_real_registry_and_vvvv(playbook, tmp_path, az, registry_ca):
    """Mint (Azure stand-in) -> registry_login verifies against the real registry -> skopeo reads."""

    def acr_like(username, password):  # ACR's token service accepts the exchange's refresh token
        return username == ACR_USER and password in az.issued_refresh_tokens

    reg = start_registry(tmp_path / "reg", "token", ca=registry_ca, check_credentials=acr_like)
    try:
        az.issued_refresh_tokens.clear()
        # push a tiny image with a refresh token minted directly from the stand-in
        from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens import azure

        seed = azure.mint(
            {"registry": REGISTRY, "aad_access_token": az.issue_aad_token(), "endpoint_url": az.url, "allow_http": True}
        )
        image = push_image(reg, "team/app", "1", ACR_USER, seed.password, tmp_path / "push")
        cfg = tmp_path / "docker" / "config.json"
        pb = """
        - hosts: all
          gather_facts: false
          tasks:
            - name: log in with a minted token
              cloud_registry.auth.registry_login:
                registry: "{{ reg_host }}"
                username: "{{ cred.username }}"
                password: "{{ cred.password }}"
                config_path: "{{ cfg }}"
                ca_cert: "{{ ca }}"
              vars:
                cred: "{{ %s }}"
        """ % azure_lookup()
        run = playbook(
            pb,
            extra_vars=dict(az_vars(az), reg_host=reg.host, cfg=str(cfg), ca=str(reg.ca_path)),
            verbosity=4,
            json_output=False,
            env={"CLOUD_REGISTRY_TOKEN_RUN_CACHE_DIR": str(tmp_path / "runcache")},
        )
        assert run.rc == 0, run.output[-4000:]
        assert "registry_token: provider=azure identity=" in run.output  # our -vvv line is there ...
        minted = [t for t in az.issued_refresh_tokens if t != seed.password]
        assert len(minted) == 1
        assert_no_secret(run.output, [SECRET, seed.password, *minted])  # ... and no secret at all
        auth = json.loads(cfg.read_text())["auths"][reg.host]
        assert auth  # written (a helper or inline, per registry_login)
        proc = subprocess.run(
            ["skopeo", "inspect", "--authfile", str(cfg), "--cert-dir", str(reg.cert_dir), "docker://%s" % image],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["Name"].endswith("team/app")
    finally:
        reg.stop()


def test_oauth2_against_the_real_registry(playbook, tmp_path, token_registry):
    reg = token_registry
    pb = """
    - hosts: all
      gather_facts: false
      tasks:
        - name: mint a pull token
          ansible.builtin.set_fact:
            tok: "{{ lookup('cloud_registry.auth.registry_token', provider='oauth2', registry=reg_url,
                     username=user, password=pw, repository='demo/tiny', ca_path=ca, min_ttl=60) }}"
          no_log: true
        - name: use it as a Bearer token on the registry API
          ansible.builtin.uri:
            url: "{{ reg_url }}/v2/demo/tiny/tags/list"
            headers:
              Authorization: "Bearer {{ tok.password }}"
            ca_path: "{{ ca }}"
            return_content: true
          no_log: true
          register: tags
        - name: tags
          ansible.builtin.debug:
            msg: "{{ tags.json.tags }}"
    """
    before = reg.token_service.stats()["verifications"]
    run = playbook(
        pb,
        extra_vars={"reg_url": reg.url, "user": reg.username, "pw": reg.password, "ca": str(reg.ca_path)},
        env={"CLOUD_REGISTRY_TOKEN_RUN_CACHE_DIR": str(tmp_path / "runcache")},
    )
    assert run.rc == 0, run.output[-3000:]
    assert run.result("tags")["msg"] == ["1"]
    assert reg.token_service.stats()["verifications"] == before + 1
    assert_no_secret(run.output, [reg.password])
    issued = []
    real_issue = reg.token_service.issue

    def recording_issue(*a, **k):
        token = real_issue(*a, **k)
        issued.append(token[0])
        return token

    reg.token_service.issue = recording_issue
    try:
        loud = playbook(
            pb,
            verbosity=4,
            json_output=False,
            extra_vars={"reg_url": reg.url, "user": reg.username, "pw": reg.password, "ca": str(reg.ca_path)},
            env={"CLOUD_REGISTRY_TOKEN_RUN_CACHE_DIR": str(tmp_path / "runcache-loud")},
        )
    finally:
        del reg.token_service.issue
    assert loud.rc == 0, loud.output[-3000:]
    assert "registry_token: provider=oauth2 identity=" in loud.output
    assert len(issued) >= 1
    assert_no_secret(loud.output, [reg.password, *issued])


def test_ecr_through_moto_server(playbook, tmp_path, monkeypatch):
    moto_server = pytest.importorskip("moto.server")
    from moto.ecr.responses import ECRResponse

    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    calls = []
    original = ECRResponse.get_authorization_token

    def twelve_hours(self):  # what ECR really answers; moto's own answer expired in 2015
        calls.append(1)
        result = original(self)
        if os.environ.get("_KEEP_MOTO_EXPIRY") != "1":
            for item in result.result["authorizationData"]:
                item["expiresAt"] = time.time() + 12 * 3600
        return result

    monkeypatch.setattr(ECRResponse, "get_authorization_token", twelve_hours)
    host, port = server.get_host_and_port()
    url = "http://%s:%d" % (host, port)
    pb = """
    - hosts: fleet
      gather_facts: false
      tasks:
        - name: ecr
          ansible.builtin.set_fact:
            tok: "{{ lookup('cloud_registry.auth.registry_token', 'ecr', region='eu-west-1', endpoint_url=url,
                     allow_http=true, aws_access_key_id='AKIAMOTO', aws_secret_access_key='moto-secret-KEY') }}"
          no_log: true
        - name: registry
          ansible.builtin.debug:
            msg: "{{ tok.registry }} {{ tok.username }}"
          run_once: true
    """
    try:
        run = playbook(
            pb,
            inventory=fleet_inventory(tmp_path, 12),
            forks=6,
            extra_vars={"url": url},
            env={"CLOUD_REGISTRY_TOKEN_RUN_CACHE_DIR": str(tmp_path / "runcache")},
        )
        assert run.rc == 0, run.output[-3000:]
        assert run.result("registry", "h000")["msg"] == "123456789012.dkr.ecr.eu-west-1.amazonaws.com AWS"
        assert len(calls) == 1
        # moto's unpatched 2015 expiry: refused with a clear error, never returned
        monkeypatch.setenv("_KEEP_MOTO_EXPIRY", "1")
        run = playbook(
            pb.replace("moto-secret-KEY", "moto-secret-KEY2"),
            inventory=fleet_inventory(tmp_path, 1),
            extra_vars={"url": url},
            env={"CLOUD_REGISTRY_TOKEN_RUN_CACHE_DIR": str(tmp_path / "rc2")},
            json_output=False,
            verbosity=4,
        )
        assert run.rc != 0
        assert "provider=ecr: the provider returned a credential that already expired at 2015-01-01" in run.output
        assert_no_secret(run.output, ["moto-secret-KEY", "123456789012-auth-token"])
    finally:
        server.stop()


def test_alibaba_enterprise_from_the_credentials_file(playbook, tmp_path):
    ali = AlibabaStandIn(
        keys={"LTAIfile": ("file-secret-VALUE-42", None)},
        region="cn-hangzhou",
        instances=[{"InstanceId": "cri-x", "InstanceName": "corp", "Domains": ["corp-registry.cn-hangzhou.cr.aliyuncs.com"]}],
    ).start()
    try:
        creds = tmp_path / "alicreds"
        creds.write_text(
            "[default]\ntype = access_key\naccess_key_id = nope\naccess_key_secret = nope\n"
            "[deploy]\ntype = access_key\naccess_key_id = LTAIfile\n"
            "access_key_secret = file-secret-VALUE-42\n"
        )
        pb = """
        - hosts: fleet
          gather_facts: false
          tasks:
            - name: alibaba
              ansible.builtin.set_fact:
                tok: "{{ lookup('cloud_registry.auth.registry_token', provider='alibaba', profile='deploy',
                         registry='corp-registry.cn-hangzhou.cr.aliyuncs.com', endpoint_url=url, allow_http=true) }}"
              no_log: true
            - name: user
              ansible.builtin.debug:
                msg: "{{ tok.username }}@{{ tok.registry }}"
              run_once: true
        """
        run = playbook(
            pb,
            inventory=fleet_inventory(tmp_path, 10),
            forks=5,
            extra_vars={"url": ali.url},
            env={"ALIBABA_CLOUD_CREDENTIALS_FILE": str(creds), "CLOUD_REGISTRY_TOKEN_RUN_CACHE_DIR": str(tmp_path / "runcache")},
        )
        assert run.rc == 0, run.output[-3000:]
        assert run.result("user", "h000")["msg"] == "cr_temp_user@corp-registry.cn-hangzhou.cr.aliyuncs.com"
        assert ali.stats()["GetAuthorizationToken"] == 1 and ali.stats()["failures"] == 0
        assert_no_secret(run.output, ["file-secret-VALUE-42", *ali.issued_tokens])
        # the same play with -vvvv and the default callback (what a person sees): no secret either
        loud = playbook(
            pb,
            inventory=fleet_inventory(tmp_path, 3),
            verbosity=4,
            json_output=False,
            extra_vars={"url": ali.url},
            env={
                "ALIBABA_CLOUD_CREDENTIALS_FILE": str(creds),
                "CLOUD_REGISTRY_TOKEN_RUN_CACHE_DIR": str(tmp_path / "runcache-loud"),
            },
        )
        assert loud.rc == 0, loud.output[-3000:]
        assert "cr_temp_user@corp-registry.cn-hangzhou.cr.aliyuncs.com" in loud.output
        assert "registry_token: provider=alibaba identity=" in loud.output
        assert ali.stats()["GetAuthorizationToken"] == 2
        assert_no_secret(loud.output, ["file-secret-VALUE-42", *ali.issued_tokens])
    finally:
        ali.stop()
