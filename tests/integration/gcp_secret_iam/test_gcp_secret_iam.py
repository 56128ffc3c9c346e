"""gcp_secret_iam through real ansible-playbook runs against the Google API stand-ins.

google-auth mints tokens at the stand-in's OAuth endpoint (RS256 assertion verified), the
module calls Secret Manager / Resource Manager / Artifact Registry over HTTP, and every
state is read back through the stand-in's REST API with google-auth + requests (the same
way a user's script would), not through module output.
"""

from __future__ import annotations

import base64
import json

import pytest
import requests
from google.oauth2 import service_account
from google.auth.transport.requests import Request

from fixtures.google_cloud import GoogleCloudStub

PROJECT = "demo-project"
NUMBER = 123456789012
AGENT = "serviceAccount:service-%d@gcp-sa-artifactregistry.iam.gserviceaccount.com" % NUMBER
DEPLOYER = "deployer@demo-project.iam.gserviceaccount.com"
TOKEN = "dckr_pat_TESTSECRET_%s" % "x7Yq2Lm9Pz"  # what must never show up in output


@pytest.fixture
def gcloud(tmp_path):
    stub = GoogleCloudStub().start()
    stub.add_project(PROJECT, NUMBER)
    key = stub.add_service_account(DEPLOYER)
    key_path = tmp_path / "deployer.json"
    key_path.write_text(json.dumps(key))
    key_path.chmod(0o600)
    stub.key_path = str(key_path)
    stub.reader = _reader(stub, key)
    yield stub
    stub.stop()


def _reader(stub, key):
    """A requests session authenticated with google-auth, to read state back."""
    creds = service_account.Credentials.from_service_account_info(key, scopes=["https://www.googleapis.com/auth/cloud-platform"])
    creds.refresh(Request())
    session = requests.Session()
    session.headers["Authorization"] = "Bearer " + creds.token

    def get(path, **params):
        resp = session.get(stub.url + path, params=params, timeout=10)
        return resp.status_code, (resp.json() if resp.content else {})

    def post(path, body):
        resp = session.post(stub.url + path, json=body, timeout=10)
        return resp.status_code, (resp.json() if resp.content else {})

    return type("Reader", (), {"get": staticmethod(get), "post": staticmethod(post)})


def _args(stub, **extra):
    args = {
        "project": PROJECT,
        "secret_id": "dockerhub-token",
        "credentials_file": stub.key_path,
        "secretmanager_endpoint": stub.url,
        "resourcemanager_endpoint": stub.url,
        "artifactregistry_endpoint": stub.url,
    }
    args.update(extra)
    return {k: v for k, v in args.items() if v is not None}


PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - name: secret
      cloud_registry.auth.gcp_secret_iam: "{{ sm_args }}"
"""


def _run(playbook, stub, check=False, diff=True, **extra):
    return playbook(PLAY, extra_vars={"sm_args": _args(stub, **extra)}, check=check, diff=diff)


def _policy(stub, secret="dockerhub-token"):
    code, pol = stub.reader.get(
        "/v1/projects/%s/secrets/%s:getIamPolicy" % (PROJECT, secret), **{"options.requestedPolicyVersion": 3}
    )
    assert code == 200, pol
    return pol


def _versions(stub, secret="dockerhub-token"):
    code, data = stub.reader.get("/v1/projects/%s/secrets/%s/versions" % (PROJECT, secret))
    assert code == 200, data
    return data.get("versions", [])


def _access(stub, name):
    code, data = stub.reader.get("/v1/%s:access" % name)
    assert code == 200, data
    return base64.b64decode(data["payload"]["data"]).decode()


def _members(policy, role="roles/secretmanager.secretAccessor"):
    return sorted(m for b in policy.get("bindings", []) if b["role"] == role and not b.get("condition") for m in b["members"])


def _create_remote_repo(stub, repo="dockerhub"):
    code, op = stub.reader.post(
        "/v1/projects/%s/locations/europe/repositories?repositoryId=%s" % (PROJECT, repo),
        {
            "format": "DOCKER",
            "mode": "REMOTE_REPOSITORY",
            "remoteRepositoryConfig": {"dockerRepository": {"publicRepository": "DOCKER_HUB"}},
        },
    )
    assert code == 200 and op["done"], op


@pytest.mark.matrix
def test_four_runs_then_read_back(playbook, gcloud):
    _create_remote_repo(gcloud)
    extra = dict(secret_value=TOKEN, remote_repository={"location": "europe", "repository": "dockerhub", "username": "octo"})

    r1 = _run(playbook, gcloud, check=True, **extra)
    assert r1.rc == 0, r1.output
    res = r1.result("secret")
    assert (
        res["changed"] and res["secret_created"] and res["version_added"] and res["policy_changed"] and res["repository_changed"]
    )
    assert gcloud.count("secrets.create") == 0 and gcloud.count("addVersion") == 0 and gcloud.count("setIamPolicy") == 0
    assert res["members"] == [AGENT]  # resolved through Cloud Resource Manager
    assert gcloud.count("projects.get") == 1

    r2 = _run(playbook, gcloud, **extra)
    assert r2.rc == 0, r2.output
    res = r2.result("secret")
    assert res["changed"] and res["version_added"] and res["policy_changed"] and res["repository_changed"]
    assert res["secret"] == "projects/%d/secrets/dockerhub-token" % NUMBER
    assert res["version"] == "projects/%d/secrets/dockerhub-token/versions/1" % NUMBER
    assert TOKEN not in json.dumps(res["diff"])
    assert "secret" not in res["diff"]["before"] and res["diff"]["before"]["policy"] == {"roles/secretmanager.secretAccessor": []}
    assert res["diff"]["after"]["version"]["value"].startswith("********")
    assert res["diff"]["after"]["policy"] == {"roles/secretmanager.secretAccessor": [AGENT]}

    for check in (True, False):
        r = _run(playbook, gcloud, check=check, **extra)
        assert r.rc == 0, r.output
        res = r.result("secret")
        assert not res["changed"], res
        assert not (res["version_added"] or res["policy_changed"] or res["repository_changed"])

    # read back with a real client
    assert len(_versions(gcloud)) == 1
    assert _access(gcloud, "projects/%s/secrets/dockerhub-token/versions/latest" % PROJECT) == TOKEN
    policy = _policy(gcloud)
    assert _members(policy) == [AGENT]
    code, repo = gcloud.reader.get("/v1/projects/%s/locations/europe/repositories/dockerhub" % PROJECT)
    upc = repo["remoteRepositoryConfig"]["upstreamCredentials"]["usernamePasswordCredentials"]
    assert upc == {
        "username": "octo",
        "passwordSecretVersion": "projects/%s/secrets/dockerhub-token/versions/1" % PROJECT,
    }
    assert repo["remoteRepositoryConfig"]["dockerRepository"] == {"publicRepository": "DOCKER_HUB"}
    for r in (r1, r2):
        assert TOKEN not in r.output


def test_changed_token_adds_exactly_one_version_and_rewires(playbook, gcloud):
    _create_remote_repo(gcloud)
    extra = dict(remote_repository={"location": "europe", "repository": "dockerhub", "username": "octo"}, disable_previous=True)
    assert _run(playbook, gcloud, secret_value=TOKEN, **extra).rc == 0
    new_token = TOKEN + "-rotated"
    r = _run(playbook, gcloud, secret_value=new_token, **extra)
    assert r.rc == 0, r.output
    res = r.result("secret")
    assert res["version_added"] and res["repository_changed"] and not res["policy_changed"]
    assert res["versions_disabled"] == ["projects/%d/secrets/dockerhub-token/versions/1" % NUMBER]
    versions = _versions(gcloud)
    assert [v["state"] for v in versions] == ["ENABLED", "DISABLED"]  # newest first: exactly one added
    assert _access(gcloud, versions[0]["name"]) == new_token
    code, repo = gcloud.reader.get("/v1/projects/%s/locations/europe/repositories/dockerhub" % PROJECT)
    assert repo["remoteRepositoryConfig"]["upstreamCredentials"]["usernamePasswordCredentials"]["passwordSecretVersion"].endswith(
        "/versions/2"
    )
    again = _run(playbook, gcloud, secret_value=new_token, **extra)
    assert not again.result("secret")["changed"]
    assert len(_versions(gcloud)) == 2
    assert TOKEN not in r.output and new_token not in r.output


def test_unrelated_and_conditional_bindings_survive(playbook, gcloud):
    assert _run(playbook, gcloud, secret_value=TOKEN, members=["user:alice@example.com"]).rc == 0
    cond = {"title": "expires", "expression": 'request.time < timestamp("2030-01-01T00:00:00Z")'}
    pol = _policy(gcloud)
    pol["version"] = 3
    pol["bindings"] += [
        {"role": "roles/secretmanager.viewer", "members": ["group:ops@example.com"]},
        {"role": "roles/secretmanager.secretAccessor", "members": ["user:bob@example.com"], "condition": cond},
    ]
    code, _unused = gcloud.reader.post("/v1/projects/%s/secrets/dockerhub-token:setIamPolicy" % PROJECT, {"policy": pol})
    assert code == 200

    r = _run(playbook, gcloud, secret_value=TOKEN)  # default member: the service agent
    assert r.rc == 0, r.output
    assert r.result("secret")["policy_changed"]
    pol = _policy(gcloud)
    assert pol["version"] == 3
    assert _members(pol) == sorted(["user:alice@example.com", AGENT])
    assert {"role": "roles/secretmanager.viewer", "members": ["group:ops@example.com"]} in pol["bindings"]
    assert {
        "role": "roles/secretmanager.secretAccessor",
        "members": ["user:bob@example.com"],
        "condition": cond,
    } in pol["bindings"]

    r = _run(playbook, gcloud, state="absent")  # removes only the agent
    assert r.rc == 0, r.output
    assert r.result("secret")["policy_changed"]
    pol = _policy(gcloud)
    assert _members(pol) == ["user:alice@example.com"]
    assert len(pol["bindings"]) == 3
    assert not _run(playbook, gcloud, state="absent").result("secret")["changed"]
    assert len(_versions(gcloud)) == 1  # secret kept


def test_concurrent_policy_change_is_retried_without_losing_either(playbook, gcloud):
    assert _run(playbook, gcloud, secret_value=TOKEN, members=["user:alice@example.com"]).rc == 0

    def concurrent(state):
        secret = state.secrets[(NUMBER, "dockerhub-token")]
        pol = secret["_policy"]
        pol["bindings"].append({"role": "roles/secretmanager.admin", "members": ["user:carol@example.com"]})
        pol["etag"] = "Q09OQ1VSUkVOVA=="

    gcloud.on_next("getIamPolicy", concurrent)  # fires right after the module's first read
    r = _run(playbook, gcloud, secret_value=TOKEN)
    assert r.rc == 0, r.output
    assert r.result("secret")["policy_changed"]
    assert gcloud.count("getIamPolicy") >= 3  # first run, the lost cycle, the retried cycle
    pol = _policy(gcloud)
    assert _members(pol) == sorted(["user:alice@example.com", AGENT])
    assert {"role": "roles/secretmanager.admin", "members": ["user:carol@example.com"]} in pol["bindings"]


def test_bad_project_and_missing_permission_fail_clearly(playbook, gcloud):
    r = _run(playbook, gcloud, project="no-such-project", secret_value=TOKEN)
    assert r.rc != 0
    msg = r.result("secret")["msg"]
    assert "no-such-project" in msg and "resourcemanager.projects.get" in msg and "project_number" in msg
    assert TOKEN not in r.output

    gcloud.deny("secretmanager.secrets.setIamPolicy")
    r = _run(playbook, gcloud, secret_value=TOKEN)
    assert r.rc != 0
    msg = r.result("secret")["msg"]
    assert "secretmanager.secrets.setIamPolicy" in msg and "projects/%s/secrets/dockerhub-token" % PROJECT in msg
    assert TOKEN not in r.output
    assert _members(_policy(gcloud)) == []


def test_replication_is_immutable(playbook, gcloud):
    assert (
        _run(playbook, gcloud, secret_value=TOKEN, replication="user_managed", locations=["europe-west1", "europe-west4"]).rc == 0
    )
    code, secret = gcloud.reader.get("/v1/projects/%s/secrets/dockerhub-token" % PROJECT)
    assert secret["replication"] == {"userManaged": {"replicas": [{"location": "europe-west1"}, {"location": "europe-west4"}]}}
    # same set in another order: no change
    assert not _run(
        playbook, gcloud, secret_value=TOKEN, replication="user_managed", locations=["europe-west4", "europe-west1"]
    ).result("secret")["changed"]
    r = _run(playbook, gcloud, secret_value=TOKEN + "2")  # automatic requested
    assert r.rc != 0
    msg = r.result("secret")["msg"]
    assert "replication cannot be changed" in msg and "user_managed (europe-west1, europe-west4)" in msg
    assert len(_versions(gcloud)) == 1  # nothing changed


def test_labels_merge_and_delete_secret(playbook, gcloud):
    assert _run(playbook, gcloud, secret_value=TOKEN, labels={"team": "platform"}).rc == 0
    r = _run(playbook, gcloud, labels={"env": "prod"})
    assert r.rc == 0 and r.result("secret")["changed"]
    code, secret = gcloud.reader.get("/v1/projects/%s/secrets/dockerhub-token" % PROJECT)
    assert secret["labels"] == {"team": "platform", "env": "prod"}
    crm_calls = gcloud.count("projects.get")
    r = _run(playbook, gcloud, state="absent", delete_secret=True, check=True)
    assert r.result("secret")["changed"]
    assert gcloud.reader.get("/v1/projects/%s/secrets/dockerhub-token" % PROJECT)[0] == 200
    r = _run(playbook, gcloud, state="absent", delete_secret=True)
    assert r.result("secret")["changed"]
    assert gcloud.reader.get("/v1/projects/%s/secrets/dockerhub-token" % PROJECT)[0] == 404
    assert gcloud.count("projects.get") == crm_calls  # deleting needs no project number


def test_token_never_in_verbose_output(playbook, gcloud, tmp_path):
    with open(gcloud.key_path) as fh:
        key = json.load(fh)
    r = playbook(
        PLAY,
        extra_vars={"sm_args": _args(gcloud, secret_value=TOKEN, credentials_file=None, credentials_json=json.dumps(key))},
        diff=True,
        verbosity=4,
        json_output=False,
    )
    assert r.rc == 0, r.output[-3000:]
    assert "dockerhub-token" in r.output  # the run really printed results
    assert TOKEN not in r.output
    assert key["private_key"].splitlines()[1] not in r.output
    # tokens minted by the stand-in for this run never appear either
    for issued in list(gcloud.tokens):
        assert issued not in r.output


def test_sovereign_universe_self_signed_jwt(playbook, gcloud, tmp_path):
    """A key of the S3NS universe: google-auth sends self-signed JWTs (verified by the stand-in
    with the key's public half), no token endpoint call, explicit project number."""
    key = gcloud.add_service_account("deployer@sov-project.iam.gserviceaccount.com", universe_domain="s3nsapis.fr")
    path = tmp_path / "sov.json"
    path.write_text(json.dumps(key))
    minted = gcloud.count("token")
    r = _run(
        playbook,
        gcloud,
        credentials_file=str(path),
        universe_domain="s3nsapis.fr",
        project_number=str(NUMBER),
        secret_value=TOKEN,
        replication="user_managed",
        locations=["u-france-east1"],
    )
    assert r.rc == 0, r.output
    res = r.result("secret")
    assert res["changed"] and res["members"] == [AGENT]
    assert gcloud.count("token") == minted  # nothing asked the OAuth endpoint
    assert gcloud.count("projects.get") == 0  # project_number given
    assert _members(_policy(gcloud)) == [AGENT]
    mismatch = _run(playbook, gcloud, credentials_file=str(path), universe_domain="googleapis.com", secret_value=TOKEN)
    assert mismatch.rc != 0
    assert "does not match the universe_domain 's3nsapis.fr'" in mismatch.result("secret")["msg"]


def test_secret_file_and_denied_version_add(playbook, gcloud, tmp_path):
    token_file = tmp_path / "hub-token"
    token_file.write_bytes(TOKEN.encode() + b"\n")
    gcloud.deny("secretmanager.versions.add")
    r = _run(playbook, gcloud, secret_file=str(token_file))
    assert r.rc != 0
    msg = r.result("secret")["msg"]
    assert "permission secretmanager.versions.add denied on projects/%s/secrets/dockerhub-token" % PROJECT in msg
    assert _versions(gcloud) == []
    gcloud.allow("secretmanager.versions.add")
    r = _run(playbook, gcloud, secret_file=str(token_file))
    assert r.rc == 0, r.output
    assert r.result("secret")["version_added"]
    assert _access(gcloud, "projects/%s/secrets/dockerhub-token/versions/1" % PROJECT) == TOKEN + "\n"  # bytes as in the file
    assert not _run(playbook, gcloud, secret_file=str(token_file)).result("secret")["changed"]
    both = _run(playbook, gcloud, secret_file=str(token_file), secret_value=TOKEN)
    assert both.rc != 0 and "mutually exclusive" in both.result("secret")["msg"]


def test_access_token_auth_and_refused_token(playbook, gcloud):
    token, _unused = gcloud.issue_token(DEPLOYER, ["https://www.googleapis.com/auth/cloud-platform"])
    r = _run(playbook, gcloud, credentials_file=None, access_token=token, secret_value=TOKEN)
    assert r.rc == 0, r.output
    assert r.result("secret")["version_added"]
    assert token not in r.output
    bad = _run(playbook, gcloud, credentials_file=None, access_token="ya29.c.revoked-or-made-up", secret_value=TOKEN)
    assert bad.rc != 0
    msg = bad.result("secret")["msg"]
    assert "HTTP 401 UNAUTHENTICATED" in msg and "check auth_kind, the key or the access_token" in msg
    assert "ya29.c.revoked-or-made-up" not in bad.output
