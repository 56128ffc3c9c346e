"""Unit tests for module_utils/gcp_api.py: CRC32C, policy merge, replication, names (no network)."""

from __future__ import annotations

import copy
import zlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.cloud_registry.auth.plugins.module_utils import gcp_api
from ansible_collections.cloud_registry.auth.plugins.module_utils.gcp_api import (
    GcpApiError,
    crc32c,
    normalize_member,
    policy_with_members,
    policy_without_members,
    replication_body,
    replication_matches,
    role_members,
    same_secret_version,
    service_agent,
    update_policy,
)
from fixtures.google_cloud import crc32c as _bitwise  # the stand-in's own bitwise reference, independent of gcp_api

ROLE = "roles/secretmanager.secretAccessor"
COND = {"title": "t", "expression": "request.time < timestamp('2030-01-01T00:00:00Z')"}


# RFC 3720 (iSCSI) appendix B.4 test vectors and the classic check value.
@pytest.mark.parametrize(
    "data, expected",
    [
        (b"", 0x00000000),
        (b"123456789", 0xE3069283),
        (bytes(32), 0x8A9136AA),
        (b"\xff" * 32, 0x62A8AB43),
        (bytes(range(32)), 0x46DD794E),
        (bytes(reversed(range(32))), 0x113FDB5C),
        (b"a", 0xC1D04330),
    ],
)
@pytest.mark.parametrize("fast", [True, False], ids=["google-crc32c", "pure-python"])
def test_crc32c_vectors(data, expected, fast):
    assert crc32c(data, fast=fast) == expected


@pytest.mark.parametrize("fast", [True, False], ids=["google-crc32c", "pure-python"])
@given(a=st.binary(max_size=512), b=st.binary(max_size=512))
def test_crc32c_matches_bitwise_and_is_incremental(a, b, fast):
    assert crc32c(a + b, fast=fast) == _bitwise(a + b)
    assert crc32c(b, crc32c(a, fast=fast), fast=fast) == crc32c(a + b, fast=fast)
    assert crc32c(bytearray(a), fast=fast) == crc32c(a, fast=not fast)  # both paths agree, on any bytes-like


def test_crc32c_uses_the_c_extension_where_installed():
    google_crc32c = pytest.importorskip("google_crc32c", reason="google-crc32c is in requirements-test.txt")
    if google_crc32c.implementation != "c":
        pytest.skip("google-crc32c has no C extension on this platform")
    assert gcp_api._GOOGLE_CRC32C is not None


def test_crc32c_is_castagnoli_not_zlib():
    # the RFC 3720 check value; zlib's CRC-32 of the same bytes is 0xCBF43926
    assert crc32c(b"123456789") == 0xE3069283
    assert zlib.crc32(b"123456789") == 0xCBF43926


def test_service_agent():
    assert service_agent("42") == "serviceAccount:service-42@gcp-sa-artifactregistry.iam.gserviceaccount.com"


def test_policy_add_keeps_everything_else():
    policy = {
        "version": 1,
        "etag": "BwX=",
        "bindings": [
            {"role": "roles/viewer", "members": ["user:a@x"]},
            {"role": ROLE, "members": ["user:b@x"], "condition": COND},
            {"role": ROLE, "members": ["user:c@x"]},
        ],
        "auditConfigs": [{"service": "allServices"}],
    }
    original = copy.deepcopy(policy)
    new, added = policy_with_members(policy, ROLE, ["user:c@x", "user:d@x"])
    assert policy == original  # input untouched
    assert added == ["user:d@x"]
    assert new["etag"] == "BwX=" and new["version"] == 3 and new["auditConfigs"] == original["auditConfigs"]
    assert new["bindings"][0] == original["bindings"][0]
    assert new["bindings"][1] == original["bindings"][1]  # conditional binding untouched
    assert new["bindings"][2] == {"role": ROLE, "members": ["user:c@x", "user:d@x"]}
    again, added = policy_with_members(new, ROLE, ["user:d@x"])
    assert added == [] and again == new


def test_policy_add_to_empty_policy():
    new, added = policy_with_members({"version": 1, "etag": "ACAB"}, ROLE, ["user:a@x"])
    assert new == {"version": 3, "etag": "ACAB", "bindings": [{"role": ROLE, "members": ["user:a@x"]}]}
    assert added == ["user:a@x"]


def test_policy_remove_only_unconditional_and_drops_empty_binding():
    policy = {
        "etag": "e",
        "bindings": [
            {"role": ROLE, "members": ["user:a@x"], "condition": COND},
            {"role": ROLE, "members": ["user:a@x"]},
            {"role": "roles/viewer", "members": ["user:a@x"]},
        ],
    }
    new, removed = policy_without_members(policy, ROLE, ["user:a@x"])
    assert removed == ["user:a@x"]
    assert new["bindings"] == [policy["bindings"][0], policy["bindings"][2]]
    assert role_members(new, ROLE) == []
    assert policy_without_members(new, ROLE, ["user:a@x"])[1] == []


@pytest.mark.parametrize(
    "current, wanted, same",
    [
        ({"automatic": {}}, {"automatic": {}}, True),
        ({"automatic": {"customerManagedEncryption": {"kmsKeyName": "k"}}}, {"automatic": {}}, True),
        ({"automatic": {}}, replication_body("user_managed", ["eu"]), False),
        (replication_body("user_managed", ["a", "b"]), replication_body("user_managed", ["b", "a"]), True),
        (replication_body("user_managed", ["a"]), replication_body("user_managed", ["a", "b"]), False),
        (replication_body("user_managed", ["a"]), {"automatic": {}}, False),
    ],
)
def test_replication_matches(current, wanted, same):
    assert replication_matches(current, wanted) is same


def test_replication_body_errors():
    with pytest.raises(GcpApiError, match="at least one location"):
        replication_body("user_managed", [])
    with pytest.raises(GcpApiError, match="automatic"):
        replication_body("global")


@pytest.mark.parametrize(
    "a, b, aliases, same",
    [
        ("projects/p/secrets/s/versions/1", "projects/p/secrets/s/versions/1", (), True),
        ("projects/p/secrets/s/versions/1", "projects/123/secrets/s/versions/1", ("p", "123"), True),
        ("projects/p/secrets/s/versions/1", "projects/123/secrets/s/versions/1", ("p",), False),
        ("projects/p/secrets/s/versions/1", "projects/p/secrets/s/versions/2", ("p",), False),
        ("projects/p/secrets/s/versions/1", "projects/p/secrets/t/versions/1", ("p",), False),
        ("projects/p/secrets/s/versions/1", None, (), False),
    ],
)
def test_same_secret_version(a, b, aliases, same):
    assert same_secret_version(a, b, aliases) is same


def test_normalize_member():
    assert normalize_member("sa@p.iam.gserviceaccount.com") == "serviceAccount:sa@p.iam.gserviceaccount.com"
    assert normalize_member("user:a@x") == "user:a@x"
    with pytest.raises(GcpApiError, match="type prefix"):
        normalize_member("alice@example.com")


class FakePolicyClient:
    """Only for the retry loop's control flow; the HTTP behaviour is tested against the stand-in."""

    def __init__(self, conflicts):
        self.conflicts = conflicts
        self.policy = {"etag": "0", "bindings": []}
        self.gets = self.sets = 0

    def get_iam_policy(self, project, secret):
        self.gets += 1
        return copy.deepcopy(self.policy)

    def set_iam_policy(self, project, secret, policy):
        self.sets += 1
        if self.conflicts:
            self.conflicts -= 1
            raise GcpApiError("conflict", status="ABORTED", code=409)
        self.policy = dict(policy, etag=str(self.sets))
        return self.policy


def test_update_policy_retries_whole_cycle_then_gives_up():
    sleeps = []
    client = FakePolicyClient(conflicts=2)
    before, after, changed = update_policy(
        client, "p", "s", lambda p: policy_with_members(p, ROLE, ["user:a@x"]), sleep=sleeps.append
    )
    assert changed and client.gets == 3 and client.sets == 3
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0] * 0.9  # backoff grows
    client = FakePolicyClient(conflicts=10)
    with pytest.raises(GcpApiError, match="still conflicting after 2 retries"):
        update_policy(client, "p", "s", lambda p: policy_with_members(p, ROLE, ["user:a@x"]), retries=2, sleep=lambda s: None)


def test_update_policy_check_mode_never_writes():
    client = FakePolicyClient(conflicts=0)
    _unused, after, changed = update_policy(
        client, "p", "s", lambda p: policy_with_members(p, ROLE, ["user:a@x"]), check_mode=True
    )
    assert changed and client.sets == 0 and role_members(after, ROLE) == ["user:a@x"]


def test_error_message_names_permission_and_resource():
    class Resp:
        status_code = 403
        reason = "Forbidden"
        content = b"x"

        def json(self):
            return {
                "error": {
                    "code": 403,
                    "status": "PERMISSION_DENIED",
                    "message": "denied",
                    "details": [{"metadata": {"permission": "secretmanager.versions.add", "resource": "projects/p/secrets/s"}}],
                }
            }

    err = gcp_api.GcpClient._error(Resp(), "add a version to secret p/s", "/v1/x")
    assert err.code == 403 and err.permission == "secretmanager.versions.add"
    assert "secretmanager.versions.add" in str(err) and "projects/p/secrets/s" in str(err)
