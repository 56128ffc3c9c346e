#!/usr/bin/env python3
"""Benchmark: k8s_pull_secret against the strongest forms of the same job a user would write.

The job: a kubernetes.io/dockerconfigjson Secret in N namespaces (default 200), and that
secret in the ``imagePullSecrets`` of each namespace's ``default`` ServiceAccount. Each tool
does a first run (everything created) and a re-run (nothing to do).

Every side runs as a new process against the REAL kube-apiserver. This script starts it
with tests/setup/kube-cluster.sh. Each side, in each repetition, gets N namespaces of its
own:

* ours: one ``cloud_registry.auth.k8s_pull_secret`` task (``parallel`` workers);
* ``k8s, one task``: one ``kubernetes.core.k8s`` task whose ``definition`` lists all 2N
  objects (the strongest form in Ansible);
* ``kubectl apply``: ``kubectl apply -f`` of one manifest holding all 2N objects, with no
  Ansible at all;
* ``k8s loop`` (with --with-loop): ``kubernetes.core.k8s`` looped over the namespaces,
  once for the Secret and once for the ServiceAccount. This is what people write today,
  and it is slow: 2N tasks.

Printed, per side and phase: the min / median / max wall time over --repeats
repetitions; the write requests and all requests the API server received (from its audit
log, this side's identity only, on the last repetition); and the ratio of each peer to
ours, computed within each repetition and shown as min / median / max. The ratio against
the fastest peer comes last.

No timing is asserted anywhere. The script exits 1 only if a run fails or leaves a
namespace unconfigured.

    .venv/bin/python tests/perf/bench_k8s_pull_secret.py [--namespaces 200] [--parallel 16]
        [--repeats 3] [--with-loop]
"""

from __future__ import annotations

import argparse
import base64
import json
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # tests/: conftest (run_playbook) and fixtures

from conftest import run_playbook  # noqa: E402
from support.kube import KUBECTL, KubeCluster, cluster_dir  # noqa: E402

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

K8S_ONE_TASK = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: every secret and service account in one task
      kubernetes.core.k8s:
        kubeconfig: "{{ kubeconfig }}"
        state: present
        definition: "{{ objects }}"
"""

K8S_LOOP = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: secret per namespace
      kubernetes.core.k8s:
        kubeconfig: "{{ kubeconfig }}"
        state: present
        definition: "{{ item }}"
      loop: "{{ objects | selectattr('kind', 'eq', 'Secret') }}"
    - name: default service account uses it
      kubernetes.core.k8s:
        kubeconfig: "{{ kubeconfig }}"
        state: present
        definition: "{{ item }}"
      loop: "{{ objects | selectattr('kind', 'eq', 'ServiceAccount') }}"
"""


def payload() -> str:
    auth = base64.b64encode(f"bench:{PASSWORD}".encode()).decode()
    doc = {"auths": {SERVER: {"username": "bench", "password": PASSWORD, "auth": auth}}}
    return base64.b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode()


def objects(namespaces: list[str]) -> list[dict]:
    """What the peers are given: the same end state as ours, spelled out object by object."""
    out = []
    for ns in namespaces:
        out.append(
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": "kubernetes.io/dockerconfigjson",
                "metadata": {"name": "regcred", "namespace": ns},
                "data": {".dockerconfigjson": payload()},
            }
        )
        out.append(
            {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": "default", "namespace": ns},
                "imagePullSecrets": [{"name": "regcred"}],
            }
        )
    return out


class Side:
    def __init__(self, label: str, tag: str, playbook: str | None = None):
        self.label, self.tag, self.playbook = label, tag, playbook

    def command(self, work: Path) -> str:
        if self.playbook is None:
            return f"kubectl --kubeconfig KUBECONFIG apply -f {work.name}/manifest.json"
        return f"ansible-playbook {self.tag}.yml -e @vars.json"

    def run(self, work: Path, kubeconfig: Path, namespaces: list[str], parallel: int) -> float:
        """One run as a new process; its wall time. Fails loudly."""
        objs = objects(namespaces)
        start = time.perf_counter()
        if self.playbook is None:
            manifest = work / "manifest.json"
            manifest.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": objs}))
            proc = subprocess.run(
                [KUBECTL, "--kubeconfig", str(kubeconfig), "--cache-dir", str(work / "cache"), "apply", "-f", str(manifest)],
                capture_output=True,
                text=True,
                timeout=3600,
                check=False,
            )
            elapsed = time.perf_counter() - start
            if proc.returncode != 0:
                raise SystemExit(f"{self.label} failed (rc={proc.returncode}): {proc.stderr[-2000:]}")
            return elapsed
        extra = {"kubeconfig": str(kubeconfig), "namespaces": namespaces, "parallel": parallel, "objects": objs}
        run = run_playbook(work, self.playbook, extra_vars=extra, timeout=7200)
        elapsed = time.perf_counter() - start
        if run.rc != 0:
            print(run.output[-3000:], file=sys.stderr)
            raise SystemExit(f"{self.label} failed (rc={run.rc})")
        return elapsed


def measure(cluster, side: Side, tmp: Path, rep: int, count: int, parallel: int) -> dict:
    """This side's own ``count`` namespaces; first run + re-run, each a new process."""
    namespaces = [f"b{rep}-{side.tag}-{i:03d}" for i in range(count)]
    work = tmp / f"{side.tag}-{rep}"
    api = cluster.identity(work)
    out = {}
    try:
        api.kubectl.create_namespaces(*namespaces)
        for phase in ("first", "rerun"):
            api.reset_stats()
            elapsed = side.run(work, api.kubeconfig, namespaces, parallel)
            stats = api.stats()
            out[phase] = {"seconds": elapsed, "writes": stats["writes"], "requests": stats["requests"]}
            print(
                f"  {side.label:18} repetition {rep + 1} {phase:6} {elapsed:7.2f}s  "
                f"{stats['writes']:5} writes {stats['requests']:6} requests",
                flush=True,
            )
        for ns in namespaces:  # every side must have reached the same state
            secret = api.get("secrets", ns, "regcred")
            sa = api.get("serviceaccounts", ns, "default")
            if secret is None or {"name": "regcred"} not in (sa.get("imagePullSecrets") or []):
                raise SystemExit(f"{side.label}: namespace {ns} is not configured")
        api.kubectl("delete", "namespace", "--wait=false", *namespaces, timeout=300)
    finally:
        api.close()
    return out


def spread(values: list[float]) -> str:
    return f"{min(values):7.2f} {statistics.median(values):7.2f} {max(values):7.2f}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--namespaces", type=int, default=200)
    parser.add_argument("--parallel", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--with-loop", action="store_true", help="also the kubernetes.core.k8s loop (2N tasks)")
    args, _unknown = parser.parse_known_args(argv)  # tests/perf/run-all.sh passes the same args to every bench
    ours = Side("k8s_pull_secret", "ours", OURS % {"server": SERVER, "password": PASSWORD})
    peers = [Side("k8s, one task", "k8s1", K8S_ONE_TASK), Side("kubectl apply", "kubectl")]
    if args.with_loop:
        peers.append(Side("k8s loop", "loop", K8S_LOOP))
    sides = [ours, *peers]
    print(f"command: {shlex.join([Path(sys.executable).name, *sys.argv])}")
    print(
        f"job: a pull secret in {args.namespaces} namespaces + each default service account; "
        f"{args.repeats} repetitions; each run a new process; each side in namespaces of its own"
    )
    for side in sides:
        print(f"  {side.label}: {side.command(Path('work'))}")
    results = {s.tag: [] for s in sides}
    cluster = KubeCluster.start(cluster_dir("bench"))
    try:
        with tempfile.TemporaryDirectory(prefix="bench-k8s-") as tmp:
            for rep in range(args.repeats):
                for side in sides:  # the same order in each repetition: neighbours share the machine state
                    results[side.tag].append(measure(cluster, side, Path(tmp), rep, args.namespaces, args.parallel))
    finally:
        cluster.stop()

    print(
        f"\nk8s pull secret benchmark: {args.namespaces} namespaces, {args.repeats} repetitions "
        "(wall s: min median max; requests of the last repetition)"
    )
    print(f"{'':18} {'first run':>23} {'re-run':>23} {'writes 1st/re':>14} {'requests 1st/re':>16}")
    for side in sides:
        rs = results[side.tag]
        print(
            f"{side.label:18} {spread([r['first']['seconds'] for r in rs]):>23} "
            f"{spread([r['rerun']['seconds'] for r in rs]):>23} "
            f"{rs[-1]['first']['writes']:>6}/{rs[-1]['rerun']['writes']:<7} "
            f"{rs[-1]['first']['requests']:>7}/{rs[-1]['rerun']['requests']:<8}"
        )
    print("\nratio peer / k8s_pull_secret, per repetition (min median max; above 1 means ours is faster)")
    medians = {}
    for side in peers:
        line = []
        for phase in ("first", "rerun"):
            ratios = [p[phase]["seconds"] / o[phase]["seconds"] for p, o in zip(results[side.tag], results["ours"])]
            medians[(side.label, phase)] = statistics.median(ratios)
            line.append(f"{phase} {min(ratios):.2f} {statistics.median(ratios):.2f} {max(ratios):.2f}")
        print(f"  {side.label:18} " + "   ".join(line))
    for phase in ("first", "rerun"):
        label, ratio = min(((lbl, r) for (lbl, ph), r in medians.items() if ph == phase), key=lambda x: x[1])
        print(f"strongest peer, {phase}: {label} at {ratio:.2f}x the time of k8s_pull_secret (median)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
