"""Session fixtures for integration tests: real distribution registries with a pushed image.

* ``registry_ca``: a CA generated for this test session (``.cert_path``).
* ``htpasswd_registry``: ``docker-registry`` with bcrypt htpasswd auth behind TLS.
* ``token_registry``: ``docker-registry`` with Bearer token auth; its token service is
  ``tests/fixtures/token_service.py`` (``.token_service.stats()`` counts verifications).

Both are ``fixtures.registry_env.RegistryHandle`` objects with ``.username`` /
``.password`` (a random password per session, so tests can grep output for it),
``.image`` (a tiny image built on the spot and pushed with skopeo; nothing is
pulled from the internet) and ``.ca_path`` / ``.cert_dir``. The Docker Engine and CLI
trust the CA through ``/etc/docker/certs.d/127.0.0.1:PORT/ca.crt`` (removed at the end).
"""

from __future__ import annotations

import secrets

import pytest

from fixtures.registry_env import make_ca, push_image, start_registry

USERNAME = "alice"


@pytest.fixture(scope="session")
def registry_ca(tmp_path_factory):
    return make_ca(tmp_path_factory.mktemp("registry-ca"))


def _start(tmp_path_factory, registry_ca, auth):
    work = tmp_path_factory.mktemp(f"registry-{auth}")
    password = "pw-" + secrets.token_urlsafe(18)
    reg = start_registry(work, auth, users={USERNAME: password}, ca=registry_ca)
    try:
        reg.trust_docker()
        reg.username = USERNAME
        reg.password = password
        reg.image = push_image(reg, "demo/tiny", "1", USERNAME, password, work)
    except Exception:
        reg.stop()
        raise
    return reg


@pytest.fixture(scope="session")
def htpasswd_registry(tmp_path_factory, registry_ca):
    reg = _start(tmp_path_factory, registry_ca, "htpasswd")
    yield reg
    reg.stop()


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory, registry_ca):
    reg = _start(tmp_path_factory, registry_ca, "token")
    yield reg
    reg.stop()


@pytest.fixture(scope="session")
def kube_cluster():
    """The real control plane (etcd, kube-apiserver, kube-controller-manager) for the session."""
    from support.kube import KubeCluster, cluster_dir

    cluster = KubeCluster.start(cluster_dir())
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def kube_node(kube_cluster):
    """The real node (containerd + kubelet) of the session's cluster: its paths (node.env)."""
    return kube_cluster.start_node()


@pytest.fixture
def kube_api(kube_cluster, tmp_path):
    """This test's own cluster-admin identity on the real cluster; namespaces the test
    made are deleted (and waited for) afterwards."""
    ident = kube_cluster.identity(tmp_path)
    try:
        yield ident
    finally:
        ident.close()
        kube_cluster.cleanup_namespaces()


# Tests that share one thing of the machine run on one xdist worker (--dist loadgroup);
# everything else of a worker is its own (ports, directories, its own control plane).
SERIAL_GROUPS = {
    # one kubelet per machine: two would manage the same cgroups
    "kube_node": lambda item: "kube_node" in item.fixturenames,
    # one build of the execution environment image (its build directory is shared)
    "ee_image": lambda item: "ee_image" in item.fixturenames,
    # useradd/userdel lock /etc/passwd and /etc/shadow and fail when they cannot
    "system_users": lambda item: item.module.__name__.endswith("test_docker_auth"),
}


def _uses_module_fixture(item) -> bool:
    defs = getattr(item, "_fixtureinfo", None)
    return bool(defs) and any(d.scope == "module" for fdefs in defs.name2fixturedefs.values() for d in fdefs)


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook turns the marks into @group node ids
def pytest_collection_modifyitems(config, items):
    for item in items:
        for group, wants in SERIAL_GROUPS.items():
            if wants(item):
                item.add_marker(pytest.mark.xdist_group(group))
                break
        else:
            if _uses_module_fixture(item):
                # a module's tests stay together, or its module fixtures (registries, a second
                # control plane) are built again on every worker the module is spread over
                item.add_marker(pytest.mark.xdist_group("module:" + item.module.__name__))


def pytest_collection_finish(session):
    """Grouping must really happen: pytest 9.2 + pytest-xdist 3.8 accepted the marks and
    silently ignored them (node ids moved), which ran two kubelets at once."""
    if getattr(session.config.option, "loadgroup", False):
        lost = [i.nodeid for i in session.items if i.get_closest_marker("xdist_group") and "@" not in i.nodeid]
        if lost:
            raise pytest.UsageError(
                "pytest-xdist --dist loadgroup does not group with this pytest (%s ... has no @group in its id): "
                "install the pytest of tests/setup/constraints-*.txt" % lost[0]
            )
