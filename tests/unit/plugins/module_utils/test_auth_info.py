"""Unit tests for registry_auth_info's engine and the sealed channel (pure functions, local files)."""

import base64
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.cloud_registry.auth.plugins.module_utils import auth_info, sealed

NOW = 1_800_000_000.0


def jwt(claims):
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return "%s.%s.sig" % (part({"alg": "none"}), part(claims))


def auth(user, password):
    return base64.b64encode(("%s:%s" % (user, password)).encode()).decode()


def inspector(**kw):
    ins = auth_info.Inspector(now=NOW, expiring_within=86400, **kw)
    ins._helpers.update({"present": True, "missing": False})
    return ins


def states(data, fmt="docker"):
    return dict((e["key"], (e["stored"], e["state"])) for e in inspector().entries(data, fmt))


@pytest.mark.parametrize(
    "value, username, expected",
    [
        (jwt({"exp": NOW + 10}), "x", (NOW + 10, "jwt")),
        (jwt({"exp": True}), "x", (None, None)),
        (jwt({"sub": "no exp"}), "x", (None, None)),
        ("not.a.jwt!", "x", (None, None)),
        (base64.b64encode(json.dumps({"expiration": 1700000000}).encode()).decode(), "AWS", (1700000000.0, "ecr")),
        (base64.b64encode(json.dumps({"expiration": 1700000000}).encode()).decode(), "bob", (None, None)),
        ("plain-password", "AWS", (None, None)),
        ("", "x", (None, None)),
    ],
)
def test_token_expiry(value, username, expected):
    assert auth_info.token_expiry(value, username) == expected


def test_helper_wins_only_when_it_is_installed():
    data = {
        "auths": {"a.example.com": {"auth": auth("u", "p")}, "b.example.com": {"auth": auth("u", "p")}},
        "credHelpers": {"a.example.com": "present", "b.example.com": "missing"},
    }
    entries = inspector().entries(data, "docker")
    inline = dict((e["key"], e) for e in entries if e["stored"] == "inline")
    assert inline["a.example.com"]["state"] == "ignored"
    assert [e["state"] for e in entries if e["stored"] == "helper"] == ["unverifiable", "helper_missing"]
    assert inline["b.example.com"]["state"] == "present"
    assert "only because docker-credential-missing" in inline["b.example.com"]["reason"]


def test_creds_store_shadows_inline_entries_when_installed():
    entries = inspector().entries({"auths": {"a.example.com": {"auth": auth("u", "p")}}, "credsStore": "present"}, "docker")
    assert [(e["stored"], e["state"]) for e in entries] == [("store", "unverifiable"), ("inline", "ignored")]
    missing = inspector().entries({"auths": {"a.example.com": {"auth": auth("u", "p")}}, "credsStore": "missing"}, "docker")
    assert [(e["stored"], e["state"]) for e in missing] == [("store", "helper_missing"), ("inline", "present")]
    # containers auth.json has no credsStore
    assert states({"auths": {"a.example.com": {"auth": auth("u", "p")}}, "credsStore": "present"}, "containers") == {
        "a.example.com": ("inline", "present")
    }


@pytest.mark.parametrize(
    "key, fmt, state",
    [
        ("https://index.docker.io/v1/", "docker", "present"),
        ("docker.io", "docker", "ignored"),
        ("index.docker.io", "docker", "ignored"),
        ("docker.io", "containers", "present"),
        ("https://registry.example.com/v2/", "docker", "present"),  # ConvertToHostname finds it
    ],
)
def test_hub_and_legacy_keys(key, fmt, state):
    assert states({"auths": {key: {"auth": auth("u", "p")}}}, fmt)[key] == ("inline", state)


def test_helper_keys_the_cli_never_looks_up():
    got = states(
        {
            "credHelpers": {
                "https://gcr.io": "present",
                "docker.io": "present",
                "index.docker.io": "present",
                "ghcr.io": "",
                "x.io": "bad name!",
            }
        }
    )
    assert got == {
        "https://gcr.io": ("helper", "ignored"),
        "docker.io": ("helper", "ignored"),
        "index.docker.io": ("helper", "unverifiable"),
        "ghcr.io": ("helper", "ignored"),
        "x.io": ("helper", "ignored"),
    }


def test_spellings_of_one_registry():
    got = states({"auths": {"r.example.com": {"auth": auth("u", "p")}, "https://r.example.com": {"auth": auth("v", "p")}}})
    assert got == {"r.example.com": ("inline", "present"), "https://r.example.com": ("inline", "ignored")}


def test_expiry_states_kinds_and_no_secret_in_entries():
    data = {
        "auths": {
            "old.example.com": {"auth": auth("u", ""), "identitytoken": jwt({"exp": NOW - 1})},
            "soon.example.com": {"auth": auth("u", jwt({"exp": NOW + 3600}))},
            "later.example.com": {"auth": auth("u", ""), "registrytoken": jwt({"exp": NOW + 10 * 86400})},
            "empty.example.com": {"email": "a@b"},
            "broken.example.com": {"auth": "!!!"},
        }
    }
    entries = dict((e["key"], e) for e in inspector().entries(data, "docker"))
    assert (entries["old.example.com"]["state"], entries["old.example.com"]["kind"]) == ("expired", "identity_token")
    assert entries["old.example.com"]["expires_at"] == auth_info.format_time(NOW - 1)
    assert (entries["soon.example.com"]["state"], entries["soon.example.com"]["kind"]) == ("expiring", "password")
    assert (entries["later.example.com"]["state"], entries["later.example.com"]["kind"]) == ("present", "registry_token")
    assert entries["empty.example.com"]["state"] == "empty"
    assert entries["broken.example.com"]["state"] == "invalid" and "base64" in entries["broken.example.com"]["reason"]
    text = json.dumps(list(entries.values()))
    for value in data["auths"].values():
        for secret in value.values():
            if secret not in ("a@b",) and len(secret) > 8:
                assert secret not in text


def test_sealing_for_the_controller_only_for_checkable_passwords():
    key = sealed.new_key()
    ins = inspector(wrap=lambda text: sealed.seal(key, text))
    # "-" and "!" are outside the base64 alphabet of the box: the plaintext cannot show up in it by chance
    password = "s3cret-pw!"
    entries = ins.entries(
        {
            "auths": {
                "a.example.com": {"auth": auth("u", password)},
                "t.example.com": {"auth": auth("u", ""), "identitytoken": "tok"},
            }
        },
        "docker",
    )
    boxes = [e.get("_sealed") for e in entries]
    assert boxes[1] is None
    assert json.loads(sealed.unseal(key, boxes[0]).decode()) == ["a.example.com", "u", password]
    assert password not in boxes[0] and auth("u", password) not in boxes[0]


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=300))
def test_sealed_round_trip_and_tampering(data):
    key = sealed.new_key()
    box = sealed.seal(key, data)
    assert sealed.unseal(key, box) == data
    raw = bytearray(base64.b64decode(box))
    raw[-1 if data else 30] ^= 1
    with pytest.raises(sealed.SealedError):
        sealed.unseal(key, base64.b64encode(bytes(raw)).decode())
    with pytest.raises(sealed.SealedError):
        sealed.unseal(sealed.new_key(), box)


def test_file_problems(tmp_path):
    f = tmp_path / "config.json"
    f.write_text("{}")
    f.chmod(0o644)
    problems = auth_info.file_problems(f.stat(), str(f), expect_uid=f.stat().st_uid + 1)
    assert len(problems) == 2
    assert "mode 0644" in problems[0] and "chmod 600" in problems[0]
    assert "chown" in problems[1]
    f.chmod(0o600)
    assert auth_info.file_problems(f.stat(), str(f), expect_uid=f.stat().st_uid) == []


def test_drift():
    records = [
        {
            "user": "alice",
            "format": "docker",
            "path": "/h/alice/.docker/config.json",
            "entries": [
                {"stored": "inline", "registry": "r.example.com", "username": "bob", "state": "present"},
                {"stored": "helper", "registry": "gcr.io", "helper": "gcr", "state": "unverifiable"},
            ],
        }
    ]
    out = auth_info.drift(
        [
            {"user": "alice", "registry": "r.example.com", "username": "carol"},
            {"user": "alice", "registry": "https://gcr.io", "helper": "gcloud"},
            {"user": "alice", "registry": "r.example.com", "username": "bob"},
            {"user": "dave", "registry": "r.example.com"},
        ],
        records,
    )
    assert [d["problem"] for d in out] == [
        "r.example.com of alice: logged in as bob, wants carol",
        "https://gcr.io of alice: credHelpers says gcr, wants gcloud",
        "no docker file of r.example.com of dave was inspected",
    ]


def test_summary_counts_and_earliest_expiry():
    s = auth_info.summarize(
        [
            {"state": "present", "expires_at": "2026-01-02T00:00:00Z"},
            {"state": "ignored", "expires_at": "2020-01-01T00:00:00Z"},
            {"state": "expired", "expires_at": "2026-01-01T00:00:00Z"},
        ]
    )
    assert s["entries"] == 3 and s["states"]["present"] == 1 and s["states"]["expired"] == 1
    assert s["earliest_expiry"] == "2026-01-01T00:00:00Z"


def test_list_helpers_names_the_user_a_cred_helper_keeps(monkeypatch):
    """credHelpers entries of helpers that store logins are listed once per helper and account; minting helpers
    are never asked; "<token>" is an identity token, no user name."""
    from ansible_collections.cloud_registry.auth.plugins.module_utils import credential_store

    asked = []

    def fake_list(name, run_command=None, timeout=30, environ=None):
        asked.append(name)
        return {"https://a.example": "alice", "b.example:5000": "<token>"}

    monkeypatch.setattr(credential_store, "list_", fake_list)
    monkeypatch.setattr(credential_store, "as_account", lambda run, account, environ=None: run)
    ins = inspector(list_helpers=True, run_command=lambda argv, **kw: (0, "", ""))
    ins._helpers.update({"pass": True, "ecr-login": True})
    data = {
        "credHelpers": {
            "a.example": "pass",
            "b.example:5000": "pass",
            "c.example": "pass",
            "1234.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login",
        }
    }
    got = dict((e["key"], (e["state"], e["username"], e["kind"])) for e in ins.entries(data, "docker"))
    assert got == {
        "a.example": ("unverifiable", "alice", None),
        "b.example:5000": ("unverifiable", None, "identity_token"),
        "c.example": ("empty", None, None),
        "1234.dkr.ecr.eu-west-1.amazonaws.com": ("unverifiable", None, None),
    }
    assert asked == ["pass"]
