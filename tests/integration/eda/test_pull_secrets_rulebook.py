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
    wait_for(lambda: has_secret(kubectl, SECRET, "eda-burst-0", ("default", "builder")), "the new service account",
             timeout=90)
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
