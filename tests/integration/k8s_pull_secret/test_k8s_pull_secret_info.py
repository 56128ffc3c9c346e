"""k8s_pull_secret_info against the REAL API server: secrets made by k8s_pull_secret and by
the real `kubectl create secret docker-registry`, service accounts updated by the real
controllers; three list requests whatever the namespaces; no secret in the output."""

from __future__ import annotations

import base64
import json
import secrets
import time

import pytest

pytestmark = [pytest.mark.slow]


def jwt(claims: dict) -> str:
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2ln"


def play(task: str, args: dict) -> str:
    return (
        json.dumps(
            [{"hosts": "localhost", "gather_facts": False, "tasks": [{"name": "it", f"cloud_registry.auth.{task}": args}]}]
        )
        + "\n"
    )


def test_secrets_users_expiry_and_gaps(kube_api, kubeconfig, kubectl, playbook):
    label = "crauth-info-" + secrets.token_hex(3)
    names = [f"{label}-a", f"{label}-b", f"{label}-c"]
    kubectl.create_namespaces(*names, labels=dict((n, {label: "on"}) for n in names))
    password = "info-" + secrets.token_hex(10)
    expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 2 * 86400))
    made = playbook(
        play(
            "k8s_pull_secret",
            {
                "name": "regcred",
                "kubeconfig": str(kubeconfig),
                "namespaces": names[:2],
                "service_accounts": ["default"],
                "registries": [{"server": "registry.example.com", "username": "ci", "password": password, "expires_at": expires}],
            },
        )
    )
    assert made.rc == 0, made.output
    expired_token = jwt({"exp": int(time.time()) - 60})
    kubectl(
        "create",
        "secret",
        "docker-registry",
        "other",
        "-n",
        names[2],
        "--docker-server=acr.example.io",
        "--docker-username=00000000-0000-0000-0000-000000000000",
        f"--docker-password={expired_token}",
    )
    kubectl("create", "serviceaccount", "builder", "-n", names[0])

    run = playbook(
        play(
            "k8s_pull_secret_info",
            {"kubeconfig": str(kubeconfig), "name": "regcred", "namespace_selector": f"{label}=on", "expiring_within": 3 * 86400},
        )
    )
    assert run.rc == 0, run.output
    res = run.result("it")
    assert not res["changed"]
    assert res["api_requests"] == 3  # namespaces, secrets, service accounts
    assert res["missing_namespaces"] == [names[2]]
    by_ns = {n["namespace"]: n for n in res["namespaces"]}
    assert sorted(by_ns) == names
    [secret] = by_ns[names[0]]["secrets"]
    assert secret["name"] == "regcred" and secret["used_by"] == ["default"]
    assert secret["registries"] == [{"registry": "registry.example.com", "username": "ci", "expires_at": None}]
    assert (secret["expires_at"], secret["state"]) == (expires, "expiring")  # from the annotation
    assert by_ns[names[0]]["service_accounts_without"] == ["builder"]
    assert by_ns[names[2]]["missing"] and by_ns[names[2]]["service_accounts_without"] == ["default"]
    assert res["summary"]["missing"] == 1 and res["summary"]["states"]["expiring"] == 2
    assert password not in run.output

    every = playbook(play("k8s_pull_secret_info", {"kubeconfig": str(kubeconfig), "namespaces": [names[2]]}))
    assert every.rc == 0, every.output
    [ns] = every.result("it")["namespaces"]
    [other] = ns["secrets"]
    assert other["name"] == "other" and other["state"] == "expired" and other["used_by"] == []
    assert other["registries"][0]["registry"] == "acr.example.io"
    assert other["registries"][0]["username"] == "00000000-0000-0000-0000-000000000000"
    assert other["expires_at"] == other["registries"][0]["expires_at"]
    assert expired_token not in every.output and "missing" not in ns


def test_bad_selection_is_named(kube_api, kubeconfig, playbook):
    run = playbook(play("k8s_pull_secret_info", {"kubeconfig": str(kubeconfig), "namespace_selector": "team in (a"}))
    assert run.rc != 0
    assert "cannot list namespaces with selector 'team in (a'" in run.output
    nothing = playbook(play("k8s_pull_secret_info", {"kubeconfig": str(kubeconfig)}))
    assert nothing.rc != 0 and "give namespaces (a non-empty list), namespace_selector" in nothing.output
