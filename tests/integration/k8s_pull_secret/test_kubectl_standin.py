"""The Kubernetes API stand-in, checked against REAL clients: /usr/bin/kubectl and the
python ``kubernetes`` client. If the stand-in drifts from what these clients expect
(discovery, protobuf bodies, Status objects, patch semantics, conflicts), these fail."""

from __future__ import annotations

import base64
import json

import pytest

from fixtures.kube_apiserver import TEST_TOKEN, write_kubeconfig

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

NOT_JSON = base64.b64encode(b"Really really reeeeally long auth keys\n").decode()


def secret_manifest(name, ns, payload_b64, labels=None):
    return json.dumps({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
        "type": "kubernetes.io/dockerconfigjson",
        "data": {".dockerconfigjson": payload_b64},
    })


def test_discovery_and_version(kubectl):
    res = kubectl("api-resources", "--no-headers").stdout
    rows = {line.split()[0]: line.split() for line in res.splitlines()}
    assert {"namespaces", "secrets", "serviceaccounts"} <= set(rows)
    assert "sa" in rows["serviceaccounts"] and "ns" in rows["namespaces"]
    version = json.loads(kubectl("version", "-o", "json").stdout)
    assert version["serverVersion"]["major"] == "1"


def test_namespace_gets_default_serviceaccount(kubectl):
    assert kubectl("create", "namespace", "team-a").stdout.strip() == "namespace/team-a created"
    sa = kubectl.json("get", "serviceaccount", "default", "-n", "team-a")
    assert sa["metadata"]["namespace"] == "team-a" and sa["metadata"]["uid"]
    ns = kubectl.json("get", "namespace", "team-a")
    assert ns["status"]["phase"] == "Active"
    assert ns["metadata"]["labels"]["kubernetes.io/metadata.name"] == "team-a"


def test_create_secret_docker_registry_roundtrip(kubectl):
    kubectl("create", "namespace", "apps")
    out = kubectl("create", "secret", "docker-registry", "regcred", "-n", "apps",
                  "--docker-server=registry.example.com", "--docker-username=janedoe",
                  "--docker-password=xx<&>yy", "--docker-email=jdoe@example.com")
    assert out.stdout.strip() == "secret/regcred created"
    local = json.loads(kubectl("create", "secret", "docker-registry", "regcred", "-n", "apps",
                               "--docker-server=registry.example.com", "--docker-username=janedoe",
                               "--docker-password=xx<&>yy", "--docker-email=jdoe@example.com",
                               "--dry-run=client", "-o", "json").stdout)
    stored = kubectl.json("get", "secret", "regcred", "-n", "apps")
    # the protobuf body kubectl sent was decoded byte-exactly
    assert stored["data"] == local["data"]
    assert stored["type"] == "kubernetes.io/dockerconfigjson"
    assert int(stored["metadata"]["resourceVersion"]) > 0
    jsonpath = kubectl("get", "secret", "regcred", "-n", "apps",
                       "--output=jsonpath={.data.\\.dockerconfigjson}").stdout
    assert json.loads(base64.b64decode(jsonpath))["auths"]["registry.example.com"]["username"] == "janedoe"
    dup = kubectl("create", "secret", "docker-registry", "regcred", "-n", "apps", "--docker-server=x",
                  "--docker-username=a", "--docker-password=b", check=False)
    assert dup.returncode == 1
    assert 'failed to create secret secrets "regcred" already exists' in dup.stderr


def test_validation_of_dockerconfigjson_like_the_seed_describes(kubectl, tmp_path):
    kubectl("create", "namespace", "awesomeapps")
    bad = kubectl("create", "-f", "-", input=secret_manifest("myregistrykey", "awesomeapps", NOT_JSON), check=False)
    assert bad.returncode == 1
    assert 'Secret "myregistrykey" is invalid: data[.dockerconfigjson]: Invalid value' in bad.stderr
    assert "Really" not in bad.stderr  # the content is redacted, as the real server does
    missing = json.loads(secret_manifest("nokey", "awesomeapps", NOT_JSON))
    missing["data"] = {"other": NOT_JSON}
    res = kubectl("create", "-f", "-", input=json.dumps(missing), check=False)
    assert 'Secret "nokey" is invalid: data[.dockerconfigjson]: Required value' in res.stderr
    typo = json.loads(secret_manifest("typo", "awesomeapps", base64.b64encode(b"{}").decode()))
    typo["strinData"] = {"a": "b"}
    res = kubectl("create", "-f", "-", input=json.dumps(typo), check=False)
    assert res.returncode == 1 and 'strict decoding error: unknown field "strinData"' in res.stderr
    warned = kubectl("create", "--validate=warn", "-f", "-", input=json.dumps(typo))
    assert 'unknown field "strinData"' in warned.stderr and warned.stdout.strip() == "secret/typo created"
    kubectl("delete", "secret", "typo", "-n", "awesomeapps")
    assert kubectl("get", "secrets", "-n", "awesomeapps", "-o", "name").stdout.strip() == ""


def test_apply_created_unchanged_configured(kubectl):
    kubectl("create", "namespace", "web")
    payload = base64.b64encode(b'{"auths":{}}').decode()
    manifest = secret_manifest("applied", "web", payload, {"app": "one"})
    assert kubectl("apply", "-f", "-", input=manifest).stdout.strip() == "secret/applied created"
    rv = kubectl.json("get", "secret", "applied", "-n", "web")["metadata"]["resourceVersion"]
    assert kubectl("apply", "-f", "-", input=manifest).stdout.strip() == "secret/applied unchanged"
    assert kubectl.json("get", "secret", "applied", "-n", "web")["metadata"]["resourceVersion"] == rv
    changed = secret_manifest("applied", "web", payload, {"app": "two"})
    assert kubectl("apply", "-f", "-", input=changed).stdout.strip() == "secret/applied configured"
    obj = kubectl.json("get", "secret", "applied", "-n", "web")
    assert obj["metadata"]["labels"] == {"app": "two"}
    assert int(obj["metadata"]["resourceVersion"]) > int(rv)
    assert "kubectl.kubernetes.io/last-applied-configuration" in obj["metadata"]["annotations"]
    ssa = kubectl("apply", "--server-side", "-f", "-", input=changed)
    assert ssa.stdout.strip() == "secret/applied serverside-applied"


def test_patch_types_on_serviceaccount(kubectl):
    kubectl("create", "namespace", "p")
    kubectl("patch", "sa", "default", "-n", "p", "-p", '{"imagePullSecrets":[{"name":"a"}]}')
    # imagePullSecrets has no patch strategy in core/v1: a strategic merge patch replaces the list
    kubectl("patch", "sa", "default", "-n", "p", "-p", '{"imagePullSecrets":[{"name":"b"}]}')
    assert kubectl.pull_secret_names("p") == ["b"]
    kubectl("patch", "sa", "default", "-n", "p", "--type=json",
            "-p", '[{"op":"add","path":"/imagePullSecrets/-","value":{"name":"c"}}]')
    assert kubectl.pull_secret_names("p") == ["b", "c"]
    kubectl("patch", "sa", "default", "-n", "p", "--type=merge", "-p", '{"metadata":{"labels":{"team":"p"}}}')
    # ServiceAccount.secrets merges by name under a strategic merge patch
    kubectl("patch", "sa", "default", "-n", "p", "-p", '{"secrets":[{"name":"s1"}]}')
    kubectl("patch", "sa", "default", "-n", "p", "-p", '{"secrets":[{"name":"s2"}]}')
    sa = kubectl.json("get", "sa", "default", "-n", "p")
    assert [s["name"] for s in sa["secrets"]] == ["s1", "s2"]
    assert sa["metadata"]["labels"] == {"team": "p"}
    failed = kubectl("patch", "sa", "default", "-n", "p", "--type=json",
                     "-p", '[{"op":"test","path":"/imagePullSecrets/0/name","value":"zzz"}]', check=False)
    assert failed.returncode == 1 and "test failed" in failed.stderr
    assert kubectl.pull_secret_names("p") == ["b", "c"]


def test_selectors_chunking_and_dry_run(kubectl):
    for i, env in enumerate(["dev", "prod", "prod", "test", "dev"]):
        kubectl("create", "namespace", f"ns{i}")
        kubectl("label", "namespace", f"ns{i}", f"env={env}")

    def names(out):
        return sorted(out.split())

    assert names(kubectl("get", "ns", "-l", "env=prod", "-o", "name").stdout) == ["namespace/ns1", "namespace/ns2"]
    assert names(kubectl("get", "ns", "-l", "env in (dev,test)", "-o", "name").stdout) == [
        "namespace/ns0", "namespace/ns3", "namespace/ns4"]
    assert names(kubectl("get", "ns", "-l", "env notin (dev),env", "-o", "name").stdout) == [
        "namespace/ns1", "namespace/ns2", "namespace/ns3"]
    assert names(kubectl("get", "ns", "-l", "env!=dev,!missing", "-o", "name").stdout) == [
        "namespace/ns1", "namespace/ns2", "namespace/ns3"]
    assert len(kubectl("get", "ns", "--chunk-size=2", "-o", "name").stdout.split()) == 5
    assert kubectl("get", "sa", "-A", "--field-selector", "metadata.namespace=ns3", "-o", "name").stdout.split() == [
        "serviceaccount/default"]
    dry = kubectl("create", "secret", "generic", "dry", "-n", "ns0", "--from-literal=k=v", "--dry-run=server")
    assert "created (server dry run)" in dry.stdout
    assert kubectl("get", "secret", "dry", "-n", "ns0", check=False).returncode == 1


def test_conflict_forbidden_notfound_unauthorized(kube_api, secured_api, kubectl, tmp_path):
    kubectl("create", "namespace", "c")
    stale = kubectl.json("get", "sa", "default", "-n", "c")
    kubectl("label", "sa", "default", "-n", "c", "touched=yes")
    stale["imagePullSecrets"] = [{"name": "x"}]
    res = kubectl("replace", "-f", "-", input=json.dumps(stale), check=False)
    assert res.returncode == 1
    assert ('Operation cannot be fulfilled on serviceaccounts "default": the object has been modified'
            in res.stderr)
    missing = kubectl("get", "secret", "nope", "-n", "c", check=False)
    assert 'Error from server (NotFound): secrets "nope" not found' in missing.stderr
    kube_api.forbid(verb="create", resource="secrets", namespace="c")
    denied = kubectl("create", "secret", "generic", "s", "-n", "c", "--from-literal=a=b", check=False)
    assert ('secrets is forbidden: User "system:serviceaccount:ci:deployer" cannot create resource "secrets" in API '
            'group "" in the namespace "c"') in denied.stderr
    absent = kubectl("create", "secret", "generic", "s", "-n", "default", "--from-literal=a=b", check=False)
    assert 'failed to create secret namespaces "default" not found' in absent.stderr
    wrong = write_kubeconfig(tmp_path / "wrong.json", secured_api.url)
    res = kubectl("--kubeconfig", str(wrong), "get", "ns", check=False)
    assert res.returncode == 1 and "You must be logged in to the server" in res.stderr


def test_delete_namespace_deletes_its_content(kubectl):
    kubectl("create", "namespace", "gone")
    kubectl("create", "secret", "generic", "s", "-n", "gone", "--from-literal=a=b")
    assert kubectl("delete", "secret", "s", "-n", "gone").stdout.strip() == 'secret "s" deleted'
    kubectl("create", "secret", "generic", "t", "-n", "gone", "--from-literal=a=b")
    kubectl("delete", "namespace", "gone")
    assert kubectl("get", "secrets", "-A", "-o", "name").stdout.strip() == ""
    res = kubectl("create", "secret", "generic", "u", "-n", "gone", "--from-literal=a=b", check=False)
    assert 'namespaces "gone" not found' in res.stderr


def test_python_client_typed_api(secured_api):
    kube_api = secured_api
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    cfg = client.Configuration()
    cfg.host = kube_api.url
    cfg.api_key = {"authorization": "Bearer " + TEST_TOKEN}
    api = client.CoreV1Api(client.ApiClient(cfg))
    api.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name="py", labels={"tier": "web"})))
    assert [n.metadata.name for n in api.list_namespace(label_selector="tier=web").items] == ["py"]
    body = client.V1Secret(metadata=client.V1ObjectMeta(name="s", labels={"a": "1"}),
                           type="kubernetes.io/dockerconfigjson",
                           data={".dockerconfigjson": base64.b64encode(b'{"auths":{}}').decode()})
    created = api.create_namespaced_secret("py", body)
    assert created.metadata.uid and created.metadata.creation_timestamp is not None
    patched = api.patch_namespaced_secret("s", "py", {"metadata": {"labels": {"b": "2"}}})
    assert patched.metadata.labels == {"a": "1", "b": "2"}
    created.metadata.labels = {"stale": "yes"}
    with pytest.raises(ApiException) as err:
        api.replace_namespaced_secret("s", "py", created)
    assert err.value.status == 409
    assert json.loads(err.value.body)["reason"] == "Conflict"
    with pytest.raises(ApiException) as err:
        api.read_namespaced_service_account("nope", "py")
    status = json.loads(err.value.body)
    assert (status["kind"], status["code"], status["reason"], status["details"]["name"]) == (
        "Status", 404, "NotFound", "nope")
    bad = client.V1Secret(metadata=client.V1ObjectMeta(name="Bad_Name"), type="kubernetes.io/dockerconfigjson",
                          data={".dockerconfigjson": base64.b64encode(b"{}").decode()})
    with pytest.raises(ApiException) as err:
        api.create_namespaced_secret("py", bad)
    status = json.loads(err.value.body)
    assert err.value.status == 422 and status["details"]["causes"][0]["field"] == "metadata.name"
    # namespace, secret, patch, the rejected replace and the rejected create: every write request is counted
    assert kube_api.stats()["writes"] == 5
