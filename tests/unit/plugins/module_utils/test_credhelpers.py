"""module_utils/credhelpers.py on real files: credHelpers keyed as the docker CLI looks them up, what it does not own
kept, idempotent, check mode writes nothing, a missing helper refused (when asked) with the file unchanged, exclusive
and absent remove exactly what they name, credsStore, inline logins a minting helper shadows, and secretservice never
left in charge where it cannot work."""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.cloud_registry.auth.plugins.module_utils import credhelpers
from ansible_collections.cloud_registry.auth.plugins.module_utils.docker_config import DockerConfigError


@pytest.fixture
def env(tmp_path):
    """A PATH with docker-credential-gcloud and docker-credential-pass (scripts that answer like helpers)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("gcloud", "pass", "ecr-login"):
        helper = bin_dir / ("docker-credential-" + name)
        helper.write_text("#!/bin/sh\necho '{}'\n")
        helper.chmod(0o755)
    return {"PATH": str(bin_dir)}


def _config(tmp_path, data=None):
    path = tmp_path / "docker" / "config.json"
    if data is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data))
        path.chmod(0o600)
    return path


def _read(path):
    return json.loads(path.read_text())


def test_wanted_helpers_presets_and_input_checks():
    wanted = credhelpers.wanted_helpers(preset="gcr")
    assert wanted["gcr.io"] == "gcloud" and len(wanted) == 6 and set(wanted.values()) == {"gcloud"}
    assert credhelpers.wanted_helpers(registries=["a.example", "b.example"], helper="pass") == {
        "a.example": "pass",
        "b.example": "pass",
    }
    assert credhelpers.wanted_helpers(registries=["a.example"], allow_any=True) == {"a.example": None}
    with pytest.raises(DockerConfigError, match="registries needs helper"):
        credhelpers.wanted_helpers(registries=["a.example"])
    with pytest.raises(DockerConfigError, match="preset 'nope' is unknown: choose one of gcr"):
        credhelpers.wanted_helpers(preset="nope")
    with pytest.raises(DockerConfigError, match="credential helper name 'bad name' is invalid"):
        credhelpers.wanted_helpers(helpers={"a.example": "bad name"})


def test_present_keys_as_the_docker_cli_looks_up_and_keeps_the_rest(tmp_path, env):
    path = _config(
        tmp_path,
        {"auths": {"other.example": {"auth": "dTpw"}}, "psFormat": "table {{.ID}}", "credHelpers": {"mine.example": "pass"}},
    )
    res = credhelpers.configure(
        str(path), helpers={"https://Europe-West1-Docker.pkg.dev/": "gcloud", "docker.io": "pass"}, environ=env
    )
    assert res["changed"] and res["added"] == ["europe-west1-docker.pkg.dev", "index.docker.io"]
    data = _read(path)
    assert data["credHelpers"] == {"mine.example": "pass", "europe-west1-docker.pkg.dev": "gcloud", "index.docker.io": "pass"}
    assert data["auths"] == {"other.example": {"auth": "dTpw"}} and data["psFormat"] == "table {{.ID}}"
    assert res["missing_helpers"] == []
    again = credhelpers.configure(str(path), helpers={"europe-west1-docker.pkg.dev": "gcloud", "docker.io": "pass"}, environ=env)
    assert not again["changed"] and again["added"] == again["updated"] == []
    assert _read(path) == data


def test_a_legacy_spelling_is_replaced_not_duplicated(tmp_path, env):
    path = _config(tmp_path, {"credHelpers": {"https://gcr.io": "gcr"}})
    res = credhelpers.configure(str(path), helpers={"gcr.io": "gcloud"}, environ=env)
    assert res["updated"] == ["gcr.io"] and _read(path)["credHelpers"] == {"gcr.io": "gcloud"}


def test_check_mode_reports_and_writes_nothing(tmp_path, env):
    path = _config(tmp_path)
    res = credhelpers.configure(str(path), preset="gcr", check_mode=True, environ=env)
    assert res["changed"] and len(res["added"]) == 6
    assert not path.exists() and not path.parent.exists()


def test_a_missing_helper_is_reported_or_refused_with_the_file_unchanged(tmp_path, env):
    path = _config(tmp_path, {"credHelpers": {"a.example": "pass"}})
    before = path.read_bytes()
    res = credhelpers.configure(str(path), helpers={"b.example": "nosuch-helper-x1"}, environ=env)
    assert res["changed"] and res["missing_helpers"] == ["nosuch-helper-x1"]
    path.write_bytes(before)
    with pytest.raises(
        DockerConfigError,
        match=r"docker-credential-nosuch-helper-x1 not found on PATH: install them "
        r"\(cloud_registry.auth.credential_helpers role\) or set require_helper",
    ):
        credhelpers.configure(str(path), helpers={"b.example": "nosuch-helper-x1"}, require_helper=True, environ=env)
    assert path.read_bytes() == before


def test_exclusive_and_absent_remove_exactly_what_they_name(tmp_path, env):
    path = _config(tmp_path, {"credHelpers": {"a.example": "pass", "b.example": "gcloud", "c.example": "pass"}})
    res = credhelpers.configure(str(path), helpers={"a.example": "pass"}, exclusive=True, environ=env)
    assert res["removed"] == ["b.example", "c.example"] and _read(path)["credHelpers"] == {"a.example": "pass"}
    path = _config(tmp_path, {"credHelpers": {"a.example": "pass", "b.example": "gcloud"}, "auths": {}})
    res = credhelpers.configure(str(path), registries=["a.example", "b.example"], helper="gcloud", state="absent", environ=env)
    assert res["removed"] == ["b.example"], "absent with a helper removes only entries naming that helper"
    res = credhelpers.configure(str(path), registries=["https://A.example/"], state="absent", environ=env)
    assert res["removed"] == ["a.example"] and "credHelpers" not in _read(path), "an emptied map goes"


def test_creds_store_set_removed_and_refused_for_auth_json(tmp_path, env):
    path = _config(tmp_path, {"credsStore": "desktop"})
    assert credhelpers.configure(str(path), creds_store="pass", environ=env)["creds_store"] == "pass"
    assert _read(path)["credsStore"] == "pass"
    credhelpers.configure(str(path), creds_store="", environ=env)
    assert "credsStore" not in _read(path)
    with pytest.raises(DockerConfigError, match="containers auth.json has no credsStore"):
        credhelpers.configure(str(tmp_path / "auth.json"), creds_store="pass", fmt="containers", environ=env)
    with pytest.raises(DockerConfigError, match="nothing to configure"):
        credhelpers.configure(str(path), environ=env)


def test_an_inline_login_a_minting_helper_shadows_is_reported(tmp_path, env):
    path = _config(tmp_path, {"auths": {"123.dkr.ecr.eu-west-1.amazonaws.com": {"auth": "QVdTOnNlY3JldA=="}}})
    res = credhelpers.configure(str(path), helpers={"123.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login"}, environ=env)
    assert res["shadowed_logins"] == ["123.dkr.ecr.eu-west-1.amazonaws.com"]
    assert "QVdTOnNlY3JldA==" not in json.dumps({k: v for k, v in res.items() if k != "diff"})


def test_secretservice_is_not_left_in_charge_where_it_cannot_work(tmp_path, env):
    # no D-Bus session bus for this process's user here: secretservice cannot work, whatever is installed
    assert not os.path.exists("/run/user/%d/bus" % os.getuid())
    path = _config(tmp_path, {"credsStore": "secretservice"})
    res = credhelpers.configure(
        str(path), helpers={"a.example": "secretservice", "b.example": "gcloud"}, headless_fallback="pass", environ=env
    )
    assert res["secretservice_usable"] is False and res["secretservice_reason"]
    assert res["headless_fallback"] == ["credsStore", "a.example"]
    data = _read(path)
    assert data["credsStore"] == "pass" and data["credHelpers"] == {"b.example": "gcloud"}
    with pytest.raises(DockerConfigError, match="headless_fallback cannot be secretservice"):
        credhelpers.configure(str(path), helpers={"a.example": "pass"}, headless_fallback="secretservice", environ=env)
