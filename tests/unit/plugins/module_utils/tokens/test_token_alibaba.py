"""Alibaba Cloud provider: the documented signature algorithms, credentials, and mints
against tests/fixtures/alibaba_stand_in.py (which verifies every signature itself)."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac

import pytest

from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens import alibaba
from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens.base import TokenError

from fixtures.alibaba_stand_in import AlibabaStandIn  # noqa: E402

AKID, SECRET = "LTAI-test-id", "alibaba-secret-value-0123456789"
STS_ID, STS_SECRET, STS_TOKEN = "STS.test-id", "sts-secret-value-abcdef", "CAIS-sts-token-value-zyxwvu"
ENT_DOMAIN = "corp-registry.cn-hangzhou.cr.aliyuncs.com"


# ------------------------------------------------------------------ signatures


def test_rpc_signature_matches_the_documented_example():
    # The worked example of the RPC signature documentation (DescribeRegions, AccessKey
    # testid/testsecret): its StringToSign and its published signature value.
    params = {
        "TimeStamp": "2016-02-23T12:46:24Z",
        "Format": "XML",
        "AccessKeyId": "testid",
        "Action": "DescribeRegions",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf",
        "Version": "2014-05-26",
        "SignatureVersion": "1.0",
    }
    assert alibaba.rpc_string_to_sign("GET", params) == (
        "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML%26SignatureMethod%3DHMAC-SHA1"
        "%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf%26SignatureVersion%3D1.0"
        "%26TimeStamp%3D2016-02-23T12%253A46%253A24Z%26Version%3D2014-05-26"
    )
    assert alibaba.rpc_signature("GET", params, "testsecret") == "CT9X0VtwR86fNWSnsc6v8YGOjuE="


@pytest.mark.parametrize(
    "raw, encoded",
    [
        ("a b", "a%20b"),  # space is %20, never '+'
        ("a*b", "a%2Ab"),  # '*' is encoded
        ("a~b", "a~b"),  # '~' is not
        ("-_.", "-_."),
        ("é", "%C3%A9"),  # UTF-8 bytes, upper-case hex
        ("a/b:c", "a%2Fb%3Ac"),
    ],
)
def test_percent_encode_follows_the_documented_rules(raw, encoded):
    assert alibaba.percent_encode(raw) == encoded


def test_roa_string_to_sign_from_the_documented_steps():
    # Derived by hand from the ROA steps: VERB, Accept, Content-MD5, Content-Type, Date (empty
    # values keep their line), then the x-acs-* headers lower-cased, trimmed, sorted, one
    # "name:value\n" each, then the resource with its sorted query.
    headers = {
        "Accept": "application/json",
        "Date": "Wed, 26 Aug 2015 17:01:00 GMT",
        "X-Acs-Version": "2016-06-07",
        "x-acs-signature-nonce": " n1 ",
        "x-acs-signature-method": "HMAC-SHA1",
        "x-acs-signature-version": "1.0",
        "Host": "cr.cn-hangzhou.aliyuncs.com",
    }
    expected = (
        "GET\napplication/json\n\n\nWed, 26 Aug 2015 17:01:00 GMT\n"
        "x-acs-signature-method:HMAC-SHA1\nx-acs-signature-nonce:n1\nx-acs-signature-version:1.0\n"
        "x-acs-version:2016-06-07\n/tokens?a=1&b"
    )
    text = alibaba.roa_string_to_sign("GET", headers, "/tokens", {"b": "", "a": "1"})
    assert text == expected
    known = base64.b64encode(hmac.new(b"testsecret", expected.encode(), hashlib.sha1).digest()).decode()
    assert alibaba.roa_signature("GET", headers, "/tokens", {"b": "", "a": "1"}, "testsecret") == known


# ------------------------------------------------------------------ credentials


def _no_env(monkeypatch, tmp_path):
    for var in (
        "ALIBABA_CLOUD_ACCESS_KEY_ID",
        "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
        "ALIBABA_CLOUD_SECURITY_TOKEN",
        "ALIBABA_CLOUD_CREDENTIALS_FILE",
        "ALIBABA_CLOUD_PROFILE",
        "ALIBABA_CLOUD_REGION_ID",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))


def test_credentials_from_the_profile_file(monkeypatch, tmp_path):
    _no_env(monkeypatch, tmp_path)
    path = tmp_path / ".alibabacloud" / "credentials"
    path.parent.mkdir()
    path.write_text(
        "[default]\ntype = access_key\naccess_key_id = %s\naccess_key_secret = %s\n\n"
        "[temp]\ntype = sts\naccess_key_id = %s\naccess_key_secret = %s\nsecurity_token = %s\n\n"
        "[ecs]\ntype = ecs_ram_role\nrole_name = r\n" % (AKID, SECRET, STS_ID, STS_SECRET, STS_TOKEN)
    )
    assert alibaba.credentials({}) == (AKID, SECRET, None)
    assert alibaba.credentials({"profile": "temp"}) == (STS_ID, STS_SECRET, STS_TOKEN)
    with pytest.raises(TokenError, match=r"type=ecs_ram_role.*access_key or sts"):
        alibaba.credentials({"profile": "ecs"})
    with pytest.raises(TokenError, match=r"no \[nope\] profile; set profile= to one of: default, temp, ecs"):
        alibaba.credentials({"profile": "nope"})
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "ENVID")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "envsecret")
    assert alibaba.credentials({}) == ("ENVID", "envsecret", None)
    assert alibaba.credentials({"access_key_id": "X", "access_key_secret": "Y"}) == ("X", "Y", None)


def test_missing_credentials_file_names_the_fix(monkeypatch, tmp_path):
    _no_env(monkeypatch, tmp_path)
    with pytest.raises(TokenError, match=r"no credentials: give access_key_id/access_key_secret.*\.alibabacloud/cred"):
        alibaba.credentials({})
    with pytest.raises(TokenError, match="give both access_key_id and access_key_secret"):
        alibaba.credentials({"access_key_id": "only-id"})


@pytest.mark.parametrize(
    "options, edition, region, name",
    [
        ({"registry": "registry.cn-beijing.aliyuncs.com"}, "personal", "cn-beijing", None),
        ({"registry": "registry-vpc.cn-shanghai.aliyuncs.com"}, "personal", "cn-shanghai", None),
        ({"registry": ENT_DOMAIN}, "enterprise", "cn-hangzhou", "corp"),
        ({"registry": "my-corp-registry-vpc.eu-central-1.cr.aliyuncs.com"}, "enterprise", "eu-central-1", "my-corp"),
        ({"region": "ap-southeast-1"}, "personal", "ap-southeast-1", None),
    ],
)
def test_registry_analysis(options, edition, region, name, monkeypatch, tmp_path):
    _no_env(monkeypatch, tmp_path)
    got = alibaba.analyse(options)
    assert (got[0], got[2], got[3]) == (edition, region, name)


def test_unknown_domain_is_refused(monkeypatch, tmp_path):
    _no_env(monkeypatch, tmp_path)
    with pytest.raises(TokenError, match="neither a Personal Edition domain"):
        alibaba.analyse({"registry": "registry.example.com"})


def test_identity_hashes_secrets(monkeypatch, tmp_path):
    _no_env(monkeypatch, tmp_path)
    opts = {"registry": ENT_DOMAIN, "access_key_id": AKID, "access_key_secret": SECRET, "security_token": STS_TOKEN}
    ident = alibaba.identity(opts)
    assert SECRET not in ident and STS_TOKEN not in ident and AKID in ident
    assert alibaba.identity(dict(opts, access_key_secret="other")) != ident


# ------------------------------------------------------------------ against the stand-in


@pytest.fixture
def stand_in():
    ali = AlibabaStandIn(
        keys={AKID: (SECRET, None), STS_ID: (STS_SECRET, STS_TOKEN)},
        instances=[
            {"InstanceId": "cri-other", "InstanceName": "corp", "Domains": ["corp-registry-x.cn-hangzhou.cr.aliyuncs.com"]},
            {"InstanceId": "cri-corp", "InstanceName": "corp", "Domains": [ENT_DOMAIN, "registry.corp.example"]},
        ],
        region="cn-hangzhou",
    ).start()
    yield ali
    ali.stop()


def _opts(ali, **kw):
    base = {"endpoint_url": ali.url, "allow_http": True, "access_key_id": AKID, "access_key_secret": SECRET}
    base.update(kw)
    return base


def test_personal_edition_token(stand_in, monkeypatch, tmp_path):
    _no_env(monkeypatch, tmp_path)
    cred = alibaba.mint(_opts(stand_in, registry="registry.cn-hangzhou.aliyuncs.com"))
    assert cred.username == "cr_temp_user"
    assert cred.password == stand_in.issued_tokens[-1]
    assert cred.registry == "registry.cn-hangzhou.aliyuncs.com"
    left = cred.seconds_left()
    assert 3500 < left <= 3600
    assert stand_in.stats()["tokens"] == 1 and stand_in.stats()["failures"] == 0
    sent = stand_in.last_requests[-1]["headers"]
    assert sent["x-acs-version"] == "2016-06-07" and sent["authorization"].startswith("acs %s:" % AKID)


def test_enterprise_edition_finds_the_instance_by_domain(stand_in, monkeypatch, tmp_path):
    _no_env(monkeypatch, tmp_path)
    cred = alibaba.mint(_opts(stand_in, registry=ENT_DOMAIN))
    assert (cred.registry, cred.username, cred.password) == (ENT_DOMAIN, "cr_temp_user", stand_in.issued_tokens[-1])
    stats = stand_in.stats()
    assert stats["ListInstance"] == 1 and stats["ListInstanceDomain"] == 2 and stats["GetAuthorizationToken"] == 1
    assert stats["failures"] == 0
    assert "InstanceId=cri-corp" in stand_in.last_requests[-1]["query"]


def test_enterprise_with_instance_id_and_sts_token(stand_in, monkeypatch, tmp_path):
    _no_env(monkeypatch, tmp_path)
    opts = _opts(
        stand_in,
        registry="registry.corp.example",
        instance_id="cri-corp",
        region="cn-hangzhou",
        access_key_id=STS_ID,
        access_key_secret=STS_SECRET,
        security_token=STS_TOKEN,
    )
    cred = alibaba.mint(opts)
    assert cred.password == stand_in.issued_tokens[-1]
    assert stand_in.stats()["ListInstance"] == 0  # instance given: no lookup
    assert "SecurityToken=" in stand_in.last_requests[-1]["query"]


def test_sts_token_also_signs_roa(stand_in, monkeypatch, tmp_path):
    _no_env(monkeypatch, tmp_path)
    cred = alibaba.mint(
        _opts(stand_in, region="cn-hangzhou", access_key_id=STS_ID, access_key_secret=STS_SECRET, security_token=STS_TOKEN)
    )
    assert cred.registry == "registry.cn-hangzhou.aliyuncs.com"
    assert stand_in.last_requests[-1]["headers"]["x-acs-security-token"] == STS_TOKEN


@pytest.mark.parametrize("registry", ["registry.cn-hangzhou.aliyuncs.com", ENT_DOMAIN])
def test_wrong_secret_is_rejected_by_the_signature_check(stand_in, registry, monkeypatch, tmp_path):
    _no_env(monkeypatch, tmp_path)
    with pytest.raises(TokenError) as err:
        alibaba.mint(_opts(stand_in, registry=registry, access_key_secret="wrong-secret-value"))
    msg = str(err.value)
    assert "provider=alibaba" in msg and "HTTP 400" in msg and "SignatureDoesNotMatch" in msg
    assert "check the AccessKey" in msg and "wrong-secret-value" not in msg
    assert stand_in.stats()["failures"] == 1


def test_unknown_instance_domain(stand_in, monkeypatch, tmp_path):
    _no_env(monkeypatch, tmp_path)
    with pytest.raises(
        TokenError,
        match=r"no Container Registry Enterprise Edition instance in cn-hangzhou serves "
        r"nope-registry\.cn-hangzhou\.cr\.aliyuncs\.com",
    ):
        alibaba.mint(_opts(stand_in, registry="nope-registry.cn-hangzhou.cr.aliyuncs.com"))


def test_expiry_is_read_from_milliseconds():
    expires = alibaba._expiry(1560409562000, "x")
    assert expires == datetime.datetime(2019, 6, 13, 7, 6, 2, tzinfo=datetime.timezone.utc)


# ------------------------------------------------------------------ properties

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@given(st.text())
def test_percent_encode_round_trips_and_leaves_only_unreserved(text):
    import urllib.parse

    encoded = alibaba.percent_encode(text)
    assert urllib.parse.unquote(encoded) == text
    assert all(c.isascii() and (c.isalnum() or c in "-_.~%") for c in encoded)


@given(st.dictionaries(st.text(min_size=1), st.text(), min_size=1, max_size=6), st.text(min_size=1))
def test_rpc_signature_is_independent_of_parameter_order(params, secret):
    reordered = dict(reversed(list(params.items())))
    assert alibaba.rpc_signature("GET", params, secret) == alibaba.rpc_signature("GET", reordered, secret)


# ------------------------------------------------------------------ keyless: RRSA and the ECS RAM role

OIDC_ARN = "acs:ram::1234567890:oidc-provider/ack-rrsa-c1"
ROLE_ARN = "acs:ram::1234567890:role/puller"
ISSUER = "https://oidc-ack-cn-hangzhou.oss-cn-hangzhou.aliyuncs.com/c1"


def _keyless_env(monkeypatch, tmp_path):
    _no_env(monkeypatch, tmp_path)
    for var in (
        "ALIBABA_CLOUD_ROLE_ARN",
        "ALIBABA_CLOUD_OIDC_PROVIDER_ARN",
        "ALIBABA_CLOUD_OIDC_TOKEN_FILE",
        "ALIBABA_CLOUD_ECS_METADATA",
    ):
        monkeypatch.delenv(var, raising=False)


def _oidc_token(key, sub="system:serviceaccount:ci:puller", lifetime=3600):
    import time

    import jwt

    now = int(time.time())
    return jwt.encode(
        {"iss": ISSUER, "sub": sub, "aud": ["sts.aliyuncs.com"], "iat": now, "exp": now + lifetime}, key, algorithm="RS256"
    )


def test_rrsa_as_ack_injects_it(stand_in, monkeypatch, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    _keyless_env(monkeypatch, tmp_path)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    stand_in.oidc_providers[OIDC_ARN] = {
        "issuer": ISSUER,
        "public_key": key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
    }
    stand_in.oidc_roles[ROLE_ARN] = {"provider": OIDC_ARN, "subject": "system:serviceaccount:ci:puller"}
    token_file = tmp_path / "oidc-token"
    token_file.write_text(_oidc_token(key))
    monkeypatch.setenv("ALIBABA_CLOUD_ROLE_ARN", ROLE_ARN)
    monkeypatch.setenv("ALIBABA_CLOUD_OIDC_PROVIDER_ARN", OIDC_ARN)
    monkeypatch.setenv("ALIBABA_CLOUD_OIDC_TOKEN_FILE", str(token_file))
    opts = {
        "endpoint_url": stand_in.url,
        "sts_endpoint_url": stand_in.url,
        "allow_http": True,
        "registry": "registry.cn-hangzhou.aliyuncs.com",
    }
    ident = alibaba.identity(opts)
    assert stand_in.stats()["AssumeRoleWithOIDC"] == 0  # naming the identity calls nothing
    assert ROLE_ARN in ident and token_file.read_text() not in ident
    cred = alibaba.mint(opts)
    assert cred.password == stand_in.issued_tokens[-1]
    assert stand_in.stats()["AssumeRoleWithOIDC"] == 1 and stand_in.stats()["tokens"] == 1
    sent = stand_in.last_requests[-1]["headers"]
    assert sent["authorization"].startswith("acs STS.") and sent["x-acs-security-token"].startswith("CAIS")

    token_file.write_text(_oidc_token(key, sub="system:serviceaccount:ci:other"))
    with pytest.raises(TokenError) as err:
        alibaba.mint(opts)
    assert "NoPermission" in str(err.value) and "trust policy of %s" % ROLE_ARN in str(err.value)
    token_file.write_text(_oidc_token(key, lifetime=-60))
    with pytest.raises(TokenError, match="AuthenticationFail.OIDCToken.Expired"):
        alibaba.mint(opts)
    monkeypatch.delenv("ALIBABA_CLOUD_OIDC_PROVIDER_ARN")
    with pytest.raises(
        TokenError, match="RRSA needs role_arn, oidc_provider_arn and oidc_token_file.*missing: oidc_provider_arn"
    ):
        alibaba.mint(opts)


def test_ecs_ram_role_from_the_hardened_metadata_service(stand_in, monkeypatch, tmp_path):
    _keyless_env(monkeypatch, tmp_path)
    stand_in.ram_roles.add("EcsPuller")
    opts = {
        "endpoint_url": stand_in.url,
        "identity_endpoint": stand_in.url,
        "allow_http": True,
        "registry": ENT_DOMAIN,
        "ram_role": "EcsPuller",
    }
    cred = alibaba.mint(opts)
    assert cred.password == stand_in.issued_tokens[-1] and stand_in.stats()["metadata"] == 1
    with pytest.raises(TokenError, match="no RAM role named Other attached"):
        alibaba.mint(dict(opts, ram_role="Other"))
