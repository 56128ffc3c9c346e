"""seal() on the controller and unseal() on the target give the module exactly the task's
arguments, with no secret in the arguments that travel."""

from __future__ import annotations

import json

from ansible_collections.cloud_registry.auth.plugins.module_utils import secrets_transfer as target
from ansible_collections.cloud_registry.auth.plugins.plugin_utils.secrets_transfer import seal

K8S_PATHS = (("registries", "*", "password"), ("api_key",), ("kubeconfig",), ("proxy_headers", "proxy_basic_auth"))


def test_round_trip_restores_every_secret_and_sends_none():
    args = {
        "name": "pull",
        "api_key": "tok-1",
        "registries": [{"server": "a", "password": "pw-a"}, {"server": "b", "password": "pw-b"}],
        "kubeconfig": {"users": [{"user": {"token": "tok-2"}}]},
        "proxy_headers": None,
    }
    sent, payload = seal(args, K8S_PATHS)
    wire = json.dumps(sent)
    assert all(s not in wire for s in ("tok-1", "pw-a", "pw-b", "tok-2"))
    assert sent["name"] == "pull" and sent["registries"][1]["server"] == "b"
    assert args["registries"][0]["password"] == "pw-a"  # the task's own args are not changed
    restored, secrets = target.unseal(sent, json.loads(json.dumps(payload)))
    assert restored == args
    assert set(secrets) == {"tok-1", "pw-a", "pw-b", "tok-2"}


def test_placeholders_are_unique_per_task_and_absent_values_stay_absent():
    one, p1 = seal({"api_key": "x"}, K8S_PATHS)
    two, p2 = seal({"api_key": "x"}, K8S_PATHS)
    assert one["api_key"] != two["api_key"]
    assert seal({"api_key": None, "registries": None}, K8S_PATHS) == ({"api_key": None, "registries": None}, None)


def test_extra_params_reach_the_module_and_unknown_placeholders_are_left_alone():
    sent, payload = seal({"password": "pw"}, [("password",)], extra={"_identity_token": "idt", "unused": None})
    sent["note"] = target.PLACEHOLDER_PREFIX + "deadbeef:0"  # a user's literal text that looks like one
    restored, secrets = target.unseal(sent, payload)
    assert restored["password"] == "pw" and restored["_identity_token"] == "idt" and "unused" not in restored
    assert restored["note"] == target.PLACEHOLDER_PREFIX + "deadbeef:0"
    assert sorted(secrets) == ["idt", "pw"]


def test_the_secrets_file_is_deleted_even_when_it_is_not_json(tmp_path):
    bad = tmp_path / "s.json"
    bad.write_text("{not json")
    try:
        target.read_payload(str(bad))
    except target.SecretsTransferError as e:
        assert str(bad) in str(e) and "not json" not in str(e)
    else:
        raise AssertionError("no error")
    assert not bad.exists()


def test_a_secret_inside_a_string_and_in_a_list_element_is_sealed_alone():
    args = {
        "proxy": "http://robot:p%40ss@proxy.example.com:3128",
        "kubeconfig": {"users": [{"name": "ci", "user": {"token": "tok-3"}}], "current-context": "prod"},
    }
    sent, payload = seal(
        args, [("kubeconfig", "users", 0, "user", "token"), ("kubeconfig", "users", 5, "x")], parts=[(("proxy",), "p%40ss")]
    )
    wire = json.dumps(sent)
    assert "tok-3" not in wire and "p%40ss" not in wire
    assert sent["proxy"].startswith("http://robot:") and sent["proxy"].endswith("@proxy.example.com:3128")
    assert sent["kubeconfig"]["current-context"] == "prod" and sent["kubeconfig"]["users"][0]["name"] == "ci"
    restored, secrets = target.unseal(sent, payload)
    assert restored == args and sorted(secrets) == ["p%40ss", "tok-3"]
