"""Event-Driven Ansible: the REAL ansible-rulebook (Java 17 drools engine) runs the collection's rulebook
cloud_registry.auth.pull_secrets with its event source k8s_watch against the REAL API server and controller
manager of the session; secrets and service accounts are read back with the REAL kubectl."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from support.kube import wait_for

REPO = Path(__file__).resolve().parents[3]
EDA_BIN = REPO / ".venv-eda" / "bin"
SECRET = "regcred-eda"

pytestmark = pytest.mark.skipif(not (EDA_BIN / "ansible-rulebook").exists(),
                                reason="make venv-eda builds ansible-rulebook (the suite's make test does)")


class Rulebook:
    """ansible-rulebook -r cloud_registry.auth.pull_secrets, its output in a file."""

    def __init__(self, workdir: Path, settings: Path):
        self.workdir, self.settings = workdir, settings
        self.proc = None
        self.runs = 0
        (workdir / "inventory.yml").write_text("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n")

    def start(self):
        self.runs += 1
        self.log = self.workdir / f"rulebook-{self.runs}.log"
        env = dict(os.environ)
        env.update({
            "CLOUD_REGISTRY_EDA_SETTINGS": str(self.settings),
            "PATH": f"{EDA_BIN}{os.pathsep}{env.get('PATH', '')}",
            "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".tmp" / "collections"),
            "ANSIBLE_PYTHON_INTERPRETER": str(EDA_BIN / "python"),  # the playbook's modules: the EDA venv
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        })
        self.proc = subprocess.Popen(
            [str(EDA_BIN / "ansible-rulebook"), "-r", "cloud_registry.auth.pull_secrets", "-i", "inventory.yml",
             "--env-vars", "CLOUD_REGISTRY_EDA_SETTINGS", "--print-events", "-v"],
            cwd=self.workdir, env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)

    def alive(self):
        assert self.proc.poll() is None, f"ansible-rulebook exited {self.proc.returncode}: {self.output()[-3000:]}"
        return True

    def output(self):
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.workdir.glob("rulebook-*.log")))


def has_secret(kubectl, ns, sas=("default",)):
    got = kubectl("get", "secret", SECRET, "-n", ns, "-o", "json", check=False)
    if got.returncode != 0:
        return False
    for sa in sas:
        obj = kubectl("get", "serviceaccount", sa, "-n", ns, "-o", "json", check=False)
        if obj.returncode != 0 or SECRET not in [r["name"] for r in json.loads(obj.stdout).get("imagePullSecrets") or []]:
            return False
    return True


def secret_version(kubectl, ns):
    return kubectl.json("get", "secret", SECRET, "-n", ns)["metadata"]["resourceVersion"]


@pytest.fixture
def eda(tmp_path, kube_cluster):
    label = "crauth-eda-" + secrets.token_hex(3)
    password = "eda-Passw0rd-" + secrets.token_hex(8)
    settings = tmp_path / "pull-secrets.yml"
    settings.write_text(yaml.safe_dump({
        "k8s_pull_secrets_name": SECRET,
        "k8s_pull_secrets_clusters": [{"name": "main", "kubeconfig": str(kube_cluster.admin_kubeconfig)}],
        "k8s_pull_secrets_namespace_selector": f"{label}=on",
        "k8s_pull_secrets_all_service_accounts": True,
        "k8s_pull_secrets_service_accounts": [],
        "k8s_pull_secrets_registries": [{"server": "127.0.0.1:5999", "username": "eda", "password": password}],
    }))
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
    wait_for(lambda: rulebook.alive() and has_secret(kubectl, "eda-before"), "the initial sync", timeout=120)

    # a burst: one batch, every namespace gets the secret and its default service account
    burst = [f"eda-burst-{i}" for i in range(12)]
    create(kubectl, label, *burst)
    wait_for(lambda: rulebook.alive() and all(has_secret(kubectl, ns) for ns in burst), "the burst", timeout=180)

    # a new service account in a selected namespace is patched; a deleted secret is put back
    kubectl("create", "serviceaccount", "builder", "-n", "eda-burst-0")
    wait_for(lambda: has_secret(kubectl, "eda-burst-0", ("default", "builder")), "the new service account",
             timeout=90)
    kubectl("delete", "secret", SECRET, "-n", "eda-burst-1")
    wait_for(lambda: has_secret(kubectl, "eda-burst-1"), "the deleted secret put back", timeout=90)

    # the rulebook stops; namespaces made meanwhile are caught up at start, and nothing done is written again
    versions = {ns: secret_version(kubectl, ns) for ns in ["eda-before", *burst]}
    rulebook.stop()
    gap = ["eda-gap-0", "eda-gap-1"]
    create(kubectl, label, *gap)
    rulebook.start()
    wait_for(lambda: rulebook.alive() and all(has_secret(kubectl, ns) for ns in gap), "the catch-up", timeout=120)
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
