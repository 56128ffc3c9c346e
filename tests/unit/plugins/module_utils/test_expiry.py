"""Unit tests for module_utils/expiry.py: time parsing, the expiry record beside a credentials file,
and what registry_login (login.run) and registry_auth_info (auth_info) do with it. Local files only."""

from __future__ import annotations

import json
import os
import threading

import pytest

from ansible_collections.cloud_registry.auth.plugins.module_utils import auth_info, expiry
from ansible_collections.cloud_registry.auth.plugins.module_utils import login as lg

LATER = "2031-01-01T00:00:00Z"
LATER_EPOCH = 1924992000.0


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, None),
        ("", None),
        ("  ", None),
        (LATER, LATER_EPOCH),
        ("2031-01-01T01:00:00+01:00", LATER_EPOCH),
        ("2031-01-01T00:00:00", LATER_EPOCH),
        (LATER_EPOCH, LATER_EPOCH),
        (1924992000, LATER_EPOCH),
        ("1924992000", LATER_EPOCH),
    ],
)
def test_to_epoch(value, expected):
    assert expiry.to_epoch(value) == expected


@pytest.mark.parametrize("value", ["tomorrow", "2031-13-01T00:00:00Z", True, [LATER]])
def test_to_epoch_names_the_option_and_the_fix(value):
    with pytest.raises(expiry.ExpiryError) as err:
        expiry.to_epoch(value, "login to r.example: expires_at")
    assert "login to r.example: expires_at" in str(err.value)
    if isinstance(value, str):
        assert "ISO 8601" in str(err.value) and "2026-12-03T18:00:00Z" in str(err.value)


def test_fingerprint_never_holds_the_secret_and_follows_the_entry():
    entry = {"auth": "Ym9iOnMzY3JldC10b2tlbg=="}  # bob:s3cret-token
    fp = expiry.fingerprint(entry)
    assert len(fp) == 16 and int(fp, 16) >= 0
    assert "s3cret" not in fp and entry["auth"] not in fp
    assert expiry.fingerprint(dict(entry)) == fp
    assert expiry.fingerprint({"auth": "Ym9iOm90aGVy"}) != fp
    assert expiry.fingerprint({"auth": entry["auth"], "identitytoken": "t"}) != fp
    assert expiry.fingerprint(None) is None


def run_login(cfg, password, expires_at=None, state="present", check_mode=False, store="file"):
    params = {
        "registry": "reg.example:5000",
        "username": "bob",
        "password": password,
        "state": state,
        "config_path": str(cfg),
        "store": store,
        "verify": False,
        "expires_at": expires_at,
    }
    return lg.run(params, check_mode=check_mode)


def test_login_records_forgets_and_keeps_other_entries(tmp_path):
    cfg = tmp_path / "d" / "config.json"
    rec = tmp_path / "d" / expiry.RECORD_NAME
    other = {"version": 1, "files": {"auth.json": {"x.example": {"expires_at": LATER, "fingerprint": "00"}}}}
    cfg.parent.mkdir(mode=0o700)
    rec.write_text(json.dumps(other))
    first = run_login(cfg, "token-1", LATER)
    assert first["changed"] and first["expires_at"] == LATER
    data = json.loads(rec.read_text())
    assert data["files"]["auth.json"] == other["files"]["auth.json"]  # another file's record is kept
    mine = data["files"]["config.json"]["reg.example:5000"]
    assert mine["expires_at"] == LATER
    assert mine["fingerprint"] == expiry.fingerprint(json.loads(cfg.read_text())["auths"]["reg.example:5000"])
    assert "token-1" not in rec.read_text()
    assert oct(rec.stat().st_mode & 0o777) == "0o600"
    # the same token again: nothing to write
    before = rec.stat().st_mtime_ns
    assert not run_login(cfg, "token-1", LATER)["changed"]
    assert rec.stat().st_mtime_ns == before
    # a new expiry for the same token is a change of the record alone
    assert run_login(cfg, "token-1", "2031-01-02T00:00:00Z")["changed"]
    # check mode predicts and writes nothing
    assert run_login(cfg, "token-2", None, check_mode=True)["changed"]
    assert "config.json" in json.loads(rec.read_text())["files"]
    # a login without an expiry drops the stale record; the other file's stays
    assert run_login(cfg, "token-2")["changed"]
    assert json.loads(rec.read_text())["files"] == other["files"]
    # logout forgets too, and the last record removes the file
    run_login(cfg, "token-3", LATER)
    rec.write_text(json.dumps({"version": 1, "files": {"config.json": json.loads(rec.read_text())["files"]["config.json"]}}))
    out = run_login(cfg, None, state="absent")
    assert out["changed"] and out["expires_at"] is None
    assert not rec.exists()


def test_a_bad_expires_at_changes_nothing(tmp_path):
    cfg = tmp_path / "config.json"
    with pytest.raises(lg.LoginError, match="expires_at must be an ISO 8601 time"):
        lg.safe_run(
            {
                "registry": "reg.example",
                "username": "bob",
                "password": "pw",
                "config_path": str(cfg),
                "store": "file",
                "verify": False,
                "expires_at": "next week",
            }
        )
    assert not cfg.exists() and not (tmp_path / expiry.RECORD_NAME).exists()


def test_a_login_kept_by_a_helper_leaves_no_record(tmp_path, monkeypatch):
    cfg = tmp_path / "config.json"
    run_login(cfg, "token-1", LATER)
    assert (tmp_path / expiry.RECORD_NAME).exists()
    stored = {}
    monkeypatch.setattr(lg, "_helper_get", lambda helper, key, run_command: stored.get(key))

    def fake_store(helper, key, user, secret, run_command=None):
        stored[key] = (user, secret)

    import ansible_collections.cloud_registry.auth.plugins.module_utils.credential_store as cs

    monkeypatch.setattr(cs, "store", fake_store)
    monkeypatch.setattr(cs, "helper_path", lambda name, environ=None: "/bin/true")
    out = run_login(cfg, "token-2", LATER, store="pass")
    assert out["store"] == "pass"
    assert not (tmp_path / expiry.RECORD_NAME).exists()


def test_concurrent_writers_keep_each_others_records(tmp_path):
    """Eight processes' worth of threads write eight files' records into one directory: none is lost (flock)."""
    names = ["c%d.json" % i for i in range(8)]
    for name in names:
        (tmp_path / name).write_text("{}")

    def write(name):
        for n in range(5):
            expiry.update(str(tmp_path / name), "reg%d.example" % n, LATER_EPOCH + n, {"auth": name})

    threads = [threading.Thread(target=write, args=(name,)) for name in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    data = json.loads((tmp_path / expiry.RECORD_NAME).read_text())
    assert sorted(data["files"]) == names
    assert all(len(data["files"][n]) == 5 for n in names)
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]


def test_auth_info_reports_a_recorded_expiry_only_for_the_entry_it_was_written_with(tmp_path):
    cfg = tmp_path / "config.json"
    run_login(cfg, "opaque-access-token", "2030-01-01T00:00:00Z")
    ins = auth_info.Inspector(now=expiry.parse_time("2029-12-31T12:00:00Z"), expiring_within=86400)
    entry = ins.inspect_file(str(cfg), "docker")["entries"][0]
    want = ("2030-01-01T00:00:00Z", "recorded", "expiring")
    assert (entry["expires_at"], entry["expiry_source"], entry["state"]) == want
    later = auth_info.Inspector(now=expiry.parse_time("2030-01-02T00:00:00Z"))
    assert later.inspect_file(str(cfg), "docker")["entries"][0]["state"] == "expired"
    # a login by hand replaces the entry: the record no longer applies
    data = json.loads(cfg.read_text())
    data["auths"]["reg.example:5000"]["auth"] = "Ym9iOmJ5LWhhbmQ="
    cfg.write_text(json.dumps(data))
    entry = later.inspect_file(str(cfg), "docker")["entries"][0]
    assert (entry["expires_at"], entry["expiry_source"], entry["state"]) == (None, None, "present")
    # a malformed record is ignored by readers and replaced by the next writer
    (tmp_path / expiry.RECORD_NAME).write_text("{not json")
    assert later.inspect_file(str(cfg), "docker")["entries"][0]["expiry_source"] is None
    assert run_login(cfg, "t2", LATER)["changed"]
    assert json.loads((tmp_path / expiry.RECORD_NAME).read_text())["version"] == 1


def test_no_record_when_the_registry_gave_an_identity_token(tmp_path):
    """What is stored then is the registry's identity token, whose lifetime the given expires_at does not describe."""
    cfg = tmp_path / "config.json"
    run_login(cfg, "token-1", LATER)
    assert (tmp_path / expiry.RECORD_NAME).exists()
    out = lg.run(
        {
            "registry": "reg.example:5000",
            "username": "bob",
            "password": "token-2",
            "config_path": str(cfg),
            "store": "file",
            "verify": False,
            "expires_at": LATER,
            "_verified_scheme": "bearer",
            "_identity_token": "registry-refresh-token",
        }
    )
    assert out["changed"] and "identitytoken" in json.loads(cfg.read_text())["auths"]["reg.example:5000"]
    assert not (tmp_path / expiry.RECORD_NAME).exists()


def test_diff_mode_shows_the_record_change(tmp_path):
    """A change of the record alone (same token, new expiry) is changed with a diff of the record, no secret."""
    cfg = tmp_path / "config.json"
    run_login(cfg, "token-1", LATER)
    params = {
        "registry": "reg.example:5000",
        "username": "bob",
        "password": "token-1",
        "config_path": str(cfg),
        "store": "file",
        "verify": False,
        "expires_at": "2031-01-02T00:00:00Z",
    }
    out = lg.run(params, check_mode=True, want_diff=True)
    assert out["changed"]
    diffs = out["diff"] if isinstance(out["diff"], list) else [out["diff"]]
    [record] = [d for d in diffs if d["after_header"].endswith(expiry.RECORD_NAME)]
    assert record["before"] == {"reg.example:5000": LATER}
    assert record["after"] == {"reg.example:5000": "2031-01-02T00:00:00Z"}
    assert "token-1" not in json.dumps(out)
    assert (
        json.loads((tmp_path / expiry.RECORD_NAME).read_text())["files"]["config.json"]["reg.example:5000"]["expires_at"] == LATER
    )  # check mode wrote nothing
