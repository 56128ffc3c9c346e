"""Azure provider against tests/fixtures/azure_stand_in.py (AAD token endpoint + ACR exchange),
over HTTPS with a test CA and over http on 127.0.0.1 with allow_http."""

from __future__ import annotations

import datetime
import subprocess
import sys
from pathlib import Path

import jwt
import pytest

from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens import azure
from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens.base import TokenError

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / "fixtures"))
from azure_stand_in import AzureStandIn  # noqa: E402

REGISTRY, TENANT, CLIENT, SECRET = "myreg.azurecr.io", "tenant-1", "app-1", "client-secret-value-987"


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    for var in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_AUTHORITY_HOST"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def az():
    svc = AzureStandIn(REGISTRY, TENANT, {CLIENT: SECRET}).start()
    yield svc
    svc.stop()


def _opts(svc, **kw):
    opts = {"registry": REGISTRY, "tenant_id": TENANT, "client_id": CLIENT, "client_secret": SECRET,
            "authority_host": svc.url, "endpoint_url": svc.url, "allow_http": True}
    opts.update(kw)
    return opts


def test_client_credentials_then_exchange(az):
    cred = azure.mint(_opts(az))
    assert cred.username == "00000000-0000-0000-0000-000000000000"
    assert cred.registry == REGISTRY
    assert cred.password == az.issued_refresh_tokens[-1]
    exp = jwt.decode(cred.password, options={"verify_signature": False})["exp"]
    assert cred.expires_at == datetime.datetime.fromtimestamp(exp, datetime.timezone.utc)
    assert az.stats() == {"aad": 1, "exchange": 1, "failures": 0}


def test_given_aad_token_skips_the_token_endpoint(az):
    cred = azure.mint({"registry": REGISTRY, "aad_access_token": az.issue_aad_token(), "endpoint_url": az.url,
                       "allow_http": True})
    assert cred.password == az.issued_refresh_tokens[-1]
    assert az.stats() == {"aad": 0, "exchange": 1, "failures": 0}


def test_environment_variables_are_read(az, monkeypatch):
    monkeypatch.setenv("AZURE_TENANT_ID", TENANT)
    monkeypatch.setenv("AZURE_CLIENT_ID", CLIENT)
    monkeypatch.setenv("AZURE_CLIENT_SECRET", SECRET)
    monkeypatch.setenv("AZURE_AUTHORITY_HOST", az.url)
    azure.mint({"registry": REGISTRY, "endpoint_url": az.url, "allow_http": True})
    assert az.stats()["exchange"] == 1


def test_wrong_secret_gives_the_401_and_the_fix(az):
    with pytest.raises(TokenError) as err:
        azure.mint(_opts(az, client_secret="wrong-secret-value"))
    msg = str(err.value)
    assert "provider=azure" in msg and "HTTP 401" in msg and "AADSTS7000215" in msg
    assert "check tenant_id, client_id and client_secret" in msg and "wrong-secret-value" not in msg
    assert az.stats()["exchange"] == 0


def test_unknown_tenant(az):
    with pytest.raises(TokenError, match=r"HTTP 400 .*AADSTS90002"):
        azure.mint(_opts(az, tenant_id="other-tenant"))


def test_token_for_another_tenant_is_refused_by_the_exchange(az):
    token = az.issue_aad_token(tenant="other-tenant")
    with pytest.raises(TokenError, match=r"/oauth2/exchange returned HTTP 401 .*UNAUTHORIZED.*AcrPull"):
        azure.mint({"registry": REGISTRY, "aad_access_token": token, "tenant_id": TENANT, "endpoint_url": az.url,
                    "allow_http": True})


def test_missing_credentials_names_the_options():
    with pytest.raises(TokenError, match=r"give aad_access_token, or all of tenant_id, client_id and client_secret "
                                         r"\(missing: client_id, client_secret"):
        azure.mint({"registry": REGISTRY, "tenant_id": TENANT})


@pytest.mark.parametrize("registry", ["", "https://", "bad/registry name"])
def test_bad_registry(registry):
    with pytest.raises(TokenError, match="is not a registry host"):
        azure.mint({"registry": registry, "aad_access_token": "x"})


def test_https_only_by_default(az):
    with pytest.raises(TokenError, match=r"refusing plain http for 127\.0\.0\.1:\d+; use https, or set allow_http"):
        azure.mint(_opts(az, allow_http=False))


def test_https_with_a_test_ca(tmp_path):
    ca_key, ca_crt = tmp_path / "ca.key", tmp_path / "ca.crt"
    key, csr, crt = tmp_path / "s.key", tmp_path / "s.csr", tmp_path / "s.crt"
    ext = tmp_path / "ext.cnf"
    ext.write_text("subjectAltName=IP:127.0.0.1\n")
    run = lambda *a: subprocess.run(["openssl", *a], check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca_crt), "-days", "2",
        "-subj", "/CN=azure-test-ca")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    run("x509", "-req", "-in", str(csr), "-CA", str(ca_crt), "-CAkey", str(ca_key), "-CAcreateserial", "-out",
        str(crt), "-days", "2", "-extfile", str(ext))
    svc = AzureStandIn(REGISTRY, TENANT, {CLIENT: SECRET}, tls=(str(crt), str(key))).start()
    try:
        opts = _opts(svc, allow_http=False)
        with pytest.raises(TokenError, match="check the server certificate, or give its CA with ca_path"):
            azure.mint(opts)
        cred = azure.mint(dict(opts, ca_path=str(ca_crt)))
        assert cred.password == svc.issued_refresh_tokens[-1]
    finally:
        svc.stop()


def test_refresh_token_without_exp_is_refused(az, monkeypatch):
    monkeypatch.setattr(az, "_refresh_token", lambda claims: "not-a-jwt")
    with pytest.raises(TokenError, match="no readable 'exp' claim"):
        azure.mint(_opts(az))


def test_identity_hashes_secrets(az):
    ident = azure.identity(_opts(az))
    assert SECRET not in ident and CLIENT in ident and REGISTRY in ident
    assert azure.identity(_opts(az, client_secret="x")) != ident
