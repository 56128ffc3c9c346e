"""module_utils/kube.py's reconciler driven directly (no ansible) against the REAL
kube-apiserver of the session: parallel namespaces, check mode (server-side dry run),
list pagination, bounded conflict retries under a real second writer, label merges."""

from __future__ import annotations

import base64
import json

from ansible_collections.cloud_registry.auth.plugins.module_utils import dockerconfigjson, kube
from ansible_collections.cloud_registry.auth.plugins.module_utils.kube import KubeClient, reconcile_pull_secret

SECRET = "unit-Secret-Pa55<&>"


def _client(api, pool=8):
    return KubeClient.from_auth({"host": api.url, "api_key": api.token, "ca_cert": str(api.ca_cert)}, pool_size=pool)


def spec(**kw):
    base = {
        "name": "regcred",
        "state": "present",
        "registries": [{"server": "registry.example.com", "username": "u", "password": SECRET}],
        "service_accounts": ["default"],
        "parallel": 8,
        "labels": {},
        "annotations": {},
        "merge": False,
        "exclude_namespaces": [],
    }
    base.update(kw)
    return base


def test_reconcile_many_namespaces_in_parallel_then_no_writes(kube_api):
    api = kube_api
    names = [f"ns-{i:02d}" for i in range(40)]
    api.kubectl.create_namespaces(*names, labels={n: {"group": "odd" if i % 2 else "even"} for i, n in enumerate(names)})
    res = reconcile_pull_secret(_client(kube_api), spec(namespace_selector="group=odd"))
    assert res["changed"] and res["totals"]["created"] == 20 and res["totals"]["service_accounts_patched"] == 20
    assert [n["namespace"] for n in res["namespaces"]] == [f"ns-{i:02d}" for i in range(1, 40, 2)]
    assert SECRET not in json.dumps(res)
    api.reset_stats()
    again = reconcile_pull_secret(_client(kube_api), spec(namespace_selector="group=odd"))
    assert not again["changed"] and again["totals"]["unchanged"] == 20
    assert api.stats()["writes"] == 0
    stored = dockerconfigjson.decode(api.get("secrets", "ns-01", "regcred")["data"][".dockerconfigjson"])
    assert stored["auths"]["registry.example.com"]["password"] == SECRET


def test_reconcile_check_mode_writes_nothing(kube_api):
    api = kube_api
    api.kubectl.create_namespaces("c")
    api.reset_stats()
    res = reconcile_pull_secret(_client(kube_api), spec(namespaces=["c"]), check_mode=True)
    assert res["changed"] and res["namespaces"][0]["secret"] == "created"
    assert api.get("secrets", "c", "regcred") is None
    assert api.stats()["writes"] == 0 and api.stats()["dry_run"] == 2


def test_namespace_listing_follows_continue_tokens(kube_api, monkeypatch):
    api = kube_api
    api.kubectl.create_namespaces(*[f"p{i}" for i in range(7)])
    client = _client(kube_api)
    original = client.list_all
    monkeypatch.setattr(client, "list_all", lambda path, query=None: original(path, query, page=3))
    api.reset_stats()
    skip = ["p6", "kube-*", "default", "crauth-*"]
    res = reconcile_pull_secret(client, spec(all_namespaces=True, exclude_namespaces=skip))
    assert res["totals"]["namespaces"] == 6
    # 12 namespaces in all (7 + default, kube-system/public/node-lease, crauth-tests): 4 pages of 3
    assert api.stats()["by_resource"]["list namespaces"] == 4


def test_conflict_retries_are_bounded(kube_api):
    api = kube_api
    api.kubectl.create_namespaces("busy")
    # a writer that changes the service account after every read: the module gives up with a clear message
    api.add_hook({"verb": "get", "resource": "serviceaccounts", "namespace": "busy"}, "bump", times=100)
    res = reconcile_pull_secret(_client(api.via_interposer()), spec(namespaces=["busy"]))
    ns = res["namespaces"][0]
    assert ns["status"] == "failed" and "kept changing" in ns["msg"] and ns["secret"] == "created"
    assert res["failed_namespaces"] == ["busy"]
    assert api.stats()["by_resource"]["patch serviceaccounts"] == kube.MAX_ATTEMPTS


def test_labels_and_annotations_merge_with_existing(kube_api):
    api = kube_api
    api.kubectl.create_namespaces("l", wait_sa=False)
    api.kubectl(
        "create",
        "-f",
        "-",
        input=json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "regcred", "namespace": "l", "labels": {"keep": "me"}, "annotations": {"note": "x"}},
                "type": "kubernetes.io/dockerconfigjson",
                "data": {".dockerconfigjson": base64.b64encode(b'{"auths":{}}').decode()},
            }
        ),
    )
    res = reconcile_pull_secret(
        _client(kube_api), spec(namespaces=["l"], labels={"team": "a"}, annotations={"owner": "ops"}, service_accounts=[])
    )
    assert res["namespaces"][0]["secret"] == "updated"
    meta = api.get("secrets", "l", "regcred")["metadata"]
    assert meta["labels"] == {"keep": "me", "team": "a"}
    assert meta["annotations"] == {"note": "x", "owner": "ops"}
    diff = res["diff"][0]
    assert diff["after"]["secret"][".dockerconfigjson"]["auths"]["registry.example.com"]["password"] == "********"
