"""The stand-in's own rules, where a wrong answer would make the real-client tests pass for
the wrong reason: label selectors, strategic merge patch directives, JSON patch, protobuf
decoding, no-op writes keeping the resourceVersion."""

from __future__ import annotations

import base64
import json
import urllib.request

import pytest

from fixtures.kube_apiserver import (
    ApiError,
    KubeApiServer,
    json_patch,
    parse_label_selector,
    strategic_merge_patch,
)


@pytest.mark.parametrize("selector, labels, expect", [
    ("a=1", {"a": "1"}, True),
    ("a==1", {"a": "2"}, False),
    ("a!=1", {}, True),
    ("a in (1,2),b", {"a": "2", "b": ""}, True),
    ("a notin (1,2)", {"a": "3"}, True),
    ("a notin (1,2)", {"a": "1"}, False),
    ("!a", {"b": "1"}, True),
    ("!a", {"a": "1"}, False),
    ("a,b=2", {"a": "x", "b": "3"}, False),
    ("", {"anything": "x"}, True),
])
def test_label_selectors(selector, labels, expect):
    assert parse_label_selector(selector)(labels) is expect


def test_label_selector_syntax_error_is_400():
    with pytest.raises(ApiError) as err:
        parse_label_selector("a in (1")
    assert err.value.code == 400


def test_strategic_merge_patch_directives():
    sa = {"metadata": {"name": "d", "finalizers": ["x"]}, "secrets": [{"name": "s1"}, {"name": "s2"}],
          "imagePullSecrets": [{"name": "p1"}]}
    out = strategic_merge_patch("ServiceAccount", sa, {
        "secrets": [{"name": "s1", "$patch": "delete"}, {"name": "s3"}],
        "$setElementOrder/secrets": [{"name": "s3"}, {"name": "s2"}],
        "imagePullSecrets": [{"name": "p2"}],
        "metadata": {"finalizers": ["y"], "labels": {"a": "b"}},
    })
    assert [s["name"] for s in out["secrets"]] == ["s3", "s2"]
    assert out["imagePullSecrets"] == [{"name": "p2"}]  # atomic list: replaced
    assert out["metadata"]["finalizers"] == ["x", "y"]  # primitive merge list
    out = strategic_merge_patch("ServiceAccount", out, {"metadata": {"$retainKeys": ["name"], "labels": None},
                                                        "$deleteFromPrimitiveList/x": []})
    assert out["metadata"] == {"name": "d"}


def test_json_patch_ops():
    doc = {"a": [1, 2], "b": {"c": 1}}
    out = json_patch(doc, [{"op": "add", "path": "/a/-", "value": 3}, {"op": "remove", "path": "/b/c"},
                           {"op": "copy", "from": "/a", "path": "/d"}, {"op": "move", "from": "/d/0", "path": "/e"},
                           {"op": "replace", "path": "/a/0", "value": 9}, {"op": "test", "path": "/e", "value": 1}])
    assert out == {"a": [9, 2, 3], "b": {}, "d": [2, 3], "e": 1}
    assert doc == {"a": [1, 2], "b": {"c": 1}}  # the input is not modified
    with pytest.raises(ApiError):
        json_patch(doc, [{"op": "replace", "path": "/nope", "value": 1}])


def _request(url, method="GET", body=None, ctype="application/json"):
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": ctype})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - loopback stand-in
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_noop_writes_keep_resource_version_and_conflicts():
    with KubeApiServer() as api:
        api.create_namespace("n")
        base = f"{api.url}/api/v1/namespaces/n/secrets"
        code, created = _request(base, "POST", {"metadata": {"name": "s"}, "stringData": {"k": "v"}})
        assert code == 201 and created["type"] == "Opaque" and created["data"] == {"k": base64.b64encode(b"v").decode()}
        rv = created["metadata"]["resourceVersion"]
        code, same = _request(f"{base}/s", "PATCH", {"data": {"k": created["data"]["k"]}},
                              "application/merge-patch+json")
        assert code == 200 and same["metadata"]["resourceVersion"] == rv
        code, status = _request(f"{base}/s", "PATCH", {"metadata": {"resourceVersion": "1"}, "data": {"k": "eA=="}},
                                "application/merge-patch+json")
        assert code == 409 and status["reason"] == "Conflict" and status["details"] == {"name": "s", "kind": "secrets"}
        code, status = _request(f"{base}/s", "PATCH", {"type": "kubernetes.io/dockerconfigjson"},
                                "application/merge-patch+json")
        assert code == 422 and "field is immutable" in status["message"]
        code, status = _request(f"{base}/s", "PATCH", {}, "text/plain")
        assert code == 415 and status["reason"] == "UnsupportedMediaType"
        assert api.stats()["by_verb"]["patch"] == 4 and api.get("secrets", "n", "s")["metadata"]["resourceVersion"] == rv
