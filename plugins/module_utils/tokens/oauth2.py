# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private: generic registry token-service provider (Docker Hub, Harbor, GitLab, Quay, distribution).

Not public API. Standard library only. Implements the client side of the
distribution token authentication specification:

1. ``GET <registry>/v2/`` without credentials; the ``401`` answer carries
   ``WWW-Authenticate: Bearer realm="...",service="..."`` (skipped when
   ``realm`` is given).
2. ``token_type=access_token``: ``GET <realm>?service=..&scope=..`` with HTTP
   Basic (username + password/PAT) -> ``token``/``access_token``,
   ``expires_in`` (60 s when absent, as the specification says), ``issued_at``.
3. ``token_type=refresh_token``: ``POST <realm>`` form ``grant_type=password``,
   ``access_type=offline`` -> ``refresh_token`` (the "identity token" that
   ``docker login`` stores); falls back to ``GET ...&offline_token=true`` when
   the service does not implement the POST form.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

from ansible_collections.cloud_registry.auth.plugins.module_utils import distribution
from ansible_collections.cloud_registry.auth.plugins.module_utils.challenge import parse_challenges, pick_challenge
from ansible_collections.cloud_registry.auth.plugins.module_utils.errors import DockerConfigError
from ansible_collections.cloud_registry.auth.plugins.module_utils.reference import Reference
from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens import _http
from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens._options import fingerprint, http_options
from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens.base import Credential, TokenError

PROVIDER = "oauth2"
DEFAULT_CLIENT_ID = distribution.DEFAULT_CLIENT_ID


def registry_base(options):
    """(base URL, registry host) of the registry option: Docker Hub is ``docker.io`` served at
    ``registry-1.docker.io``; ``http://`` is kept (the transport accepts it for loopback only)."""
    registry = (options.get("registry") or "").strip()
    if not registry:
        raise TokenError("registry_token provider=oauth2: registry is required, e.g. registry=harbor.example.com")
    try:
        ref = Reference.parse(registry)
    except DockerConfigError as exc:
        raise TokenError("registry_token provider=oauth2: %s" % exc) from None
    return "%s://%s" % (ref.scheme or "https", ref.endpoint), ("docker.io" if ref.is_docker_hub else ref.hostport)


def scopes(options):
    scope = options.get("scope") or []
    if isinstance(scope, str):
        scope = [scope]
    if scope:
        return [s for s in scope if s]
    repo = options.get("repository")
    if repo:
        actions = options.get("actions") or ["pull"]
        if isinstance(actions, str):
            actions = [actions]
        return ["repository:%s:%s" % (repo, ",".join(actions))]
    return []


def identity(options):
    base, host = registry_base(options)
    return "|".join(
        [
            "oauth2",
            "registry=%s" % base,
            "user=%s" % (options.get("username") or ""),
            "password=%s" % fingerprint(options.get("password") or ""),
            "scope=%s" % " ".join(sorted(scopes(options))),
            "type=%s" % (options.get("token_type") or "access_token"),
            "realm=%s" % (options.get("realm") or ""),
            "service=%s" % (options.get("service") or ""),
            "client=%s" % (options.get("oauth_client_id") or ""),
            "token_username=%s" % (options.get("token_username") or ""),
        ]
    )


def parse_challenge(header):
    """{'scheme': 'bearer', 'realm': ..., 'service': ..., ...}: the challenge a client answers
    (Bearer before Basic), from the collection's one WWW-Authenticate parser."""
    picked = pick_challenge(parse_challenges(header)) if header else None
    if picked is None:
        challenges = parse_challenges(header) if header else []
        if not challenges:
            return None
        picked = challenges[0]
    scheme, params = picked
    out = dict((k, v) for k, v in params.items() if k)
    out["scheme"] = scheme
    return out


def discover(options, base):
    """realm, service of the registry (options win over the challenge)."""
    realm = options.get("realm")
    service = options.get("service")
    if realm:
        return realm, service
    url = base + "/v2/"
    result = _http.request("GET", url, PROVIDER, headers={"Accept": "application/json"}, **http_options(options))
    if result.status == 200:
        raise TokenError(
            "registry_token provider=oauth2: %s answers /v2/ without authentication, so it has no token "
            "service to mint from; give realm= if its token service is elsewhere" % base
        )
    challenge = parse_challenge(result.headers.get("WWW-Authenticate") if result.headers else None)
    if result.status != 401 or not challenge:
        raise TokenError(
            "registry_token provider=oauth2: GET %s returned HTTP %d without a Bearer challenge; check "
            "registry (it must be a Docker Registry v2 API)" % (_http.describe(url), result.status)
        )
    if challenge["scheme"] != "bearer" or not challenge.get("realm"):
        raise TokenError(
            "registry_token provider=oauth2: %s uses %s authentication, not a token service; log in with "
            "username/password directly (registry_login) instead of minting a token" % (base, challenge["scheme"].capitalize())
        )
    return challenge["realm"], service or challenge.get("service")


def _parse_time(value):
    if not isinstance(value, str) or not value:
        return None
    m = re.match(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$", value.strip())
    if not m:
        return None
    tz = m.group(4) or "Z"
    if tz == "Z":
        tz = "+0000"
    text = "%sT%s%s" % (m.group(1), m.group(2), tz.replace(":", ""))
    try:
        return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S%z").astimezone(datetime.timezone.utc)
    except ValueError:
        return None


def _token_error(result, realm, username):
    hint = None
    if result.status in (401, 403):
        hint = (
            "the token service rejected the credentials of %s; check username and password/personal access token "
            "(and its scopes)" % (username or "anonymous")
        )
    return _http.status_error(PROVIDER, "token request to", realm, result, hint=hint)


def _fetch_access_token(options, realm, service, scope_list, username, password, offline=False):
    url = distribution.token_url(realm, service, scope_list, options.get("oauth_client_id") or DEFAULT_CLIENT_ID, offline=offline)
    headers = {"Accept": "application/json"}
    if username or password:
        headers["Authorization"] = distribution.basic_header(username, password)
    result = _http.request("GET", url, PROVIDER, headers=headers, **http_options(options))
    if result.status != 200:
        raise _token_error(result, realm, username)
    return _http.json_body(PROVIDER, realm, result)


def _fetch_refresh_token(options, realm, service, scope_list, username, password):
    if not username or not password:
        raise TokenError("registry_token provider=oauth2: token_type=refresh_token needs username and password")
    form = {
        "grant_type": "password",
        "username": username,
        "password": password,
        "client_id": options.get("oauth_client_id") or DEFAULT_CLIENT_ID,
        "access_type": "offline",
    }
    if service:
        form["service"] = service
    if scope_list:
        form["scope"] = " ".join(scope_list)
    result = _http.request("POST", realm, PROVIDER, form=form, headers={"Accept": "application/json"}, **http_options(options))
    if result.status in (404, 405):  # service implements only the GET flow
        return _fetch_access_token(options, realm, service, scope_list, username, password, offline=True)
    if result.status != 200:
        raise _token_error(result, realm, username)
    return _http.json_body(PROVIDER, realm, result)


def mint(options):
    base, host = registry_base(options)
    token_type = options.get("token_type") or "access_token"
    if token_type not in ("access_token", "refresh_token"):
        raise TokenError("registry_token provider=oauth2: token_type must be access_token or refresh_token, not %r" % token_type)
    username = options.get("username") or ""
    password = options.get("password") or ""
    realm, service = discover(options, base)
    _http.check_url(realm, PROVIDER, options.get("allow_http"))
    scope_list = scopes(options)
    now = datetime.datetime.now(datetime.timezone.utc)
    if token_type == "refresh_token":
        data = _fetch_refresh_token(options, realm, service, scope_list, username, password)
        secret = distribution.token_from(data)[1]
        if secret is None:
            raise TokenError(
                "registry_token provider=oauth2: the token service at %s issued no refresh_token "
                "(offline token); use token_type=access_token" % _http.describe(realm)
            )
        return Credential(host, options.get("token_username") or username, secret, None)
    data = _fetch_access_token(options, realm, service, scope_list, username, password)
    secret = distribution.token_from(data)[0]
    if secret is None:
        raise TokenError(
            "registry_token provider=oauth2: the token service at %s returned no token; check realm" % _http.describe(realm)
        )
    try:
        expires_in = int(data.get("expires_in") or 60)
    except (TypeError, ValueError):
        expires_in = 60
    issued = _parse_time(data.get("issued_at")) or now
    if issued > now:  # a service clock ahead of ours must not extend the lifetime
        issued = now
    user = options.get("token_username") or username or "<token>"
    return Credential(host, user, secret, issued + datetime.timedelta(seconds=expires_in))
