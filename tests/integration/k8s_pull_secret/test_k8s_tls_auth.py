"""k8s_pull_secret's connection options against the REAL kube-apiserver of the session.

It serves HTTPS with a serving certificate of the cluster's own CA (and, by SNI only, one
for api.cluster.internal of a second CA) and, with ``--client-ca-file``, authenticates
client certificates signed by the cluster CA (CN = user, O = groups) or bearer tokens;
anything else is a 401 Status, and what RBAC does not allow a 403. The module runs through real ansible-playbook; every
result is read back with the REAL kubectl (client certificate of a cluster admin); the proxy test
goes through a REAL forward proxy (Debian's tinyproxy) whose log must show the CONNECT.
"""

from __future__ import annotations

import base64
import json
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from support.kube import Kubectl, KubePKI, write_kubeconfig
from support.ports import free_port

PASSWORD = "Tls-Opt10ns-Pa55w0rd-7e1d"
REGISTRY = {"server": "registry.example.com:5000", "username": "ci-bot", "password": PASSWORD}
PROXY_USER, PROXY_PASSWORD = "proxyuser", "Pr0xy-S3cret-c41b"
DEPLOYER = "ansible-deployer"
NAMESPACES = ["team-a", "team-b"]

pytestmark = pytest.mark.skipif(not Path("/usr/bin/kubectl").exists(), reason="kubectl is needed")


def play(args, name="pull secret") -> str:
    return (
        "- hosts: localhost\n  gather_facts: false\n  tasks:\n"
        f"    - name: {name}\n      cloud_registry.auth.k8s_pull_secret: {json.dumps(args)}\n"
    )


def base_args(**kw):
    args = {"name": "regcred", "namespaces": NAMESPACES, "service_accounts": ["default"], "registries": [REGISTRY]}
    args.update(kw)
    return args


def pem_body_lines(path: Path) -> list[str]:
    """The base64 lines of a PEM file (what would show if key material leaked)."""
    return [line for line in path.read_text().splitlines() if line and not line.startswith("-----")]


def assert_no_material(text: str, *secrets: str, keys=()):
    for secret in (PASSWORD, base64.b64encode(f"ci-bot:{PASSWORD}".encode()).decode(), *secrets):
        assert secret not in text, "a secret value leaked into the output"
    for key in keys:
        for line in pem_body_lines(key):
            assert line not in text, f"key material of {key.name} leaked into the output"
        assert KubePKI.data(key) not in text, f"the *-data of {key.name} leaked into the output"


def four_runs(playbook, text, env=None):
    """check (changed), run (changed), check (unchanged), run (unchanged)."""
    for check, expect in ((True, True), (False, True), (True, False), (False, False)):
        run = playbook(text, check=check, diff=True, env=env)
        assert run.rc == 0, run.output
        assert run.result("pull secret")["changed"] is expect, (check, run.result("pull secret"))
        assert_no_material(run.output)
    return run


def assert_written(kubectl):
    for ns in NAMESPACES:
        entry = kubectl.pull_secret(ns, "regcred")["auths"]["registry.example.com:5000"]
        assert (entry["username"], entry["password"]) == ("ci-bot", PASSWORD)
        assert kubectl.pull_secret_names(ns) == ["regcred"]


def assert_nothing_written(api, kubectl):
    assert api.stats()["writes"] == 0 and api.stats()["dry_run"] == 0
    assert kubectl("get", "secrets", "-A", "-o", "name").stdout.strip() == ""
    assert kubectl.pull_secret_names("team-a") == []


# ---------------------------------------------------------------- fixtures
class TlsApi:
    """The session's API server as these tests see it: who it authenticated since the
    test began (its audit log), this test's bearer token and its user."""

    def __init__(self, cluster, ident):
        self.cluster = cluster
        self.url = cluster.url
        self.port = cluster.port
        self.token = ident.token
        self.token_user = ident.username
        self.mark = cluster.audit_mark()

    def stats(self) -> dict:
        users, writes, dry = {}, 0, 0
        for ev in self.cluster.audit_events(self.mark):
            user = ev.get("user", {}).get("username", "")
            if user.startswith("system:") and user != self.token_user:
                continue  # the cluster's own components
            users[user] = users.get(user, 0) + 1
            if ev.get("verb") in ("create", "update", "patch", "delete"):
                if "dryRun=All" in ev.get("requestURI", ""):
                    dry += 1
                else:
                    writes += 1
        return {"users": users, "requests": sum(users.values()), "writes": writes, "dry_run": dry}

    def get(self, resource, namespace, name):
        proc = self.cluster.admin("get", resource, name, "-n", namespace, "-o", "json", check=False)
        return json.loads(proc.stdout) if proc.returncode == 0 else None


@pytest.fixture
def pki(tmp_path, kube_cluster) -> KubePKI:
    """Client certificates the API server trusts (its own CA)."""
    return KubePKI.of_cluster(kube_cluster, tmp_path / "pki")


@pytest.fixture
def tls_api(kube_cluster, kube_api):
    kube_cluster.admin.create_namespaces(*NAMESPACES)
    for user in (DEPLOYER, "kubectl-user"):
        kube_cluster.admin(
            "create", "clusterrolebinding", f"crauth-{user}", "--clusterrole=cluster-admin", f"--user={user}", check=False
        )
    try:
        yield TlsApi(kube_cluster, kube_api)
    finally:
        for user in (DEPLOYER, "kubectl-user"):
            kube_cluster.admin("delete", "clusterrolebinding", f"crauth-{user}", "--ignore-not-found", check=False)


@pytest.fixture
def deployer(pki):
    """(cert, key) of the user the module authenticates as."""
    return pki.issue_client(DEPLOYER, ["ci"])


@pytest.fixture
def admin_kubectl(tmp_path, pki, tls_api) -> Kubectl:
    """The real kubectl as a cluster admin (client certificate), to read results back."""
    cert, key = pki.issue_client("kubernetes-admin", ["system:masters"])
    kc = write_kubeconfig(
        tmp_path / "admin.kubeconfig", tls_api.url, token=None, ca_cert=pki.ca_cert, client_cert=cert, client_key=key
    )
    home = tmp_path / "kubectl-admin"
    home.mkdir()
    return Kubectl(kc, home)


@pytest.fixture
def tinyproxy(tmp_path, tls_api):
    """A real forward proxy (tinyproxy) on a free loopback port: basic auth, CONNECT only to the stand-in."""
    binary = shutil.which("tinyproxy") or "/usr/bin/tinyproxy"
    if not Path(binary).exists():
        pytest.fail("tinyproxy is not installed: apt-get install -y tinyproxy (tests/setup/apt-packages.txt)")
    workdir = tmp_path / "tinyproxy"
    workdir.mkdir()
    port = free_port()
    log = workdir / "tinyproxy.log"
    conf = workdir / "tinyproxy.conf"
    conf.write_text(
        f'Port {port}\nListen 127.0.0.1\nTimeout 60\nLogFile "{log}"\nLogLevel Info\n'
        f'PidFile "{workdir / "tinyproxy.pid"}"\nMaxClients 20\nAllow 127.0.0.1\n'
        f"ConnectPort {tls_api.port}\nBasicAuth {PROXY_USER} {PROXY_PASSWORD}\nDisableViaHeader Yes\n"
    )
    proc = subprocess.Popen([binary, "-d", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _attempt in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, log.read_text() if log.exists() else "tinyproxy exited"
                time.sleep(0.05)
        yield {"url": f"http://127.0.0.1:{port}", "log": log, "port": port}
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def connects(proxy) -> list[str]:
    """The CONNECT requests tinyproxy logged."""
    text = proxy["log"].read_text() if proxy["log"].exists() else ""
    return [m.group(1) for m in re.finditer(r"Request \(file descriptor \d+\): (.*)$", text, re.M)]


# ---------------------------------------------------------------- the stand-in with real kubectl
@pytest.mark.matrix
@pytest.mark.parametrize("embed", [False, True], ids=["file-paths", "embedded-data"])
def test_kubectl_against_tls_standin(tmp_path, pki, tls_api, embed):
    cert, key = pki.issue_client("kubectl-user", ["system:masters"])
    kc = write_kubeconfig(
        tmp_path / "kc.json", tls_api.url, token=None, ca_cert=pki.ca_cert, client_cert=cert, client_key=key, embed=embed
    )
    home = tmp_path / "home"
    home.mkdir()
    kubectl = Kubectl(kc, home)
    assert {"namespace/team-a", "namespace/team-b"} <= set(kubectl("get", "namespaces", "-o", "name").stdout.split())
    kubectl(
        "create",
        "secret",
        "docker-registry",
        "from-kubectl",
        "-n",
        "team-a",
        "--docker-server=r.example",
        "--docker-username=u",
        "--docker-password=p",
    )
    assert kubectl.pull_secret("team-a", "from-kubectl")["auths"]["r.example"]["username"] == "u"
    assert tls_api.stats()["users"] == {"kubectl-user": tls_api.stats()["requests"]}
    # a certificate of another CA authenticates nobody: 401, as kube-apiserver answers
    foreign = KubePKI(tmp_path / "foreign").issue_client("kubectl-user", ["system:masters"])
    bad = Kubectl(
        write_kubeconfig(
            tmp_path / "bad.json",
            tls_api.url,
            token=None,
            ca_cert=pki.ca_cert,
            client_cert=foreign[0],
            client_key=foreign[1],
            embed=embed,
        ),
        home,
    )
    proc = bad("get", "namespaces", check=False)
    assert proc.returncode != 0 and "Unauthorized" in proc.stderr
    # without the cluster CA kubectl does not trust the server
    untrusting = Kubectl(
        write_kubeconfig(tmp_path / "noca.json", tls_api.url, token=None, client_cert=cert, client_key=key, embed=embed), home
    )
    proc = untrusting("get", "namespaces", check=False)
    assert proc.returncode != 0 and "certificate" in proc.stderr and "x509" in proc.stderr


# ---------------------------------------------------------------- (a) ca_cert + client_cert + client_key
@pytest.mark.matrix
def test_client_certificate_options(tmp_path, pki, tls_api, deployer, admin_kubectl, playbook):
    cert, key = deployer
    text = play(base_args(host=tls_api.url, ca_cert=str(pki.ca_cert), client_cert=str(cert), client_key=str(key)))
    four_runs(playbook, text)
    assert_written(admin_kubectl)
    users = tls_api.stats()["users"]
    assert users[DEPLOYER] >= 8 and tls_api.token_user not in users  # the certificate, not a token, authenticated
    verbose = playbook(text, verbosity=4, json_output=False)
    assert verbose.rc == 0, verbose.output
    assert_no_material(verbose.output, keys=(key,))


def _relay_v6(target_port):
    """A TCP relay on [::1] to the API server's 127.0.0.1 port (TLS ends at the real server)."""
    import threading

    srv = socket.socket(socket.AF_INET6)
    srv.bind(("::1", 0))
    srv.listen(16)

    def pipe(a, b):
        try:
            data = a.recv(65536)
            while data:
                b.sendall(data)
                data = a.recv(65536)
        except OSError:
            pass
        finally:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def accept():
        while True:
            try:
                conn, _addr = srv.accept()
            except OSError:
                return
            up = socket.create_connection(("127.0.0.1", target_port))
            threading.Thread(target=pipe, args=(conn, up), daemon=True).start()
            threading.Thread(target=pipe, args=(up, conn), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return srv


def test_client_certificate_over_ipv6_loopback(tmp_path, pki, tls_api, deployer, playbook):
    try:
        relay = _relay_v6(tls_api.port)
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback here: {exc}")
    try:
        url = f"https://[::1]:{relay.getsockname()[1]}"
        cert, key = deployer
        run = playbook(
            play(base_args(namespaces=["team-a"], host=url, ca_cert=str(pki.ca_cert), client_cert=str(cert), client_key=str(key)))
        )
        assert run.rc == 0, run.output
        assert run.result("pull secret")["totals"]["created"] == 1
        assert tls_api.get("secrets", "team-a", "regcred")["type"] == "kubernetes.io/dockerconfigjson"
        assert tls_api.stats()["users"][DEPLOYER] >= 2  # the certificate authenticated over ::1
    finally:
        relay.close()


# ---------------------------------------------------------------- (b) kubeconfig with *-data and a context
def tls_kubeconfig(pki, api, cert, key, dead_port) -> dict:
    """Two contexts: the current one points at a dead port; ``standin-tls`` embeds CA, cert and key."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "dead", "cluster": {"server": f"https://127.0.0.1:{dead_port}"}},
            {"name": "standin-tls", "cluster": {"server": api.url, "certificate-authority-data": KubePKI.data(pki.ca_cert)}},
        ],
        "users": [
            {"name": "nobody", "user": {"token": "not-the-token"}},
            {"name": "deployer", "user": {"client-certificate-data": KubePKI.data(cert), "client-key-data": KubePKI.data(key)}},
        ],
        "contexts": [
            {"name": "default", "context": {"cluster": "dead", "user": "nobody"}},
            {"name": "standin-tls", "context": {"cluster": "standin-tls", "user": "deployer"}},
        ],
        "current-context": "default",
    }


@pytest.mark.parametrize("form", ["path", pytest.param("dict", marks=pytest.mark.matrix)])
def test_kubeconfig_embedded_data_and_context(tmp_path, pki, tls_api, deployer, admin_kubectl, playbook, form):
    cert, key = deployer
    kc = tls_kubeconfig(pki, tls_api, cert, key, free_port())
    path = tmp_path / "embedded.kubeconfig"
    path.write_text(json.dumps(kc))
    path.chmod(0o600)
    kubeconfig = str(path) if form == "path" else kc
    # the file's own current context is dead: the context option must be used
    default = playbook(play(base_args(kubeconfig=kubeconfig)))
    assert default.rc != 0 and "connection refused" in default.result("pull secret")["msg"]
    assert "(context default)" in default.result("pull secret")["msg"]
    text = play(base_args(kubeconfig=kubeconfig, context="standin-tls"))
    four_runs(playbook, text)
    assert_written(admin_kubectl)
    assert tls_api.token_user not in tls_api.stats()["users"] and tls_api.stats()["users"][DEPLOYER] >= 8
    # the same kubeconfig works for the real kubectl
    home = tmp_path / "kubectl-kc"
    home.mkdir()
    assert (
        Kubectl(path, home)("--context", "standin-tls", "get", "secret", "regcred", "-n", "team-b", "-o", "name").stdout.strip()
        == "secret/regcred"
    )
    verbose = playbook(text, verbosity=4, json_output=False)
    assert verbose.rc == 0, verbose.output
    assert_no_material(verbose.output, "not-the-token", keys=(key,))


# ---------------------------------------------------------------- (c) bearer token over TLS
@pytest.mark.parametrize("source", ["options", "environment"])
def test_bearer_token_over_tls(tmp_path, pki, tls_api, admin_kubectl, playbook, source):
    if source == "options":
        text, env = play(base_args(host=tls_api.url, ca_cert=str(pki.ca_cert), api_key=tls_api.token)), None
    else:
        text = play(base_args())
        env = {
            "K8S_AUTH_HOST": tls_api.url,
            "K8S_AUTH_SSL_CA_CERT": str(pki.ca_cert),
            "K8S_AUTH_API_KEY": tls_api.token,
            "K8S_AUTH_VERIFY_SSL": "true",
        }
    four_runs(playbook, text, env=env)
    assert_written(admin_kubectl)
    assert tls_api.stats()["users"][tls_api.token_user] >= 8  # the token's user
    verbose = playbook(text, verbosity=4, json_output=False, env=env)
    assert verbose.rc == 0, verbose.output
    assert_no_material(verbose.output, tls_api.token)
    wrong = playbook(play(base_args(host=tls_api.url, ca_cert=str(pki.ca_cert), api_key="wrong-token-1234")))
    msg = wrong.result("pull secret")["msg"]
    assert wrong.rc != 0 and "401" in msg and tls_api.url in msg and "api_key" in msg
    assert "wrong-token-1234" not in wrong.output


# ---------------------------------------------------------------- (d) validate_certs
def test_validate_certs(tmp_path, pki, tls_api, admin_kubectl, playbook):
    # the cluster CA is in no system store: verification (the default, or asked for) fails first
    for extra in ({}, {"validate_certs": True}):
        run = playbook(play(base_args(host=tls_api.url, api_key=tls_api.token, **extra)))
        msg = run.result("pull secret")["msg"]
        assert run.rc != 0, run.output
        assert tls_api.url in msg and "could not be verified" in msg
        assert "ca_cert" in msg and "validate_certs" in msg
        assert_nothing_written(tls_api, admin_kubectl)
        assert_no_material(run.output, tls_api.token)
    assert tls_api.stats()["users"] == {"kubernetes-admin": tls_api.stats()["requests"]}  # no module request got in
    # validate_certs: false connects without the CA, and says it is insecure
    text = play(base_args(host=tls_api.url, api_key=tls_api.token, validate_certs=False))
    run = four_runs(playbook, text)
    warnings = run.result("pull secret").get("warnings") or []
    assert any("not verified" in w and tls_api.url in w for w in warnings), warnings
    assert "InsecureRequestWarning" not in run.output
    assert_written(admin_kubectl)


def test_tls_server_name(tmp_path, kube_cluster, tls_api, playbook):
    """The API server's certificate for api.cluster.internal (of a CA of its own) is served
    only to clients that ask for that name by SNI: tls_server_name must be sent and checked."""
    sni_ca = str(kube_cluster.pki / "sni-ca.crt")
    common = base_args(namespaces=["team-a"], host=tls_api.url, ca_cert=sni_ca, api_key=tls_api.token)
    run = playbook(play(common))
    msg = run.result("pull secret")["msg"]
    assert run.rc != 0 and "could not be verified" in msg and tls_api.url in msg, msg
    assert tls_api.stats()["writes"] == 0
    run = playbook(play(dict(common, tls_server_name="api.cluster.internal")))
    assert run.rc == 0, run.output
    assert tls_api.get("secrets", "team-a", "regcred") is not None


# ---------------------------------------------------------------- (e) wrong client certificate
def test_client_certificate_of_another_ca_is_401(tmp_path, pki, tls_api, admin_kubectl, playbook):
    cert, key = KubePKI(tmp_path / "foreign").issue_client(DEPLOYER, ["system:masters"])
    run = playbook(
        play(base_args(host=tls_api.url, ca_cert=str(pki.ca_cert), client_cert=str(cert), client_key=str(key))), check=False
    )
    msg = run.result("pull secret")["msg"]
    assert run.rc != 0
    assert "401" in msg and tls_api.url in msg and "client_cert" in msg and "client CA" in msg
    assert_nothing_written(tls_api, admin_kubectl)
    assert DEPLOYER not in tls_api.stats()["users"]
    # through a kubeconfig the message names the context too
    kc = tls_kubeconfig(pki, tls_api, cert, key, free_port())
    run = playbook(play(base_args(kubeconfig=kc, context="standin-tls")))
    msg = run.result("pull secret")["msg"]
    assert run.rc != 0 and "401" in msg and f"{tls_api.url} (context standin-tls)" in msg
    assert_no_material(run.output, keys=(key,))
    assert_nothing_written(tls_api, admin_kubectl)


def test_client_certificate_without_rbac_is_403(tmp_path, pki, tls_api, admin_kubectl, playbook):
    cert, key = pki.issue_client("intruder")
    # no RoleBinding names "intruder": the real RBAC answers 403
    run = playbook(play(base_args(host=tls_api.url, ca_cert=str(pki.ca_cert), client_cert=str(cert), client_key=str(key))))
    result = run.result("pull secret")
    assert run.rc != 0 and result["failed_namespaces"] == NAMESPACES
    assert "403" in result["msg"] and 'User "intruder"' in result["msg"] and tls_api.url in result["msg"]
    assert_nothing_written(tls_api, admin_kubectl)


def test_client_key_that_does_not_match(tmp_path, pki, tls_api, deployer, admin_kubectl, playbook):
    cert, dummy = deployer
    other_key = pki.issue_client("someone-else")[1]
    run = playbook(play(base_args(host=tls_api.url, ca_cert=str(pki.ca_cert), client_cert=str(cert), client_key=str(other_key))))
    msg = run.result("pull secret")["msg"]
    assert run.rc != 0 and "the key does not belong to the certificate" in msg
    assert str(cert) in msg and str(other_key) in msg
    assert_no_material(run.output, keys=(other_key,))
    assert tls_api.stats()["requests"] == tls_api.stats()["users"].get("kubernetes-admin", 0)
    assert_nothing_written(tls_api, admin_kubectl)


# ---------------------------------------------------------------- (f) through a real forward proxy
@pytest.mark.parametrize("auth_form", [pytest.param("url-userinfo", marks=pytest.mark.matrix), "proxy_headers"])
def test_proxy_tinyproxy(tmp_path, pki, tls_api, deployer, admin_kubectl, tinyproxy, playbook, auth_form):
    cert, key = deployer
    common = dict(host=tls_api.url, ca_cert=str(pki.ca_cert), client_cert=str(cert), client_key=str(key))
    if auth_form == "url-userinfo":
        common["proxy"] = tinyproxy["url"].replace("http://", f"http://{PROXY_USER}:{PROXY_PASSWORD}@")
    else:
        common["proxy"] = tinyproxy["url"]
        common["proxy_headers"] = {"proxy_basic_auth": f"{PROXY_USER}:{PROXY_PASSWORD}"}
    # NO_PROXY naming the API server must not switch off an explicitly given proxy (kubectl's rule)
    env = {"NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    four_runs(playbook, play(base_args(**common)), env=env)
    assert_written(admin_kubectl)
    tunnels = connects(tinyproxy)
    assert len(tunnels) >= 4 and all(t.startswith(f"CONNECT 127.0.0.1:{tls_api.port} HTTP/") for t in tunnels), tunnels
    verbose = playbook(play(base_args(**common)), verbosity=4, json_output=False, env=env)
    assert verbose.rc == 0, verbose.output
    assert_no_material(
        verbose.output,
        PROXY_PASSWORD,
        f"{PROXY_USER}:{PROXY_PASSWORD}",
        base64.b64encode(f"{PROXY_USER}:{PROXY_PASSWORD}".encode()).decode(),
        keys=(key,),
    )
    # no_proxy exempts the API server: no new tunnel
    before = len(connects(tinyproxy))
    run = playbook(play(base_args(no_proxy="127.0.0.1", **common)))
    assert run.rc == 0 and not run.result("pull secret")["changed"], run.output
    assert len(connects(tinyproxy)) == before


def test_proxy_refusals_change_nothing(tmp_path, pki, tls_api, admin_kubectl, tinyproxy, playbook):
    common = dict(host=tls_api.url, ca_cert=str(pki.ca_cert), api_key=tls_api.token)
    # no credentials for the proxy: 407
    run = playbook(play(base_args(proxy=tinyproxy["url"], **common)))
    msg = run.result("pull secret")["msg"]
    assert run.rc != 0 and "407" in msg and tinyproxy["url"] in msg and "proxy_basic_auth" in msg
    # wrong credentials
    wrong = tinyproxy["url"].replace("http://", f"http://{PROXY_USER}:Wr0ng-Pr0xy-Pw@")
    run = playbook(play(base_args(proxy=wrong, **common)), verbosity=3, json_output=False)
    assert run.rc != 0 and "proxy_basic_auth" in run.output and "Wr0ng-Pr0xy-Pw" not in run.output
    # a proxy that does not run
    dead = f"http://127.0.0.1:{free_port()}"
    run = playbook(play(base_args(proxy=dead, **common)))
    msg = run.result("pull secret")["msg"]
    assert run.rc != 0 and dead in msg and "connection refused" in msg
    assert len(connects(tinyproxy)) >= 2  # the refused tunnels were asked for through the proxy
    assert_nothing_written(tls_api, admin_kubectl)
    # the real kubectl through the same proxy (kubeconfig proxy-url with credentials)
    kc = json.loads(admin_kubectl.kubeconfig.read_text())
    kc["clusters"][0]["cluster"]["proxy-url"] = tinyproxy["url"].replace("http://", f"http://{PROXY_USER}:{PROXY_PASSWORD}@")
    via = tmp_path / "via-proxy.kubeconfig"
    via.write_text(json.dumps(kc))
    assert {"namespace/team-a", "namespace/team-b"} <= set(
        Kubectl(via, admin_kubectl.cache)("get", "namespaces", "-o", "name").stdout.split()
    )
    assert len(connects(tinyproxy)) > 2


def test_kubeconfig_proxy_url_is_used(tmp_path, pki, tls_api, deployer, admin_kubectl, tinyproxy, playbook):
    """The kubeconfig cluster's proxy-url (with user:password@) reaches the proxy like the option does."""
    cert, key = deployer
    kc = tls_kubeconfig(pki, tls_api, cert, key, free_port())
    kc["clusters"][1]["cluster"]["proxy-url"] = tinyproxy["url"].replace("http://", f"http://{PROXY_USER}:{PROXY_PASSWORD}@")
    path = tmp_path / "proxied.kubeconfig"
    path.write_text(json.dumps(kc))
    run = playbook(
        play(base_args(kubeconfig=str(path), context="standin-tls")), env={"NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    )
    assert run.rc == 0, run.output
    assert_written(admin_kubectl)
    assert connects(tinyproxy) and all(str(tls_api.port) in t for t in connects(tinyproxy))


# ---------------------------------------------------------------- the k8s_pull_secrets role passes them on
ROLE_PLAYBOOK = Path(__file__).resolve().parents[3] / "playbooks" / "k8s_pull_secrets.yml"


def test_role_cluster_entry_with_tls_and_proxy(tmp_path, pki, tls_api, deployer, admin_kubectl, tinyproxy, playbook):
    cert, key = deployer
    cluster = {
        "name": "tls-cluster",
        "host": tls_api.url,
        "ca_cert": str(pki.ca_cert),
        "client_cert": str(cert),
        "client_key": str(key),
        "tls_server_name": "kubernetes.default.svc",
        "proxy": tinyproxy["url"],
        "proxy_headers": {"proxy_basic_auth": f"{PROXY_USER}:{PROXY_PASSWORD}"},
        "namespaces": NAMESPACES,
    }
    extra = {
        "k8s_pull_secrets_clusters": [cluster],
        "k8s_pull_secrets_registries": [REGISTRY],
        "k8s_pull_secrets_service_accounts": ["default"],
    }
    run = playbook(
        ROLE_PLAYBOOK, extra_vars=extra, verbosity=3, json_output=False, env={"NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    )
    assert run.rc == 0, run.output
    assert_written(admin_kubectl)
    assert tls_api.stats()["users"][DEPLOYER] >= 2
    assert connects(tinyproxy) and all(str(tls_api.port) in t for t in connects(tinyproxy))
    assert_no_material(run.output, PROXY_PASSWORD, keys=(key,))
