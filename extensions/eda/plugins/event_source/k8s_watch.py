# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cloud_registry.auth.k8s_watch: namespaces, service accounts and a pull secret of Kubernetes clusters as events.

An Event-Driven Ansible (ansible-rulebook) event source. Per cluster it keeps an informer, the way client-go
does, for each of namespaces (optionally by label selector), service accounts (optionally by label selector)
and, given ``secret_name``, the Secrets of that name: list, then watch from the list's resourceVersion with
bookmarks; a dropped connection resumes from the last resourceVersion seen; ``410 Gone`` (the version was
compacted away) lists again and turns the difference into events, so nothing created in a gap is missed.
Only object metadata is requested (``PartialObjectMetadata``): no Secret payload ever leaves the API server.

Events (every one carries ``cluster`` and ``namespaces``, the namespaces it concerns):

- ``{type: ADDED|MODIFIED|DELETED, kind: Namespace|ServiceAccount|Secret, cluster, name, namespace, labels,
  resource_version, namespaces: [namespace]}`` for the ``Kind:TYPE`` pairs listed in ``events``; service
  account and secret events only for namespaces that are selected (selector, exclusions, not terminating).
- ``{type: BATCH, cluster, events: [...], namespaces: [...]}``: the object events of one cluster that arrived
  within ``batch_window`` seconds of the first, delivered as one (a burst of 50 namespaces is one job).
- ``{type: SYNC, cluster, reason: initial|resync|relist, namespaces: [...]}``: every selected namespace, once
  the first list is done (catch-up of whatever happened while the rulebook was stopped), every ``resync``
  seconds, and after a re-list.
- ``{type: REFRESH, cluster, expires_at, namespaces: [...]}``: the secrets whose ``expiry_annotation``
  (written by the k8s_pull_secrets role from the minted tokens' ``expires_at``) falls within ``refresh_before``
  seconds; scheduled from the earliest expiry, not on a fixed interval.

Arguments:
  clusters: list of cluster entries of the k8s_pull_secrets role (connection options of k8s_pull_secret:
    kubeconfig, context, host, api_key, ca_cert, client_cert, client_key, validate_certs, tls_server_name,
    proxy, no_proxy, in_cluster; and name, namespace_selector, exclude_namespaces, all_namespaces,
    namespaces, service_account_selector). Default: one cluster from the default kubeconfig.
  settings_file: a YAML file of k8s_pull_secrets role variables (the playbook of the rulebook reads the same
    file); its k8s_pull_secrets_clusters, _namespace_selector, _namespaces, _exclude_namespaces, _name,
    _service_account_selector, _namespace_field_selector, _expiry_annotation and _refresh_before are the defaults
    of the arguments here.
  namespace_selector, namespace_field_selector, namespaces, exclude_namespaces, service_account_selector: the
    selection, as in the role.
  secret_name: the pull secret to watch (deleted secrets, expiry). Default: none.
  events: Kind:TYPE pairs emitted. Default: [Namespace:ADDED, ServiceAccount:ADDED, Secret:DELETED].
  batch_window: seconds (default 0.5; 0 emits every event on its own).
  resync: seconds between SYNC events (default 3600; 0: never).
  expiry_annotation: default cloud-registry.auth/expires-at. refresh_before: seconds (default 600).
  watch_timeout: seconds a watch request lasts before it is renewed (default 300).
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import logging
import os
import sys
import threading
import time
from typing import Any

DOCUMENTATION = __doc__

EXAMPLES = r"""
- name: Pull secrets follow namespaces
  hosts: localhost
  sources:
    - cloud_registry.auth.k8s_watch:
        settings_file: /etc/cloud-registry/pull-secrets.yml
        secret_name: regcred
  rules:
    - name: Reconcile the namespaces of the event
      condition: event.namespaces is defined
      action:
        run_playbook:
          name: cloud_registry.auth.eda_pull_secrets
"""


def _import_kube():
    """module_utils.kube of this collection; ansible-rulebook runs this file by path (runpy)."""
    try:
        from ansible_collections.cloud_registry.auth.plugins.module_utils import kube
    except ImportError:
        parts = os.path.abspath(__file__).split(os.sep)
        if "ansible_collections" not in parts:
            raise
        root = os.sep.join(parts[: len(parts) - 1 - parts[::-1].index("ansible_collections")])
        sys.path.insert(0, root or os.sep)
        from ansible_collections.cloud_registry.auth.plugins.module_utils import kube
    return kube


LOG = logging.getLogger("cloud_registry.auth.k8s_watch")
META_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json"
META_WATCH = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1,application/json"
DEFAULT_EVENTS = ("Namespace:ADDED", "ServiceAccount:ADDED", "Secret:DELETED")


class Informer:
    """List + watch of one resource of one cluster, a cache of its objects' metadata, events on changes."""

    def __init__(self, client, kind, path, query, on_change, on_listed, stop, watch_timeout=300):
        self.client, self.kind, self.path, self.query = client, kind, path, dict(query or {})
        self.on_change, self.on_listed, self.stop = on_change, on_listed, stop
        self.watch_timeout = watch_timeout
        self.where = client.cluster
        self.cache: dict[tuple, dict] = {}
        self.version = None
        self.lists = 0
        self.resumes = 0

    @staticmethod
    def key(meta):
        return (meta.get("namespace") or "", meta["name"])

    def relist(self):
        items, self.version = self.client.list_all(self.path, self.query, accept=META_LIST, with_version=True)
        fresh = dict((self.key(i["metadata"]), i["metadata"]) for i in items)
        first = self.lists == 0
        old, self.cache = self.cache, fresh
        self.lists += 1
        if not first:  # what changed while no watch was open becomes events, as a watch would have sent them
            for k, meta in fresh.items():
                if k not in old:
                    self.on_change(self.kind, "ADDED", meta)
                elif old[k].get("resourceVersion") != meta.get("resourceVersion"):
                    self.on_change(self.kind, "MODIFIED", meta)
            for k, meta in old.items():
                if k not in fresh:
                    self.on_change(self.kind, "DELETED", meta)
        self.on_listed(self, "initial" if first else "relist")

    def watch_once(self):
        query = dict(self.query, resourceVersion=self.version, allowWatchBookmarks="true", timeoutSeconds=str(self.watch_timeout))
        with contextlib.closing(
            self.client.watch(self.path, query, accept=META_WATCH, read_timeout=self.watch_timeout + 30)
        ) as events:
            for ev in events:
                if self.stop.is_set():
                    return
                self.handle(ev)

    def handle(self, ev):
        """One watch event: the cache, the resourceVersion, the callback."""
        etype, obj = ev.get("type"), ev.get("object") or {}
        if etype == "ERROR":
            code = obj.get("code")
            if code == 410:
                raise Gone(obj.get("message") or "resource version too old")
            raise RuntimeError("watch error %s: %s" % (code, obj.get("message")))
        meta = obj.get("metadata") or {}
        if meta.get("resourceVersion"):
            self.version = meta["resourceVersion"]
        if etype == "BOOKMARK":
            return
        k = self.key(meta)
        if etype == "DELETED":
            self.cache.pop(k, None)
        else:
            self.cache[k] = meta
        self.on_change(self.kind, etype, meta)

    def run(self):
        backoff = 0.2
        while not self.stop.is_set():
            try:
                if self.version is None:
                    self.relist()
                if not self.stop.is_set():
                    self.watch_once()
                backoff = 0.2
            except Gone as exc:
                LOG.info("%s %s: %s; listing again", self.where, self.kind, exc)
                self.version = None
            except Exception as exc:  # noqa: BLE001 - a watch source must outlive any failure of the API
                if getattr(exc, "code", None) == 410:
                    LOG.info("%s %s: 410 Gone; listing again", self.where, self.kind)
                    self.version = None
                    continue
                LOG.warning(
                    "%s %s: %s; retrying in %.1fs (from resourceVersion %s)", self.where, self.kind, exc, backoff, self.version
                )
                self.resumes += 1
                self.stop.wait(backoff)
                backoff = min(backoff * 2, 5.0)


class Gone(Exception):
    pass


class ClusterWatch:
    """The informers of one cluster and the events they turn into."""

    def __init__(self, kube, entry, args, emit, stop):
        self.kube, self.args, self.emit, self.stop = kube, args, emit, stop
        auth = dict((k, entry[k]) for k in kube.AUTH_KEYS if entry.get(k) is not None)  # k8s_pull_secret's options
        self.client = kube.KubeClient.from_auth(auth, pool_size=4)
        self.name = entry.get("name") or entry.get("context") or entry.get("host") or self.client.cluster
        self.wanted = set(args["events"])
        self.names = list(entry.get("namespaces") or args.get("namespaces") or [])
        self.exclude = list(entry.get("exclude_namespaces") or args.get("exclude_namespaces") or [])
        ns_selector = entry.get("namespace_selector") or args.get("namespace_selector") or None
        ns_fields = entry.get("namespace_field_selector") or args.get("namespace_field_selector") or None
        sa_selector = entry.get("service_account_selector") or args.get("service_account_selector") or None
        self.secret_name = args.get("secret_name")
        self.lock = threading.Lock()
        self.batch: list[dict] = []
        self.batch_timer = None
        self.refresh_timer = None
        self.refresh_due = None
        ns_query = {}
        if ns_selector:
            ns_query["labelSelector"] = kube._selector(ns_selector)
        if ns_fields:
            ns_query["fieldSelector"] = kube._selector(ns_fields)
        self.informers = [
            Informer(
                self.client, "Namespace", "/api/v1/namespaces", ns_query, self.changed, self.listed, stop, args["watch_timeout"]
            )
        ]
        self.informers.append(
            Informer(
                self.client,
                "ServiceAccount",
                "/api/v1/serviceaccounts",
                {"labelSelector": kube._selector(sa_selector)} if sa_selector else {},
                self.changed,
                self.listed,
                stop,
                args["watch_timeout"],
            )
        )
        if self.secret_name:
            self.informers.append(
                Informer(
                    self.client,
                    "Secret",
                    "/api/v1/secrets",
                    {"fieldSelector": "metadata.name=%s" % self.secret_name},
                    self.changed,
                    self.listed,
                    stop,
                    args["watch_timeout"],
                )
            )
        self.synced = set()
        for informer in self.informers:
            informer.where = self.name

    # -- selection
    def selected(self, ns):
        if self.names and ns not in self.names:
            return False
        if any(fnmatch.fnmatchcase(ns, pat) for pat in self.exclude):
            return False
        meta = self.informers[0].cache.get(("", ns))
        return meta is not None and not meta.get("deletionTimestamp")

    def namespaces(self):
        return sorted(n for (_, n) in list(self.informers[0].cache) if self.selected(n))

    # -- informer callbacks (informer threads)
    def changed(self, kind, etype, meta):
        ns = meta["name"] if kind == "Namespace" else meta.get("namespace") or ""
        if kind in ("Secret", "Namespace"):  # an expiry, or the selection of the secrets that count
            self.schedule_refresh()
        if "%s:%s" % (kind, etype) not in self.wanted:
            return
        if etype != "DELETED" or kind != "Namespace":
            if not self.selected(ns):
                return
        elif self.names and ns not in self.names or any(fnmatch.fnmatchcase(ns, p) for p in self.exclude):
            return
        event = {
            "type": etype,
            "kind": kind,
            "cluster": self.name,
            "name": meta["name"],
            "namespace": ns,
            "labels": dict(meta.get("labels") or {}),
            "resource_version": meta.get("resourceVersion"),
            "namespaces": [ns],
        }
        window = self.args["batch_window"]
        if window <= 0:
            self.emit(event)
            return
        with self.lock:
            self.batch.append(event)
            if self.batch_timer is None:
                self.batch_timer = threading.Timer(window, self.flush)
                self.batch_timer.daemon = True
                self.batch_timer.start()

    def flush(self):
        with self.lock:
            batch, self.batch, self.batch_timer = self.batch, [], None
        if len(batch) == 1:
            self.emit(batch[0])
        elif batch:
            namespaces = sorted(set(n for e in batch for n in e["namespaces"]))
            self.emit({"type": "BATCH", "cluster": self.name, "events": batch, "namespaces": namespaces})

    def listed(self, informer, reason):
        self.synced.add(informer.kind)
        self.schedule_refresh()
        if reason == "relist" or self.synced >= set(i.kind for i in self.informers) and "_sync" not in self.synced:
            self.synced.add("_sync")
            self.emit({"type": "SYNC", "cluster": self.name, "reason": reason, "namespaces": self.namespaces()})

    def resync(self):
        interval = self.args["resync"]
        while interval > 0 and not self.stop.wait(interval):
            if "_sync" in self.synced:
                self.emit({"type": "SYNC", "cluster": self.name, "reason": "resync", "namespaces": self.namespaces()})

    # -- expiry
    def expiries(self):
        secrets = [i for i in self.informers if i.kind == "Secret"]
        out = {}
        if not secrets:
            return out
        annotation = self.args["expiry_annotation"]
        for (ns, _), meta in list(secrets[0].cache.items()):
            at = self.kube.parse_time((meta.get("annotations") or {}).get(annotation))
            if at is not None and self.selected(ns):
                out[ns] = at
        return out

    def schedule_refresh(self):
        expiries = self.expiries()
        with self.lock:
            if not expiries:
                return
            due = max(min(expiries.values()) - self.args["refresh_before"], time.time() + 1.0)
            if self.refresh_due is not None and abs(self.refresh_due - due) < 0.5:
                return
            if self.refresh_timer is not None:
                self.refresh_timer.cancel()
            self.refresh_due = due
            self.refresh_timer = threading.Timer(due - time.time(), self.refresh)
            self.refresh_timer.daemon = True
            self.refresh_timer.start()

    def refresh(self):
        with self.lock:
            self.refresh_timer, self.refresh_due = None, None
        horizon = time.time() + self.args["refresh_before"]
        due = dict((ns, at) for ns, at in self.expiries().items() if at <= horizon)
        if due:
            self.emit(
                {
                    "type": "REFRESH",
                    "cluster": self.name,
                    "namespaces": sorted(due),
                    "expires_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(min(due.values()))),
                }
            )
            # a refresh that did not move the expiry is asked for again after a pause, not in a loop
            time.sleep(min(60.0, max(self.args["refresh_before"] / 10.0, 1.0)))
        self.schedule_refresh()

    def start(self):
        threads = [threading.Thread(target=i.run, name="%s-%s" % (self.name, i.kind), daemon=True) for i in self.informers]
        threads.append(threading.Thread(target=self.resync, name="%s-resync" % self.name, daemon=True))
        for t in threads:
            t.start()
        return threads


def load_settings(path):
    """The k8s_pull_secrets role variables of a YAML file (vault-encrypted values are kept opaque)."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!vault", lambda loader, node: "<vaulted>")
    with open(path, encoding="utf-8") as f:
        data = yaml.load(f, Loader=Loader) or {}  # noqa: S506 - a SafeLoader subclass
    if not isinstance(data, dict):
        raise ValueError("%s: expected a mapping of k8s_pull_secrets_* variables" % path)
    return data


def resolve_args(args: dict[str, Any]) -> dict[str, Any]:
    settings = load_settings(args["settings_file"]) if args.get("settings_file") else {}

    def pick(key, default=None):
        if args.get(key) not in (None, "", []):
            return args[key]
        value = settings.get("k8s_pull_secrets_" + key)
        return default if value in (None, "", []) else value

    out = {
        "clusters": pick("clusters", [{}]),
        "namespace_selector": pick("namespace_selector"),
        "namespace_field_selector": pick("namespace_field_selector"),
        "namespaces": pick("namespaces", []),
        "exclude_namespaces": pick("exclude_namespaces", []),
        "service_account_selector": None
        if settings.get("k8s_pull_secrets_all_service_accounts") and not args.get("service_account_selector")
        else pick("service_account_selector"),
        "secret_name": args.get("secret_name") or settings.get("k8s_pull_secrets_name"),
        "expiry_annotation": pick("expiry_annotation", "cloud-registry.auth/expires-at"),
        "events": list(args.get("events") or DEFAULT_EVENTS),
        "batch_window": float(args.get("batch_window", 0.5)),
        "resync": float(args.get("resync", 3600)),
        "refresh_before": float(pick("refresh_before", 600)),
        "watch_timeout": int(args.get("watch_timeout", 300)),
    }
    for item in out["events"]:
        kind, _, etype = str(item).partition(":")
        if kind not in ("Namespace", "ServiceAccount", "Secret") or etype not in ("ADDED", "MODIFIED", "DELETED"):
            raise ValueError(
                "events: %r is not Kind:TYPE (Namespace, ServiceAccount or Secret; ADDED, MODIFIED or DELETED)" % (item,)
            )
    if not isinstance(out["clusters"], list) or not all(isinstance(c, dict) for c in out["clusters"]):
        raise ValueError("clusters: expected a list of cluster entries (kubeconfig, context, host, ...)")
    return out


async def main(queue: asyncio.Queue, args: dict[str, Any]):
    """Entry point of ansible-rulebook: put events on ``queue`` until cancelled."""
    kube = _import_kube()
    conf = resolve_args(args)
    loop = asyncio.get_running_loop()
    stop = threading.Event()

    def emit(event):
        loop.call_soon_threadsafe(queue.put_nowait, event)

    watches = [ClusterWatch(kube, entry, conf, emit, stop) for entry in conf["clusters"]]
    for w in watches:
        w.start()
    try:
        await asyncio.Event().wait()
    finally:
        stop.set()


if __name__ == "__main__":
    # a manual run prints the events: python k8s_watch.py [settings.yml]

    class _Printer:
        def put_nowait(self, event):
            print(event, flush=True)

    asyncio.run(main(_Printer(), {"settings_file": sys.argv[1]} if len(sys.argv) > 1 else {}))
