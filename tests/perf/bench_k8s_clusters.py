#!/usr/bin/env python3
"""Benchmark: the k8s_pull_secrets role over several real clusters, bounded by API round trips.

The job: a kubernetes.io/dockerconfigjson Secret in N namespaces (default 200) of each of
C clusters (default 3), plus the secret in each namespace's ``default`` ServiceAccount.
Every cluster is a real kube-apiserver + etcd (tests/setup/kube-cluster.sh), started here.

Runs, each a new ansible-playbook process: the role on one cluster (the baseline: the
same work once), then on all clusters, first run (everything written) and --repeats
re-runs (nothing to write). Printed per run: wall seconds (min / median / max of the
re-runs), the requests and writes the API servers received from the role's identity
(their audit logs), requests per namespace, and the parallelism reached: the most
requests in flight at once and the mean (summed request durations / wall span), from
the audit timestamps. Also: the round-trip floor, wall / (requests per cluster /
mean parallelism), to show the run is bounded by API round trips.

    .venv/bin/python tests/perf/bench_k8s_clusters.py [--clusters 3] [--namespaces 200] [--parallel 16]
No timing is asserted; exits 1 if a run fails or leaves a namespace unconfigured.
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from conftest import run_playbook  # noqa: E402
from support.kube import KubeCluster, cluster_dir  # noqa: E402

PASSWORD = "bench-password-not-a-secret"
ROLE = """
- hosts: localhost
  gather_facts: false
  roles:
    - role: cloud_registry.auth.k8s_pull_secrets
"""


def _ts(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def parallelism(events):
    """(max in flight, mean in flight) from audit events' received / completed times."""
    spans = sorted(
        (_ts(e["requestReceivedTimestamp"]), _ts(e["stageTimestamp"]))
        for e in events
        if e.get("requestReceivedTimestamp") and e.get("stageTimestamp")
    )
    if not spans:
        return 0, 0.0
    points = sorted([(a, 1) for a, _b in spans] + [(b, -1) for _a, b in spans], key=lambda p: (p[0], p[1]))
    cur = peak = 0
    for _t, d in points:
        cur += d
        peak = max(peak, cur)
    wall = max(b for _a, b in spans) - spans[0][0]
    busy = sum(b - a for a, b in spans)
    return peak, (busy / wall if wall > 0 else float(len(spans)))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clusters", type=int, default=3)
    ap.add_argument("--namespaces", type=int, default=200)
    ap.add_argument("--parallel", type=int, default=16)
    ap.add_argument("--repeats", type=int, default=3)
    args, _unknown = ap.parse_known_args(argv)
    print("inputs:", json.dumps(vars(args)))
    clusters, ids = [], []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-k8s-clusters-") as tmp:
            tmp = Path(tmp)
            started = time.perf_counter()
            for i in range(args.clusters):
                cluster = KubeCluster.start(cluster_dir(f"bench{i}"))
                clusters.append(cluster)
                ident = cluster.identity(tmp / f"c{i}")
                ident.kubectl.create_namespaces(*[f"bench-{j:03d}" for j in range(args.namespaces)])
                ids.append(ident)
            print(
                f"{args.clusters} real clusters up with {args.namespaces} namespaces each in {time.perf_counter() - started:.0f}s"
            )
            namespaces = [f"bench-{j:03d}" for j in range(args.namespaces)]
            base = {
                "k8s_pull_secrets_namespaces": namespaces,
                "k8s_pull_secrets_parallel": args.parallel,
                "k8s_pull_secrets_registries": [{"server": "registry.example.com", "username": "bench", "password": PASSWORD}],
            }

            def run(label, which):
                for ident in ids:
                    ident.reset_stats()
                extra = dict(
                    base, k8s_pull_secrets_clusters=[{"name": f"c{i}", "kubeconfig": str(ids[i].kubeconfig)} for i in which]
                )
                start = time.perf_counter()
                res = run_playbook(tmp, ROLE, extra_vars=extra, timeout=3600)
                wall = time.perf_counter() - start
                if res.rc != 0:
                    print(res.output[-3000:], file=sys.stderr)
                    raise SystemExit(f"{label} failed (rc={res.rc})")
                per = []
                for i in which:
                    events = ids[i].events()
                    st = ids[i].stats()
                    peak, mean = parallelism(events)
                    per.append({"requests": st["requests"], "writes": st["writes"], "peak": peak, "mean": mean})
                return wall, per

            rows = []
            for label, which, repeats in (("1 cluster, first", [0], 1), ("1 cluster, re-run", [0], args.repeats)):
                walls, per = [], None
                for _r in range(repeats):
                    w, per = run(label, which)
                    walls.append(w)
                rows.append((label, walls, per))
            # the other clusters' first run, then all of them re-run together
            for label, which, repeats in (
                (f"{args.clusters} clusters, first (c1..)", list(range(1, args.clusters)), 1),
                (f"{args.clusters} clusters, re-run", list(range(args.clusters)), args.repeats),
            ):
                walls, per = [], None
                for _r in range(repeats):
                    w, per = run(label, which)
                    walls.append(w)
                rows.append((label, walls, per))
            for ident in ids:
                for ns in namespaces:
                    sa = ident.get("serviceaccounts", ns, "default")
                    if ident.get("secrets", ns, "regcred") is None or {"name": "regcred"} not in (
                        sa.get("imagePullSecrets") or []
                    ):
                        raise SystemExit(f"namespace {ns} of {ident.url} is not configured")
    finally:
        for ident in ids:
            ident.close()
        for cluster in clusters:
            cluster.stop()
    print(
        f"\nk8s_pull_secrets role: {args.namespaces} namespaces per cluster, secret + default ServiceAccount, "
        f"parallel {args.parallel}; baseline: the same role on 1 cluster, this run"
    )
    print(
        f"{'':34}{'wall s (min/med/max)':>24}{'clusters':>9}{'requests':>9}{'writes':>7}{'req/ns':>7}"
        f"{'peak':>6}{'mean par.':>10}{'floor ms/req':>13}"
    )
    for label, walls, per in rows:
        reqs = sum(p["requests"] for p in per)
        writes = sum(p["writes"] for p in per)
        peak = max(p["peak"] for p in per)
        mean = statistics.mean(p["mean"] for p in per)
        med = statistics.median(walls)
        # the role visits clusters one after the other: per-request round trip at the parallelism reached
        floor = med / (reqs / mean) * 1000 if reqs and mean else 0
        print(
            f"{label:34}{min(walls):8.1f}{med:8.1f}{max(walls):8.1f}{len(per):>9}{reqs:>9}{writes:>7}"
            f"{reqs / (len(per) * args.namespaces):>7.1f}{peak:>6}{mean:>10.1f}{floor:>13.1f}"
        )
    one = statistics.median(rows[1][1])
    many = statistics.median(rows[3][1])
    print(f"re-run over {args.clusters} clusters / re-run over 1: {many / one:.2f}x (linear in clusters: {args.clusters:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
