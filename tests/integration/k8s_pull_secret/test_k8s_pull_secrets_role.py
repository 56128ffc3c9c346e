"""The k8s_pull_secrets role through playbooks/k8s_pull_secrets.yml: two REAL clusters (the
session's and a second control plane of this module, each with its own CA and
kubeconfig), static credentials and tokens minted by the registry_token lookup (Azure
stand-in), read back with the REAL kubectl."""

from __future__ import annotations

import socket

import pytest

from fixtures.azure_stand_in import AzureStandIn
from support.kube import KubeCluster, cluster_dir, write_kubeconfig

PLAYBOOK = __import__("pathlib").Path(__file__).resolve().parents[3] / "playbooks" / "k8s_pull_secrets.yml"
TASK = "cloud_registry.auth.k8s_pull_secrets : Pull secret in every cluster"
PASSWORD = "role-static-Passw0rd-7c1d"
ACR, TENANT, CLIENT, CLIENT_SECRET = "myreg.azurecr.io", "tenant-1", "app-1", "client-secret-VALUE-k8s-42"


@pytest.fixture(scope="module")
def west_cluster():
    cluster = KubeCluster.start(cluster_dir("west"))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def clusters(tmp_path, kube_cluster, west_cluster):
    idents = [kube_cluster.identity(tmp_path / "east"), west_cluster.identity(tmp_path / "west")]
    try:
        out = []
        for i, ident in enumerate(idents):
            kc = write_kubeconfig(tmp_path / f"kc{i}.json", ident.url, ident.token, context=f"cluster-{i}", ca_cert=ident.ca_cert)
            out.append((ident, kc, ident.kubectl))
        # cluster 0: two listed namespaces; cluster 1: chosen by label, plus one that is not
        out[0][2].create_namespaces("shop", "blog")
        out[1][2].create_namespaces(
            "web", "batch", "sandbox", labels={"web": {"env": "prod"}, "batch": {"env": "prod"}, "sandbox": {"env": "dev"}}
        )
        out[1][2]("create", "serviceaccount", "builder", "-n", "web")
        out[1][2]("patch", "sa", "builder", "-n", "web", "--type=merge", "-p", '{"imagePullSecrets":[{"name":"keep-me"}]}')
        yield out
    finally:
        for ident in idents:
            ident.close()
            ident.cluster.cleanup_namespaces()


def role_vars(clusters, **kw):
    v = {
        "k8s_pull_secrets_clusters": [
            {"name": "east", "kubeconfig": str(clusters[0][1]), "namespaces": ["shop", "blog"]},
            {
                "name": "west",
                "kubeconfig": str(clusters[1][1]),
                "context": "cluster-1",
                "namespace_selector": "env=prod",
                "service_accounts": ["default", "builder"],
            },
        ],
        "k8s_pull_secrets_registries": [{"server": "registry.example.com", "username": "deploy", "password": PASSWORD}],
    }
    v.update(kw)
    return v


def test_role_two_clusters_four_runs(clusters, playbook):
    extra = role_vars(clusters)
    expected = (True, True, False, False)
    for check, changed in zip((True, False, True, False), expected):
        run = playbook(PLAYBOOK, extra_vars=extra, check=check, diff=True)
        assert run.rc == 0, run.output
        res = run.result(TASK)
        assert res["changed"] is changed, (check, res)
        assert PASSWORD not in run.output
    east, west = (c[2] for c in clusters)
    for ns in ("shop", "blog"):
        assert east.pull_secret(ns, "regcred")["auths"]["registry.example.com"]["password"] == PASSWORD
        assert east.pull_secret_names(ns) == ["regcred"]
    for ns in ("web", "batch"):
        assert west.pull_secret(ns, "regcred")["auths"]["registry.example.com"]["username"] == "deploy"
        labels = west.json("get", "secret", "regcred", "-n", ns)["metadata"]["labels"]
        assert labels == {"app.kubernetes.io/managed-by": "cloud_registry.auth"}
    assert west.pull_secret_names("web", "builder") == ["keep-me", "regcred"]
    assert west("get", "secret", "regcred", "-n", "sandbox", check=False).returncode == 1

    gone = playbook(PLAYBOOK, extra_vars=dict(extra, k8s_pull_secrets_state="absent"))
    assert gone.rc == 0, gone.output
    assert west.pull_secret_names("web", "builder") == ["keep-me"]
    assert east("get", "secrets", "-A", "-o", "name").stdout.strip() == ""


def test_role_with_minted_acr_tokens(clusters, playbook):
    az = AzureStandIn(ACR, TENANT, {CLIENT: CLIENT_SECRET}).start()
    try:
        token = {
            "provider": "azure",
            "registry": ACR,
            "tenant_id": TENANT,
            "client_id": CLIENT,
            "client_secret": CLIENT_SECRET,
            "authority_host": az.url,
            "endpoint_url": az.url,
            "allow_http": True,
        }
        extra = role_vars(clusters, k8s_pull_secrets_tokens=[token])
        run = playbook(PLAYBOOK, extra_vars=extra, verbosity=4, json_output=False)
        assert run.rc == 0, run.output
        assert az.stats()["exchange"] == 1  # minted once for both clusters
        issued = az.issued_refresh_tokens
        for secret in [CLIENT_SECRET, PASSWORD, *issued]:
            assert secret not in run.output
        for _api, _kc, kubectl in clusters:
            ns = "shop" if kubectl is clusters[0][2] else "web"
            auths = kubectl.pull_secret(ns, "regcred")["auths"]
            assert sorted(auths) == [ACR, "registry.example.com"]
            assert auths[ACR]["username"] == "00000000-0000-0000-0000-000000000000"
            assert auths[ACR]["password"] == issued[0]
            ann = kubectl.json("get", "secret", "regcred", "-n", ns)["metadata"]["annotations"]
            assert ann["cloud-registry.auth/expires-at"].endswith("Z")
            # the report says when the next run is due: the same earliest expiry
            assert f"the secrets expire at {ann['cloud-registry.auth/expires-at']}" in run.output

        # limited to one cluster and one namespace (what the Event-Driven Ansible playbook does)
        before = {
            ns: kc.json("get", "secret", "regcred", "-n", ns)["metadata"]["resourceVersion"]
            for (_a, _k, kc), ns in zip(clusters, ("shop", "web"))
        }
        clusters[1][2]("delete", "secret", "regcred", "-n", "batch")
        limited = dict(extra, k8s_pull_secrets_limit_clusters=["west"], k8s_pull_secrets_limit_namespaces=["batch"])
        run = playbook(PLAYBOOK, extra_vars=limited)
        assert run.rc == 0, run.output
        assert "east: not in k8s_pull_secrets_limit_clusters" in run.output
        assert clusters[1][2].pull_secret("batch", "regcred")["auths"][ACR]["password"] in az.issued_refresh_tokens
        after = {
            ns: kc.json("get", "secret", "regcred", "-n", ns)["metadata"]["resourceVersion"]
            for (_a, _k, kc), ns in zip(clusters, ("shop", "web"))
        }
        assert after == before  # the other cluster and the other namespaces were not touched
    finally:
        az.stop()


def test_one_failing_cluster_does_not_stop_the_other(clusters, playbook):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    extra = role_vars(clusters)
    extra["k8s_pull_secrets_clusters"] = [
        {"name": "dead", "host": f"http://127.0.0.1:{dead}", "api_key": "cluster-api-key-SECRET-9", "namespaces": ["x"]},
        extra["k8s_pull_secrets_clusters"][0],
    ]
    run = playbook(PLAYBOOK, extra_vars=extra, verbosity=2, json_output=False)
    assert run.rc != 0
    assert "1 of 2 clusters failed: dead: cannot reach the Kubernetes API" in run.output
    assert "cluster-api-key-SECRET-9" not in run.output and PASSWORD not in run.output
    assert clusters[0][2].pull_secret_names("shop") == ["regcred"]


def test_cluster_entries_keep_group_module_defaults(clusters, playbook):
    """The role hands an entry's connection options to the module as module_defaults: what an entry leaves out
    comes from the play's group/cloud_registry.auth.k8s defaults, what it sets wins."""
    play = """
    - hosts: localhost
      gather_facts: false
      module_defaults:
        group/cloud_registry.auth.k8s:
          kubeconfig: %s
          context: cluster-1
      roles:
        - role: cloud_registry.auth.k8s_pull_secrets
    """ % clusters[1][1]
    extra = role_vars(clusters)
    extra["k8s_pull_secrets_clusters"] = [
        {"name": "west-from-defaults", "namespaces": ["web"]},  # kubeconfig and context from the group defaults
        {"name": "east-own", "kubeconfig": str(clusters[0][1]), "context": "cluster-0", "namespaces": ["shop"]},
    ]
    run = playbook(play, extra_vars=extra)
    assert run.rc == 0, run.output
    east, west = clusters[0][2], clusters[1][2]
    assert west.pull_secret_names("web") == ["regcred"] and east.pull_secret_names("shop") == ["regcred"]
    assert west("get", "secret", "regcred", "-n", "shop", check=False).returncode == 1
    assert east("get", "secret", "regcred", "-n", "web", check=False).returncode == 1
    assert PASSWORD not in run.output


def test_role_rejects_missing_input(clusters, playbook):
    run = playbook(
        PLAYBOOK, extra_vars={"k8s_pull_secrets_clusters": [{"kubeconfig": str(clusters[0][1]), "namespaces": ["shop"]}]}
    )
    assert run.rc != 0
    assert "k8s_pull_secrets_registries and/or k8s_pull_secrets_tokens" in run.output


def _timer_at(path):
    import calendar
    import time

    line = [ln for ln in path.read_text().splitlines() if ln.startswith("OnCalendar=")][0]
    return calendar.timegm(time.strptime(line.split("=", 1)[1], "%Y-%m-%d %H:%M:%S UTC"))


def _epoch(text):
    import calendar
    import time

    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


def test_scheduled_runs_refresh_only_when_due(clusters, playbook, tmp_path):
    """The scheduled path driven by expiry: with k8s_pull_secrets_refresh_before, runs in between mint (the
    stand-in counts it) but write nothing while the token in the cluster is valid; a deleted secret is put back
    at once; a run inside the refresh window replaces the tokens everywhere."""
    az = AzureStandIn(ACR, TENANT, {CLIENT: CLIENT_SECRET}).start()
    try:
        token = {
            "provider": "azure",
            "registry": ACR,
            "tenant_id": TENANT,
            "client_id": CLIENT,
            "client_secret": CLIENT_SECRET,
            "authority_host": az.url,
            "endpoint_url": az.url,
            "allow_http": True,
        }
        # the scheduled path schedules itself: a systemd timer on the runner, 600 s before the earliest expiry
        timer_vars = {"playbook": str(PLAYBOOK), "unit_dir": str(tmp_path / "units"), "playbook_args": ["-e", "@vars.json"]}
        extra = role_vars(
            clusters,
            k8s_pull_secrets_tokens=[token],
            k8s_pull_secrets_refresh_before=600,
            k8s_pull_secrets_refresh_timer=timer_vars,
        )
        timer = tmp_path / "units" / "cloud-registry-auth-pull-secrets.timer"

        def secrets():
            return {
                (i, ns): kc.json("get", "secret", "regcred", "-n", ns)["metadata"]["resourceVersion"]
                for i, (_a, _k, kc) in enumerate(clusters)
                for ns in (("shop", "blog"), ("web", "batch"))[i]
            }

        first = playbook(PLAYBOOK, extra_vars=extra)
        assert first.rc == 0, first.output
        written = secrets()
        expiry = clusters[0][2].json("get", "secret", "regcred", "-n", "shop")["metadata"]["annotations"][
            "cloud-registry.auth/expires-at"
        ]
        assert f"the secrets expire at {expiry}: next refresh due at " in first.output
        assert _timer_at(timer) == _epoch(expiry) - 600
        service = (tmp_path / "units" / "cloud-registry-auth-pull-secrets.service").read_text()
        assert str(PLAYBOOK) in service and '"-e" "@vars.json"' in service and '"-i"' in service

        again = playbook(PLAYBOOK, extra_vars=extra)
        assert again.rc == 0, again.output
        assert az.stats()["exchange"] == 2 and again.result(TASK)["changed"] is False
        assert secrets() == written  # the second token was not written: the first is valid for hours

        clusters[1][2]("delete", "secret", "regcred", "-n", "batch")
        back = playbook(PLAYBOOK, extra_vars=extra)
        assert back.rc == 0, back.output
        assert clusters[1][2].pull_secret("batch", "regcred")["auths"][ACR]["password"] == az.issued_refresh_tokens[-1]
        assert {k: v for k, v in secrets().items() if k != (1, "batch")} == {
            k: v for k, v in written.items() if k != (1, "batch")
        }

        due = playbook(
            PLAYBOOK,
            extra_vars=dict(
                extra, k8s_pull_secrets_refresh_before=4 * 3600, k8s_pull_secrets_refresh_timer=dict(timer_vars, before=600)
            ),
        )
        assert due.rc == 0, due.output
        renewed = clusters[0][2].json("get", "secret", "regcred", "-n", "shop")["metadata"]["annotations"][
            "cloud-registry.auth/expires-at"
        ]
        assert renewed > expiry and _timer_at(timer) == _epoch(renewed) - 600  # the timer followed the tokens
        newest = az.issued_refresh_tokens[-1]
        for i, (_a, _k, kc) in enumerate(clusters):
            for ns in (("shop", "blog"), ("web", "batch"))[i]:
                assert kc.pull_secret(ns, "regcred")["auths"][ACR]["password"] == newest, (i, ns)
        for secret in [CLIENT_SECRET, PASSWORD, *az.issued_refresh_tokens]:
            assert secret not in first.output + again.output + back.output + due.output
            assert secret not in timer.read_text() + service
    finally:
        az.stop()
