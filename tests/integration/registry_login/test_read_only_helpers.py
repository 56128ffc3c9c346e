"""Helpers that mint credentials and cannot store them (the real docker-credential-ecr-login,
which answers "not implemented" to store): `docker login` fails there; registry_login with
store: auto skips with a warning and changes nothing; credhelper_config warns about the
inline login it leaves unread."""

from __future__ import annotations

import base64
import json
import os
import subprocess

import pytest

pytestmark = [pytest.mark.slow]
ECR_ENV = {"AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""}


def play(module: str, args: dict) -> str:
    return (
        json.dumps(
            [{"hosts": "localhost", "gather_facts": False, "tasks": [{"name": "it", f"cloud_registry.auth.{module}": args}]}]
        )
        + "\n"
    )


def test_auto_store_into_a_read_only_helper_skips_and_changes_nothing(playbook, tmp_path, htpasswd_registry):
    reg = htpasswd_registry
    cfg = tmp_path / "docker" / "config.json"
    cfg.parent.mkdir()
    cfg.write_text(json.dumps({"credHelpers": {reg.host: "ecr-login"}}, indent=2))
    before = cfg.read_bytes()
    # what the real CLI does with this file
    cli = subprocess.run(
        ["docker", "login", "-u", reg.username, "--password-stdin", reg.host],
        input=reg.password,
        env=dict(os.environ, DOCKER_CONFIG=str(cfg.parent), **ECR_ENV),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert cli.returncode != 0 and "not implemented" in cli.stderr, cli.stderr
    assert cfg.read_bytes() == before

    run = playbook(
        play(
            "registry_login",
            {
                "registry": reg.host,
                "username": reg.username,
                "password": reg.password,
                "config_path": str(cfg),
                "ca_cert": str(reg.ca_path),
            },
        ),
        env=ECR_ENV,
        json_output=False,
    )
    assert run.rc == 0, run.output
    assert "served by docker-credential-ecr-login, which mints its own credentials" in run.output
    assert "Remove that credHelpers entry" in run.output and "changed=0" in run.output
    assert cfg.read_bytes() == before
    assert reg.password not in run.output

    # store: file is the explicit way to keep it inline anyway
    kept = playbook(
        play(
            "registry_login",
            {
                "registry": reg.host,
                "username": reg.username,
                "password": reg.password,
                "config_path": str(cfg),
                "ca_cert": str(reg.ca_path),
                "store": "file",
            },
        ),
        env=ECR_ENV,
    )
    assert kept.rc == 0, kept.output
    assert reg.host in json.loads(cfg.read_text())["auths"]


def test_credhelper_config_warns_about_the_inline_login_it_leaves_unread(playbook, tmp_path):
    cfg = tmp_path / "config.json"
    registry = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    cfg.write_text(json.dumps({"auths": {registry: {"auth": base64.b64encode(b"AWS:old-token").decode()}}}))
    run = playbook(play("credhelper_config", {"config_path": str(cfg), "helpers": {registry: "ecr-login"}}), json_output=False)
    assert run.rc == 0, run.output
    assert f"the inline login for {registry} stays in the file" in run.output
    assert "docker-credential-ecr-login" in run.output and "old-token" not in run.output
    data = json.loads(cfg.read_text())
    assert data["credHelpers"] == {registry: "ecr-login"} and registry in data["auths"]
    quiet = playbook(
        play("credhelper_config", {"config_path": str(tmp_path / "new.json"), "helpers": {registry: "ecr-login"}}),
        json_output=False,
    )
    assert quiet.rc == 0 and "stays in the file" not in quiet.output
