"""Fixtures for the k8s_pull_secret tests: the Kubernetes API stand-in, a kubeconfig
pointing at it, and the REAL kubectl bound to that kubeconfig."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path

import pytest

from fixtures.kube_apiserver import KubeApiServer

KUBECTL = "/usr/bin/kubectl"
# kubectl (client-go) never sends a bearer token over plain HTTP, so the default stand-in accepts
# requests without one; ``secured_api`` requires this token (the python client sends it).
TOKEN = "standin-bearer-token-0f3c9a"


def write_kubeconfig(path: Path, server: str, token: str = TOKEN, context: str = "standin") -> Path:
    path.write_text(json.dumps({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": server}}],
        "users": [{"name": context + "-user", "user": {"token": token}}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": context + "-user"}}],
        "current-context": context,
    }))
    path.chmod(0o600)
    return path


@pytest.fixture
def kube_api():
    api = KubeApiServer().start()
    try:
        yield api
    finally:
        api.stop()


@pytest.fixture
def secured_api():
    api = KubeApiServer(token=TOKEN).start()
    try:
        yield api
    finally:
        api.stop()


@pytest.fixture
def kubeconfig(tmp_path, kube_api) -> Path:
    return write_kubeconfig(tmp_path / "kubeconfig.json", kube_api.url)


class Kubectl:
    def __init__(self, kubeconfig: Path, cache: Path):
        self.kubeconfig = kubeconfig
        self.cache = cache

    def __call__(self, *args, input=None, check=True) -> subprocess.CompletedProcess:
        cmd = [KUBECTL, "--kubeconfig", str(self.kubeconfig), "--cache-dir", str(self.cache), *args]
        proc = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=60,
                              env={"PATH": "/usr/bin:/bin", "HOME": str(self.cache)})
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
        return proc

    def json(self, *args):
        return json.loads(self(*args, "-o", "json").stdout)

    def pull_secret(self, namespace: str, name: str) -> dict:
        """The decoded .dockerconfigjson of a secret, read with kubectl."""
        obj = self.json("get", "secret", name, "-n", namespace)
        assert obj["type"] == "kubernetes.io/dockerconfigjson"
        return json.loads(base64.b64decode(obj["data"][".dockerconfigjson"]))

    def pull_secret_names(self, namespace: str, sa: str = "default") -> list:
        obj = self.json("get", "serviceaccount", sa, "-n", namespace)
        return [r["name"] for r in obj.get("imagePullSecrets") or []]


@pytest.fixture
def kubectl(tmp_path, kubeconfig) -> Kubectl:
    cache = tmp_path / "kubectl-home"
    cache.mkdir()
    return Kubectl(kubeconfig, cache)
