"""The k8s_watch event source, loaded the way ansible-rulebook loads it (runpy), against the REAL API server
of the session: informer semantics (list, watch, resume after an API server restart, re-list on a real 410 Gone
after etcd compaction), expiry-driven REFRESH, metadata only (no Secret payload in any event)."""

from __future__ import annotations

import asyncio
import json
import queue
import runpy
import secrets
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
SOURCE = REPO / "extensions" / "eda" / "plugins" / "event_source" / "k8s_watch.py"


class Source:
    """main(queue, args) of the plugin on an event loop of its own; events land in a thread-safe queue."""

    def __init__(self, args):
        self.module = runpy.run_path(str(SOURCE))
        self.events: queue.Queue = queue.Queue()
        self.seen: list = []
        self.loop = asyncio.new_event_loop()
        events = self.events

        class Q:
            def put_nowait(self, event):
                events.put(event)

        self.task = None

        def run():
            asyncio.set_event_loop(self.loop)
            self.task = self.loop.create_task(self.module["main"](Q(), args))
            try:
                self.loop.run_until_complete(self.task)
            except asyncio.CancelledError:
                pass

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def wait(self, predicate, what, timeout=60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                event = self.events.get(timeout=0.2)
            except queue.Empty:
                continue
            self.seen.append(event)
            if predicate(event):
                return event
        raise AssertionError(f"no event for {what} in {timeout}s; seen: {self.seen[-10:]}")

    def close(self):
        if self.task is not None:
            self.loop.call_soon_threadsafe(self.task.cancel)
        self.thread.join(10)


@pytest.fixture
def label(kube_cluster):
    value = "crauth-watch-" + secrets.token_hex(3)
    try:
        yield value
    finally:
        kube_cluster.cleanup_namespaces()


def namespace(kubectl, name, label, **extra):
    kubectl(
        "apply",
        "-f",
        "-",
        input=json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": {label: "on", **extra}}}),
    )


def source_args(kube_cluster, label, **kw):
    args = {
        "clusters": [{"name": "main", "kubeconfig": str(kube_cluster.admin_kubeconfig)}],
        "namespace_selector": f"{label}=on",
        "secret_name": "regcred-w",
        "batch_window": 0,
    }
    args.update(kw)
    return args


def is_added(ns):
    return lambda e: e.get("type") == "ADDED" and e.get("kind") == "Namespace" and e.get("name") == ns


def test_resumes_after_an_api_server_restart(kube_cluster, label):
    kubectl = kube_cluster.admin
    namespace(kubectl, "watch-early", label)
    namespace(kubectl, "watch-other", "not-" + label)
    src = Source(source_args(kube_cluster, label))
    try:
        sync = src.wait(lambda e: e.get("type") == "SYNC", "the initial sync")
        assert sync["reason"] == "initial" and sync["namespaces"] == ["watch-early"] and sync["cluster"] == "main"
        namespace(kubectl, "watch-a", label, team="blue")
        added = src.wait(is_added("watch-a"), "watch-a")
        assert added["labels"] == {label: "on", "team": "blue", "kubernetes.io/metadata.name": "watch-a"}
        assert added["namespaces"] == ["watch-a"]
        sa = src.wait(
            lambda e: e.get("kind") == "ServiceAccount" and e.get("namespace") == "watch-a",
            "the default ServiceAccount of watch-a",
        )
        assert sa["type"] == "ADDED" and sa["name"] == "default"

        kube_cluster.restart_apiserver()
        namespace(kubectl, "watch-b", label)
        src.wait(is_added("watch-b"), "watch-b after the restart", timeout=90)
        # outside the selection: no event, before or after the restart
        assert not [e for e in src.seen if "watch-other" in json.dumps(e)]
    finally:
        src.close()


def test_relists_on_a_real_410_gone(kube_cluster, label):
    """A watch from a compacted resourceVersion gets 410 from the API server; the informer lists again and
    turns the difference into events: what appeared is ADDED, what vanished is DELETED."""
    kubectl = kube_cluster.admin
    module = runpy.run_path(str(SOURCE))
    kube = module["_import_kube"]()
    client = kube.KubeClient.from_auth({"kubeconfig": str(kube_cluster.admin_kubeconfig)}, pool_size=2)
    namespace(kubectl, "gone-kept", label)
    _items, old_version = client.list_all("/api/v1/namespaces", {"labelSelector": f"{label}=on"}, with_version=True)
    namespace(kubectl, "gone-new", label)
    kube_cluster.compact_etcd()
    # the real answer: 200 and an ERROR event with the 410 Status in the stream (client-go's "too old resource
    # version"), or an HTTP 410 when the API server refuses at once
    try:
        answered = list(
            client.watch(
                "/api/v1/namespaces",
                {"resourceVersion": old_version, "labelSelector": f"{label}=on", "timeoutSeconds": "10"},
                read_timeout=20,
            )
        )
    except kube.KubeError as exc:
        assert exc.code == 410, exc
    else:
        assert [e["object"].get("code") for e in answered if e["type"] == "ERROR"] == [410], answered

    changes, stop = [], threading.Event()
    informer = module["Informer"](
        client,
        "Namespace",
        "/api/v1/namespaces",
        {"labelSelector": f"{label}=on"},
        lambda kind, etype, meta: changes.append((etype, meta["name"])),
        lambda inf, reason: (changes.append(("LISTED", reason)), stop.set()),
        stop,
    )
    informer.lists = 1  # as if it had listed before: this is the re-list after a gap
    informer.version = old_version
    informer.cache = {
        ("", "gone-kept"): {"name": "gone-kept", "resourceVersion": "x"},
        ("", "gone-vanished"): {"name": "gone-vanished", "resourceVersion": "1"},
    }
    thread = threading.Thread(target=informer.run, daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive()
    assert ("ADDED", "gone-new") in changes and ("DELETED", "gone-vanished") in changes
    assert ("MODIFIED", "gone-kept") in changes and changes[-1] == ("LISTED", "relist")


def test_refresh_is_scheduled_from_the_earliest_expiry(kube_cluster, label):
    kubectl = kube_cluster.admin
    namespace(kubectl, "refresh-a", label)
    namespace(kubectl, "refresh-b", label)
    payload = "c2VjcmV0LXBheWxvYWQtdmFsdWU="  # base64 of a value that must never reach an event
    lead = 6
    started = time.time()
    soon = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started + 600 + lead))
    later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started + 7200))
    for ns, at in (("refresh-a", soon), ("refresh-b", later)):
        kubectl(
            "apply",
            "-f",
            "-",
            input=json.dumps(
                {
                    "apiVersion": "v1",
                    "kind": "Secret",
                    "type": "Opaque",
                    "metadata": {"name": "regcred-w", "namespace": ns, "annotations": {"cloud-registry.auth/expires-at": at}},
                    "data": {"token": payload},
                }
            ),
        )
    src = Source(source_args(kube_cluster, label, events=["Namespace:ADDED", "Secret:DELETED", "Secret:MODIFIED"]))
    try:
        refresh = src.wait(lambda e: e.get("type") == "REFRESH", "the refresh", timeout=60)
        waited = time.time() - started
        assert refresh["namespaces"] == ["refresh-a"] and refresh["expires_at"] == soon
        assert waited >= lead - 2, f"REFRESH came {waited:.1f}s after the start, before its time"
        # the secret is deleted: a DELETED event, metadata only
        kubectl("delete", "secret", "regcred-w", "-n", "refresh-b")
        deleted = src.wait(lambda e: e.get("kind") == "Secret" and e.get("type") == "DELETED", "the deletion")
        assert deleted["namespace"] == "refresh-b"
        assert payload not in json.dumps(src.seen) and "secret-payload-value" not in json.dumps(src.seen)
    finally:
        src.close()


def test_bad_arguments_name_the_argument():
    module = runpy.run_path(str(SOURCE))
    with pytest.raises(ValueError, match="events: 'Pod:ADDED' is not Kind:TYPE"):
        module["resolve_args"]({"events": ["Pod:ADDED"]})
    with pytest.raises(ValueError, match="clusters: expected a list"):
        module["resolve_args"]({"clusters": "prod"})


def test_settings_field_selector_and_refresh_before(tmp_path, kube_cluster, label):
    """The settings file gives the field selector and refresh_before (the role's variables); the watch of
    namespaces carries both selectors, so a namespace the field selector leaves out never yields an event."""
    settings = tmp_path / "settings.yml"
    settings.write_text(
        json.dumps(
            {
                "k8s_pull_secrets_clusters": [{"name": "main", "kubeconfig": str(kube_cluster.admin_kubeconfig)}],
                "k8s_pull_secrets_namespace_selector": f"{label}=on",
                "k8s_pull_secrets_namespace_field_selector": "metadata.name!=fs-out",
                "k8s_pull_secrets_refresh_before": 1800,
            }
        )
    )
    module = runpy.run_path(str(SOURCE))
    resolved = module["resolve_args"]({"settings_file": str(settings)})
    assert resolved["refresh_before"] == 1800.0
    assert resolved["namespace_field_selector"] == "metadata.name!=fs-out"
    assert module["resolve_args"]({"settings_file": str(settings), "refresh_before": 60})["refresh_before"] == 60.0

    kubectl = kube_cluster.admin
    src = Source({"settings_file": str(settings), "batch_window": 0})
    try:
        src.wait(lambda e: e.get("type") == "SYNC", "the initial sync")
        namespace(kubectl, "fs-out", label)
        namespace(kubectl, "fs-in", label)
        src.wait(is_added("fs-in"), "the namespace the field selector keeps")
        time.sleep(1)
        while not src.events.empty():
            src.seen.append(src.events.get())
        assert not [e for e in src.seen if e.get("name") == "fs-out" or "fs-out" in e.get("namespaces", [])]
    finally:
        src.close()
