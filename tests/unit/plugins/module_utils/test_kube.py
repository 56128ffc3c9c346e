"""Unit tests for module_utils/kube.py: payloads, configuration loading, error mapping,
imagePullSecrets list logic, and error paths that need no server (the reconciler against
the real API server: tests/integration/k8s_pull_secret/test_kube_reconcile.py)."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.cloud_registry.auth.plugins.module_utils.kube import (
    KubeClient,
    KubeError,
    build_configuration,
    payload_from_config_file,
    payload_from_registries,
    reconcile_pull_secret,
    status_error,
    updated_pull_secret_refs,
)
from support.kube import write_kubeconfig

SECRET = "unit-Secret-Pa55<&>"


# ---------------------------------------------------------------- payloads
def test_registries_payload_normalises_docker_hub_and_keeps_kubectl_field_order():
    payload = payload_from_registries(
        [
            {"server": "docker.io", "username": "u", "password": SECRET},
            {"registry": "https://registry.example.com:5000/v2/", "username": "r", "password": "p", "email": "e@x"},
        ]
    )
    assert list(payload["auths"]) == ["https://index.docker.io/v1/", "registry.example.com:5000"]
    assert list(payload["auths"]["registry.example.com:5000"]) == ["username", "password", "email", "auth"]
    assert base64.b64decode(payload["auths"]["https://index.docker.io/v1/"]["auth"]).decode() == f"u:{SECRET}"


@pytest.mark.parametrize(
    "registries, expect",
    [
        ([], "registries is empty"),
        ([{"server": "a.example.com", "username": "u", "password": ""}], "needs username and password"),
        ([{"username": "u", "password": "p"}], "has no server"),
        (
            [
                {"server": "docker.io", "username": "u", "password": SECRET},
                {"server": "index.docker.io", "username": "v", "password": SECRET},
            ],
            "given twice",
        ),
    ],
)
def test_registries_payload_errors_never_show_the_password(registries, expect):
    with pytest.raises(KubeError) as err:
        payload_from_registries(registries)
    assert expect in str(err.value) and SECRET not in str(err.value)


class FakeStore:
    """Stands in for credential_store (the real helper protocol is tested in integration)."""

    def __init__(self, known):
        self.known = known
        self.asked = []

    def get(self, helper, server, run_command=None):
        self.asked.append((helper, server))
        return self.known.get((helper, server))


def _config(tmp_path, data):
    path = tmp_path / "config.json"
    path.write_text(json.dumps(data))
    return str(path)


def test_config_file_inline_and_helper_entries(tmp_path):
    auth = base64.b64encode(f"me:{SECRET}".encode()).decode()
    path = _config(
        tmp_path,
        {
            "auths": {"https://index.docker.io/v1/": {"auth": auth}, "gcr.io": {}},
            "credHelpers": {"gcr.io": "gcloud", "ecr.example.com": "ecr-login"},
        },
    )
    store = FakeStore(
        {("gcloud", "gcr.io"): ("oauth2accesstoken", "ya29.x"), ("ecr-login", "ecr.example.com"): ("AWS", "ecr-token")}
    )
    payload = payload_from_config_file(path, resolve_helpers=True, store_module=store)
    assert sorted(payload["auths"]) == ["ecr.example.com", "gcr.io", "https://index.docker.io/v1/"]
    assert payload["auths"]["gcr.io"]["password"] == "ya29.x"
    assert payload["auths"]["https://index.docker.io/v1/"]["password"] == SECRET
    assert sorted(store.asked) == [("ecr-login", "ecr.example.com"), ("gcloud", "gcr.io")]


@pytest.mark.parametrize(
    "data, resolve, known, expect",
    [
        (
            {"auths": {"r.example.com": {}}, "credsStore": "desktop"},
            False,
            {},
            "live in the credential helper docker-credential-desktop (credsStore)",
        ),
        ({"credHelpers": {"gcr.io": "gcloud"}}, False, {}, "set resolve_helpers: true"),
        ({"auths": {"r.example.com": {}}, "credsStore": "pass"}, True, {}, "docker-credential-pass has no credentials"),
        (
            {"auths": {"r.example.com": {}}, "credsStore": "pass"},
            True,
            {("pass", "r.example.com"): ("<token>", SECRET)},
            "identity token",
        ),
        ({"auths": {"r.example.com": {}}}, False, {}, "has no stored credentials"),
        (
            {"auths": {"r.example.com": {"auth": base64.b64encode(b"u:").decode(), "identitytoken": SECRET}}},
            False,
            {},
            "identity token",
        ),
        ({}, False, {}, "has no registries"),
    ],
)
def test_config_file_never_yields_empty_credentials(tmp_path, data, resolve, known, expect):
    path = _config(tmp_path, data)
    with pytest.raises(KubeError) as err:
        payload_from_config_file(path, resolve_helpers=resolve, store_module=FakeStore(known))
    assert expect in str(err.value) and path in str(err.value)
    assert SECRET not in str(err.value)


def test_config_file_unparsable_or_missing(tmp_path):
    bad = tmp_path / "config.json"
    bad.write_text('{"auths": {"x": ' + SECRET)
    with pytest.raises(KubeError) as err:
        payload_from_config_file(str(bad))
    assert str(bad) in str(err.value) and SECRET not in str(err.value)
    with pytest.raises(KubeError, match="does not exist"):
        payload_from_config_file(str(tmp_path / "nope.json"))


# ---------------------------------------------------------------- imagePullSecrets
@pytest.mark.parametrize(
    "refs, present, expect",
    [
        ([], True, ["regcred"]),
        ([{"name": "a"}], True, ["a", "regcred"]),
        ([{"name": "regcred"}, {"name": "a"}], True, ["regcred", "a"]),
        ([{"name": "a"}, {"name": "regcred"}, {"name": "b"}, {"name": "regcred"}], True, ["a", "regcred", "b"]),
        ([{"name": "a"}, {"name": "regcred"}, {"name": "regcred"}], False, ["a"]),
        ([], False, []),
    ],
)
def test_updated_pull_secret_refs(refs, present, expect):
    assert [r["name"] for r in updated_pull_secret_refs(refs, "regcred", present)] == expect


names = st.lists(st.sampled_from(["a", "b", "c", "regcred"]), max_size=8)


@given(names)
def test_refs_property_one_entry_and_others_kept(existing):
    refs = [{"name": n} for n in existing]
    out = [r["name"] for r in updated_pull_secret_refs(refs, "regcred", True)]
    assert out.count("regcred") == 1
    assert [n for n in out if n != "regcred"] == [n for n in existing if n != "regcred"]
    again = updated_pull_secret_refs([{"name": n} for n in out], "regcred", True)
    assert [r["name"] for r in again] == out  # idempotent
    removed = [r["name"] for r in updated_pull_secret_refs(refs, "regcred", False)]
    assert removed == [n for n in existing if n != "regcred"]


# ---------------------------------------------------------------- configuration
def test_kubeconfig_path_dict_and_context(tmp_path):
    path = write_kubeconfig(tmp_path / "kc", "http://127.0.0.1:1", token="tok-1", context="one")
    cfg = build_configuration({"kubeconfig": str(path)}, environ={})
    assert cfg.host == "http://127.0.0.1:1"
    assert cfg.auth_settings()["BearerToken"]["value"] == "Bearer tok-1"
    as_dict = json.loads(path.read_text())
    cfg = build_configuration({"kubeconfig": as_dict, "context": "one", "api_key": "override"}, environ={})
    assert cfg.auth_settings()["BearerToken"]["value"] == "Bearer override"
    with pytest.raises(KubeError) as err:
        build_configuration({"kubeconfig": str(path), "context": "two"}, environ={})
    assert str(path) in str(err.value) and "two" in str(err.value)


def test_kubeconfig_from_environment_and_missing(tmp_path):
    path = write_kubeconfig(tmp_path / "kc", "http://127.0.0.1:2")
    assert build_configuration({}, environ={"KUBECONFIG": str(path)}).host == "http://127.0.0.1:2"
    with pytest.raises(KubeError, match="does not exist"):
        build_configuration({}, environ={"KUBECONFIG": str(tmp_path / "missing")})


def test_broken_kubeconfig_message_has_no_content(tmp_path):
    path = tmp_path / "kc"
    path.write_text(f"users:\n- user:\n    token: {SECRET}\n  bad: [\n")
    with pytest.raises(KubeError) as err:
        build_configuration({"kubeconfig": str(path)}, environ={})
    assert "not valid YAML (line" in str(err.value) and SECRET not in str(err.value)


def test_host_only_and_tls_files(tmp_path):
    cfg = build_configuration({"host": "https://10.0.0.1:6443/", "validate_certs": False}, environ={})
    assert (cfg.host, cfg.verify_ssl) == ("https://10.0.0.1:6443", False)
    with pytest.raises(KubeError, match="ca_cert .* does not exist"):
        build_configuration({"host": "https://x", "ca_cert": str(tmp_path / "ca.pem")}, environ={})


def test_in_cluster_requested_outside_a_pod():
    with pytest.raises(KubeError, match="in-cluster configuration is not available"):
        build_configuration({"in_cluster": True}, environ={})


@pytest.mark.parametrize(
    "code, body, expect",
    [
        (
            404,
            {"kind": "Status", "message": 'secrets "x" not found', "reason": "NotFound", "code": 404},
            'secrets "x" not found (404 NotFound)',
        ),
        (403, {"kind": "Status", "message": "forbidden", "reason": "Forbidden", "code": 403}, "RBAC"),
        (401, {"kind": "Status", "message": "Unauthorized", "reason": "Unauthorized", "code": 401}, "rejected the credentials"),
        (502, "<html>bad gateway</html>", "bad gateway"),
    ],
)
def test_status_error(code, body, expect):
    err = status_error(code, json.dumps(body) if isinstance(body, dict) else body, "https://api")
    assert expect in str(err) and err.code == code


def spec(**kw):
    base = {
        "name": "regcred",
        "state": "present",
        "registries": [{"server": "registry.example.com", "username": "u", "password": SECRET}],
        "service_accounts": ["default"],
        "parallel": 8,
        "labels": {},
        "annotations": {},
        "merge": False,
        "exclude_namespaces": [],
    }
    base.update(kw)
    return base


@pytest.mark.parametrize("selection", [{"all_namespaces": True}, {"namespaces": ["a", "b", "c"]}])
def test_unreachable_server_is_one_clear_error(selection):
    client = KubeClient.from_auth({"host": "http://127.0.0.1:9"})
    with pytest.raises(KubeError) as err:
        reconcile_pull_secret(client, spec(**selection))
    assert str(err.value).startswith("cannot reach the Kubernetes API at http://127.0.0.1:9: connection refused")
