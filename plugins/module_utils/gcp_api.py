# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Google Cloud REST for Secret Manager, IAM on secrets, Resource Manager and Artifact Registry.

Controller-side. Public to this collection's modules (``gcp_secret_iam`` and the
``artifact_registry_upstream`` role through it); not a stable API for others.

- ``GcpClient(options)``: authenticated REST calls (google-auth credentials built by
  ``_gcp_auth`` from the ``gcp_auth`` doc-fragment options, ``requests`` transport).
  Errors become ``GcpApiError`` naming the call, the resource and, for 403, the missing
  permission. No secret ever goes into a message.
- Pure helpers (unit tested): ``crc32c``, ``replication_body``, ``replication_matches``,
  ``policy_with_members`` / ``policy_without_members`` (etag, version 3, conditions and
  other bindings preserved), ``service_agent``, ``same_secret_version``.
- ``ensure_secret_iam(client, params, check_mode)``: the whole ``gcp_secret_iam`` task.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import copy
import json
import re
import time

from ansible_collections.cloud_registry.auth.plugins.module_utils import _gcp_auth
from ansible_collections.cloud_registry.auth.plugins.module_utils.errors import CloudRegistryError
from ansible_collections.cloud_registry.auth.plugins.module_utils.retry import TryAgain, retrying

try:
    import requests

    HAS_REQUESTS = True
except ImportError:  # pragma: no cover - depends on the environment
    HAS_REQUESTS = False

MASK = "********"  # same string as docker_config.MASK (kept local: this file is controller-side)
SECRET_ACCESSOR = "roles/secretmanager.secretAccessor"
SERVICE_AGENT = "serviceAccount:service-%s@gcp-sa-artifactregistry.iam.gserviceaccount.com"
UPSTREAM_MASK = "remoteRepositoryConfig.upstreamCredentials"
RETRY_STATUSES = (429, 500, 502, 503, 504)


class GcpApiError(CloudRegistryError):
    """A Google API call failed; the message names the call, resource and fix (never a secret)."""

    def __init__(self, message, status=None, code=None, permission=None, resource=None):
        super(GcpApiError, self).__init__(message)
        self.status = status
        self.code = code
        self.permission = permission
        self.resource = resource


try:  # the C implementation Google's client libraries use, when installed (optional)
    import google_crc32c

    _GOOGLE_CRC32C = google_crc32c.extend if google_crc32c.implementation == "c" else None
except (ImportError, AttributeError):  # pragma: no cover - depends on the environment
    _GOOGLE_CRC32C = None


# ---- CRC32C (Castagnoli) ------------------------------------------------------------------------

_CRC32C_POLY = 0x82F63B78


def _make_table():
    table = []
    for i in range(256):
        crc = i
        for _dummy in range(8):
            crc = (crc >> 1) ^ _CRC32C_POLY if crc & 1 else crc >> 1
        table.append(crc)
    return table


_CRC32C_TABLE = _make_table()


def crc32c(data, crc=0, fast=True):
    """CRC-32C of ``data`` (bytes), as Secret Manager's ``dataCrc32c`` expects (unsigned int);
    ``crc`` continues an earlier value. With ``google-crc32c``'s C extension installed it
    computes it (thousands of times faster on 64 KiB: tests/perf/test_gcp_perf.py); otherwise,
    or with ``fast=False``, the table-driven pure Python below."""
    if fast and _GOOGLE_CRC32C is not None:
        return _GOOGLE_CRC32C(crc, bytes(data))
    crc ^= 0xFFFFFFFF
    table = _CRC32C_TABLE
    for byte in bytearray(data):
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


# ---- pure helpers ------------------------------------------------------------------------------


def service_agent(project_number):
    """The Artifact Registry service agent member of a project (``serviceAccount:...``)."""
    return SERVICE_AGENT % project_number


def replication_body(kind, locations=None):
    """Secret Manager ``replication`` JSON for ``automatic`` or ``user_managed`` + locations."""
    if kind == "automatic":
        return {"automatic": {}}
    if kind == "user_managed":
        if not locations:
            raise GcpApiError("replication=user_managed needs at least one location in 'locations'")
        return {"userManaged": {"replicas": [{"location": loc} for loc in locations]}}
    raise GcpApiError("replication must be 'automatic' or 'user_managed', not %r" % (kind,))


def describe_replication(rep):
    if not rep:
        return "unknown"
    if "automatic" in rep:
        return "automatic"
    locs = sorted(r.get("location", "?") for r in (rep.get("userManaged") or {}).get("replicas") or [])
    return "user_managed (%s)" % ", ".join(locs)


def replication_matches(current, wanted):
    """True when two replication JSONs mean the same (locations compared as a set; CMEK ignored)."""
    if ("automatic" in (current or {})) != ("automatic" in wanted):
        return False
    if "automatic" in wanted:
        return True
    cur = set(r.get("location") for r in ((current or {}).get("userManaged") or {}).get("replicas") or [])
    new = set(r.get("location") for r in (wanted.get("userManaged") or {}).get("replicas") or [])
    return cur == new


def _unconditional(binding, role):
    return binding.get("role") == role and not binding.get("condition")


def policy_with_members(policy, role, members):
    """``(new_policy, added)``: ``members`` in the unconditional ``role`` binding.

    Everything else (other roles, conditional bindings of the same role, auditConfigs,
    the etag) is kept; ``version`` becomes 3 so conditional bindings survive a write.
    """
    new = copy.deepcopy(policy or {})
    bindings = new.setdefault("bindings", [])
    target = None
    for binding in bindings:
        if _unconditional(binding, role):
            target = binding
            break
    if target is None:
        target = {"role": role, "members": []}
        bindings.append(target)
    present = target.setdefault("members", [])
    added = [m for m in members if m not in present]
    present.extend(added)
    if not present:
        bindings.remove(target)
    new["version"] = 3
    return new, added


def policy_without_members(policy, role, members):
    """``(new_policy, removed)``: ``members`` out of the unconditional ``role`` binding."""
    new = copy.deepcopy(policy or {})
    bindings = new.setdefault("bindings", [])
    removed = []
    for binding in list(bindings):
        if _unconditional(binding, role):
            keep = []
            for m in binding.get("members") or []:
                if m in members:
                    removed.append(m)
                else:
                    keep.append(m)
            binding["members"] = keep
            if not keep:
                bindings.remove(binding)
    new["version"] = 3
    return new, removed


def role_members(policy, role):
    """Members of the unconditional ``role`` binding (sorted), for diffs and returns."""
    out = []
    for binding in (policy or {}).get("bindings") or []:
        if _unconditional(binding, role):
            out.extend(binding.get("members") or [])
    return sorted(set(out))


_VERSION_RE = re.compile(r"^projects/([^/]+)/secrets/([^/]+)/versions/([^/]+)$")


def same_secret_version(a, b, project_aliases=()):
    """True when two ``projects/P/secrets/S/versions/V`` names point at the same version.

    ``P`` may be the project id or number (``project_aliases`` lists both).
    """
    ma, mb = _VERSION_RE.match(a or ""), _VERSION_RE.match(b or "")
    if not ma or not mb:
        return False
    aliases = set(str(p) for p in project_aliases)
    same_project = ma.group(1) == mb.group(1) or (ma.group(1) in aliases and mb.group(1) in aliases)
    return same_project and ma.group(2) == mb.group(2) and ma.group(3) == mb.group(3)


def normalize_member(member):
    """Accept bare e-mails as a convenience: ``x@y.iam.gserviceaccount.com`` -> ``serviceAccount:...``."""
    if ":" in member or member in ("allUsers", "allAuthenticatedUsers"):
        return member
    if member.endswith(".gserviceaccount.com"):
        return "serviceAccount:" + member
    raise GcpApiError(
        "IAM member %r has no type prefix; write it as user:EMAIL, group:EMAIL, serviceAccount:EMAIL or domain:DOMAIN" % member
    )


# ---- REST client ---------------------------------------------------------------------------------


def _default_endpoint(service, universe):
    return "https://%s.%s" % (service, universe or _gcp_auth.DEFAULT_UNIVERSE)


class GcpClient:
    """Authenticated Google REST calls (see the module docstring)."""

    def __init__(self, options, endpoints=None, timeout=30, retries=3, sleep=time.sleep):
        if not HAS_REQUESTS:
            raise GcpApiError(
                "the Python library requests is required (with google-auth>=%s); install it with "
                "'pip install requests \"google-auth>=%s\"'"
                % (_gcp_auth.GOOGLE_AUTH_MIN_VERSION, _gcp_auth.GOOGLE_AUTH_MIN_VERSION)
            )
        self.options = options
        universe = options.get("universe_domain")
        endpoints = endpoints or {}
        self.endpoints = {}
        for service in ("secretmanager", "cloudresourcemanager", "artifactregistry"):
            self.endpoints[service] = (endpoints.get(service) or _default_endpoint(service, universe)).rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.sleep = sleep
        self.session = requests.Session()
        self._creds = None
        self._token = None
        self._expiry = None
        self.calls = 0

    # -- auth
    def _bearer(self):
        now = time.time()
        if self._token and (self._expiry is None or self._expiry.timestamp() - now > 60):
            return self._token
        try:
            if self._creds is None:
                self._creds = _gcp_auth.credentials(self.options)
            self._token, self._expiry = _gcp_auth.refresh(self._creds, self.options)
        except _gcp_auth.GcpAuthError as exc:
            raise GcpApiError(str(exc)) from None
        return self._token

    # -- transport
    def request(self, method, service, path, params=None, body=None, what=None):
        """JSON call; returns the decoded body ({} when empty). ``what`` names the call in errors.

        A GET that cannot connect or gets 429/5xx is tried again ``retries`` times with backoff
        (1, 2, 4, 8 s); a 401 renews the access token and sends the request once more."""
        url = self.endpoints[service] + path
        what = what or "%s %s" % (method, path)
        renewed = []

        def send(_attempt):
            headers = {"Authorization": "Bearer " + self._bearer(), "Accept": "application/json"}
            data = None
            if body is not None:
                headers["Content-Type"] = "application/json"
                data = json.dumps(body)
            self.calls += 1
            try:
                resp = self.session.request(method, url, params=params, data=data, headers=headers, timeout=self.timeout)
            except requests.RequestException as exc:
                error = GcpApiError(
                    "%s: cannot reach %s (%s); check the endpoint and network access"
                    % (what, self.endpoints[service], exc.__class__.__name__)
                )
                raise (TryAgain(error) if method == "GET" else error) from None
            if resp.status_code == 401 and not renewed:
                renewed.append(True)
                self._token = None
                return send(_attempt)
            if resp.status_code in RETRY_STATUSES and method == "GET":
                raise TryAgain(self._error(resp, what, path))
            return resp

        resp = retrying(send, self.retries + 1, base=1.0, cap=8, sleep=self.sleep)
        if resp.status_code >= 400:
            raise self._error(resp, what, path)
        if not resp.content:
            return {}
        try:
            return resp.json()
        except ValueError:
            raise GcpApiError("%s: the API answered with a non-JSON body (HTTP %d)" % (what, resp.status_code)) from None

    @staticmethod
    def _error(resp, what, path):
        status, message, permission, resource = None, None, None, None
        try:
            err = resp.json().get("error") or {}
        except ValueError:
            err = {}
        if isinstance(err, dict):
            status = err.get("status")
            message = err.get("message")
            for det in err.get("details") or []:
                meta = det.get("metadata") if isinstance(det, dict) else None
                if isinstance(meta, dict) and meta.get("permission"):
                    permission, resource = meta.get("permission"), meta.get("resource")
        code = resp.status_code
        text = "%s failed: HTTP %d %s: %s" % (what, code, status or "", message or resp.reason or "")
        if code == 403 and permission:
            text = "%s failed: permission %s denied on %s (or it does not exist); grant the caller a role with %s on it" % (
                what,
                permission,
                resource or path,
                permission,
            )
        elif code == 401:
            text += "; the credentials were refused: check auth_kind, the key or the access_token"
        return GcpApiError(text, status=status, code=code, permission=permission, resource=resource)

    # -- Resource Manager
    def project_number(self, project):
        if str(project).isdigit():
            return str(project)
        try:
            data = self.request("GET", "cloudresourcemanager", "/v1/projects/%s" % project, what="get project %s" % project)
        except GcpApiError as exc:
            if exc.code in (403, 404):
                raise GcpApiError(
                    "project %r cannot be read through Cloud Resource Manager (%s); check that the project id is "
                    "right and that the caller has resourcemanager.projects.get, or pass project_number" % (project, exc),
                    status=exc.status,
                    code=exc.code,
                    permission=exc.permission,
                    resource=exc.resource,
                ) from None
            raise
        number = data.get("projectNumber")
        if not number:
            raise GcpApiError("get project %s: the answer has no projectNumber" % project)
        return str(number)

    # -- Secret Manager
    def _secret_path(self, project, secret_id):
        return "/v1/projects/%s/secrets/%s" % (project, secret_id)

    def get_secret(self, project, secret_id):
        try:
            return self.request(
                "GET",
                "secretmanager",
                self._secret_path(project, secret_id),
                what="get secret %s/%s" % (project, secret_id),
            )
        except GcpApiError as exc:
            if exc.code == 404:
                return None
            raise

    def create_secret(self, project, secret_id, replication, labels=None):
        body = {"replication": replication}
        if labels:
            body["labels"] = labels
        return self.request(
            "POST",
            "secretmanager",
            "/v1/projects/%s/secrets" % project,
            params={"secretId": secret_id},
            body=body,
            what="create secret %s/%s" % (project, secret_id),
        )

    def set_secret_labels(self, project, secret_id, labels):
        return self.request(
            "PATCH",
            "secretmanager",
            self._secret_path(project, secret_id),
            params={"updateMask": "labels"},
            body={"labels": labels},
            what="update labels of secret %s/%s" % (project, secret_id),
        )

    def delete_secret(self, project, secret_id):
        return self.request(
            "DELETE",
            "secretmanager",
            self._secret_path(project, secret_id),
            what="delete secret %s/%s" % (project, secret_id),
        )

    def list_versions(self, project, secret_id, state=None):
        """All versions, newest first (optionally only ``state``)."""
        out, token = [], None
        while True:
            params = {"pageSize": 100}
            if state:
                params["filter"] = "state:%s" % state
            if token:
                params["pageToken"] = token
            data = self.request(
                "GET",
                "secretmanager",
                self._secret_path(project, secret_id) + "/versions",
                params=params,
                what="list versions of secret %s/%s" % (project, secret_id),
            )
            out.extend(data.get("versions") or [])
            token = data.get("nextPageToken")
            if not token:
                return out

    def access_version(self, version_name):
        """The payload bytes of ``projects/P/secrets/S/versions/V``, CRC32C-verified."""
        data = self.request("GET", "secretmanager", "/v1/%s:access" % version_name, what="access %s" % version_name)
        payload = data.get("payload") or {}
        try:
            raw = base64.b64decode(payload.get("data") or "")
        except (TypeError, ValueError):
            raise GcpApiError("access %s: the payload is not valid base64" % version_name) from None
        expected = payload.get("dataCrc32c")
        if expected is not None and int(expected) != crc32c(raw):
            raise GcpApiError(
                "access %s: the payload's CRC32C does not match; the data was corrupted in transit, retry" % version_name
            )
        return raw

    def add_version(self, project, secret_id, data):
        body = {"payload": {"data": base64.b64encode(data).decode("ascii"), "dataCrc32c": str(crc32c(data))}}
        version = self.request(
            "POST",
            "secretmanager",
            self._secret_path(project, secret_id) + ":addVersion",
            body=body,
            what="add a version to secret %s/%s" % (project, secret_id),
        )
        if version.get("clientSpecifiedPayloadChecksum") is not True:
            raise GcpApiError(
                "add a version to secret %s/%s: the server did not confirm the payload checksum "
                "(clientSpecifiedPayloadChecksum is not true); check the new version %s"
                % (project, secret_id, version.get("name", "?"))
            )
        return version

    def disable_version(self, version_name):
        return self.request("POST", "secretmanager", "/v1/%s:disable" % version_name, body={}, what="disable %s" % version_name)

    def get_iam_policy(self, project, secret_id):
        return self.request(
            "GET",
            "secretmanager",
            self._secret_path(project, secret_id) + ":getIamPolicy",
            params={"options.requestedPolicyVersion": 3},
            what="get the IAM policy of secret %s/%s" % (project, secret_id),
        )

    def set_iam_policy(self, project, secret_id, policy):
        return self.request(
            "POST",
            "secretmanager",
            self._secret_path(project, secret_id) + ":setIamPolicy",
            body={"policy": policy},
            what="set the IAM policy of secret %s/%s" % (project, secret_id),
        )

    # -- Artifact Registry
    def _repo_path(self, project, location, repository):
        return "/v1/projects/%s/locations/%s/repositories/%s" % (project, location, repository)

    def get_repository(self, project, location, repository):
        try:
            return self.request(
                "GET",
                "artifactregistry",
                self._repo_path(project, location, repository),
                what="get repository %s/%s/%s" % (project, location, repository),
            )
        except GcpApiError as exc:
            if exc.code == 404:
                return None
            raise

    def create_repository(self, project, location, repository, body, wait=120):
        what = "create repository %s/%s/%s" % (project, location, repository)
        op = self.request(
            "POST",
            "artifactregistry",
            "/v1/projects/%s/locations/%s/repositories" % (project, location),
            params={"repositoryId": repository},
            body=body,
            what=what,
        )
        deadline = time.time() + wait
        delay = 1.0
        while not op.get("done"):
            if time.time() > deadline:
                raise GcpApiError("%s: operation %s still running after %ds" % (what, op.get("name"), wait))
            self.sleep(delay)
            delay = min(delay * 2, 10)
            op = self.request("GET", "artifactregistry", "/v1/%s" % op["name"], what=what + " (operation)")
        if op.get("error"):
            raise GcpApiError("%s failed: %s" % (what, op["error"].get("message", op["error"])))
        repo = dict(op.get("response") or {})
        repo.pop("@type", None)
        return repo or self.get_repository(project, location, repository)

    def patch_repository(self, project, location, repository, body, update_mask):
        return self.request(
            "PATCH",
            "artifactregistry",
            self._repo_path(project, location, repository),
            params={"updateMask": update_mask},
            body=body,
            what="update repository %s/%s/%s" % (project, location, repository),
        )


# ---- the gcp_secret_iam task ----------------------------------------------------------------------


def update_policy(client, project, secret_id, mutate, check_mode=False, retries=5, backoff=0.5, sleep=time.sleep):
    """Read-modify-write the secret's IAM policy; retry the whole cycle on 409 ABORTED (the etag moved).

    ``mutate(policy) -> (new_policy, changed_members)``. Returns ``(before, after, changed)``.
    """

    def cycle(_attempt):
        before = client.get_iam_policy(project, secret_id)
        after, delta = mutate(before)
        if not delta:
            return before, before, False
        if check_mode:
            return before, after, True
        try:
            return before, client.set_iam_policy(project, secret_id, after), True
        except GcpApiError as exc:
            if exc.code == 409 and exc.status == "ABORTED":
                raise TryAgain(
                    GcpApiError(
                        "set the IAM policy of secret %s/%s: still conflicting after %d retries (someone else keeps "
                        "changing it); run again" % (project, secret_id, retries),
                        status=exc.status,
                        code=exc.code,
                    )
                ) from None
            raise

    return retrying(cycle, retries + 1, base=backoff, jitter=True, sleep=sleep)


def _upstream(repo):
    return (((repo or {}).get("remoteRepositoryConfig") or {}).get("upstreamCredentials") or {}).get(
        "usernamePasswordCredentials"
    ) or {}


def ensure_secret_iam(client, params, check_mode=False, sleep=time.sleep):
    """Converge one secret (+ version + IAM binding + optional AR wiring); returns the result dict.

    ``params`` are the module's options (plain values). ``secret_value`` is bytes or str.
    """
    return _SecretConvergence(client, params, check_mode, sleep).run()


class _SecretConvergence:
    """One run of gcp_secret_iam: each concern (members, secret, version, IAM, repository) is one method, and all
    of them fill one result dict and its before/after diff."""

    def __init__(self, client, params, check_mode, sleep):
        self.client, self.params, self.check_mode, self.sleep = client, params, check_mode, sleep
        self.project, self.secret_id = params["project"], params["secret_id"]
        self.role = params.get("role") or SECRET_ACCESSOR
        self.members = [normalize_member(m) for m in (params.get("members") or [])]
        self.result = {
            "changed": False,
            "secret": None,
            "secret_created": False,
            "version": None,
            "version_added": False,
            "versions_disabled": [],
            "policy_changed": False,
            "members": self.members,
            "repository": None,
            "repository_changed": False,
            "diff": {"before": {}, "after": {}},
        }
        self.before, self.after = self.result["diff"]["before"], self.result["diff"]["after"]

    def run(self):
        state = self.params.get("state") or "present"
        if state == "present":
            self.resolve_members()  # fail early (bad project) before anything is written
        secret = self.client.get_secret(self.project, self.secret_id)
        if secret is not None:
            self.result["secret"] = secret.get("name")
            self.before["secret"] = {
                "name": secret.get("name"),
                "replication": describe_replication(secret.get("replication")),
                "labels": secret.get("labels") or {},
            }
        if state == "absent":
            return self.absent(secret)
        secret = self.secret(secret)
        self.version()
        self.iam(secret)
        remote = self.params.get("remote_repository")
        if remote:
            _ensure_repository(self.client, self.params, remote, self.result, self.check_mode)
        return self.result

    def changed(self):
        self.result["changed"] = True

    def resolve_members(self):
        """The members, the project's Artifact Registry service agent when none are given."""
        if not self.members:
            number = self.params.get("project_number")
            self.members.append(service_agent(str(number) if number else self.client.project_number(self.project)))
        return self.members

    def policy(self, edit):
        """Apply ``edit(policy, role, members)`` to the secret's IAM policy; record the diff; return changed."""
        pol_before, pol_after, changed = update_policy(
            self.client,
            self.project,
            self.secret_id,
            lambda p: edit(p, self.role, self.members),
            self.check_mode,
            self.params.get("iam_retries", 5),
            sleep=self.sleep,
        )
        self.before["policy"] = {self.role: role_members(pol_before, self.role)}
        self.after["policy"] = {self.role: role_members(pol_after, self.role)}
        self.result["policy_changed"] = changed
        return changed

    def absent(self, secret):
        if secret is None:
            return self.result
        if self.params.get("delete_secret"):
            self.after["secret"] = None
            self.changed()
            if not self.check_mode:
                self.client.delete_secret(self.project, self.secret_id)
            return self.result
        self.resolve_members()
        self.result["changed"] = self.policy(policy_without_members)
        self.after["secret"] = self.before["secret"]
        return self.result

    def secret(self, secret):
        """Create the secret, or check its replication and converge its labels; returns the secret (None in check
        mode when it would be created)."""
        wanted = replication_body(self.params.get("replication") or "automatic", self.params.get("locations"))
        labels = self.params.get("labels")
        if secret is None:
            self.result["secret_created"] = True
            self.changed()
            name = "projects/%s/secrets/%s" % (self.project, self.secret_id)
            self.after["secret"] = {"name": name, "replication": describe_replication(wanted), "labels": dict(labels or {})}
            if not self.check_mode:
                secret = self.client.create_secret(self.project, self.secret_id, wanted, dict(labels or {}))
                name = self.after["secret"]["name"] = secret.get("name")
            self.result["secret"] = name
            return secret
        if not replication_matches(secret.get("replication"), wanted):
            raise GcpApiError(
                "secret %s/%s has replication %s but %s was requested; replication cannot be changed after creation: "
                "set replication/locations to match, or delete the secret (state=absent, delete_secret=true) and "
                "create it again"
                % (self.project, self.secret_id, describe_replication(secret.get("replication")), describe_replication(wanted))
            )
        current = secret.get("labels") or {}
        new = dict(current) if not self.params.get("purge_labels") else {}
        new.update(labels or {})
        self.after["secret"] = dict(self.before["secret"], labels=new)
        if labels is not None and new != current:
            self.changed()
            if not self.check_mode:
                self.client.set_secret_labels(self.project, self.secret_id, new)
        return secret

    def version(self):
        """Add a version when the value differs from the newest enabled one; disable the older ones if asked."""
        value = self.params.get("secret_value")
        created = self.result["secret_created"]
        if value is None:
            enabled = [] if created else self.client.list_versions(self.project, self.secret_id, state="ENABLED")
            if enabled:
                self.result["version"] = enabled[0]["name"]
            return
        data = value.encode("utf-8") if not isinstance(value, bytes) else value
        enabled = [] if created else self.client.list_versions(self.project, self.secret_id, state="ENABLED")
        current = enabled[0] if enabled else None
        if current is not None:
            self.before["version"] = {"name": current["name"], "value": MASK}
        if current is not None and self.client.access_version(current["name"]) == data:
            self.result["version"] = current["name"]
            self.after["version"] = self.before["version"]
        else:
            self.result["version_added"] = True
            self.changed()
            if self.check_mode:
                self.after["version"] = {"name": "(new version of %s)" % self.secret_id, "value": MASK + " (changed)"}
            else:
                self.result["version"] = self.client.add_version(self.project, self.secret_id, data).get("name")
                self.after["version"] = {"name": self.result["version"], "value": MASK + " (changed)"}
        if self.params.get("disable_previous"):
            for ver in enabled:
                if ver["name"] != self.result["version"]:
                    self.result["versions_disabled"].append(ver["name"])
                    self.changed()
                    if not self.check_mode:
                        self.client.disable_version(ver["name"])

    def iam(self, secret):
        if secret is None:  # check mode, secret not created: the policy would be empty
            self.result["policy_changed"] = True
            self.before["policy"] = {self.role: []}
            self.after["policy"] = {self.role: sorted(self.members)}
        else:
            self.policy(policy_with_members)
        self.result["changed"] = self.result["changed"] or self.result["policy_changed"]


def _ensure_repository(client, params, remote, result, check_mode):
    project = params["project"]
    location, repository, username = remote["location"], remote["repository"], remote["username"]
    before, after = result["diff"]["before"], result["diff"]["after"]
    name = "projects/%s/locations/%s/repositories/%s" % (project, location, repository)
    result["repository"] = name
    version = result["version"]
    if version is None and not result["version_added"]:
        raise GcpApiError(
            "secret %s/%s has no enabled version to wire into repository %s; pass secret_value or secret_file"
            % (project, params["secret_id"], name)
        )
    # Artifact Registry stores the reference as given; use the project id like gcloud does.
    wanted_version = None
    if version:
        m = _VERSION_RE.match(version)
        wanted_version = "projects/%s/secrets/%s/versions/%s" % (project, m.group(2), m.group(3)) if m else version
    creds = {"username": username, "passwordSecretVersion": wanted_version or "(new version)"}
    repo = client.get_repository(project, location, repository)
    if repo is None:
        if not remote.get("create"):
            raise GcpApiError(
                "Artifact Registry repository %s does not exist; create it as a Docker Hub remote repository "
                "(remote_repository.create=true or the artifact_registry_upstream role) or fix location/repository" % name
            )
        before["repository"] = None
        after["repository"] = {
            "name": name,
            "upstream": dict(creds, passwordSecretVersion=creds["passwordSecretVersion"]),
        }
        result["repository_changed"] = True
        result["changed"] = True
        if not check_mode:
            body = {
                "format": "DOCKER",
                "mode": "REMOTE_REPOSITORY",
                "remoteRepositoryConfig": {
                    "dockerRepository": {"publicRepository": "DOCKER_HUB"},
                    "upstreamCredentials": {"usernamePasswordCredentials": creds},
                },
            }
            if remote.get("description"):
                body["description"] = remote["description"]
                body["remoteRepositoryConfig"]["description"] = remote["description"]
            client.create_repository(project, location, repository, body)
        return
    if repo.get("mode") != "REMOTE_REPOSITORY" or repo.get("format") != "DOCKER":
        raise GcpApiError(
            "repository %s is a %s %s repository; upstream credentials need a DOCKER REMOTE_REPOSITORY"
            % (name, repo.get("format", "?"), repo.get("mode", "STANDARD_REPOSITORY"))
        )
    current = _upstream(repo)
    before["repository"] = {
        "name": name,
        "upstream": {
            "username": current.get("username"),
            "passwordSecretVersion": current.get("passwordSecretVersion"),
        },
    }
    aliases = (project, client_number(result))
    same = (
        current.get("username") == username
        and wanted_version is not None
        and same_secret_version(current.get("passwordSecretVersion"), wanted_version, aliases)
    )
    if same:
        after["repository"] = before["repository"]
        return
    after["repository"] = {"name": name, "upstream": creds}
    result["repository_changed"] = True
    result["changed"] = True
    if not check_mode:
        body = {"remoteRepositoryConfig": {"upstreamCredentials": {"usernamePasswordCredentials": creds}}}
        client.patch_repository(project, location, repository, body, UPSTREAM_MASK)


def client_number(result):
    """The project number embedded in the secret's name (``projects/N/secrets/...``), if any."""
    m = re.match(r"^projects/(\d+)/", result.get("secret") or "")
    return m.group(1) if m else ""
