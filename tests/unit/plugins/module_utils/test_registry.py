"""Unit tests for module_utils/registry.py: challenge parsing, endpoint rules, error texts.
Pure functions only; the handshake itself is tested against the real registry in
tests/integration/registry_login/."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.cloud_registry.auth.plugins.module_utils import registry as r


@pytest.mark.parametrize(
    "header, expected",
    [
        ('Basic realm="Registry Realm"', [("basic", {"realm": "Registry Realm"})]),
        (
            'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:a/b:pull,push"',
            [
                (
                    "bearer",
                    {
                        "realm": "https://auth.docker.io/token",
                        "service": "registry.docker.io",
                        "scope": "repository:a/b:pull,push",
                    },
                )
            ],
        ),
        ('bearer Realm="x", SERVICE=y', [("bearer", {"realm": "x", "service": "y"})]),
        (
            'Basic realm="a", Bearer realm="b",service="s"',
            [("basic", {"realm": "a"}), ("bearer", {"realm": "b", "service": "s"})],
        ),
        ('Bearer realm="a\\"b,c",error="invalid_token"', [("bearer", {"realm": 'a"b,c', "error": "invalid_token"})]),
        ("Negotiate abc/+==, Basic realm=x", [("negotiate", {"": "abc/+=="}), ("basic", {"realm": "x"})]),
        ("Basic", [("basic", {})]),
        ("", []),
        ('Bearer realm="unterminated', [("bearer", {"realm": "unterminated"})]),
        ("  ,, Basic  realm = spaced  ", [("basic", {"realm": "spaced"})]),
    ],
)
def test_parse_challenges(header, expected):
    assert r.parse_challenges(header) == expected


@pytest.mark.parametrize(
    "header, expected",
    [
        ('Basic realm="a", Bearer realm="b"', ("bearer", {"realm": "b"})),
        ('Basic realm="a"', ("basic", {"realm": "a"})),
        ("Negotiate abc", None),
        ("", None),
    ],
)
def test_pick_challenge_prefers_bearer(header, expected):
    assert r.pick_challenge(r.parse_challenges(header)) == expected


_value = st.text(alphabet=string.ascii_letters + string.digits + ' ,:/=.-_"\\', max_size=30)
_name = st.sampled_from(["realm", "service", "scope", "error", "error_description"])


@given(st.dictionaries(_name, _value, min_size=1, max_size=5), st.sampled_from(["Bearer", "Basic", "bearer"]))
def test_round_trip_quoted_params(params, scheme):
    quoted = ",".join('%s="%s"' % (k, v.replace("\\", "\\\\").replace('"', '\\"')) for k, v in params.items())
    assert r.parse_challenges(scheme + " " + quoted) == [(scheme.lower(), params)]


@given(st.text(max_size=80))
def test_parser_never_raises(header):
    out = r.parse_challenges(header)
    assert isinstance(out, list)
    assert all(isinstance(s, str) and isinstance(p, dict) for s, p in out)


@pytest.mark.parametrize(
    "registry, validate, expected",
    [
        ("registry.example.com", True, ["https://registry.example.com"]),
        ("registry.example.com:5000/ns/repo", True, ["https://registry.example.com:5000"]),
        ("https://registry.example.com/v1/", True, ["https://registry.example.com"]),
        ("http://registry.example.com", True, ["http://registry.example.com"]),
        ("registry.example.com", False, ["https://registry.example.com", "http://registry.example.com"]),
        ("127.0.0.1:5000", True, ["https://127.0.0.1:5000", "http://127.0.0.1:5000"]),
        ("localhost:5000", True, ["https://localhost:5000", "http://localhost:5000"]),
        ("[::1]:5000", True, ["https://[::1]:5000", "http://[::1]:5000"]),
        ("docker.io", True, ["https://registry-1.docker.io"]),
        ("https://index.docker.io/v1/", True, ["https://registry-1.docker.io"]),
        ("10.0.0.1:5000", True, ["https://10.0.0.1:5000"]),
    ],
)
def test_endpoints_and_http_fallback_rules(registry, validate, expected):
    assert r.endpoints(registry, validate_certs=validate) == expected


@pytest.mark.parametrize(
    "host, loop",
    [
        ("127.0.0.1:5000", True),
        ("127.9.9.9", True),
        ("localhost", True),
        ("a.localhost:1", True),
        ("[::1]:5000", True),
        ("::1", True),
        ("10.1.2.3", False),
        ("example.com", False),
        ("localhost.example", False),
    ],
)
def test_is_loopback(host, loop):
    assert r.is_loopback(host) is loop


def test_empty_registry_is_an_error():
    with pytest.raises(r.RegistryError, match="no host name"):
        r.endpoints("https://")


def test_verify_result_repr_hides_token():
    res = r.VerifyResult("bearer", "https://x", identity_token="very-secret-token")
    assert "very-secret-token" not in repr(res) and "very-secret-token" not in str(res)
    assert res.identity_token == "very-secret-token"


def test_unauthorized_message_names_registry_and_user_not_password():
    err = r._unauthorized("reg.example:5000", "bob", "denied")
    assert "reg.example:5000" in str(err) and "'bob'" in str(err) and err.kind == "unauthorized"


def test_bad_ca_file_errors(tmp_path):
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate")
    with pytest.raises(r.RegistryError, match="not a valid PEM") as e:
        r._Client(ca_cert=str(not_pem))
    assert e.value.kind == "ca"
    with pytest.raises(r.RegistryError, match="cannot read the CA bundle"):
        r._Client(ca_cert=str(tmp_path / "missing.pem"))
