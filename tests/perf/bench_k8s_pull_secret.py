#!/usr/bin/env python3
"""Benchmark: k8s_pull_secret vs a kubernetes.core.k8s loop, same job, same API stand-in.

The job (issue #4): a kubernetes.io/dockerconfigjson Secret in N namespaces (default 200)
plus that secret in each namespace's ``default`` ServiceAccount ``imagePullSecrets``;
a first run (everything created) and a re-run (nothing to do).

Both sides run as real ``ansible-playbook`` processes against the REAL kube-apiserver
(tests/setup/kube-cluster.sh, started by this script), each in N namespaces of its own:

* ours: one ``cloud_registry.auth.k8s_pull_secret`` task (``parallel`` workers);
* baseline: ``kubernetes.core.k8s`` looped over the namespaces, once for the Secret and
  once for the ServiceAccount (what people write today).

Printed: wall time of each run, the ratios baseline/ours, and the write requests the API
server received (from its audit log, this side's identity only) on each run. No timing is asserted anywhere; the
script exits 1 only if a playbook fails or the results differ (e.g. secrets missing).

    .venv/bin/python tests/perf/bench_k8s_pull_secret.py [--namespaces 200] [--parallel 16]
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests/: conftest (run_playbook) and fixtures

from conftest import run_playbook  # noqa: E402
from support.kube import KubeCluster, cluster_dir  # noqa: E402

PASSWORD = "bench-password-not-a-secret"
SERVER = "registry.example.com"

OURS = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: pull secret everywhere
      cloud_registry.auth.k8s_pull_secret:
        name: regcred
        kubeconfig: "{{ kubeconfig }}"
        namespaces: "{{ namespaces }}"
        registries:
          - server: "%(server)s"
            username: bench
            password: "%(password)s"
        service_accounts: [default]
        parallel: "{{ parallel | int }}"
"""

BASELINE = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: secret per namespace
      kubernetes.core.k8s:
        kubeconfig: "{{ kubeconfig }}"
        state: present
        definition:
          apiVersion: v1
          kind: Secret
          metadata:
            name: regcred
            namespace: "{{ item }}"
          type: kubernetes.io/dockerconfigjson
          data:
            .dockerconfigjson: "{{ payload }}"
      loop: "{{ namespaces }}"
    - name: default service account uses it
      kubernetes.core.k8s:
        kubeconfig: "{{ kubeconfig }}"
        state: present
        definition:
          apiVersion: v1
          kind: ServiceAccount
          metadata:
            name: default
            namespace: "{{ item }}"
          imagePullSecrets:
            - name: regcred
      loop: "{{ namespaces }}"
"""


def payload():
    auth = base64.b64encode(f"bench:{PASSWORD}".encode()).decode()
    doc = {"auths": {SERVER: {"username": "bench", "password": PASSWORD, "auth": auth}}}
    return base64.b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode()


def measure(cluster, label, text, tmp, count, parallel):
    """``count`` namespaces of this side's own; first run + re-run; returns the figures."""
    tag = "ours" if label == "ours" else "base"
    namespaces = [f"bench-{tag}-{i:03d}" for i in range(count)]
    out = {}
    work = tmp / tag
    api = cluster.identity(work)
    try:
        api.kubectl.create_namespaces(*namespaces)
        kubeconfig = api.kubeconfig
        extra = {"kubeconfig": str(kubeconfig), "namespaces": namespaces, "parallel": parallel,
                 "payload": payload()}
        for phase in ("first", "rerun"):
            api.reset_stats()
            start = time.perf_counter()
            run = run_playbook(work, text, extra_vars=extra, timeout=7200)
            elapsed = time.perf_counter() - start
            if run.rc != 0:
                print(run.output[-3000:], file=sys.stderr)
                raise SystemExit(f"{label} {phase} run failed (rc={run.rc})")
            stats = api.stats()
            out[phase] = {"seconds": elapsed, "writes": stats["writes"], "requests": stats["requests"]}
            print(f"{label} {phase}: {elapsed:.1f}s, {stats['writes']} writes, {stats['requests']} API requests",
                  flush=True)
        # both sides must have produced the same state
        for ns in namespaces:
            secret = api.get("secrets", ns, "regcred")
            sa = api.get("serviceaccounts", ns, "default")
            if secret is None or {"name": "regcred"} not in (sa.get("imagePullSecrets") or []):
                raise SystemExit(f"{label}: namespace {ns} is not configured")
    finally:
        api.close()
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--namespaces", type=int, default=200)
    parser.add_argument("--parallel", type=int, default=16)
    args, _unknown = parser.parse_known_args(argv)  # tests/perf/run-all.sh passes the same args to every bench
    cluster = KubeCluster.start(cluster_dir("bench"))
    try:
        with tempfile.TemporaryDirectory(prefix="bench-k8s-") as tmp:
            tmp = Path(tmp)
            ours = measure(cluster, "ours", OURS % {"server": SERVER, "password": PASSWORD}, tmp, args.namespaces,
                           args.parallel)
            base = measure(cluster, "kubernetes.core.k8s loop", BASELINE, tmp, args.namespaces, args.parallel)
    finally:
        cluster.stop()
    print(f"\nk8s pull secret benchmark: {args.namespaces} namespaces, secret + default service account")
    print(f"{'':28}{'first run':>12}{'re-run':>12}{'writes 1st':>12}{'writes re-run':>15}")
    for label, r in (("k8s_pull_secret", ours), ("kubernetes.core.k8s loop", base)):
        print(f"{label:28}{r['first']['seconds']:>11.1f}s{r['rerun']['seconds']:>11.1f}s"
              f"{r['first']['writes']:>12}{r['rerun']['writes']:>15}")
    first_ratio = base["first"]["seconds"] / ours["first"]["seconds"]
    rerun_ratio = base["rerun"]["seconds"] / ours["rerun"]["seconds"]
    print(f"ratio (loop / k8s_pull_secret): first run {first_ratio:.1f}x, re-run {rerun_ratio:.1f}x "
          f"(target >= 10x); write requests on re-run: ours {ours['rerun']['writes']}, "
          f"loop {base['rerun']['writes']} (target 0)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
