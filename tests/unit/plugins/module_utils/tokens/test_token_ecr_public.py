"""ECR Public (registry public.ecr.aws) with real boto3 against tests/fixtures/ecr_public_stand_in.py,
which checks every request's Signature Version 4 like AWS does."""

from __future__ import annotations


import pytest

pytest.importorskip("boto3")

from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens import ecr  # noqa: E402
from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens.base import TokenError  # noqa: E402

from fixtures.ecr_public_stand_in import EcrPublicStandIn  # noqa: E402

KEY_ID, SECRET = "AKIAPUBLICTEST000001", "public-secret-access-key-value"


@pytest.fixture(autouse=True)
def _no_aws_env(monkeypatch):
    for var in (
        "AWS_PROFILE",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.fixture
def svc():
    s = EcrPublicStandIn({KEY_ID: SECRET}).start()
    yield s
    s.stop()


def _opts(url, **kw):
    opts = {
        "registry": "public.ecr.aws",
        "region": "eu-west-1",
        "endpoint_url": url,
        "allow_http": True,
        "aws_access_key_id": KEY_ID,
        "aws_secret_access_key": SECRET,
    }
    opts.update(kw)
    return opts


def test_public_registry_gets_an_ecr_public_token(svc):
    cred = ecr.mint(_opts(svc.url))
    assert (cred.registry, cred.username, cred.password) == ("public.ecr.aws", "AWS", svc.passwords[-1])
    assert 11.9 * 3600 < cred.seconds_left() <= 12 * 3600
    assert svc.stats()["GetAuthorizationToken"] == 1
    # the region given is for private ECR: ECR Public tokens come from us-east-1 (the stand-in refused any other)
    assert ecr.identity(_opts(svc.url)) != ecr.identity(_opts(svc.url, registry="123.dkr.ecr.eu-west-1.amazonaws.com"))


def test_a_wrong_secret_is_the_signature_error_of_aws(svc):
    with pytest.raises(TokenError) as err:
        ecr.mint(_opts(svc.url, aws_secret_access_key="not-the-secret"))
    msg = str(err.value)
    assert "ecr-public:GetAuthorizationToken" in msg and "HTTP 403 InvalidSignatureException" in msg
    assert "not-the-secret" not in msg
    with pytest.raises(TokenError, match="HTTP 403 UnrecognizedClientException"):
        ecr.mint(_opts(svc.url, aws_access_key_id="AKIAUNKNOWN000000000"))
    assert svc.stats()["GetAuthorizationToken"] == 0
