"""tokens/gcp.py minting against the Google stand-ins in process (google-auth + requests over
127.0.0.1): key file, impersonation through a delegation chain, clear errors."""

from __future__ import annotations

import json

import pytest

from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens import gcp
from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens.base import TokenError

from fixtures.google_cloud import GoogleCloudStub

SOURCE = "ci@p.iam.gserviceaccount.com"
HOP = "hop@p.iam.gserviceaccount.com"
TARGET = "pull@p.iam.gserviceaccount.com"


@pytest.fixture
def google(tmp_path):
    stub = GoogleCloudStub().start()
    key = stub.add_service_account(SOURCE)
    stub.add_service_account(HOP)
    stub.add_service_account(TARGET)
    stub.key_file = tmp_path / "ci.json"
    stub.key_file.write_text(json.dumps(key))
    yield stub
    stub.stop()


def test_key_file_mint_is_a_token_the_endpoint_issued(google):
    cred = gcp.mint({"credentials_file": str(google.key_file), "registry": "europe-docker.pkg.dev"})
    info = google.valid_token(cred.password)
    assert info and info["email"] == SOURCE
    assert cred.username == "oauth2accesstoken" and cred.registry == "europe-docker.pkg.dev"
    assert 3000 < cred.seconds_left() <= 3600
    assert google.count("token_ok") == 1


def test_scopes_reach_the_token(google):
    ro = "https://www.googleapis.com/auth/devstorage.read_only"
    cred = gcp.mint({"credentials_file": str(google.key_file), "scopes": [ro]})
    assert google.valid_token(cred.password)["scopes"] == [ro]


def test_impersonation_through_delegates(google):
    google.grant_token_creator(HOP, SOURCE)
    google.grant_token_creator(TARGET, HOP)
    opts = {
        "credentials_file": str(google.key_file),
        "impersonate_service_account": TARGET,
        "delegates": [HOP],
        "iam_endpoint": google.url,
    }
    cred = gcp.mint(opts)
    assert google.valid_token(cred.password)["email"] == TARGET
    assert google.count("generateAccessToken_ok") == 1
    # without the delegate the source has no right on the target: clear error, no token
    with pytest.raises(TokenError) as err:
        gcp.mint(dict(opts, delegates=[]))
    text = str(err.value)
    assert "iam.serviceAccounts.getAccessToken" in text and TARGET in text and SOURCE in text
    assert "roles/iam.serviceAccountTokenCreator" in text
    assert google.count("generateAccessToken_ok") == 1


def test_unknown_key_is_refused_clearly(google, tmp_path):
    other = GoogleCloudStub()  # never started: its key is unknown to `google`
    foreign = other.add_service_account(SOURCE)
    foreign["token_uri"] = google.token_uri
    path = tmp_path / "foreign.json"
    path.write_text(json.dumps(foreign))
    with pytest.raises(TokenError, match="invalid_grant: Invalid JWT Signature") as err:
        gcp.mint({"credentials_file": str(path)})
    assert foreign["private_key"].splitlines()[1] not in str(err.value)


def test_unreachable_token_endpoint(google, tmp_path):
    key = json.loads(google.key_file.read_text())
    google.stop()
    with pytest.raises(TokenError, match="cannot reach the Google token endpoint"):
        gcp.mint({"credentials_json": key})
