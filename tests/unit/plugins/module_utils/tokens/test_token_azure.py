"""Azure provider against tests/fixtures/azure_stand_in.py (AAD token endpoint + ACR exchange),
over HTTPS with a test CA and over http on 127.0.0.1 with allow_http."""

from __future__ import annotations

import datetime

import jwt
import pytest

from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens import azure
from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens.base import TokenError

from fixtures.azure_stand_in import AzureStandIn

REGISTRY, TENANT, CLIENT, SECRET = "myreg.azurecr.io", "tenant-1", "app-1", "client-secret-value-987"


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    for var in (
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_AUTHORITY_HOST",
        "AZURE_FEDERATED_TOKEN_FILE",
        "IDENTITY_ENDPOINT",
        "IDENTITY_HEADER",
    ):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def az():
    svc = AzureStandIn(REGISTRY, TENANT, {CLIENT: SECRET}).start()
    yield svc
    svc.stop()


def _opts(svc, **kw):
    opts = {
        "registry": REGISTRY,
        "tenant_id": TENANT,
        "client_id": CLIENT,
        "client_secret": SECRET,
        "authority_host": svc.url,
        "endpoint_url": svc.url,
        "allow_http": True,
    }
    opts.update(kw)
    return opts


def test_client_credentials_then_exchange(az):
    cred = azure.mint(_opts(az))
    assert cred.username == "00000000-0000-0000-0000-000000000000"
    assert cred.registry == REGISTRY
    assert cred.password == az.issued_refresh_tokens[-1]
    exp = jwt.decode(cred.password, options={"verify_signature": False})["exp"]
    assert cred.expires_at == datetime.datetime.fromtimestamp(exp, datetime.timezone.utc)
    assert az.stats() == {"aad": 1, "exchange": 1, "managed": 0, "failures": 0}


def test_given_aad_token_skips_the_token_endpoint(az):
    cred = azure.mint(
        {"registry": REGISTRY, "aad_access_token": az.issue_aad_token(), "endpoint_url": az.url, "allow_http": True}
    )
    assert cred.password == az.issued_refresh_tokens[-1]
    assert az.stats() == {"aad": 0, "exchange": 1, "managed": 0, "failures": 0}


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
        azure.mint(
            {"registry": REGISTRY, "aad_access_token": token, "tenant_id": TENANT, "endpoint_url": az.url, "allow_http": True}
        )


def test_missing_credentials_names_the_options():
    with pytest.raises(
        TokenError,
        match=r"give aad_access_token, or tenant_id and client_id with client_secret or "
        r"federated_token_file \(workload identity\), or managed_identity=true "
        r"\(missing: client_id, client_secret or federated_token_file",
    ):
        azure.mint({"registry": REGISTRY, "tenant_id": TENANT})


@pytest.mark.parametrize("registry", ["", "https://", "bad/registry name"])
def test_bad_registry(registry):
    with pytest.raises(TokenError, match="is not a registry host"):
        azure.mint({"registry": registry, "aad_access_token": "x"})


def test_https_only_by_default(az):
    with pytest.raises(TokenError, match=r"refusing plain http for 127\.0\.0\.1:\d+; use https, or set allow_http"):
        azure.mint(_opts(az, allow_http=False))


def _test_ca(tmp_path):
    """A CA + 127.0.0.1 server certificate with the extensions Python 3.13's strict verification wants."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "azure stand-in test CA")])
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = tmp_path / "ca.crt", tmp_path / "server.crt", tmp_path / "server.key"
    paths[0].write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return paths


def test_https_with_a_test_ca(tmp_path):
    ca_crt, crt, key = _test_ca(tmp_path)
    svc = AzureStandIn(REGISTRY, TENANT, {CLIENT: SECRET}, tls=(str(crt), str(key))).start()
    try:
        assert svc.url.startswith("https://127.0.0.1:")
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


# -- keyless: workload identity federation and managed identities --------------------------------------------------

ISSUER = "https://oidc.cluster.example/issuer-1"
SUBJECT = "system:serviceaccount:ci:puller"


@pytest.fixture
def issuer_key():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return key, public


def _federated_token(key, tmp_path, sub=SUBJECT, lifetime=3600, name="token"):
    import time

    import jwt

    now = int(time.time())
    token = jwt.encode(
        {"iss": ISSUER, "sub": sub, "aud": ["api://AzureADTokenExchange"], "iat": now - 5, "nbf": now - 5, "exp": now + lifetime},
        key,
        algorithm="RS256",
    )
    path = tmp_path / name
    path.write_text(token + "\n")
    return path, token


def test_workload_identity_federation(az, issuer_key, tmp_path, monkeypatch):
    key, public = issuer_key
    az.federated["wi-app"] = {
        "issuer": ISSUER,
        "subject": SUBJECT,
        "audiences": ["api://AzureADTokenExchange"],
        "public_key": public,
    }
    path, token = _federated_token(key, tmp_path)
    monkeypatch.setenv("AZURE_FEDERATED_TOKEN_FILE", str(path))  # as the AKS webhook injects it
    cred = azure.mint(
        {
            "registry": REGISTRY,
            "tenant_id": TENANT,
            "client_id": "wi-app",
            "authority_host": az.url,
            "endpoint_url": az.url,
            "allow_http": True,
        }
    )
    assert cred.username == azure.USERNAME and cred.password == az.issued_refresh_tokens[-1]
    assert az.stats()["aad"] == 1 and az.stats()["exchange"] == 1

    other, _token = _federated_token(key, tmp_path, sub="system:serviceaccount:ci:other", name="other")
    with pytest.raises(TokenError) as err:
        azure.mint(
            {
                "registry": REGISTRY,
                "tenant_id": TENANT,
                "client_id": "wi-app",
                "authority_host": az.url,
                "endpoint_url": az.url,
                "allow_http": True,
                "federated_token_file": str(other),
            }
        )
    msg = str(err.value)
    assert "AADSTS70021" in msg and "federated identity credential of wi-app" in msg and token not in msg
    expired, _token = _federated_token(key, tmp_path, lifetime=-120, name="expired")
    with pytest.raises(TokenError, match="AADSTS700024"):
        azure.mint(
            {
                "registry": REGISTRY,
                "tenant_id": TENANT,
                "client_id": "wi-app",
                "authority_host": az.url,
                "endpoint_url": az.url,
                "allow_http": True,
                "federated_token_file": str(expired),
            }
        )
    with pytest.raises(TokenError, match="cannot read the federated token file .*azure.workload.identity/use=true"):
        azure.mint(
            {
                "registry": REGISTRY,
                "tenant_id": TENANT,
                "client_id": "wi-app",
                "authority_host": az.url,
                "endpoint_url": az.url,
                "allow_http": True,
                "federated_token_file": str(tmp_path / "absent"),
            }
        )


def test_managed_identity_on_a_vm_and_on_app_service(az, monkeypatch):
    az.managed.update({"system": "vm-identity", "user-assigned-1": "uai-1"})
    imds = az.url + "/metadata/identity/oauth2/token"
    cred = azure.mint(
        {"registry": REGISTRY, "managed_identity": True, "identity_endpoint": imds, "endpoint_url": az.url, "allow_http": True}
    )
    assert cred.password == az.issued_refresh_tokens[-1] and az.stats()["managed"] == 1
    azure.mint(
        {
            "registry": REGISTRY,
            "managed_identity": True,
            "identity_endpoint": imds,
            "client_id": "user-assigned-1",
            "endpoint_url": az.url,
            "allow_http": True,
        }
    )
    with pytest.raises(TokenError, match="HTTP 400.*Identity not found.*no managed identity with client_id nope"):
        azure.mint(
            {
                "registry": REGISTRY,
                "managed_identity": True,
                "identity_endpoint": imds,
                "client_id": "nope",
                "endpoint_url": az.url,
                "allow_http": True,
            }
        )

    # App Service / Functions: the platform's endpoint and secret header, no option needed
    az.identity_header = "hdr-" + "9" * 16
    monkeypatch.setenv("IDENTITY_ENDPOINT", az.url + "/msi/token")
    monkeypatch.setenv("IDENTITY_HEADER", az.identity_header)
    azure.mint({"registry": REGISTRY, "endpoint_url": az.url, "allow_http": True})
    monkeypatch.setenv("IDENTITY_HEADER", "wrong")
    with pytest.raises(TokenError, match="HTTP 401"):
        azure.mint({"registry": REGISTRY, "endpoint_url": az.url, "allow_http": True})


def test_metadata_endpoints_are_the_only_plain_http_without_allow_http():
    from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens import _http

    assert _http.check_url(azure.IMDS_ENDPOINT, "azure", metadata=True) == azure.IMDS_ENDPOINT
    with pytest.raises(TokenError, match="refusing plain http"):
        _http.check_url("http://10.0.0.5/metadata/identity/oauth2/token", "azure", metadata=True)
    with pytest.raises(TokenError, match="refusing plain http"):
        _http.check_url(azure.IMDS_ENDPOINT, "azure")
