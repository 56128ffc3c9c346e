"""The Google API stand-in itself: run standalone (``python tests/fixtures/google_cloud.py
--port N``) and driven by google-auth + requests, it enforces the protocol rules the
collection relies on (signature checks, metadata header rules, status codes)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import time
from pathlib import Path

import jwt
import pytest
import requests
from google.auth.transport.requests import Request
from google.oauth2 import service_account

from support.ports import free_port


FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "google_cloud.py"
SA = "sa@standalone.iam.gserviceaccount.com"


@pytest.fixture(scope="module")
def standalone(tmp_path_factory):
    work = tmp_path_factory.mktemp("google-standalone")
    port = free_port()
    key_path = work / "key.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            str(FIXTURE),
            "--port",
            str(port),
            "--project",
            "standalone=555",
            "--service-account",
            SA,
            "--key-out",
            str(key_path),
            "--metadata-account",
            SA,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.time() + 30
        while not key_path.exists() or not key_path.read_text().strip().endswith("}"):
            assert proc.poll() is None and time.time() < deadline, "stand-in did not start"
            time.sleep(0.1)
        key = json.loads(key_path.read_text())
        creds = service_account.Credentials.from_service_account_info(
            key, scopes=["https://www.googleapis.com/auth/cloud-platform"]
        )
        creds.refresh(Request())
        session = requests.Session()
        session.headers["Authorization"] = "Bearer " + creds.token
        yield {"url": "http://127.0.0.1:%d" % port, "key": key, "session": session, "token": creds.token}
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_key_file_token_uri_points_at_the_stand_in(standalone):
    assert standalone["key"]["token_uri"] == standalone["url"] + "/token"
    info = requests.get(standalone["url"] + "/tokeninfo", params={"access_token": standalone["token"]}, timeout=10).json()
    assert info["email"] == SA and int(info["expires_in"]) > 3000


def test_assertion_signed_by_another_key_is_refused(standalone):
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    claims = {
        "iss": SA,
        "aud": standalone["key"]["token_uri"],
        "iat": now,
        "exp": now + 3600,
        "scope": "https://www.googleapis.com/auth/cloud-platform",
    }
    forged = jwt.encode(claims, other, algorithm="RS256", headers={"kid": standalone["key"]["private_key_id"]})
    resp = requests.post(
        standalone["url"] + "/token",
        data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": forged},
        timeout=10,
    )
    assert resp.status_code == 400
    assert resp.json() == {"error": "invalid_grant", "error_description": "Invalid JWT Signature."}


def test_metadata_header_rules(standalone):
    url = standalone["url"] + "/computeMetadata/v1/instance/service-accounts/default/token"
    assert requests.get(url, timeout=10).status_code == 403
    assert requests.get(url, headers={"Metadata-Flavor": "Google", "X-Forwarded-For": "1.2.3.4"}, timeout=10).status_code == 403
    resp = requests.get(url, headers={"Metadata-Flavor": "Google"}, timeout=10)
    assert resp.status_code == 200 and resp.headers["Metadata-Flavor"] == "Google"
    assert resp.json()["token_type"] == "Bearer"


def test_api_status_codes(standalone):
    s, url = standalone["session"], standalone["url"]
    assert requests.get(url + "/v1/projects/standalone", timeout=10).status_code == 401
    assert s.get(url + "/v1/projects/standalone", timeout=10).json()["projectNumber"] == "555"
    sec = url + "/v1/projects/standalone/secrets"
    assert s.post(sec, params={"secretId": "s1"}, json={"replication": {"automatic": {}}}, timeout=10).status_code == 200
    dup = s.post(sec, params={"secretId": "s1"}, json={"replication": {"automatic": {}}}, timeout=10)
    assert dup.status_code == 409 and dup.json()["error"]["status"] == "ALREADY_EXISTS"
    bad = s.post(
        sec + "/s1:addVersion",
        json={"payload": {"data": base64.b64encode(b"x").decode(), "dataCrc32c": "1"}},
        timeout=10,
    )
    assert bad.status_code == 400 and "Checksum" in bad.json()["error"]["message"]
    pol = s.get(sec + "/s1:getIamPolicy", timeout=10).json()
    stale = dict(pol, etag="c3RhbGU=", bindings=[{"role": "roles/viewer", "members": ["user:a@example.com"]}])
    conflict = s.post(sec + "/s1:setIamPolicy", json={"policy": stale}, timeout=10)
    assert conflict.status_code == 409 and conflict.json()["error"]["status"] == "ABORTED"
    cond = dict(
        pol,
        bindings=[
            {
                "role": "roles/viewer",
                "members": ["user:a@example.com"],
                "condition": {"title": "t", "expression": "true"},
            }
        ],
    )
    assert s.post(sec + "/s1:setIamPolicy", json={"policy": cond}, timeout=10).status_code == 400  # version 1 + condition
    assert s.get(sec + "/missing", timeout=10).status_code == 404
    repos = url + "/v1/projects/standalone/locations/europe/repositories"
    op = s.post(
        repos,
        params={"repositoryId": "hub"},
        json={
            "format": "DOCKER",
            "mode": "REMOTE_REPOSITORY",
            "remoteRepositoryConfig": {"dockerRepository": {"publicRepository": "DOCKER_HUB"}},
        },
        timeout=10,
    )
    assert op.status_code == 200 and op.json()["done"]
    badmask = s.patch(repos + "/hub", params={"updateMask": "format"}, json={"format": "MAVEN"}, timeout=10)
    assert badmask.status_code == 400 and badmask.json()["error"]["status"] == "INVALID_ARGUMENT"
