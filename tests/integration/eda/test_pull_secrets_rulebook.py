"""Event-Driven Ansible: the REAL ansible-rulebook (Java 17 drools engine) runs the collection's rulebook
cloud_registry.auth.pull_secrets with its event source k8s_watch against the REAL API server and controller
manager of the session; secrets and service accounts are read back with the REAL kubectl."""

from __future__ import annotations

import json
import secrets
import time

import pytest

from support.eda import Rulebook, has_secret, settings_file
from support.kube import wait_for

SECRET = "regcred-eda"


def secret_version(kubectl, ns):
    return kubectl.json("get", "secret", SECRET, "-n", ns)["metadata"]["resourceVersion"]


@pytest.fixture
def eda(tmp_path, kube_cluster):
    label = "crauth-eda-" + secrets.token_hex(3)
    password = "eda-Passw0rd-" + secrets.token_hex(8)
    settings = settings_file(
        tmp_path / "pull-secrets.yml",
        k8s_pull_secrets_name=SECRET,
        k8s_pull_secrets_clusters=[{"name": "main", "kubeconfig": str(kube_cluster.admin_kubeconfig)}],
        k8s_pull_secrets_namespace_selector=f"{label}=on",
        k8s_pull_secrets_all_service_accounts=True,
        k8s_pull_secrets_service_accounts=[],
        k8s_pull_secrets_registries=[{"server": "127.0.0.1:5999", "username": "eda", "password": password}],
    )
    rulebook = Rulebook(tmp_path, settings)
    try:
        yield rulebook, kube_cluster.admin, label, password
    finally:
        rulebook.stop()
        kube_cluster.cleanup_namespaces()


def create(kubectl, label, *names):
    docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n, "labels": {label: "on"}}} for n in names]
    kubectl("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": docs}))


def test_namespaces_service_accounts_deleted_secrets_and_catch_up(eda):
    rulebook, kubectl, label, password = eda
    create(kubectl, label, "eda-before")  # exists before the rulebook starts: the initial SYNC covers it
    kubectl("create", "namespace", "eda-unlabelled")
    rulebook.start()
    wait_for(lambda: rulebook.alive() and has_secret(kubectl, SECRET, "eda-before"), "the initial sync", timeout=120)

    # a burst: one batch, every namespace gets the secret and its default service account
    burst = [f"eda-burst-{i}" for i in range(12)]
    create(kubectl, label, *burst)
    wait_for(lambda: rulebook.alive() and all(has_secret(kubectl, SECRET, ns) for ns in burst), "the burst", timeout=180)

    # a new service account in a selected namespace is patched; a deleted secret is put back
    kubectl("create", "serviceaccount", "builder", "-n", "eda-burst-0")
    wait_for(lambda: has_secret(kubectl, SECRET, "eda-burst-0", ("default", "builder")), "the new service account", timeout=90)
    kubectl("delete", "secret", SECRET, "-n", "eda-burst-1")
    wait_for(lambda: has_secret(kubectl, SECRET, "eda-burst-1"), "the deleted secret put back", timeout=90)

    # the rulebook stops; namespaces made meanwhile are caught up at start, and nothing done is written again
    versions = {ns: secret_version(kubectl, ns) for ns in ["eda-before", *burst]}
    rulebook.stop()
    gap = ["eda-gap-0", "eda-gap-1"]
    create(kubectl, label, *gap)
    rulebook.start()
    wait_for(lambda: rulebook.alive() and all(has_secret(kubectl, SECRET, ns) for ns in gap), "the catch-up", timeout=120)
    time.sleep(2)
    assert {ns: secret_version(kubectl, ns) for ns in versions} == versions

    # outside the selection nothing happens
    assert kubectl("get", "secret", SECRET, "-n", "eda-unlabelled", check=False).returncode != 0
    data = kubectl.pull_secret("eda-gap-0", SECRET)
    assert data["auths"]["127.0.0.1:5999"]["username"] == "eda"
    rulebook.stop()
    out = rulebook.output()
    assert "BATCH" in out and "SYNC" in out, out[-3000:]
    assert password not in out


def test_short_lived_minted_token_is_replaced_before_it_expires(tmp_path, kube_cluster):
    """Refresh driven by expiry, end to end: the settings mint an ACR token (Azure stand-in) that lives 60 s;
    the source schedules REFRESH from the expires-at annotation minus refresh_before (40 s, read from the same
    settings), the playbook mints again and the module, seeing the refresh due, writes the new token while the
    old one is still valid. No minted token or client secret in the rulebook's output."""
    from fixtures.azure_stand_in import AzureStandIn

    acr, tenant, client, client_secret = "eda.azurecr.io", "tenant-eda", "app-eda", "client-secret-EDA-77"
    az = AzureStandIn(acr, tenant, {client: client_secret}, refresh_lifetime=60).start()
    label = "crauth-eda-" + secrets.token_hex(3)
    settings = settings_file(
        tmp_path / "pull-secrets.yml",
        k8s_pull_secrets_name=SECRET,
        k8s_pull_secrets_clusters=[{"name": "main", "kubeconfig": str(kube_cluster.admin_kubeconfig)}],
        k8s_pull_secrets_namespace_selector=f"{label}=on",
        k8s_pull_secrets_refresh_before=40,
        k8s_pull_secrets_tokens=[
            {
                "provider": "azure",
                "registry": acr,
                "tenant_id": tenant,
                "client_id": client,
                "client_secret": client_secret,
                "authority_host": az.url,
                "endpoint_url": az.url,
                "allow_http": True,
                "min_ttl": 5,
            }
        ],
    )
    rulebook = Rulebook(tmp_path, settings)
    kubectl = kube_cluster.admin
    try:
        create(kubectl, label, "eda-refresh")
        rulebook.start()
        wait_for(lambda: rulebook.alive() and has_secret(kubectl, SECRET, "eda-refresh"), "the first token", timeout=120)
        first = kubectl.pull_secret("eda-refresh", SECRET)["auths"][acr]["password"]
        first_expiry = kubectl.json("get", "secret", SECRET, "-n", "eda-refresh")["metadata"]["annotations"][
            "cloud-registry.auth/expires-at"
        ]

        def replaced():
            rulebook.alive()
            return kubectl.pull_secret("eda-refresh", SECRET)["auths"][acr]["password"] != first

        wait_for(replaced, "the refreshed token", timeout=90)
        replaced_at = time.time()
        expiry_epoch = __import__("calendar").timegm(time.strptime(first_expiry, "%Y-%m-%dT%H:%M:%SZ"))
        assert replaced_at < expiry_epoch, "the token was replaced only after it had expired"
        assert kubectl.pull_secret("eda-refresh", SECRET)["auths"][acr]["password"] in az.issued_refresh_tokens
        new_expiry = kubectl.json("get", "secret", SECRET, "-n", "eda-refresh")["metadata"]["annotations"][
            "cloud-registry.auth/expires-at"
        ]
        assert new_expiry > first_expiry
        rulebook.stop()
        out = rulebook.output()
        assert "REFRESH" in out, out[-3000:]
        for secret in [client_secret, *az.issued_refresh_tokens]:
            assert secret not in out
    finally:
        rulebook.stop()
        az.stop()
        kube_cluster.cleanup_namespaces()
