"""ECR provider against moto's server (ThreadedMotoServer on 127.0.0.1, dynamic port) with real boto3.

moto answers GetAuthorizationToken with an ``expiresAt`` of 2015-01-01. That is kept as
it is in one test (the lookup must refuse it with a clear error: the expiry rule is not
weakened), and rewritten to a future time by the ``fresh_expiry`` fixture elsewhere,
by wrapping moto's own response handler inside the running server.
"""

from __future__ import annotations

import datetime
import time

import pytest

pytest.importorskip("moto")
pytest.importorskip("boto3")

from moto.ecr.responses import ECRResponse  # noqa: E402
from moto.server import ThreadedMotoServer  # noqa: E402

from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens import ecr  # noqa: E402
from ansible_collections.cloud_registry.auth.plugins.plugin_utils import token_cache as _cache  # noqa: E402
from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens.base import TokenError  # noqa: E402

KEY_ID, SECRET = "AKIAMOTOTESTKEY00001", "moto-secret-access-key-value"


@pytest.fixture(scope="module")
def moto_url():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield "http://%s:%d" % (host, port)
    server.stop()


@pytest.fixture
def counted(monkeypatch):
    calls = []
    original = ECRResponse.get_authorization_token

    def wrapped(self):
        calls.append(self._get_param("registryIds"))
        return original(self)

    monkeypatch.setattr(ECRResponse, "get_authorization_token", wrapped)
    return calls


@pytest.fixture
def fresh_expiry(monkeypatch, counted):
    """moto's handler, with expiresAt rewritten to 12 hours ahead (what ECR really returns)."""
    inner = ECRResponse.get_authorization_token

    def wrapped(self):
        result = inner(self)
        for item in result.result["authorizationData"]:
            item["expiresAt"] = time.time() + 12 * 3600
        return result

    monkeypatch.setattr(ECRResponse, "get_authorization_token", wrapped)
    return counted


def _opts(url, **kw):
    opts = {
        "region": "eu-west-1",
        "endpoint_url": url,
        "sts_endpoint_url": url,
        "allow_http": True,
        "aws_access_key_id": KEY_ID,
        "aws_secret_access_key": SECRET,
    }
    opts.update(kw)
    return opts


def test_mint_returns_the_decoded_token_and_the_proxy_host(moto_url, fresh_expiry):
    cred = ecr.mint(_opts(moto_url))
    assert cred.username == "AWS"
    assert cred.password == "123456789012-auth-token"  # moto's token: base64("AWS:<account>-auth-token")
    assert cred.registry == "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    assert 11.9 * 3600 < cred.seconds_left() <= 12 * 3600
    assert fresh_expiry == [None]


def test_registry_id_and_assumed_role(moto_url, fresh_expiry):
    cred = ecr.mint(
        _opts(moto_url, registry_id="210987654321", role_arn="arn:aws:iam::210987654321:role/puller", external_id="ext-1")
    )
    assert cred.registry == "210987654321.dkr.ecr.eu-west-1.amazonaws.com"
    assert fresh_expiry == [["210987654321"]]


def test_motos_2015_expiry_is_refused_not_returned(moto_url, counted, tmp_path):
    # The provider reports what the service said; the cache refuses to hand out a token
    # that expired in 2015, with an error that names the provider and the fix.
    cred = ecr.mint(_opts(moto_url))
    assert cred.expires_at == datetime.datetime.fromtimestamp(
        time.mktime(datetime.datetime(2015, 1, 1).timetuple()), datetime.timezone.utc
    )
    cache = _cache.TokenCache(run_base=str(tmp_path), disk_dir=str(tmp_path / "disk"), run_id="1-1")
    with pytest.raises(
        TokenError,
        match=r"provider=ecr: the provider returned a credential that already expired "
        r"at 2015-01-01T\d\d:00:00Z; check the controller clock",
    ):
        cache.get_or_mint("ecr", ecr.identity(_opts(moto_url)), lambda: ecr.mint(_opts(moto_url)), 300)
    assert len(counted) == 2
    assert not list((tmp_path / "disk").glob("*.json"))


def test_missing_region_is_a_clear_error(monkeypatch):
    for var in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(TokenError, match=r"provider=ecr: no AWS region; set the region option"):
        ecr.mint({"aws_access_key_id": KEY_ID, "aws_secret_access_key": SECRET})


def test_missing_boto3_names_the_package_and_version(monkeypatch):
    monkeypatch.setattr(ecr, "HAS_BOTO3", False)
    monkeypatch.setattr(ecr, "BOTO3_IMPORT_ERROR", ImportError("No module named 'boto3'"))
    with pytest.raises(TokenError, match=r"needs the Python library boto3 >= 1\.28\.0"):
        ecr.mint({"region": "eu-west-1"})


def test_plain_http_endpoint_needs_allow_http_and_loopback():
    with pytest.raises(TokenError, match="refusing plain http"):
        ecr.mint({"region": "eu-west-1", "endpoint_url": "http://127.0.0.1:9"})
    with pytest.raises(TokenError, match="only loopback hosts"):
        ecr.mint({"region": "eu-west-1", "endpoint_url": "http://10.0.0.1:9", "allow_http": True})


def test_unreachable_endpoint(moto_url):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(TokenError) as err:
        ecr.mint(_opts("http://127.0.0.1:%d" % port, timeout=3))
    assert "provider=ecr" in str(err.value) and "endpoint_url" in str(err.value)
    assert SECRET not in str(err.value)


def test_identity_never_holds_the_secret():
    ident = ecr.identity(_opts("http://127.0.0.1:1"))
    assert SECRET not in ident and KEY_ID in ident
    assert ecr.identity(_opts("http://127.0.0.1:1", aws_secret_access_key="other")) != ident
    assert ecr.identity(_opts("http://127.0.0.1:1", role_arn="arn:aws:iam::1:role/x")) != ident
