"""Fixtures for the k8s_pull_secret tests: the Kubernetes API stand-in, a kubeconfig
pointing at it, and the REAL kubectl bound to that kubeconfig."""

from __future__ import annotations

from pathlib import Path

import pytest

from fixtures.kube_apiserver import TEST_TOKEN, KubeApiServer, Kubectl, write_kubeconfig


@pytest.fixture
def kube_api():
    api = KubeApiServer().start()
    try:
        yield api
    finally:
        api.stop()


@pytest.fixture
def secured_api():
    api = KubeApiServer(token=TEST_TOKEN).start()
    try:
        yield api
    finally:
        api.stop()


@pytest.fixture
def kubeconfig(tmp_path, kube_api) -> Path:
    return write_kubeconfig(tmp_path / "kubeconfig.json", kube_api.url)


@pytest.fixture
def kubectl(tmp_path, kubeconfig) -> Kubectl:
    cache = tmp_path / "kubectl-home"
    cache.mkdir()
    return Kubectl(kubeconfig, cache)
