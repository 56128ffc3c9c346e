"""artifact_registry_upstream role (through playbooks/artifact_registry_upstream.yml) over the
Google API stand-ins: converge (creates the remote repository), idempotence, rotation by one
variable change, read back with google-auth + requests."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import requests
from google.auth.transport.requests import Request
from google.oauth2 import service_account

from fixtures.google_cloud import GoogleCloudStub

REPO = Path(__file__).resolve().parents[3]
PLAYBOOK = REPO / "playbooks" / "artifact_registry_upstream.yml"
PROJECT, NUMBER = "shop-prod", 987654321098
AGENT = "serviceAccount:service-%d@gcp-sa-artifactregistry.iam.gserviceaccount.com" % NUMBER
TOKEN1 = "dckr_pat_ROLEFIRST_0a1b2c3d4e"
TOKEN2 = "dckr_pat_ROLESECOND_9z8y7x6w"


@pytest.fixture
def gcloud(tmp_path):
    stub = GoogleCloudStub().start()
    stub.add_project(PROJECT, NUMBER)
    admin = stub.add_service_account("registry-admin@shop-prod.iam.gserviceaccount.com")
    ci = stub.add_service_account("ci@shop-prod.iam.gserviceaccount.com")
    stub.grant_token_creator(admin["client_email"], ci["client_email"])
    (tmp_path / "ci.json").write_text(json.dumps(ci))
    creds = service_account.Credentials.from_service_account_info(
        admin, scopes=["https://www.googleapis.com/auth/cloud-platform"]
    )
    creds.refresh(Request())
    stub.session = requests.Session()
    stub.session.headers["Authorization"] = "Bearer " + creds.token
    yield stub
    stub.stop()


def _vars(stub, tmp_path, token):
    return {
        "artifact_registry_upstream_project": PROJECT,
        "artifact_registry_upstream_location": "europe",
        "artifact_registry_upstream_repository": "dockerhub",
        "artifact_registry_upstream_create_repository": True,
        "artifact_registry_upstream_repository_description": "Docker Hub cache",
        "artifact_registry_upstream_dockerhub_username": "shopbot",
        "artifact_registry_upstream_dockerhub_token": token,
        # the CI key impersonates the admin account through iamcredentials
        "artifact_registry_upstream_gcp_auth": {
            "credentials_file": str(tmp_path / "ci.json"),
            "impersonate_service_account": "registry-admin@shop-prod.iam.gserviceaccount.com",
            "iam_endpoint": stub.url,
            "secretmanager_endpoint": stub.url,
            "resourcemanager_endpoint": stub.url,
            "artifactregistry_endpoint": stub.url,
        },
    }


def _get(stub, path, **params):
    resp = stub.session.get(stub.url + path, params=params, timeout=10)
    assert resp.status_code == 200, resp.text
    return resp.json()


TASK_SUFFIX = "Store the Docker Hub token, grant the Artifact Registry service agent, wire up the remote repository"


def _result(run):
    names = [n for n in run.tasks if n.endswith(TASK_SUFFIX)]
    assert len(names) == 1, list(run.tasks)
    return run.result(names[0])


def test_role_converge_idempotence_rotation(playbook, gcloud, tmp_path):
    check = playbook(str(PLAYBOOK), extra_vars=_vars(gcloud, tmp_path, TOKEN1), check=True, diff=True)
    assert check.rc == 0, check.output
    assert _result(check)["changed"] and _result(check)["repository_changed"]
    assert gcloud.repositories == {} and gcloud.secrets == {}

    converge = playbook(str(PLAYBOOK), extra_vars=_vars(gcloud, tmp_path, TOKEN1))
    assert converge.rc == 0, converge.output
    assert converge.stats()["localhost"]["changed"] == 1
    assert gcloud.count("generateAccessToken_ok") >= 1  # really impersonated

    idem = playbook(str(PLAYBOOK), extra_vars=_vars(gcloud, tmp_path, TOKEN1))
    assert idem.rc == 0, idem.output
    assert idem.stats()["localhost"]["changed"] == 0

    repo = _get(gcloud, "/v1/projects/%s/locations/europe/repositories/dockerhub" % PROJECT)
    assert repo["mode"] == "REMOTE_REPOSITORY" and repo["format"] == "DOCKER"
    assert repo["remoteRepositoryConfig"]["dockerRepository"] == {"publicRepository": "DOCKER_HUB"}
    assert repo["description"] == "Docker Hub cache"
    upc = repo["remoteRepositoryConfig"]["upstreamCredentials"]["usernamePasswordCredentials"]
    assert upc == {
        "username": "shopbot",
        "passwordSecretVersion": "projects/%s/secrets/dockerhub-dockerhub-token/versions/1" % PROJECT,
    }
    payload = _get(gcloud, "/v1/%s:access" % upc["passwordSecretVersion"])["payload"]["data"]
    assert base64.b64decode(payload).decode() == TOKEN1
    policy = _get(
        gcloud,
        "/v1/projects/%s/secrets/dockerhub-dockerhub-token:getIamPolicy" % PROJECT,
        **{"options.requestedPolicyVersion": 3},
    )
    assert {"role": "roles/secretmanager.secretAccessor", "members": [AGENT]} in policy["bindings"]

    # rotation: one variable change
    rotate = playbook(str(PLAYBOOK), extra_vars=_vars(gcloud, tmp_path, TOKEN2), diff=True)
    assert rotate.rc == 0, rotate.output
    res = _result(rotate)
    assert res["version_added"] and res["repository_changed"] and not res["policy_changed"]
    versions = _get(gcloud, "/v1/projects/%s/secrets/dockerhub-dockerhub-token/versions" % PROJECT)["versions"]
    assert [v["state"] for v in versions] == ["ENABLED", "DISABLED"]
    repo = _get(gcloud, "/v1/projects/%s/locations/europe/repositories/dockerhub" % PROJECT)
    assert repo["remoteRepositoryConfig"]["upstreamCredentials"]["usernamePasswordCredentials"]["passwordSecretVersion"].endswith(
        "/versions/2"
    )
    assert playbook(str(PLAYBOOK), extra_vars=_vars(gcloud, tmp_path, TOKEN2)).stats()["localhost"]["changed"] == 0
    for run in (check, converge, idem, rotate):
        assert TOKEN1 not in run.output and TOKEN2 not in run.output


def test_role_rejects_missing_variables(playbook, gcloud, tmp_path):
    variables = _vars(gcloud, tmp_path, TOKEN1)
    del variables["artifact_registry_upstream_dockerhub_token"]
    run = playbook(str(PLAYBOOK), extra_vars=variables)
    assert run.rc != 0
    assert "empty: artifact_registry_upstream_dockerhub_token" in run.output
    assert gcloud.count("api") == 0


def test_role_token_never_in_vvvv_output(playbook, gcloud, tmp_path):
    run = playbook(str(PLAYBOOK), extra_vars=_vars(gcloud, tmp_path, TOKEN1), verbosity=4, json_output=False, diff=True)
    assert run.rc == 0, run.output[-3000:]
    assert "Validating arguments against arg spec" in run.output  # the spec check ran and printed
    assert "authenticates to Docker Hub as shopbot" in run.output
    assert TOKEN1 not in run.output
    for issued in list(gcloud.tokens):
        assert issued not in run.output
