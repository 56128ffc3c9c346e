"""credhelper_config against real components: gcloud, docker-credential-pass, the
Docker Engine pulling from a real distribution registry, and real ansible-playbook runs."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
from pathlib import Path

import pytest

from fixtures.registry_env import make_ca, push_image, start_registry
from support.pass_store import make_pass_store, stop_agent

GCR_PRESET = ["gcr.io", "us.gcr.io", "eu.gcr.io", "asia.gcr.io", "staging-k8s.gcr.io", "marketplace.gcr.io"]


def task_play(args: dict, name: str = "configure") -> str:
    return (
        json.dumps(
            [
                {
                    "hosts": "all",
                    "gather_facts": False,
                    "tasks": [{"name": name, "cloud_registry.auth.credhelper_config": args, "register": "out"}],
                }
            ]
        )
        + "\n"
    )


def gcloud_configure_docker(tmp: Path, hosts: list[str] | None) -> dict:
    env = dict(os.environ, CLOUDSDK_CONFIG=str(tmp / "gcloud"), DOCKER_CONFIG=str(tmp / "gdocker"))
    cmd = ["gcloud", "auth", "configure-docker", "--quiet"]
    if hosts:
        cmd.insert(3, ",".join(hosts))
    subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=120)
    return json.loads((tmp / "gdocker" / "config.json").read_text())


@pytest.mark.matrix
def test_four_runs_and_equal_to_gcloud(playbook, tmp_path):
    cfg = tmp_path / "docker" / "config.json"
    args = {"preset": "gcr", "config_path": str(cfg)}
    pb = task_play(args)
    runs = [playbook(pb, check=True, diff=True), playbook(pb, diff=True), playbook(pb, check=True), playbook(pb)]
    for r in runs:
        assert r.rc == 0, r.output
    changed = [r.result("configure")["changed"] for r in runs]
    assert changed == [True, True, False, False]
    # the real gcloud writes the same credHelpers for the same (default) hosts
    assert json.loads(cfg.read_text()) == gcloud_configure_docker(tmp_path, None)
    assert runs[0].result("configure")["added"] == sorted(GCR_PRESET)
    assert oct(cfg.stat().st_mode & 0o777) == "0o600"
    assert oct(cfg.parent.stat().st_mode & 0o777) == "0o700"


def test_artifact_registry_hosts_equal_to_gcloud(playbook, tmp_path):
    hosts = ["us-docker.pkg.dev", "europe-west1-docker.pkg.dev", "asia-northeast1-docker.pkg.dev"]
    cfg = tmp_path / "config.json"
    r = playbook(task_play({"helper": "gcloud", "registries": hosts, "config_path": str(cfg)}))
    assert r.rc == 0, r.output
    assert json.loads(cfg.read_text()) == gcloud_configure_docker(tmp_path, hosts)


def test_arbitrary_domains_and_unknown_keys_kept(playbook, tmp_path):
    cfg = tmp_path / "config.json"
    original = {
        "auths": {"quay.io": {"auth": "dXNlcjpwdw=="}},
        "psFormat": "table {{.ID}}",
        "proxies": {"default": {"httpProxy": "http://proxy:3128"}},
        "HttpHeaders": {"X-Meta": "1"},
        "currentContext": "ctx",
        "plugins": {"p": {"k": "v"}},
        "aliases": {"builder": "buildx"},
        "credHelpers": {"keep.example.com": "other", "https://gcr.io/": "old"},
    }
    cfg.write_text(json.dumps(original))
    args = {
        "helpers": {
            "u-france-east1-docker.s3nsregistry.fr": "gcloud",
            "registry.cn-beijing.aliyuncs.com": "acr-helper",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login",
            "gcr.io": "gcloud",
        },
        "config_path": str(cfg),
    }
    r = playbook(task_play(args), diff=True)
    assert r.rc == 0, r.output
    res = r.result("configure")
    data = json.loads(cfg.read_text())
    for key in ("auths", "psFormat", "proxies", "HttpHeaders", "currentContext", "plugins", "aliases"):
        assert data[key] == original[key]
    assert data["credHelpers"] == {
        "keep.example.com": "other",
        "gcr.io": "gcloud",
        "u-france-east1-docker.s3nsregistry.fr": "gcloud",
        "registry.cn-beijing.aliyuncs.com": "acr-helper",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login",
    }
    assert res["updated"] == ["gcr.io"]  # the legacy "https://gcr.io/" spelling was replaced
    assert "acr-helper" in res["missing_helpers"]
    assert any("docker-credential-acr-helper" in w for w in res.get("warnings", []))
    # the diff never shows the inline credential
    assert "dXNlcjpwdw==" not in json.dumps(res["diff"])
    assert res["diff"]["before"]["auths"]["quay.io"]["auth"] == "user:********"


def test_exclusive_absent_and_creds_store(playbook, tmp_path):
    cfg = tmp_path / "config.json"
    cfg.write_text(json.dumps({"credHelpers": {"a.example.com": "x", "b.example.com": "y"}, "credsStore": "desktop"}))
    r = playbook(
        task_play({"helpers": {"c.example.com": "gcloud"}, "exclusive": True, "creds_store": "", "config_path": str(cfg)})
    )
    assert r.rc == 0, r.output
    assert json.loads(cfg.read_text()) == {"credHelpers": {"c.example.com": "gcloud"}}
    assert r.result("configure")["removed"] == ["a.example.com", "b.example.com"]
    # absent with a helper only removes entries pointing at that helper
    r = playbook(task_play({"registries": ["c.example.com"], "helper": "other", "state": "absent", "config_path": str(cfg)}))
    assert r.result("configure")["changed"] is False
    r = playbook(task_play({"registries": ["https://c.example.com/v2/"], "state": "absent", "config_path": str(cfg)}))
    assert r.result("configure")["changed"] is True
    assert json.loads(cfg.read_text()) == {}


def test_containers_format(playbook, tmp_path):
    cfg = tmp_path / "containers" / "auth.json"
    r = playbook(
        task_play(
            {"helpers": {"docker.io": "pass", "quay.io/team": "secretservice"}, "format": "containers", "config_path": str(cfg)}
        )
    )
    assert r.rc == 0, r.output
    assert json.loads(cfg.read_text()) == {"credHelpers": {"docker.io": "pass", "quay.io/team": "secretservice"}}
    r = playbook(task_play({"creds_store": "pass", "format": "containers", "config_path": str(cfg)}))
    assert r.rc != 0
    assert "containers auth.json has no credsStore" in r.result("configure")["msg"]


def test_owner_and_mode_under_become(playbook, tmp_path):
    nobody = pwd.getpwnam("nobody")
    home = tmp_path / "home"
    home.mkdir()
    cfg = home / ".docker" / "config.json"
    args = {"preset": "gcr", "config_path": str(cfg), "owner": "nobody", "group": str(nobody.pw_gid)}
    r = playbook(task_play(args))
    assert r.rc == 0, r.output
    assert cfg.stat().st_uid == nobody.pw_uid and cfg.parent.stat().st_uid == nobody.pw_uid
    assert r.result("configure")["changed"]
    # owner/mode drift is detected and fixed, content untouched
    os.chown(cfg, 0, 0)
    r = playbook(task_play(args))
    assert r.result("configure")["changed"] and cfg.stat().st_uid == nobody.pw_uid
    assert not playbook(task_play(args)).result("configure")["changed"]


BAD_CONTENTS = ['{"credHelpers": {', "[1, 2]", '{"credHelpers": []}']


@pytest.mark.parametrize("content", BAD_CONTENTS)
def test_malformed_file_fails_and_is_byte_identical(playbook, tmp_path, content):
    cfg = tmp_path / "config.json"
    cfg.write_bytes(content.encode())
    r = playbook(task_play({"preset": "gcr", "config_path": str(cfg)}))
    assert r.rc != 0
    msg = r.result("configure")["msg"]
    assert str(cfg) in msg
    assert cfg.read_bytes() == content.encode()


@pytest.mark.parametrize(
    "args, expect",
    [
        ({"registries": ["bad host.example.com"], "helper": "gcloud"}, "white space"),
        ({"registries": ["gcr.io"], "helper": "../../bin/sh"}, "credential helper name"),
        (
            {"registries": ["gcr.io"], "helper": "no-such-helper-xyz", "require_helper": True},
            "docker-credential-no-such-helper-xyz not found",
        ),
        ({"registries": ["gcr.io"]}, "registries needs helper"),
    ],
)
def test_bad_input_changes_nothing(playbook, tmp_path, args, expect):
    cfg = tmp_path / "config.json"
    cfg.write_text('{"credHelpers": {"keep.io": "x"}}\n')
    before = cfg.read_bytes()
    r = playbook(task_play(dict(args, config_path=str(cfg))))
    assert r.rc != 0
    assert expect in r.result("configure")["msg"]
    assert cfg.read_bytes() == before


def test_directory_instead_of_file(playbook, tmp_path):
    cfg = tmp_path / "config.json"
    cfg.mkdir()
    r = playbook(task_play({"preset": "gcr", "config_path": str(cfg)}))
    assert r.rc != 0 and "is a directory" in r.result("configure")["msg"]
    assert cfg.is_dir() and not any(cfg.iterdir())


def test_twenty_concurrent_writers_lose_nothing(playbook, tmp_path):
    cfg = tmp_path / "shared" / "config.json"
    inv = tmp_path / "fleet.ini"
    inv.write_text("".join(f"host{i:02d} ansible_connection=local\n" for i in range(20)))
    pb = task_play({"registries": ["{{ inventory_hostname }}.example.com"], "helper": "gcloud", "config_path": str(cfg)})
    r = playbook(pb, inventory=inv, forks=20)
    assert r.rc == 0, r.output
    data = json.loads(cfg.read_text())
    assert sorted(data["credHelpers"]) == sorted(f"host{i:02d}.example.com" for i in range(20))


@pytest.mark.docker
def test_docker_pull_through_real_pass_helper(playbook, tmp_path):
    """credHelpers -> the real docker-credential-pass -> docker pull from a real registry."""
    ca = make_ca(tmp_path / "ca")
    reg = start_registry(tmp_path / "reg", auth="htpasswd", users={"alice": "s3cret-pass-xyz"}, ca=ca)
    penv = make_pass_store(tmp_path / "pass")
    try:
        reg.trust_docker()
        ref = push_image(reg, "demo/tiny", "1", "alice", "s3cret-pass-xyz", tmp_path)
        env = dict(os.environ, **penv)
        store = subprocess.run(
            ["docker-credential-pass", "store"],
            env=env,
            check=False,
            capture_output=True,
            text=True,
            input=json.dumps({"ServerURL": reg.host, "Username": "alice", "Secret": "s3cret-pass-xyz"}),
        )
        assert store.returncode == 0, store.stdout + store.stderr
        dcfg = tmp_path / "dockercfg"
        r = playbook(
            task_play(
                {"helpers": {f"https://{reg.host}/v2/": "pass"}, "config_path": str(dcfg / "config.json"), "require_helper": True}
            )
        )
        assert r.rc == 0, r.output
        assert json.loads((dcfg / "config.json").read_text()) == {"credHelpers": {reg.host: "pass"}}
        env["DOCKER_CONFIG"] = str(dcfg)
        pull = subprocess.run(["docker", "pull", ref], env=env, check=False, capture_output=True, text=True, timeout=120)
        assert pull.returncode == 0, pull.stdout + pull.stderr
        # the credential came from the helper: once the helper forgets it, the same pull is refused
        erase = subprocess.run(
            ["docker-credential-pass", "erase"], env=env, input=reg.host, check=False, capture_output=True, text=True
        )
        assert erase.returncode == 0, erase.stdout
        subprocess.run(["docker", "rmi", "-f", ref], check=False, capture_output=True)
        denied = subprocess.run(["docker", "pull", ref], env=env, check=False, capture_output=True, text=True, timeout=120)
        assert denied.returncode != 0
    finally:
        subprocess.run(["docker", "rmi", "-f", f"{reg.host}/demo/tiny:1"], check=False, capture_output=True)
        stop_agent(penv)
        reg.stop()
