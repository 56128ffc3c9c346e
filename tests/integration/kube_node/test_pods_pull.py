"""Pods pull with what the collection wrote, on the REAL node of the tests.

The node is Debian's containerd (CRI) and a kubelet v1.37 registered to the session's
real control plane (tests/setup/kube-node.sh). The images live in the two local
registries of the session: htpasswd over TLS, and token auth whose token service hands
out identity (refresh) tokens. The node trusts their CA through containerd's hosts.toml
(``ca``), which says nothing about credentials. Every pod uses ``imagePullPolicy:
Always``, so each one is a fresh pull with the credentials the kubelet finds:

(a) a ``k8s_pull_secret`` secret on the namespace's ServiceAccount (also built from a
    ``config_file``), (b) the kubelet's ``config.json`` written by ``node_auth`` (no
    identity token in it: the kubelet cannot use one), (c) a kubelet image credential
    provider installed and configured by ``node_auth`` and executed by the kubelet; and the
    same pod without credentials fails to pull. containerd's own auth written by
    ``node_auth`` is proven by ``crictl pull``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from pathlib import Path

import pytest

from fixtures.registry_env import push_image
from support.eda import Rulebook, has_secret, settings_file
from support.kube import trust_registry, wait_for

ROLE_PLAY = """
- name: Node auth
  hosts: localhost
  gather_facts: false
  roles:
    - role: cloud_registry.auth.node_auth
"""


def k8s_play(args: dict) -> str:
    return (
        json.dumps(
            [
                {
                    "hosts": "localhost",
                    "gather_facts": False,
                    "tasks": [{"name": "pull secret", "cloud_registry.auth.k8s_pull_secret": args}],
                }
            ]
        )
        + "\n"
    )


@pytest.fixture(scope="session")
def node(kube_cluster, kube_node, htpasswd_registry, token_registry, tmp_path_factory):
    """The node, with the runnable image in both registries and their CA trusted."""
    work = tmp_path_factory.mktemp("node-images")
    images = {}
    for reg in (htpasswd_registry, token_registry):
        images[reg.auth] = push_image(reg, "demo/runnable", "1", reg.username, reg.password, work, runnable=True)
        trust_registry(kube_node, reg.host, reg.ca_path)
    yield {
        "cluster": kube_cluster,
        "env": kube_node,
        "images": images,
        "regs": {"htpasswd": htpasswd_registry, "token": token_registry},
    }
    for reg in (htpasswd_registry, token_registry):
        hosts = Path(kube_node["NODE_CERTS_DIR"]) / reg.host / "hosts.toml"
        hosts.unlink(missing_ok=True)


def run_pod(
    cluster, ns: str, image: str, name: str | None = None, timeout: float = 240, service_account: str | None = None
) -> tuple[str, str]:
    """Start a pod on the node; ('Running', '') or ('Failed', reason) once the kubelet decided.

    restartPolicy OnFailure: under load runc here sometimes fails a container start once
    ("can't get final child's PID from pipe"); the kubelet then starts it again, as it
    would on any node. A pull that fails is still reported at once."""
    name = name or "p-" + secrets.token_hex(3)
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
    if service_account:
        pod["spec"]["serviceAccountName"] = service_account
    cluster.admin("create", "-f", "-", input=json.dumps(pod))
    deadline = time.monotonic() + timeout
    state = ("Pending", "")
    while time.monotonic() < deadline:
        obj = cluster.admin.json("get", "pod", name, "-n", ns)
        for cs in obj.get("status", {}).get("containerStatuses") or []:
            st = cs.get("state", {})
            if "running" in st:
                state = ("Running", "")
            elif st.get("waiting", {}).get("reason") in ("ErrImagePull", "ImagePullBackOff"):
                state = ("Failed", st["waiting"].get("message", st["waiting"]["reason"]))
        if state[0] != "Pending":
            break
        time.sleep(0.5)
    if state[0] == "Pending":  # say why: the kubelet's events for the pod
        events = cluster.admin.json("get", "events", "-n", ns, "--field-selector", f"involvedObject.name={name}")
        state = ("Pending", "; ".join(f"{e.get('reason')}: {e.get('message')}" for e in events.get("items", [])))
    cluster.admin("delete", "pod", name, "-n", ns, "--grace-period=0", "--force", "--wait=false", check=False)
    return state


def _namespace(cluster, name):
    cluster.admin.create_namespaces(name)
    return name


@pytest.mark.parametrize("auth", ["htpasswd", "token"])
def test_a_pull_secret_on_the_service_account(node, kube_api, playbook, auth):
    cluster, reg, image = node["cluster"], node["regs"][auth], node["images"][auth]
    ns = _namespace(cluster, f"pull-a-{auth}")
    bare = _namespace(cluster, f"bare-a-{auth}")
    assert run_pod(cluster, bare, image)[0] == "Failed"  # no credentials: the registry refuses
    run = playbook(
        k8s_play(
            {
                "name": "regcred",
                "kubeconfig": str(kube_api.kubeconfig),
                "namespaces": [ns],
                "service_accounts": ["default"],
                "registries": [{"server": reg.host, "username": reg.username, "password": reg.password}],
            }
        )
    )
    assert run.rc == 0, run.output
    state = run_pod(cluster, ns, image)
    assert state == ("Running", ""), state
    assert run_pod(cluster, bare, image)[0] == "Failed"  # still nothing there


def test_a_namespace_created_under_the_rulebook_pulls(node, tmp_path):
    """Event-Driven Ansible: the REAL ansible-rulebook runs the collection's rulebook; a namespace created
    after it started gets the secret on its service account, and a pod there pulls through it."""
    cluster, reg, image = node["cluster"], node["regs"]["token"], node["images"]["token"]
    label = "crauth-eda-pod-" + secrets.token_hex(3)
    settings = settings_file(
        tmp_path / "pull-secrets.yml",
        k8s_pull_secrets_name="eda-pull",
        k8s_pull_secrets_clusters=[{"name": "main", "kubeconfig": str(cluster.admin_kubeconfig)}],
        k8s_pull_secrets_namespace_selector=f"{label}=on",
        k8s_pull_secrets_registries=[{"server": reg.host, "username": reg.username, "password": reg.password}],
    )
    rulebook = Rulebook(tmp_path, settings)
    rulebook.start()
    try:
        wait_for(lambda: rulebook.alive() and "'type': 'SYNC'" in rulebook.output(), "the rulebook's first sync", timeout=120)
        ns = "eda-pod-pull"
        cluster.admin("create", "namespace", ns)
        cluster.admin("label", "namespace", ns, f"{label}=on")
        wait_for(lambda: rulebook.alive() and has_secret(cluster.admin, "eda-pull", ns), "the pull secret", timeout=120)
        state = run_pod(cluster, ns, image)
        assert state == ("Running", ""), state
    finally:
        rulebook.stop()
    assert reg.password not in rulebook.output()


def test_a_pull_secret_built_from_a_config_file(node, kube_api, playbook, tmp_path):
    """A docker config.json written by registry_login becomes a pull secret the kubelet
    can use; one holding an identity token (which the kubelet cannot use) is refused."""
    cluster = node["cluster"]
    cfg = tmp_path / "docker" / "config.json"
    ns = _namespace(cluster, "pull-a-config-file")
    secret = k8s_play(
        {
            "name": "regcred",
            "kubeconfig": str(kube_api.kubeconfig),
            "namespaces": [ns],
            "service_accounts": ["default"],
            "config_file": str(cfg),
        }
    )
    for identity_token in (True, False):
        tasks = [
            {
                "name": f"login {a}",
                "cloud_registry.auth.registry_login": {
                    "registry": node["regs"][a].host,
                    "username": node["regs"][a].username,
                    "password": node["regs"][a].password,
                    "config_path": str(cfg),
                    "ca_cert": str(node["regs"][a].ca_path),
                    "identity_token": identity_token,
                },
            }
            for a in ("htpasswd", "token")
        ]
        login = playbook(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]) + "\n")
        assert login.rc == 0, login.output
        run = playbook(secret)
        if identity_token:
            assert run.rc != 0 and "identity token" in run.result("pull secret")["msg"]
            assert kube_api.get("secrets", ns, "regcred") is None
            continue
        assert run.rc == 0, run.output
    for auth in ("htpasswd", "token"):
        assert run_pod(cluster, ns, node["images"][auth]) == ("Running", ""), auth


@pytest.fixture
def kubelet_config(node):
    path = Path(node["env"]["NODE_KUBELET_CONFIG_JSON"])
    yield path
    path.unlink(missing_ok=True)


def _node_vars(node, **kw):
    v = {
        "node_auth_logins": [
            {"registry": node["regs"][a].host, "username": node["regs"][a].username, "password": node["regs"][a].password}
            for a in ("htpasswd", "token")
        ],
        "node_auth_ca_cert": str(node["regs"]["htpasswd"].ca_path),
        "node_auth_kubelet_config_path": node["env"]["NODE_KUBELET_CONFIG_JSON"],
        "node_auth_containers_auth": False,
        "node_auth_restart_services": False,
    }
    v.update(kw)
    return v


def test_b_kubelet_config_json_from_node_auth(node, kubelet_config, playbook):
    cluster = node["cluster"]
    ns = _namespace(cluster, "pull-b")
    for auth in ("htpasswd", "token"):
        assert run_pod(cluster, ns, node["images"][auth])[0] == "Failed", auth
    run = playbook(ROLE_PLAY, extra_vars=_node_vars(node))
    assert run.rc == 0, run.output
    data = json.loads(kubelet_config.read_text())
    token_entry = data["auths"][node["regs"]["token"].host]
    # the token registry returns identity tokens, which the kubelet ignores: the password is stored
    assert "identitytoken" not in token_entry
    assert base64.b64decode(token_entry["auth"]).decode() == (
        f"{node['regs']['token'].username}:{node['regs']['token'].password}"
    )
    # the kubelet caches what it read of config.json for 5 minutes: the role restarts it
    # (its handler; node_auth_restart_services is off here, so the test does what it would)
    applied = run.result(
        "cloud_registry.auth.node_auth : Write the node's registry auth (kubelet, CRI-O/podman, containerd, credential providers)"
    )
    assert applied["changed"] is True and applied["restart_kubelet"] is True  # what the handler acts on
    cluster.restart_kubelet()
    for auth in ("htpasswd", "token"):
        assert run_pod(cluster, ns, node["images"][auth]) == ("Running", ""), auth
    again = playbook(ROLE_PLAY, extra_vars=_node_vars(node))
    assert again.rc == 0 and not any(s.get("changed") for s in again.stats().values()), again.output


PROVIDER = """#!/bin/sh
# a kubelet image credential provider (credentialprovider.kubelet.k8s.io/v1): reads the
# CredentialProviderRequest on stdin, answers the registry's credentials
read -r request
echo "$request" > "$(dirname "$0")/../last-request.json"
cat <<EOF
{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1",
 "cacheKeyType":"Registry","cacheDuration":"1s",
 "auth":{"%(host)s":{"username":"%(user)s","password":"%(password)s"}}}
EOF
"""


def test_c_credential_provider_from_node_auth_run_by_the_kubelet(node, playbook, tmp_path):
    cluster, env = node["cluster"], node["env"]
    reg = node["regs"]["htpasswd"]
    ns = _namespace(cluster, "pull-c")
    src = tmp_path / "local-provider"
    src.write_text(PROVIDER % {"host": reg.host, "user": reg.username, "password": reg.password})
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    providers = [
        {"name": "local-provider", "src": str(src), "sha256": digest, "match_images": [reg.host], "default_cache_duration": "1s"}
    ]
    v = _node_vars(
        node,
        node_auth_logins=[],
        node_auth_kubelet_config=False,
        node_auth_credential_providers=providers,
        node_auth_credential_provider_config_path=env["NODE_PROVIDER_CONFIG"],
        node_auth_credential_provider_bin_dir=env["NODE_PROVIDER_BIN_DIR"],
    )
    # a wrong sha256 of the local binary fails before anything is written
    bad = dict(v, node_auth_credential_providers=[dict(providers[0], sha256="0" * 64)])
    refused = playbook(ROLE_PLAY, extra_vars=bad)
    assert refused.rc != 0 and "has sha256 " + digest in refused.output
    assert not Path(env["NODE_PROVIDER_CONFIG"]).exists()
    run = playbook(ROLE_PLAY, extra_vars=v)
    assert run.rc == 0, run.output
    try:
        cluster.restart_kubelet()  # the kubelet reads its providers at start
        state = run_pod(cluster, ns, node["images"]["htpasswd"])
        assert state == ("Running", ""), state
        request = json.loads((Path(env["NODE_PROVIDER_BIN_DIR"]).parent / "last-request.json").read_text())
        assert request["kind"] == "CredentialProviderRequest" and request["image"].startswith(reg.host)
    finally:
        Path(env["NODE_PROVIDER_CONFIG"]).unlink(missing_ok=True)
        cluster.restart_kubelet()


AUDIENCE = "registry.cloud-registry-auth.test"
ROLE_KEY = "registry.cloud-registry-auth.test/role"


def _jwt_claims(token: str) -> dict:
    body = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def test_c_credential_provider_gets_the_pods_service_account_token(node, playbook, tmp_path):
    """KEP-4412: node_auth's token_attributes make the real kubelet request a token of the
    pod's service account for the audience and hand it, with the annotations, to the plugin."""
    cluster, env = node["cluster"], node["env"]
    reg = node["regs"]["htpasswd"]
    ns = _namespace(cluster, "pull-sa")
    src = tmp_path / "sa-provider"
    src.write_text(PROVIDER % {"host": reg.host, "user": reg.username, "password": reg.password})
    providers = [
        {
            "name": "sa-provider",
            "src": str(src),
            "match_images": [reg.host],
            "default_cache_duration": "1s",
            "token_attributes": {"audience": AUDIENCE, "cache_type": "Token", "required_annotation_keys": [ROLE_KEY]},
        }
    ]
    v = _node_vars(
        node,
        node_auth_logins=[],
        node_auth_kubelet_config=False,
        node_auth_credential_providers=providers,
        node_auth_credential_provider_config_path=env["NODE_PROVIDER_CONFIG"],
        node_auth_credential_provider_bin_dir=env["NODE_PROVIDER_BIN_DIR"],
    )
    # what the kubelet would refuse (and then not start) is refused before anything is written
    bad = dict(
        v,
        node_auth_credential_providers=[
            dict(providers[0], token_attributes=dict(providers[0]["token_attributes"], require_service_account=False))
        ],
    )
    refused = playbook(ROLE_PLAY, extra_vars=bad)
    assert refused.rc != 0 and "require_service_account true when required_annotation_keys" in refused.output
    assert not Path(env["NODE_PROVIDER_CONFIG"]).exists()
    # the nodes may request tokens for this audience (NodeRestriction): what the README shows
    rbac = [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "crauth-provider-audience"},
            "rules": [{"apiGroups": [""], "resources": [AUDIENCE], "verbs": ["request-serviceaccounts-token-audience"]}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "crauth-provider-audience"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "crauth-provider-audience"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:nodes"}],
        },
    ]
    cluster.admin("apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List", "items": rbac}))
    for sa, notes in (("puller", {ROLE_KEY: "pull-demo"}), ("plain", {})):
        cluster.admin(
            "create",
            "-f",
            "-",
            input=json.dumps(
                {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": sa, "namespace": ns, "annotations": notes}}
            ),
        )
    run = playbook(ROLE_PLAY, extra_vars=v)
    assert run.rc == 0, run.output
    config = Path(env["NODE_PROVIDER_CONFIG"]).read_text()
    assert "serviceAccountTokenAudience: " + AUDIENCE in config and "requireServiceAccount: true" in config
    last = Path(env["NODE_PROVIDER_BIN_DIR"]).parent / "last-request.json"
    last.unlink(missing_ok=True)
    try:
        cluster.restart_kubelet()
        state = run_pod(cluster, ns, node["images"]["htpasswd"], service_account="puller")
        assert state == ("Running", ""), state
        request = json.loads(last.read_text())
        claims = _jwt_claims(request["serviceAccountToken"])
        assert claims["aud"] == [AUDIENCE] and claims["sub"] == f"system:serviceaccount:{ns}:puller"
        assert request["serviceAccountAnnotations"] == {ROLE_KEY: "pull-demo"}
        # a service account without the required annotation: the kubelet does not run the plugin
        last.unlink()
        state = run_pod(cluster, ns, node["images"]["htpasswd"], service_account="plain")
        assert state[0] == "Failed", state
        assert not last.exists()
    finally:
        Path(env["NODE_PROVIDER_CONFIG"]).unlink(missing_ok=True)
        cluster.admin("delete", "clusterrolebinding,clusterrole", "crauth-provider-audience", check=False)
        cluster.restart_kubelet()


def test_containerd_hosts_toml_from_node_auth_with_crictl(node, playbook):
    cluster, env = node["cluster"], node["env"]
    images = node["images"]
    for image in images.values():
        cluster.crictl("rmi", image)
        assert cluster.crictl("pull", image).returncode != 0  # no credentials anywhere yet
    v = _node_vars(
        node,
        node_auth_kubelet_config=False,
        node_auth_containerd="hosts",
        node_auth_containerd_certs_dir=env["NODE_CERTS_DIR"],
        node_auth_containerd_ca_file=str(node["regs"]["htpasswd"].ca_path),
    )
    try:
        run = playbook(ROLE_PLAY, extra_vars=v, json_output=False)
        assert run.rc == 0, run.output
        htpasswd, token = node["regs"]["htpasswd"], node["regs"]["token"]
        # Basic auth registry: containerd sends the header and the pull works without creds
        pulled = cluster.crictl("pull", images["htpasswd"])
        assert pulled.returncode == 0, pulled.stderr
        # token registry: a static header cannot log in there; the role says so and writes none
        text = (Path(env["NODE_CERTS_DIR"]) / token.host / "hosts.toml").read_text()
        assert "Authorization" not in text and token.password not in text
        assert f"{token.host} uses token (Bearer) auth" in run.output
        assert cluster.crictl("pull", images["token"]).returncode != 0
        assert htpasswd.password not in run.output and token.password not in run.output
    finally:
        for reg in node["regs"].values():
            trust_registry(env, reg.host, reg.ca_path)


def test_containerd_cri_auth_from_node_auth_with_crictl(node, playbook):
    """The CRI plugin's registry.configs auth, in config.toml as node_auth writes it:
    containerd itself logs in, at Basic and at token-auth registries, and keeps the rest of
    its CRI configuration (config_path with the registries' CA, the sandbox image)."""
    cluster, env = node["cluster"], node["env"]
    images = node["images"]
    config = Path(env["NODE_CONTAINERD_CONFIG"])
    original = config.read_text()
    for image in images.values():
        cluster.crictl("rmi", image)
        assert cluster.crictl("pull", image).returncode != 0
    v = _node_vars(
        node,
        node_auth_kubelet_config=False,
        node_auth_containerd="cri_auth",
        node_auth_containerd_config_path=str(config),
        node_auth_containerd_dropin=env["NODE_CONTAINERD_DROPIN"],
    )
    try:
        run = playbook(ROLE_PLAY, extra_vars=v, json_output=False)
        assert run.rc == 0, run.output
        assert config.read_text().startswith(original)  # the block is added, nothing else changes
        cluster.restart_containerd()  # what the role's handler does (restarts are off in these tests)
        for auth, image in images.items():
            pulled = cluster.crictl("pull", image)
            assert pulled.returncode == 0, (auth, pulled.stderr[-1500:])
        assert node["regs"]["token"].password not in run.output
        # a pod still gets its sandbox from the configured image: the CRI section is intact
        ns = _namespace(cluster, "pull-cri")
        assert run_pod(cluster, ns, images["htpasswd"])[0] == "Running"
        again = playbook(ROLE_PLAY, extra_vars=v)
        assert again.rc == 0 and not any(s.get("changed") for s in again.stats().values()), again.output
    finally:
        config.write_text(original)
        cluster.restart_containerd()
