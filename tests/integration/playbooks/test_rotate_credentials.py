"""ansible-playbook cloud_registry.auth.rotate_credentials, as users run it (by FQCN),
on a local fleet of 5 inventory hosts (each with its own config.json) against a real
registry (Debian's docker-registry, htpasswd + TLS): rotation in batches, read back by
skopeo; a rejected new credential changes no file on any host."""

from __future__ import annotations

import base64
import json
import secrets
import sys
from pathlib import Path

import pytest

from fixtures.registry_env import make_ca, push_image, start_registry
from support.clients import skopeo_inspect

pytestmark = [pytest.mark.slow]
OLD = "old-" + secrets.token_hex(8)
NEW = "new-" + secrets.token_hex(8)


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    work = tmp_path_factory.mktemp("registry")
    reg = start_registry(work, auth="htpasswd", users={"alice": OLD, "bob": NEW}, ca=make_ca(work))
    try:
        push_image(reg, "demo/tiny", "1", "alice", OLD, work)
        yield reg
    finally:
        reg.stop()


def _inventory(tmp_path: Path) -> tuple[Path, list[Path]]:
    configs = [tmp_path / f"h{i}" / "config.json" for i in range(5)]
    lines = ["[docker_hosts]"]
    for i, cfg in enumerate(configs):
        users = json.dumps([{"name": "root", "config_path": str(cfg)}]).replace(" ", "")
        lines.append(f"h{i} ansible_connection=local ansible_python_interpreter={sys.executable} docker_auth_users='{users}'")
    inv = tmp_path / "inventory.ini"
    inv.write_text("\n".join(lines) + "\n")
    return inv, configs


def _user(cfg: Path, host: str) -> str:
    return base64.b64decode(json.loads(cfg.read_text())["auths"][host]["auth"]).decode().split(":", 1)[0]


def test_rotation_in_batches_and_rejected_rotation(tmp_path, playbook, registry):
    inv, configs = _inventory(tmp_path)
    base = {"cloud_registry_become": False, "docker_auth_ca_cert": str(registry.ca_path), "rotate_serial": 2}
    first = playbook(
        "cloud_registry.auth.configure_hosts",
        inventory=inv,
        extra_vars=dict(base, docker_auth_logins=[{"registry": registry.host, "username": "alice", "password": OLD}]),
    )
    assert first.rc == 0, first.output
    assert {_user(c, registry.host) for c in configs} == {"alice"}

    before = registry.verifications()
    rotated = playbook(
        "cloud_registry.auth.rotate_credentials",
        inventory=inv,
        extra_vars=dict(base, docker_auth_logins=[{"registry": registry.host, "username": "bob", "password": NEW}]),
    )
    assert rotated.rc == 0, rotated.output
    assert NEW not in rotated.output and OLD not in rotated.output
    assert {_user(c, registry.host) for c in configs} == {"bob"}
    assert registry.verifications() - before == 1  # one verification for the 5 hosts and 3 batches
    res = skopeo_inspect(registry, configs[-1])
    assert res.returncode == 0, res.stderr

    snapshot = [c.read_bytes() for c in configs]
    wrong = playbook(
        "cloud_registry.auth.rotate_credentials",
        inventory=inv,
        extra_vars=dict(base, docker_auth_logins=[{"registry": registry.host, "username": "bob", "password": "bad-" + NEW}]),
    )
    assert wrong.rc != 0
    assert [c.read_bytes() for c in configs] == snapshot
    # with max_fail_percentage 0 the first batch's failure stops the rotation: later hosts never ran
    assert set(wrong.stats()) - {"localhost"} == {"h0", "h1"}, wrong.stats()


def test_rotation_without_credentials_is_refused(tmp_path, playbook):
    inv, configs = _inventory(tmp_path)
    r = playbook("cloud_registry.auth.rotate_credentials", inventory=inv, extra_vars={"cloud_registry_become": False})
    assert r.rc != 0
    assert "needs the new credentials" in r.output
    assert not any(c.exists() for c in configs)


def _batches(run) -> int:
    """How many batches a serial play ran in: its banner is printed once a batch."""
    return run.output.count("PLAY [Rotate the users' Docker credentials]")


@pytest.mark.parametrize("where", ["group_vars", "extra_vars"])
def test_rotate_serial_from_inventory_group_vars_is_honoured(tmp_path, playbook, registry, where):
    """docs/docsite/rst/fleet.rst sets rotate_serial / node_auth_serial in the inventory's group vars:
    a play's serial never sees those by itself, the playbooks read them from the group."""
    inv, configs = _inventory(tmp_path)
    if where == "group_vars":
        inv.write_text(inv.read_text() + "\n[docker_hosts:vars]\nrotate_serial=2\n")
    extra = {
        "cloud_registry_become": False,
        "docker_auth_ca_cert": str(registry.ca_path),
        "docker_auth_logins": [{"registry": registry.host, "username": "alice", "password": OLD}],
    }
    if where == "extra_vars":
        extra["rotate_serial"] = 1
    run = playbook("cloud_registry.auth.rotate_credentials", inventory=inv, extra_vars=extra, json_output=False)
    assert run.rc == 0, run.output
    assert _batches(run) == (3 if where == "group_vars" else 5)  # 5 hosts in batches of 2, or of 1
    assert {_user(c, registry.host) for c in configs} == {"alice"}


def test_node_auth_serial_from_group_vars(tmp_path, playbook):
    hosts = [f"n{i}" for i in range(3)]
    lines = ["[k8s_nodes]"] + [
        f"{h} ansible_connection=local ansible_python_interpreter={sys.executable} "
        f"node_auth_kubelet_config_path={tmp_path / h / 'config.json'} "
        f"node_auth_containers_auth_path={tmp_path / h / 'auth.json'}"
        for h in hosts
    ]
    lines += ["", "[k8s_nodes:vars]", "node_auth_serial=1", "node_auth_restart_services=false"]
    inv = tmp_path / "nodes.ini"
    inv.write_text("\n".join(lines) + "\n")
    run = playbook(
        "cloud_registry.auth.configure_nodes", inventory=inv, extra_vars={"cloud_registry_become": False}, json_output=False
    )
    assert run.rc == 0, run.output
    assert run.output.count("PLAY [Configure registry credentials on Kubernetes nodes]") == 3
