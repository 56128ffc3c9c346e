"""Unit tests for tokens/gcp.py and _gcp_auth.py (no network: minting is tested in
tests/integration/registry_token_gcp against the stand-ins)."""

from __future__ import annotations

import base64
import json

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ansible_collections.cloud_registry.auth.plugins.module_utils import _gcp_auth
from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens import gcp
from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens.base import TokenError


@pytest.fixture(scope="module")
def key_info():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return {
        "type": "service_account",
        "project_id": "p",
        "private_key_id": "abc123",
        "private_key": pem.decode(),
        "client_email": "sa@p.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": "http://127.0.0.1:9/token",
    }


@pytest.fixture
def key_file(tmp_path, key_info):
    path = tmp_path / "key.json"
    path.write_text(json.dumps(key_info, indent=1))
    return path


@pytest.mark.parametrize(
    "options, kind",
    [
        ({}, "application"),
        ({"access_token": "ya29.x"}, "accesstoken"),
        ({"credentials_file": "/k.json"}, "serviceaccount"),
        ({"credentials_json": "{}"}, "serviceaccount"),
        ({"auth_kind": "machineaccount", "credentials_file": "/k.json"}, "machineaccount"),
    ],
)
def test_auth_kind_inference(options, kind):
    assert _gcp_auth.auth_kind(options) == kind


def test_unknown_auth_kind():
    with pytest.raises(_gcp_auth.GcpAuthError, match="auth_kind 'nope'"):
        _gcp_auth.auth_kind({"auth_kind": "nope"})


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, _gcp_auth.DEFAULT_SCOPES),
        ([], _gcp_auth.DEFAULT_SCOPES),
        (["a", "b"], ["a", "b"]),
        ("a, b c", ["a", "b", "c"]),
    ],
)
def test_scopes(value, expected):
    assert _gcp_auth.scopes({"scopes": value}) == expected


def test_identity_is_stable_secret_free_and_distinguishes(key_file, key_info):
    opts = {"credentials_file": str(key_file), "registry": "europe-docker.pkg.dev"}
    ident = gcp.identity(opts)
    assert ident == gcp.identity(dict(opts))
    assert "sa@p.iam.gserviceaccount.com" in ident
    assert key_info["private_key"].splitlines()[1] not in ident
    variants = [
        dict(opts, scopes=["https://www.googleapis.com/auth/devstorage.read_only"]),
        dict(opts, impersonate_service_account="t@p.iam.gserviceaccount.com"),
        dict(opts, universe_domain="s3nsapis.fr"),
        dict(opts, registry="u-france-east1-docker.s3nsregistry.fr"),
        dict(opts, key_auth="json_key"),
        {"credentials_json": key_info, "registry": "europe-docker.pkg.dev"},  # same key, other bytes: hash differs
    ]
    idents = {gcp.identity(v) for v in variants}
    assert ident not in idents and len(idents) == len(variants)


def test_identity_of_access_token_hides_it():
    ident = gcp.identity({"access_token": "ya29.SECRETSECRET"})
    assert "SECRETSECRET" not in ident and "tokenhash=" in ident
    assert ident != gcp.identity({"access_token": "ya29.OTHER"})


def test_key_auth_json_key(key_file):
    raw = key_file.read_bytes()
    cred = gcp.mint({"credentials_file": str(key_file), "key_auth": "json_key", "registry": "gcr.io"})
    assert (cred.registry, cred.username, cred.expires_at) == ("gcr.io", "_json_key", None)
    assert cred.password == raw.decode()
    assert "private" not in repr(cred)
    cred = gcp.mint({"credentials_file": str(key_file), "key_auth": "json_key_base64"})
    assert cred.username == "_json_key_base64"
    assert base64.b64decode(cred.password) == raw
    assert cred.as_dict()["expires_at"] is None


def test_key_auth_needs_a_service_account_key(tmp_path):
    path = tmp_path / "adc.json"
    path.write_text(json.dumps({"type": "authorized_user", "client_id": "c", "client_secret": "s", "refresh_token": "r"}))
    with pytest.raises(TokenError, match="key_auth needs a service-account key"):
        gcp.mint({"credentials_file": str(path), "key_auth": "json_key"})
    with pytest.raises(TokenError, match="key_auth 'jwt'"):
        gcp.mint({"credentials_file": str(path), "key_auth": "jwt"})


@pytest.mark.parametrize(
    "content, match",
    [
        ("not json", "is not valid JSON"),
        ('{"client_email": "x"}', "no 'type' field"),
        ('{"type": "service_account", "client_email": "x"}', "lacks private_key"),
    ],
)
def test_bad_key_files_fail_clearly(tmp_path, content, match):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(TokenError, match=match) as err:
        gcp.mint({"credentials_file": str(path)})
    assert str(path) in str(err.value)


def test_bad_credentials_json_fails_clearly_without_quoting_it():
    raw = '{"type": "service_account", "private_key": "SECRET-KEY-MATERIAL"'  # truncated: not JSON
    with pytest.raises(TokenError, match="credentials_json is not valid JSON; pass the content of a service-account key") as err:
        gcp.mint({"credentials_json": raw})
    assert "SECRET-KEY-MATERIAL" not in str(err.value)


def test_missing_key_file(tmp_path):
    with pytest.raises(TokenError, match="cannot read credentials_file .*missing.json"):
        gcp.identity({"credentials_file": str(tmp_path / "missing.json")})


def test_credentials_json_invalid_text_does_not_echo_it():
    with pytest.raises(TokenError) as err:
        gcp.mint({"credentials_json": "SECRET-not-json"})
    assert "SECRET" not in str(err.value)


def test_universe_mismatch(key_info):
    info = dict(key_info, universe_domain="s3nsapis.fr")
    with pytest.raises(TokenError, match="universe_domain 'googleapis.com' does not match"):
        gcp.mint({"credentials_json": info, "universe_domain": "googleapis.com"})


def test_universe_endpoint_defaults():
    from ansible_collections.cloud_registry.auth.plugins.module_utils.gcp_api import GcpClient

    client = GcpClient({"access_token": "t", "universe_domain": "s3nsapis.fr"})
    assert client.endpoints["secretmanager"] == "https://secretmanager.s3nsapis.fr"
    client = GcpClient({"access_token": "t"}, endpoints={"artifactregistry": "http://127.0.0.1:1/"})
    assert client.endpoints["artifactregistry"] == "http://127.0.0.1:1"
    assert client.endpoints["cloudresourcemanager"] == "https://cloudresourcemanager.googleapis.com"


def test_impersonation_endpoint(key_info):
    creds = _gcp_auth.credentials(
        {
            "credentials_json": key_info,
            "impersonate_service_account": "t@p.iam.gserviceaccount.com",
            "delegates": ["d@p.iam.gserviceaccount.com"],
            "iam_endpoint": "http://127.0.0.1:1/",
        }
    )
    assert (
        creds._iam_endpoint_override
        == "http://127.0.0.1:1/v1/projects/-/serviceAccounts/t@p.iam.gserviceaccount.com:generateAccessToken"
    )
    assert creds._delegates == ["d@p.iam.gserviceaccount.com"]
    creds = _gcp_auth.credentials(
        {
            "credentials_json": key_info,
            "impersonate_service_account": "t@p.iam.gserviceaccount.com",
            "universe_domain": "s3nsapis.fr",
        }
    )
    assert "iamcredentials.s3nsapis.fr" in creds._iam_endpoint_override


def test_token_uri_override(key_info):
    creds = _gcp_auth.credentials({"credentials_json": key_info, "token_uri": "http://127.0.0.1:2/token"})
    assert creds._token_uri == "http://127.0.0.1:2/token"


def test_access_token_used_as_is():
    cred = gcp.mint({"access_token": "ya29.given", "registry": "us-docker.pkg.dev"})
    assert (cred.username, cred.password, cred.expires_at, cred.registry) == (
        "oauth2accesstoken",
        "ya29.given",
        None,
        "us-docker.pkg.dev",
    )


def test_missing_google_auth_names_package_and_version(monkeypatch):
    monkeypatch.setattr(_gcp_auth, "HAS_GOOGLE_AUTH", False)
    monkeypatch.setattr(_gcp_auth, "GOOGLE_AUTH_IMPORT_ERROR", ImportError("No module named 'google'"))
    with pytest.raises(TokenError, match=r"google-auth>=2\.20\.0"):
        gcp.mint({"access_token": "x"})
    # key_auth needs no library
    assert gcp.identity({"access_token": "x"})


@pytest.mark.parametrize("where", ["key", "option"])
def test_sovereign_universe_mints_a_self_signed_jwt_offline(key_info, where):
    """Outside googleapis.com google-auth signs a JWT with the key (no token endpoint call:
    the key's token_uri points at a closed port, so any network use would fail)."""
    import jwt

    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    info = dict(key_info)
    options = {"credentials_json": info, "registry": "u-france-east1-docker.s3nsregistry.fr"}
    if where == "key":
        info["universe_domain"] = "s3nsapis.fr"
    else:
        options["universe_domain"] = "s3nsapis.fr"
    cred = gcp.mint(options)
    assert cred.username == "oauth2accesstoken" and cred.registry == "u-france-east1-docker.s3nsregistry.fr"
    public = load_pem_private_key(key_info["private_key"].encode(), None).public_key()
    claims = jwt.decode(cred.password, public, algorithms=["RS256"], options={"verify_aud": False})
    assert claims["iss"] == claims["sub"] == key_info["client_email"]
    assert claims["scope"] == "https://www.googleapis.com/auth/cloud-platform"
    assert jwt.get_unverified_header(cred.password)["kid"] == key_info["private_key_id"]
    assert 3000 < cred.seconds_left() <= 3600


def test_too_old_google_auth_is_named(monkeypatch):
    monkeypatch.setattr(_gcp_auth, "GOOGLE_AUTH_VERSION", "1.35.0")
    with pytest.raises(TokenError, match=r"google-auth 1\.35\.0 is too old: google-auth>=2\.20\.0"):
        gcp.mint({"access_token": "x"})
