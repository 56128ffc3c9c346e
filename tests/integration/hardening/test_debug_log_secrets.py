"""No secret in ansible-core's own logs: ``ANSIBLE_DEBUG=1`` prints every module's
arguments and raw output whatever ``no_log`` says, so the collection's action plugins
send secrets in a file (``_secrets_file``) and only per-task placeholders as arguments.

Each module runs with its secrets through real ``ansible-playbook -vvvv`` runs with
``ANSIBLE_DEBUG=1``, succeeding and failing, and the whole output (the debug log
included) is searched for every derived form of every secret. The results are
checked too: the secrets did their job (the API accepted the token, the stored
secret holds the value), so a test that "passes" because nothing was sent cannot.
"""

from __future__ import annotations

import base64
import json

import pytest
import requests

from fixtures.google_cloud import GoogleCloudStub

from support.leaks import leaked

DEBUG = {"ANSIBLE_DEBUG": "1"}
REG_PASSWORD = 'pull/"secret" & ünï+%s' % "Q9vX"


def leaked_robot(text, *secrets):
    return leaked(text, *secrets, user="robot")


def one_task(module: str, args: dict) -> str:
    return json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": [{"name": "t", module: args}]}]) + "\n"


def test_k8s_pull_secret_secrets_stay_out_of_the_debug_log(playbook, kube_api, tmp_path):
    kubectl = kube_api.kubectl
    kubectl.create_namespaces("dbg-a")
    registries = [{"server": "registry.example.com", "username": "robot", "password": REG_PASSWORD}]
    args = {
        "name": "pull",
        "namespaces": ["dbg-a"],
        "registries": registries,
        "host": kube_api.url,
        "ca_cert": str(kube_api.ca_cert),
        "api_key": kube_api.token,
    }
    run = playbook(one_task("cloud_registry.auth.k8s_pull_secret", args), verbosity=4, diff=True, json_output=False, env=DEBUG)
    assert run.rc == 0, run.output[-3000:]
    assert "done with _execute_module" in run.output  # the debug log is there: the test can fail
    assert leaked_robot(run.output, kube_api.token, REG_PASSWORD) == []
    # the token was used and the password stored: placeholders did not end up anywhere
    stored = kubectl.pull_secret("dbg-a", "pull")
    assert stored["auths"]["registry.example.com"]["password"] == REG_PASSWORD
    assert any(e["verb"] == "create" for e in kube_api.events())

    # a kubeconfig given as a dictionary, its token inside, and an API server that refuses it
    kubeconfig = json.loads(kube_api.kubeconfig.read_text())
    kubeconfig["users"][0]["user"]["token"] = "wrong-" + kube_api.token[-40:]
    args = {"name": "pull", "namespaces": ["dbg-a"], "registries": registries, "kubeconfig": kubeconfig}
    run = playbook(one_task("cloud_registry.auth.k8s_pull_secret", args), verbosity=4, json_output=False, env=DEBUG)
    assert run.rc != 0 and "401" in run.output, run.output[-3000:]
    assert leaked_robot(run.output, kubeconfig["users"][0]["user"]["token"], REG_PASSWORD, kube_api.token) == []

    # a proxy with user info that cannot be reached
    args = {
        "name": "pull",
        "namespaces": ["dbg-a"],
        "registries": registries,
        "host": kube_api.url,
        "ca_cert": str(kube_api.ca_cert),
        "api_key": kube_api.token,
        "proxy": "http://robot:Pr0xy-S3cret@127.0.0.1:9",
    }
    run = playbook(one_task("cloud_registry.auth.k8s_pull_secret", args), verbosity=4, json_output=False, env=DEBUG)
    assert run.rc != 0 and "127.0.0.1:9" in run.output, run.output[-3000:]
    assert leaked_robot(run.output, "Pr0xy-S3cret", kube_api.token, REG_PASSWORD) == []


@pytest.fixture
def gcloud(tmp_path):
    stub = GoogleCloudStub().start()
    stub.add_project("dbg-project", 4242)
    stub.key = stub.add_service_account("deployer@dbg-project.iam.gserviceaccount.com")
    yield stub
    stub.stop()


def test_gcp_secret_iam_secrets_stay_out_of_the_debug_log(playbook, gcloud):
    value = "dckr_pat_" + "Zq81vNm3Lx0pWw"
    key = gcloud.key
    key_body = "".join(key["private_key"].splitlines()[1:-1])
    endpoints = {k: gcloud.url for k in ("secretmanager_endpoint", "resourcemanager_endpoint", "artifactregistry_endpoint")}
    args = dict(endpoints, project="dbg-project", secret_id="hub-token", secret_value=value, credentials_json=key)
    run = playbook(one_task("cloud_registry.auth.gcp_secret_iam", args), verbosity=4, diff=True, json_output=False, env=DEBUG)
    assert run.rc == 0, run.output[-3000:]
    assert "done with _execute_module" in run.output
    assert leaked_robot(run.output, value) == []
    assert [c for c in (key_body[i : i + 32] for i in range(0, len(key_body) - 32, 32)) if c in run.output] == []
    # the value was stored: read it back the way a user's script would
    token = gcloud.issue_token(key["client_email"], ["https://www.googleapis.com/auth/cloud-platform"])[0]
    resp = requests.get(
        f"{gcloud.url}/v1/projects/dbg-project/secrets/hub-token/versions/latest:access",
        headers={"Authorization": "Bearer " + token},
        timeout=10,
    )
    assert base64.b64decode(resp.json()["payload"]["data"]).decode() == value

    bad = "ya29.not-a-real-token-" + "Hh7Gg6Ff5"
    args = dict(endpoints, project="dbg-project", secret_id="hub-token", secret_value=value, access_token=bad)
    run = playbook(one_task("cloud_registry.auth.gcp_secret_iam", args), verbosity=4, json_output=False, env=DEBUG)
    assert run.rc != 0 and "401" in run.output, run.output[-3000:]
    assert leaked_robot(run.output, bad, value) == []


@pytest.mark.parametrize(
    "module, args",
    [
        ("registry_login", {"registry": "r.example.com", "username": "u", "password": "p", "verify": False}),
        ("k8s_pull_secret", {"name": "x", "namespaces": ["a"], "state": "absent"}),
        ("gcp_secret_iam", {"project": "p", "secret_id": "s", "state": "absent"}),
    ],
)
def test_a_task_cannot_point_a_module_at_a_secrets_file(playbook, tmp_path, module, args):
    planted = tmp_path / "planted.json"
    planted.write_text(json.dumps({"values": {}, "params": {"_identity_token": "planted"}}))
    run = playbook(one_task(f"cloud_registry.auth.{module}", dict(args, _secrets_file=str(planted))))
    assert run.rc != 0
    assert "_secrets_file is internal" in run.result("t")["msg"]
    assert planted.exists()


@pytest.mark.parametrize("verify_from", ["controller", "host"])
def test_registry_login_with_an_identity_token_stays_out_of_the_debug_log(playbook, tmp_path, token_registry, verify_from):
    cfg = tmp_path / "config.json"
    args = {
        "registry": token_registry.host,
        "username": token_registry.username,
        "password": token_registry.password,
        "ca_cert": str(token_registry.ca_path),
        "config_path": str(cfg),
        "verify_from": verify_from,
    }
    run = playbook(one_task("cloud_registry.auth.registry_login", args), verbosity=4, diff=True, json_output=False, env=DEBUG)
    assert run.rc == 0, run.output[-3000:]
    assert "done with _execute_module" in run.output
    entry = json.loads(cfg.read_text())["auths"][token_registry.host]
    token = entry["identitytoken"]  # what the token service handed out, stored on the host
    assert leaked(run.output, token_registry.password, token, user=token_registry.username) == []
    # a re-run keeps the token (checked from the host): still nothing in the log
    again = playbook(one_task("cloud_registry.auth.registry_login", args), verbosity=4, json_output=False, env=DEBUG)
    assert again.rc == 0 and json.loads(cfg.read_text())["auths"][token_registry.host]["identitytoken"] == token
    assert leaked(again.output, token_registry.password, token, user=token_registry.username) == []
