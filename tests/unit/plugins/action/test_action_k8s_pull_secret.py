"""plugins/action/k8s_pull_secret.py (and the shared SecretsAction): the registry passwords, the API token, the
secrets inside a kubeconfig dictionary and the proxy's password reach the module in the secrets file only; names,
paths and URLs stay readable. The API server here is unreachable, so the module fails: its error must name the
server and hold none of the secrets."""

from __future__ import annotations

import json

from support.ports import free_port

MODULE = "cloud_registry.auth.k8s_pull_secret"
SECRETS = {
    "registry": "registry-Passw0rd-k8s",
    "api_key": "api-key-VALUE-k8s",
    "proxy": "proxy-Passw0rd-k8s",
    "basic": "basic-Passw0rd-k8s",
    "token": "kubeconfig-token-VALUE",
    "key": "a2V5LWRhdGEtVkFMVUU=",
}


def _kubeconfig(server):
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "c",
        "clusters": [{"name": "k", "cluster": {"server": server}}],
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
        "users": [{"name": "u", "user": {"token": SECRETS["token"], "client-key-data": SECRETS["key"]}}],
    }


def test_every_secret_goes_by_file_and_none_comes_back(run_action):
    server = "http://127.0.0.1:%d" % free_port()  # nothing listens there
    args = {
        "name": "regcred",
        "namespaces": ["shop"],
        "kubeconfig": _kubeconfig(server),
        "api_key": SECRETS["api_key"],
        "proxy": "http://squid:%s@127.0.0.1:%d" % (SECRETS["proxy"], free_port()),
        "no_proxy": "127.0.0.1",
        "proxy_headers": {"proxy_basic_auth": "squid:" + SECRETS["basic"]},
        "registries": [{"server": "registry.example.com", "username": "deploy", "password": SECRETS["registry"]}],
    }
    run = run_action(MODULE, args)
    sent = json.dumps(run.module_args)
    for name, secret in SECRETS.items():
        assert secret not in sent, name
        assert secret in run.secrets, name
        assert secret not in json.dumps(run.result, default=str), name
    # what stays readable: the names, the server, the proxy URL without its password
    assert run.module_args["registries"][0]["username"] == "deploy"
    assert run.module_args["kubeconfig"]["clusters"][0]["cluster"]["server"] == server
    assert run.module_args["proxy"].startswith("http://squid:") and run.secrets_left is False
    assert run.result["failed"] is True and "cannot reach the Kubernetes API" in run.result["msg"]


def test_the_secrets_option_cannot_come_from_a_task(run_action):
    run = run_action(MODULE, {"name": "regcred", "namespaces": ["shop"], "_secrets_file": "/etc/shadow"})
    assert run.result["failed"] is True and run.module_args is None
    assert "_secrets_file is internal to " + MODULE in run.result["msg"]
