#!/usr/bin/env python3
"""Prove node files written by node_auth on a REAL kubelet and containerd.

Molecule's ``nodes`` scenario converges containers (fleet hosts cannot run a kubelet);
its verify step fetches what node_auth wrote on each of them into ``DIR/<host>/`` and
runs this script on the controller. For each host it installs the files on the node of
a cluster started here (tests/setup/kube-cluster.sh + kube-node.sh) and checks, with
the kubelet, containerd and crictl themselves:

* ``config.json`` (the kubelet's): a pod pulls the image; without it the pull fails;
* ``image-credential-provider-config.yaml`` + the provider: the kubelet runs the
  provider and the pod pulls;
* ``config.toml`` (cri_auth block) or ``hosts.toml``: ``crictl pull`` succeeds.

Node-local paths inside the files (the provider's credentials file, the CA of
hosts.toml) are mapped to the fetched copies. Usage:

    kube_prove_node.py DIR REGISTRY_HOST IMAGE CA_FILE
"""

from __future__ import annotations

import json
import re
import secrets
import shutil
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from support.kube import KubeCluster, trust_registry  # noqa: E402

BLOCK = re.compile(
    r"^# BEGIN cloud_registry\.auth node_auth: CRI registry auth\n(.*?)"
    r"^# END cloud_registry\.auth node_auth: CRI registry auth$",
    re.S | re.M,
)


def pulls(cluster: KubeCluster, ns: str, image: str, timeout: float = 180) -> tuple[bool, str]:
    """Start a pod with ``image``; (True, "") once the kubelet pulled it, (False, why) if it could not."""
    name = "p-" + secrets.token_hex(3)
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns},
        "spec": {
            "nodeName": cluster.node["NODE_NAME"],
            "hostNetwork": True,
            "restartPolicy": "OnFailure",
            "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "c", "image": image, "imagePullPolicy": "Always"}],
        },
    }
    cluster.admin("create", "-f", "-", input=json.dumps(pod))
    deadline = time.monotonic() + timeout
    verdict = (False, "no decision in %ds" % timeout)
    while time.monotonic() < deadline:
        events = cluster.admin.json("get", "events", "-n", ns, "--field-selector", f"involvedObject.name={name}")
        reasons = {e.get("reason"): e.get("message", "") for e in events.get("items", [])}
        if "Pulled" in reasons:
            verdict = (True, "")
            break
        obj = cluster.admin.json("get", "pod", name, "-n", ns)
        waiting = [cs.get("state", {}).get("waiting", {}) for cs in obj.get("status", {}).get("containerStatuses") or []]
        failed = [w for w in waiting if w.get("reason") in ("ErrImagePull", "ImagePullBackOff")]
        if failed:
            verdict = (False, failed[0].get("message", failed[0]["reason"]))
            break
        time.sleep(0.5)
    cluster.admin("delete", "pod", name, "-n", ns, "--grace-period=0", "--force", "--wait=false", check=False)
    return verdict


def check(label, ok, why=""):
    print("%s %s%s" % ("ok  " if ok else "FAIL", label, (": " + why) if why and not ok else ""), flush=True)
    return ok


def prove(cluster: KubeCluster, files: Path, host: str, image: str, ca: str) -> bool:
    env = cluster.node
    ns = "prove-" + files.name.lower().replace("_", "-")
    cluster.admin.create_namespaces(ns)  # waits for its default service account
    good = True
    trust_registry(env, host, ca)
    kubelet_json = Path(env["NODE_KUBELET_CONFIG_JSON"])
    provider_config = Path(env["NODE_PROVIDER_CONFIG"])
    kubelet_json.unlink(missing_ok=True)
    provider_config.unlink(missing_ok=True)
    cluster.restart_kubelet()
    ok, why = pulls(cluster, ns, image)
    good &= check(f"{files.name}: no credentials on the node, the pull is refused", not ok, "it pulled")

    shutil.copy(files / "config.json", kubelet_json)
    cluster.restart_kubelet()  # it caches config.json for minutes: what node_auth's handler does
    ok, why = pulls(cluster, ns, image)
    good &= check(f"{files.name}: the kubelet pulls with node_auth's config.json", ok, why)
    kubelet_json.unlink()

    cpc = yaml.safe_load((files / "image-credential-provider-config.yaml").read_text())
    for provider in cpc["providers"]:
        shutil.copy(files / provider["name"], Path(env["NODE_PROVIDER_BIN_DIR"]) / provider["name"])
        Path(env["NODE_PROVIDER_BIN_DIR"], provider["name"]).chmod(0o755)
        for var in provider.get("env", []):  # node paths -> the fetched copies
            local = files / Path(var["value"]).name
            if local.exists():
                var["value"] = str(local)
    provider_config.write_text(yaml.safe_dump(cpc))
    cluster.restart_kubelet()  # the kubelet reads its providers at start
    ok, why = pulls(cluster, ns, image)
    good &= check(f"{files.name}: the kubelet runs node_auth's credential provider and pulls", ok, why)
    provider_config.unlink()
    cluster.restart_kubelet()

    config = Path(env["NODE_CONTAINERD_CONFIG"])
    original = config.read_text()
    cluster.crictl("rmi", image)
    hosts = files / "hosts.toml"
    try:
        if hosts.exists():
            text = re.sub(r"(?m)^(\s*ca\s*=\s*).*$", lambda m: m.group(1) + json.dumps(ca), hosts.read_text())
            if "ca =" not in text:  # the node trusted the CA system-wide: give containerd the file
                text = text.replace(
                    'capabilities = ["pull", "resolve"]', 'capabilities = ["pull", "resolve"]\n  ca = %s' % json.dumps(ca)
                )
            (Path(env["NODE_CERTS_DIR"]) / host / "hosts.toml").write_text(text)
            what = "node_auth's hosts.toml"
        else:
            block = BLOCK.search((files / "config.toml").read_text())
            if not block:
                return check(f"{files.name}: node_auth's CRI auth block in config.toml", False, "not found")
            config.write_text(original + "\n" + block.group(0) + "\n")
            cluster.restart_containerd()
            what = "the CRI auth node_auth put in config.toml"
        pulled = cluster.crictl("pull", image)
        good &= check(f"{files.name}: containerd pulls with {what} (crictl pull)", pulled.returncode == 0, pulled.stderr[-800:])
    finally:
        config.write_text(original)
        cluster.restart_containerd()
        trust_registry(env, host, ca)
    return good


def main(argv):
    root, host, image, ca = Path(argv[1]), argv[2], argv[3], argv[4]
    work = Path(tempfile.mkdtemp(prefix="crauth-kube-prove-", dir="/tmp"))
    started = time.monotonic()
    cluster = KubeCluster.start(work)
    try:
        cluster.start_node()
        results = [prove(cluster, d, host, f"{host}/{image}", ca) for d in sorted(root.iterdir()) if d.is_dir()]
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    verdict = "all ok" if all(results) else "FAILED"
    print("real node proof: %d host(s), %s in %ds" % (len(results), verdict, time.monotonic() - started))
    return 0 if results and all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
