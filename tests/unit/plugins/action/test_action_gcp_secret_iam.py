"""plugins/action/gcp_secret_iam.py: the secret's value and the Google credentials reach the module in the
secrets file only, and the module still uses them. Every Google API is a loopback endpoint that refuses the
caller (403, Google's error shape): the module's error names the call and holds no secret."""

from __future__ import annotations

import json

from fixtures.http_stand_in import HttpStandIn, StandInHandler

MODULE = "cloud_registry.auth.gcp_secret_iam"
VALUE, TOKEN = "dockerhub-PAT-VALUE-gcp", "ya29.access-token-VALUE-gcp"


class Refusing(HttpStandIn):
    """Answers every request 403 PERMISSION_DENIED and keeps the Authorization headers it was sent."""

    def __init__(self):
        super().__init__()
        self.authorizations = []

    def handler_class(self):
        outer = self

        class Handler(StandInHandler):
            def do_GET(self):  # noqa: N802 - http.server API
                outer.authorizations.append(self.headers.get("Authorization"))
                self.read_body()
                self.send_json(
                    403, {"error": {"code": 403, "status": "PERMISSION_DENIED", "message": "The caller does not have permission"}}
                )

            do_POST = do_PATCH = do_GET  # noqa: N815

        return Handler


def test_the_value_and_the_token_go_by_file(run_action):
    with Refusing() as google:
        run = run_action(
            MODULE,
            {
                "project": "my-project",
                "project_number": "123456",
                "secret_id": "dockerhub",
                "secret_value": VALUE,
                "access_token": TOKEN,
                "secretmanager_endpoint": google.url,
                "resourcemanager_endpoint": google.url,
                "artifactregistry_endpoint": google.url,
            },
        )
    for secret in (VALUE, TOKEN):
        assert secret not in json.dumps(run.module_args) and secret in run.secrets
        assert secret not in json.dumps(run.result, default=str)
    assert google.authorizations and set(google.authorizations) == {"Bearer " + TOKEN}  # the module had it
    assert run.module_args["secret_id"] == "dockerhub" and run.secrets_left is False
    assert run.result["failed"] is True and "PERMISSION_DENIED" in run.result["msg"], run.result["msg"]
