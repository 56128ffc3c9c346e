"""Fixtures for the k8s_pull_secret tests: the REAL API server of the session
(tests/support/kube.py), this test's own identity on it, its kubeconfig, and the
REAL kubectl bound to that kubeconfig."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.kube import Kubectl


@pytest.fixture
def kubeconfig(kube_api) -> Path:
    return kube_api.kubeconfig


@pytest.fixture
def kubectl(kube_api) -> Kubectl:
    return kube_api.kubectl
