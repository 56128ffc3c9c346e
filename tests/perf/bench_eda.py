#!/usr/bin/env python3
"""Benchmark: time from namespace creation to a usable pull secret, rulebook against scheduled playbook.

On a real control plane started here (kube-apiserver, etcd, kube-controller-manager), with the real
ansible-rulebook (.venv-eda) running cloud_registry.auth.pull_secrets:

- burst: N namespaces (default 50) created in one request; for each, the seconds from the request to the
  moment its secret exists and its ``default`` ServiceAccount lists it (polled every 0.1 s);
- one by one: N namespaces, each created once the previous one is usable; the same latency for each;
- the scheduled playbook's best case, the baseline: the role's playbook run once over N new namespaces
  (a cron or AWX schedule adds up to its interval on top of this).

Printed: p50 / p95 / max per mode and the ratio of each p95 to the scheduled best case.
    .venv/bin/python tests/perf/bench_eda.py [--namespaces 50]
No timing is asserted; exits 1 if a namespace never gets its secret.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from conftest import COLLECTIONS, ansible_env  # noqa: E402,F401  (COLLECTIONS: the collection is linked)
from support.eda import Rulebook, settings_file  # noqa: E402
from support.kube import KubeCluster, cluster_dir  # noqa: E402

SECRET = "regcred-bench"
PLAYBOOK = HERE.parents[1] / "playbooks" / "k8s_pull_secrets.yml"


def usable(cluster, names, since, deadline=300.0):
    """{namespace: seconds from ``since`` until its secret and its default ServiceAccount's entry exist}."""
    done, end = {}, time.monotonic() + deadline
    while len(done) < len(names) and time.monotonic() < end:
        listed = cluster.admin("get", "secrets", "-A", "--field-selector", f"metadata.name={SECRET}", "-o", "json")
        have = {item["metadata"]["namespace"] for item in json.loads(listed.stdout)["items"]}
        sas = json.loads(
            cluster.admin("get", "serviceaccounts", "-A", "--field-selector", "metadata.name=default", "-o", "json").stdout
        )["items"]
        now = time.monotonic()
        for sa in sas:
            ns = sa["metadata"]["namespace"]
            if ns in names and ns not in done and ns in have and SECRET in [r["name"] for r in sa.get("imagePullSecrets") or []]:
                done[ns] = now - since
        time.sleep(0.1)
    return done


def create(cluster, label, names):
    items = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n, "labels": {label: "on"}}} for n in names]
    cluster.admin("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}))


def quantiles(values):
    v = sorted(values)
    p95 = v[min(len(v) - 1, int(round(0.95 * (len(v) - 1))))]
    return statistics.median(v), p95, v[-1]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--namespaces", type=int, default=50)
    args, _unknown = ap.parse_known_args(argv)
    n = args.namespaces
    print("inputs:", json.dumps(vars(args)))
    cluster = KubeCluster.start(cluster_dir("bench-eda"))
    work = Path(tempfile.mkdtemp(prefix="bench-eda-"))
    failed = False
    try:
        label = "bench-eda-" + secrets.token_hex(3)
        role_vars = dict(
            k8s_pull_secrets_name=SECRET,
            k8s_pull_secrets_clusters=[{"name": "bench", "kubeconfig": str(cluster.admin_kubeconfig)}],
            k8s_pull_secrets_namespace_selector=f"{label}=on",
            k8s_pull_secrets_registries=[
                {"server": "127.0.0.1:5999", "username": "bench", "password": "bench-password-not-a-secret"}
            ],
        )
        settings = settings_file(work / "settings.yml", **role_vars)

        # baseline: the scheduled playbook, run once right after the namespaces exist (its best case)
        names = [f"sched-{i}" for i in range(n)]
        create(cluster, label, names)
        started = time.monotonic()
        run = subprocess.run(
            ["ansible-playbook", str(PLAYBOOK), "-e", f"@{settings}"],
            env=ansible_env(),
            capture_output=True,
            text=True,
            check=False,
        )
        scheduled = time.monotonic() - started
        if run.returncode != 0:
            print(run.stdout[-3000:], run.stderr[-3000:], file=sys.stderr)
            return 1

        rulebook = Rulebook(work, settings)
        rulebook.start()
        try:
            deadline = time.monotonic() + 180
            while "'type': 'SYNC'" not in rulebook.output() and time.monotonic() < deadline:
                rulebook.alive()
                time.sleep(0.2)
            time.sleep(3)  # the initial SYNC's run (the scheduled namespaces) is over before the clock starts
            burst = [f"burst-{i}" for i in range(n)]
            t0 = time.monotonic()
            create(cluster, label, burst)
            burst_lat = usable(cluster, set(burst), t0)
            one_lat = {}
            for i in range(n):
                ns = f"single-{i}"
                t0 = time.monotonic()
                create(cluster, label, [ns])
                one_lat.update(usable(cluster, {ns}, t0, deadline=120))
            out = rulebook.output()
        finally:
            rulebook.stop()
        for mode, got, want in (("burst", burst_lat, burst), ("one by one", one_lat, [f"single-{i}" for i in range(n)])):
            missing = sorted(set(want) - set(got))
            if missing:
                print(f"{mode}: {len(missing)} namespaces never got the secret: {missing[:5]}", file=sys.stderr)
                failed = True
        runs = out.count("PLAY RECAP")
        print(f"\nEvent-Driven Ansible (cloud_registry.auth.pull_secrets) vs the scheduled playbook, {n} namespaces")
        print(f"{'':34}{'p50 s':>8}{'p95 s':>8}{'max s':>8}{'p95 / scheduled':>17}")
        print(f"{'scheduled playbook, best case':34}{scheduled:8.1f}{scheduled:8.1f}{scheduled:8.1f}{1.0:16.2f}x")
        for mode, lat in (("rulebook, burst", burst_lat), ("rulebook, one by one", one_lat)):
            if lat:
                p50, p95, mx = quantiles(lat.values())
                print(f"{mode:34}{p50:8.1f}{p95:8.1f}{mx:8.1f}{p95 / scheduled:16.2f}x")
        batches = out.count("'type': 'BATCH'")
        print(f"playbook runs started by the rulebook: {runs} ({batches} of them for BATCH events)")
        print("the scheduled path's real latency is its interval plus the run; the rulebook's does not grow with it")
    finally:
        cluster.stop()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
