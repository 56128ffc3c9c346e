"""The real Kubernetes of the tests: a control plane (and a node) from tests/setup/kube-*.sh.

* ``KubeCluster.start(dir)``: etcd + kube-apiserver + kube-controller-manager built from
  their Go modules (tests/setup/kube-build.sh), TLS with a CA of its own, RBAC + Node
  authorization, an audit log. ``.admin`` is a ``Kubectl`` bound to its admin kubeconfig.
* ``Identity``: one test's own identity on it, a ServiceAccount token bound to a
  ClusterRole (``cluster-admin`` unless told). What the API server saw of it is read
  from the server's own audit log (``stats()``: requests, writes, dry runs, by verb and
  resource), so a test counts only its own requests, whatever the controllers do.
* ``Interposer``: a loopback HTTP relay in front of the API server that, right after it
  relayed a matching request, lets a second writer act through the real API (a merge
  patch, a namespace delete) before the answer goes back: the conflicts and the
  terminating namespace the module then meets are the real server's.
* ``KubePKI``: certificates (CN = user, O = groups) signed by the cluster's CA, which the
  API server's ``--client-ca-file`` trusts; a ``KubePKI(dir)`` of its own is a foreign CA.
* ``Kubectl``: the real kubectl, ``write_kubeconfig``: kubeconfigs as tools write them.
"""

from __future__ import annotations

import base64
import collections
import datetime
import ipaddress
import json
import os
import re
import secrets
import shutil
import ssl
import subprocess
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SETUP = REPO / "tests" / "setup"
KUBECTL = shutil.which("kubectl") or "/usr/bin/kubectl"
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
TEST_NAMESPACE = "crauth-tests"
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")


def _env_file(path: Path) -> dict:
    out = {}
    for line in path.read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


class Kubectl:
    """The real kubectl bound to one kubeconfig."""

    def __init__(self, kubeconfig: Path, cache: Path):
        self.kubeconfig = Path(kubeconfig)
        self.cache = Path(cache)
        self.cache.mkdir(parents=True, exist_ok=True)

    def __call__(self, *args, input=None, check=True, timeout=90) -> subprocess.CompletedProcess:
        cmd = [KUBECTL, "--kubeconfig", str(self.kubeconfig), "--cache-dir", str(self.cache / "cache"), *args]
        proc = subprocess.run(
            cmd,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={"PATH": "/usr/bin:/bin", "HOME": str(self.cache)},
            check=False,
        )
        if check and proc.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
        return proc

    def json(self, *args):
        return json.loads(self(*args, "-o", "json").stdout)

    def pull_secret(self, namespace: str, name: str) -> dict:
        """The decoded .dockerconfigjson of a secret, read with kubectl."""
        obj = self.json("get", "secret", name, "-n", namespace)
        assert obj["type"] == "kubernetes.io/dockerconfigjson"
        return json.loads(base64.b64decode(obj["data"][".dockerconfigjson"]))

    def pull_secret_names(self, namespace: str, sa: str = "default") -> list:
        obj = self.json("get", "serviceaccount", sa, "-n", namespace)
        return [r["name"] for r in obj.get("imagePullSecrets") or []]

    def create_namespaces(self, *names, labels=None, wait_sa=True):
        """Namespaces, each with its ``default`` ServiceAccount (made by the real
        serviceaccount controller, a moment after the namespace): one ``kubectl create`` of
        a List, then one list of the ``default`` ServiceAccounts per poll (per namespace
        where this identity may not list them cluster-wide)."""
        if not names:
            return
        items = [
            {
                "apiVersion": "v1",
                "kind": "Namespace",
                "metadata": {"name": ns, **({"labels": dict(labels[ns])} if (labels or {}).get(ns) else {})},
            }
            for ns in names
        ]
        self(
            "create",
            "-f",
            "-",
            input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}),
            timeout=max(90, len(names)),
        )
        if not wait_sa:
            return
        waiting = set(names)

        def all_there():
            listed = self(
                "get",
                "serviceaccounts",
                "--all-namespaces",
                "--field-selector",
                "metadata.name=default",
                "-o",
                "jsonpath={.items[*].metadata.namespace}",
                check=False,
            )
            if listed.returncode != 0:  # no cluster-wide list for this identity: ask namespace by namespace
                for ns in sorted(waiting):
                    if self("get", "serviceaccount", "default", "-n", ns, check=False).returncode == 0:
                        waiting.discard(ns)
            else:
                waiting.difference_update(listed.stdout.split())
            return not waiting

        wait_for(all_there, f"the default ServiceAccount of {len(names)} namespace(s)", timeout=max(60.0, len(names) / 4))


def wait_for(predicate, what: str, timeout: float = 60.0, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not there after {timeout}s")
        time.sleep(every)


def write_kubeconfig(
    path: Path,
    server: str,
    token: str | None = None,
    context: str = "test",
    *,
    ca_cert=None,
    client_cert=None,
    client_key=None,
    embed: bool = False,
    tls_server_name: str | None = None,
) -> Path:
    """A kubeconfig with one cluster/user/context. TLS files by path or, with ``embed``,
    inlined as ``*-data`` (base64 PEM), as kubeadm and cloud CLIs write them."""
    cluster = {"server": server}
    if tls_server_name:
        cluster["tls-server-name"] = tls_server_name
    user = {"token": token} if token else {}
    for key, value, target in (
        ("certificate-authority", ca_cert, cluster),
        ("client-certificate", client_cert, user),
        ("client-key", client_key, user),
    ):
        if value is not None:
            if embed:
                target[key + "-data"] = KubePKI.data(value)
            else:
                target[key] = str(value)
    path = Path(path)
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": context, "cluster": cluster}],
                "users": [{"name": context + "-user", "user": user}],
                "contexts": [{"name": context, "context": {"cluster": context, "user": context + "-user"}}],
                "current-context": context,
            }
        )
    )
    path.chmod(0o600)
    return path


# --------------------------------------------------------------------------- PKI


def _pem_key(key) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )


class KubePKI:
    """Certificates signed by one CA. ``KubePKI(dir)`` makes a new CA (a foreign one to the
    cluster); ``KubePKI.of_cluster(cluster, dir)`` signs with the cluster's own CA."""

    def __init__(self, workdir, name="foreign-ca", ca_key=None, ca=None):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        if ca is None:
            ca_key = ec.generate_private_key(ec.SECP256R1())
            subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
            now = datetime.datetime.now(datetime.timezone.utc)
            ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
            ca = (
                x509.CertificateBuilder()
                .subject_name(subject)
                .issuer_name(subject)
                .public_key(ca_key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - datetime.timedelta(minutes=5))
                .not_valid_after(now + datetime.timedelta(days=2))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(True, False, True, False, False, True, True, False, False), critical=True)
                .add_extension(ski, critical=False)
                .sign(ca_key, hashes.SHA256())
            )
        self.ca_key, self.ca = ca_key, ca
        self.ca_cert = self._write("ca.crt", self._pem(ca))

    @classmethod
    def of_cluster(cls, cluster: "KubeCluster", workdir) -> "KubePKI":
        from cryptography import x509
        from cryptography.hazmat.primitives import serialization

        key = serialization.load_pem_private_key((cluster.pki / "ca.key").read_bytes(), password=None)
        ca = x509.load_pem_x509_certificate((cluster.pki / "ca.crt").read_bytes())
        return cls(workdir, ca_key=key, ca=ca)

    @staticmethod
    def _pem(cert) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return cert.public_bytes(serialization.Encoding.PEM)

    def _write(self, name, data, secret=False) -> Path:
        path = self.workdir / name
        path.write_bytes(data)
        path.chmod(0o600 if secret else 0o644)
        return path

    def issue(self, file_name, common_name, groups=(), names=(), server=False):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        key = ec.generate_private_key(ec.SECP256R1())
        attrs = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, g) for g in groups]
        attrs.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
        now = datetime.datetime.now(datetime.timezone.utc)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name(attrs))
            .issuer_name(self.ca.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, True, False, False, False, False, False, False), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca_key.public_key()), critical=False)
        )
        if names:
            sans = []
            for n in names:
                try:
                    sans.append(x509.IPAddress(ipaddress.ip_address(n)))
                except ValueError:
                    sans.append(x509.DNSName(n))
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(self.ca_key, hashes.SHA256())
        return (self._write(file_name + ".crt", self._pem(cert)), self._write(file_name + ".key", _pem_key(key), secret=True))

    def issue_client(self, user, groups=(), file_name=None):
        """A client certificate (CN ``user``, O ``groups``): returns (cert_path, key_path)."""
        return self.issue(file_name or re.sub(r"[^A-Za-z0-9_.-]", "_", user), user, groups)

    @staticmethod
    def data(path) -> str:
        return base64.b64encode(Path(path).read_bytes()).decode()


# --------------------------------------------------------------------------- cluster


class KubeCluster:
    """A running control plane (tests/setup/kube-cluster.sh)."""

    def __init__(self, directory: Path):
        self.dir = Path(directory)
        env = _env_file(self.dir / "cluster.env")
        self.url = env["KUBE_URL"]
        self.port = int(env["KUBE_API_PORT"])
        self.bin = Path(env["KUBE_BIN"])
        self.pki = self.dir / "pki"
        self.ca_cert = self.pki / "ca.crt"
        self.admin_kubeconfig = self.dir / "admin.kubeconfig"
        self.admin = Kubectl(self.admin_kubeconfig, self.dir / "kubectl-admin")
        self.audit_log = self.dir / "audit.log"
        self.node = None

    @classmethod
    def start(cls, directory: Path) -> "KubeCluster":
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [str(SETUP / "kube-cluster.sh"), "start", str(directory)], capture_output=True, text=True, timeout=900, check=False
        )
        if proc.returncode != 0:
            raise RuntimeError(f"kube-cluster.sh start failed: {proc.stderr[-4000:]}")
        cluster = cls(directory)
        cluster.admin("create", "namespace", TEST_NAMESPACE)
        return cluster

    def stop(self):
        if self.node is not None:
            subprocess.run([str(SETUP / "kube-node.sh"), "stop", str(self.dir)], capture_output=True, timeout=120, check=False)
        subprocess.run([str(SETUP / "kube-cluster.sh"), "stop", str(self.dir)], capture_output=True, timeout=120, check=False)

    def start_node(self) -> dict:
        if self.node is None:
            proc = subprocess.run(
                [str(SETUP / "kube-node.sh"), "start", str(self.dir)], capture_output=True, text=True, timeout=600, check=False
            )
            if proc.returncode != 0:
                raise RuntimeError(f"kube-node.sh start failed: {proc.stderr[-4000:]}")
            self.node = _env_file(self.dir / "node.env")
        return self.node

    def restart_apiserver(self):
        """Stop the API server and start it again on its port (watches break, etcd keeps the data)."""
        proc = subprocess.run(
            [str(SETUP / "kube-cluster.sh"), "restart-apiserver", str(self.dir)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"kube-cluster.sh restart-apiserver failed: {proc.stderr[-4000:]}")

    def compact_etcd(self) -> int:
        """Compact etcd up to its current revision (what the API server does every 5 minutes), so a watch from
        an older resourceVersion gets the real 410 Gone; returns the revision."""
        import urllib.request

        port = _env_file(self.dir / "cluster.env")["KUBE_ETCD_PORT"]

        def post(path, body):
            req = urllib.request.Request(
                f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
            )
            with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback etcd
                return json.loads(resp.read())

        # one write of our own first, outside the API server's /registry prefix: compacting at the revision of
        # the last object the test made would keep that revision, and a watch from the one before would not 410
        marker = {"key": base64.b64encode(b"/cra-tests/compaction-marker").decode(), "value": base64.b64encode(b"x").decode()}
        revision = int(post("/v3/kv/put", marker)["header"]["revision"])
        post("/v3/kv/compaction", {"revision": str(revision), "physical": True})
        return revision

    def restart_kubelet(self):
        proc = subprocess.run(
            [str(SETUP / "kube-node.sh"), "restart", str(self.dir)], capture_output=True, text=True, timeout=300, check=False
        )
        if proc.returncode != 0:
            raise RuntimeError(f"kube-node.sh restart failed: {proc.stderr[-4000:]}")

    def restart_containerd(self):
        proc = subprocess.run(
            [str(SETUP / "kube-node.sh"), "restart-containerd", str(self.dir)],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"kube-node.sh restart-containerd failed: {proc.stderr[-4000:]}")

    def crictl(self, *args, check=False) -> subprocess.CompletedProcess:
        node = self.start_node()
        return subprocess.run(
            [
                str(self.bin / "crictl"),
                "--runtime-endpoint",
                node["NODE_CRI_ENDPOINT"],
                "--image-endpoint",
                node["NODE_CRI_ENDPOINT"],
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=check,
        )

    def audit_mark(self) -> int:
        try:
            return self.audit_log.stat().st_size
        except FileNotFoundError:
            return 0

    def audit_events(self, since: int, user: str | None = None) -> list:
        """Audit events (ResponseComplete) logged after offset ``since``; the API server
        writes them synchronously (--audit-log-mode blocking), give it a moment anyway."""
        time.sleep(0.3)
        out = []
        with open(self.audit_log, "rb") as f:
            f.seek(since)
            for line in f:
                try:
                    ev = json.loads(line)
                except ValueError:
                    continue
                if ev.get("stage") != "ResponseComplete":
                    continue
                if user is not None and ev.get("user", {}).get("username") != user:
                    continue
                out.append(ev)
        return out

    def identity(self, workdir: Path, role: str = "cluster-admin") -> "Identity":
        return Identity(self, workdir, role)

    def cleanup_namespaces(self, keep=SYSTEM_NAMESPACES + (TEST_NAMESPACE,)):
        """Delete every namespace a test made and wait until the namespace controller is done."""
        names = [n for n in self.admin("get", "namespaces", "-o", "name").stdout.split() if n.split("/", 1)[1] not in keep]
        if names:
            self.admin("delete", "--wait=false", *names, check=False)
        # what a test wrote into the namespaces that stay (all_namespaces runs)
        for ns in keep:
            self.admin("delete", "secrets", "--all", "-n", ns, "--wait=false", check=False)
        for sa in self.admin.json("get", "serviceaccounts", "-A").get("items", []):
            if sa.get("imagePullSecrets") and sa["metadata"]["namespace"] in keep:
                self.admin(
                    "patch",
                    "serviceaccount",
                    sa["metadata"]["name"],
                    "-n",
                    sa["metadata"]["namespace"],
                    "--type=json",
                    "-p",
                    '[{"op": "remove", "path": "/imagePullSecrets"}]',
                    check=False,
                )
        if names:
            self.admin("wait", "--for=delete", "--timeout=120s", *names, check=False, timeout=180)


class Identity:
    """A test's own ServiceAccount on the cluster, with a token and a kubeconfig."""

    def __init__(self, cluster: KubeCluster, workdir: Path, role: str = "cluster-admin"):
        self.cluster = cluster
        self.name = "t-" + secrets.token_hex(4)
        self.username = f"system:serviceaccount:{TEST_NAMESPACE}:{self.name}"
        admin = cluster.admin
        admin("create", "serviceaccount", self.name, "-n", TEST_NAMESPACE)
        if role:
            admin(
                "create",
                "clusterrolebinding",
                self.name,
                f"--clusterrole={role}",
                f"--serviceaccount={TEST_NAMESPACE}:{self.name}",
            )
        self.token = admin("create", "token", self.name, "-n", TEST_NAMESPACE, "--duration=2h").stdout.strip()
        self.granted = []
        Path(workdir).mkdir(parents=True, exist_ok=True)
        self.url = cluster.url
        self.ca_cert = cluster.ca_cert
        self.kubeconfig = write_kubeconfig(
            Path(workdir) / f"kubeconfig-{self.name}.json", self.url, self.token, ca_cert=self.ca_cert
        )
        self.kubectl = Kubectl(self.kubeconfig, Path(workdir) / f"kubectl-{self.name}")
        self._mark = cluster.audit_mark()
        self._interposer = None

    # what the server saw of this identity
    def reset_stats(self):
        self._mark = self.cluster.audit_mark()

    def events(self):
        return self.cluster.audit_events(self._mark, self.username)

    def stats(self) -> dict:
        by_verb, by_resource = collections.Counter(), collections.Counter()
        writes = dry = 0
        events = self.events()
        for ev in events:
            verb = ev.get("verb")
            resource = (ev.get("objectRef") or {}).get("resource", "")
            by_verb[verb] += 1
            by_resource[f"{verb} {resource}"] += 1
            if verb in WRITE_VERBS:
                if "dryRun=All" in ev.get("requestURI", ""):
                    dry += 1
                else:
                    writes += 1
        return {
            "requests": len(events),
            "writes": writes,
            "dry_run": dry,
            "by_verb": dict(by_verb),
            "by_resource": dict(by_resource),
        }

    def grant(self, rules: list, namespace: str | None = None):
        """RBAC for a role-less identity: a (Cluster)Role with ``rules``, bound to it."""
        kind = "Role" if namespace else "ClusterRole"
        name = f"{self.name}-{secrets.token_hex(3)}"
        meta = {"name": name}
        if namespace:
            meta["namespace"] = namespace
        role = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind, "metadata": meta, "rules": rules}
        binding = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": kind + "Binding",
            "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": self.name, "namespace": TEST_NAMESPACE}],
        }
        listing = {"apiVersion": "v1", "kind": "List", "items": [role, binding]}
        self.cluster.admin("apply", "-f", "-", input=json.dumps(listing))
        if not namespace:
            self.granted.append(name)

    def get(self, resource: str, namespace: str, name: str):
        proc = self.cluster.admin("get", resource, name, "-n", namespace, "-o", "json", check=False)
        return json.loads(proc.stdout) if proc.returncode == 0 else None

    def add_hook(self, when: dict, action: str, times: int = 1, **kw) -> dict:
        """After a matching request was relayed, act as a second writer (see Interposer).
        The identity's kubeconfig is pointed at the interposer from now on."""
        if self._interposer is None:
            self._interposer = Interposer(self.cluster).start()
            write_kubeconfig(self.kubeconfig, self._interposer.url, self.token, ca_cert=self.ca_cert)
        return self._interposer.add(when, action, times, **kw)

    def via_interposer(self):
        """url/token/ca_cert of this identity through its interposer (after add_hook)."""
        import types

        return types.SimpleNamespace(url=self._interposer.url, token=self.token, ca_cert=self.ca_cert)

    def close(self):
        if self._interposer is not None:
            self._interposer.stop()
        admin = self.cluster.admin
        admin("delete", "clusterrolebinding", self.name, *self.granted, "--ignore-not-found", check=False)
        if self.granted:
            admin("delete", "clusterrole", *self.granted, "--ignore-not-found", check=False)
        admin("delete", "serviceaccount", self.name, "-n", TEST_NAMESPACE, "--ignore-not-found", check=False)


# --------------------------------------------------------------------------- interposer

_PATH = re.compile(r"^/api/v1/(?:namespaces/(?P<namespace>[^/]+)/)?(?P<resource>[a-z]+)(?:/(?P<name>[^/]+))?/?$")
_METHOD_VERB = {"GET": "get", "POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


class Interposer:
    """A loopback HTTP relay to the real API server (HTTPS, the cluster CA). A hook
    ``{"verb", "resource", "namespace", "name"}`` matched by a relayed request runs its
    action through the real API as the cluster admin before the answer is sent back:
    ``merge_patch`` (``patch=``: the object changes, its resourceVersion moves), ``bump``
    (an annotation of the tests' changes: only the resourceVersion moves) or
    ``delete_namespace`` (the namespace of the request goes Terminating)."""

    def __init__(self, cluster: KubeCluster):
        self.cluster = cluster
        self.hooks = []
        self.lock = threading.Lock()
        self.ctx = ssl.create_default_context(cafile=str(cluster.ca_cert))
        admin_cfg = cluster.admin_kubeconfig.read_text()
        self.admin_cert = re.search(r"client-certificate: (\S+)", admin_cfg).group(1)
        self.admin_key = re.search(r"client-key: (\S+)", admin_cfg).group(1)
        self.admin_ctx = ssl.create_default_context(cafile=str(cluster.ca_cert))
        self.admin_ctx.load_cert_chain(self.admin_cert, self.admin_key)
        self.server = None

    @property
    def url(self):
        return f"https://127.0.0.1:{self.server.server_address[1]}"

    def add(self, when, action, times=1, **kw):
        hook = {"when": when, "action": action, "times": times, "fired": 0, **kw}
        with self.lock:
            self.hooks.append(hook)
        return hook

    def _upstream(self, method, path, headers, body, ctx):
        import http.client

        conn = http.client.HTTPSConnection("127.0.0.1", self.cluster.port, context=ctx, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            return resp.status, resp.getheaders(), resp.read()
        finally:
            conn.close()

    def _fire(self, method, path):
        m = _PATH.match(urllib.parse.urlsplit(path).path)
        if not m:
            return
        req = {"verb": _METHOD_VERB.get(method), **m.groupdict()}
        if req["name"] is None and method == "GET":
            req["verb"] = "list"
        with self.lock:
            due = [h for h in self.hooks if h["fired"] < h["times"] and all(req.get(k) == v for k, v in h["when"].items())]
            for h in due:
                h["fired"] += 1
        for h in due:
            if h["action"] == "bump":  # only the resourceVersion moves (an annotation of the test's)
                h = dict(
                    h, patch={"metadata": {"annotations": {"crauth-tests/bump": secrets.token_hex(4)}}}, action="merge_patch"
                )
            if h["action"] == "merge_patch":
                ns, res, name = req["namespace"], req["resource"], req["name"]
                obj_path = f"/api/v1/namespaces/{ns}/{res}/{name}" if ns else f"/api/v1/{res}/{name}"
                status, _h, body = self._upstream(
                    "PATCH",
                    obj_path,
                    {"Content-Type": "application/merge-patch+json"},
                    json.dumps(h["patch"]).encode(),
                    self.admin_ctx,
                )
            elif h["action"] == "delete_namespace":
                status, _h, body = self._upstream(
                    "DELETE", "/api/v1/namespaces/" + (h.get("namespace") or req["namespace"]), {}, None, self.admin_ctx
                )
            else:
                raise AssertionError(h["action"])
            h["status"] = status

    def start(self):
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # as the API server (Go) behind it: no delayed-ACK wait per request

            def log_message(self, *a):
                pass

            def _relay(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in ("host", "connection", "content-length", "accept-encoding")
                }
                status, resp_headers, data = outer._upstream(self.command, self.path, headers, body, outer.ctx)
                outer._fire(self.command, self.path)
                self.send_response(status)
                for k, v in resp_headers:
                    if k.lower() not in ("content-length", "connection", "transfer-encoding"):
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _relay  # noqa: N815

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        # HTTPS with a serving certificate of the cluster's CA: clients keep their CA and
        # send their token (client-go never sends one over plain HTTP)
        pki = KubePKI.of_cluster(self.cluster, self.cluster.dir / f"interposer-{secrets.token_hex(3)}")
        cert, key = pki.issue("serving", "interposer", names=("127.0.0.1",), server=True)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(str(cert), str(key))
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def trust_registry(node: dict, host: str, ca) -> Path:
    """hosts.toml with the registry's CA only, for containerd on the node (``node.env``):
    what a node admin writes for TLS trust. Returns its path."""
    d = Path(node["NODE_CERTS_DIR"]) / host
    d.mkdir(parents=True, exist_ok=True)
    path = d / "hosts.toml"
    path.write_text(
        f'server = "https://{host}"\n\n[host."https://{host}"]\n  capabilities = ["pull", "resolve"]\n  ca = "{ca}"\n'
    )
    return path


def cluster_dir(name: str = "main") -> Path:
    """Where a session's cluster lives (short: unix socket paths have a length limit)."""
    d = Path(f"/tmp/crauth-kube-{os.getpid()}-{name}")
    d.mkdir(parents=True, exist_ok=True)
    return d
