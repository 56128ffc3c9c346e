"""plugins/action/registry_auth_info.py with verify: the host reports each stored credential sealed with a key
only this task's controller holds; the controller checks each credential once per run and reports valid or
invalid; no password is in the result."""

from __future__ import annotations

import base64
import json

MODULE = "cloud_registry.auth.registry_auth_info"
USER, PASSWORD = "ci-bot", "registry-Passw0rd-unit"


def _config(path, registry, password):
    auth = base64.b64encode(("%s:%s" % (USER, password)).encode()).decode()
    path.write_text(json.dumps({"auths": {registry.host_port: {"auth": auth}}}))
    return {"path": str(path), "format": "docker"}


def test_stored_credentials_are_checked_once_and_reported(run_action, basic_registry, tmp_path):
    good = _config(tmp_path / "good.json", basic_registry, PASSWORD)
    bad = _config(tmp_path / "bad.json", basic_registry, "stale-Passw0rd")
    for _host in range(2):
        run = run_action(MODULE, {"files": [good, bad], "verify": True, "users": []})
        entries = {e["path"]: e for e in run.result["entries"]}
        assert entries[good["path"]]["state"] == "valid" and entries[good["path"]]["verified"] is True
        assert entries[bad["path"]]["state"] == "invalid" and entries[bad["path"]]["verified"] is False
        assert "the registry refused it" in entries[bad["path"]]["reason"]
        text = json.dumps(run.result, default=str)
        assert PASSWORD not in text and "stale-Passw0rd" not in text and "_sealed" not in text
        assert run.result["summary"]
    assert basic_registry.count("logins") == 2  # two credentials, two hosts, one run: one check each


def test_without_verify_nothing_is_sealed_or_contacted(run_action, basic_registry, tmp_path):
    good = _config(tmp_path / "good.json", basic_registry, PASSWORD)
    run = run_action(MODULE, {"files": [good], "users": []})
    assert run.secrets is None and run.result["entries"][0]["verified"] is None, run.result["entries"][0]
    assert basic_registry.count("logins") == 0
