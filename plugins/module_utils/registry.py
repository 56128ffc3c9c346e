# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Registry v2 authentication handshake (private to this collection, not public API).

Standard library only; runs on targets with Python 3.7+.

What ``verify()`` does, like ``docker login`` does through the Engine:

1. ``GET https://REGISTRY/v2/`` without credentials (the ping).
   * ``200``: the registry needs no auth; scheme ``none``.
   * ``401`` + ``WWW-Authenticate: Basic ...``: ``GET /v2/`` again with Basic auth.
   * ``401`` + ``WWW-Authenticate: Bearer realm=...,service=...[,scope=...]``:
     ``GET realm?service=...&offline_token=true&client_id=...`` with Basic auth,
     then ``GET /v2/`` with the Bearer token. A ``refresh_token`` in the answer is
     returned as ``identity_token`` (stored as ``identitytoken`` like ``docker login``).
2. Any ``401`` from the registry or the token service raises ``RegistryError``
   naming the registry and the user; network and TLS problems name the URL / CA.

``check_identity_token()`` tells whether a stored identity (refresh) token is
still accepted (``POST realm`` with ``grant_type=refresh_token``).

Scheme and fallback rules (documented in docs/docsite/rst/registry_login.rst):

* ``http://`` in the registry name forces plain HTTP; ``https://`` or no scheme
  means HTTPS first.
* Plain-HTTP fallback after a failed HTTPS attempt happens only where Docker
  would fall back by default or by the user's choice: loopback registries
  (``localhost``, ``127.0.0.0/8``, ``::1`` -- Docker's default insecure range)
  or ``validate_certs=False`` (the user's "insecure registry").
* Docker Hub keys (``https://index.docker.io/v1/``, ``docker.io``, ...) are
  contacted at ``registry-1.docker.io``.

Every message is free of secrets: neither the password, the token nor the
``Authorization`` header ever enters an exception or a return value.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import ssl

from ansible_collections.cloud_registry.auth.plugins.module_utils.challenge import (  # noqa: F401 - re-exported
    parse_challenges,
    pick_challenge,
)
from ansible_collections.cloud_registry.auth.plugins.module_utils.distribution import (  # noqa: F401 - is_loopback too
    DEFAULT_CLIENT_ID,
    Transport,
    TransportError,
    error_summary,
    reason_text,
    basic_header,
    is_loopback,
    token_from,
    token_url,
)
from ansible_collections.cloud_registry.auth.plugins.module_utils.errors import CloudRegistryError, DockerConfigError
from ansible_collections.cloud_registry.auth.plugins.module_utils.reference import Reference

from urllib.parse import urlencode, urlsplit

from ansible_collections.cloud_registry.auth.plugins.module_utils import redact

DEFAULT_TIMEOUT = 30
USER_AGENT = "cloud_registry.auth/registry_login"


class RegistryError(CloudRegistryError):
    """The registry handshake failed. The message is safe to show (no secret)."""

    def __init__(self, msg, kind="error", url=None):
        super(RegistryError, self).__init__(msg)
        self.kind = kind  # unauthorized | unreachable | tls | protocol | ca
        self.url = url


class VerifyResult:
    """Outcome of a successful verification. ``repr`` never shows the token."""

    __slots__ = ("scheme", "identity_token", "endpoint", "realm", "service")

    def __init__(self, scheme, endpoint, identity_token=None, realm=None, service=None):
        self.scheme = scheme  # none | basic | bearer
        self.endpoint = endpoint  # e.g. https://127.0.0.1:5000
        self.identity_token = identity_token
        self.realm = realm
        self.service = service

    def __repr__(self):
        return "VerifyResult(scheme=%r, endpoint=%r, identity_token=%s)" % (
            self.scheme,
            self.endpoint,
            "<hidden>" if self.identity_token else None,
        )


# --------------------------------------------------------------------------
# Endpoints
# --------------------------------------------------------------------------
def endpoints(registry, validate_certs=True):
    """Base URLs to try, in order, for ``registry`` (see the fallback rules above)."""
    try:
        ref = Reference.parse(registry or "")
    except DockerConfigError as exc:
        raise RegistryError(str(exc), kind="protocol") from None
    host = ref.endpoint
    if ref.scheme == "http":
        return ["http://" + host]
    urls = ["https://" + host]
    if not validate_certs or is_loopback(host):
        urls.append("http://" + host)
    return urls


# --------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------
class _Client:
    """One registry conversation over the collection's one HTTP transport (``distribution.Transport``).

    ``hold(username, *secrets)`` names the credentials it carries: every error body it hands back
    has them scrubbed (in every derived form), since some registries and token services echo the
    request in their errors."""

    def __init__(self, validate_certs=True, ca_cert=None, timeout=DEFAULT_TIMEOUT):
        self.secrets = []
        self.usernames = []
        self.timeout = timeout
        self.ca_cert = ca_cert
        self.validate_certs = validate_certs
        try:
            self.transport = Transport(validate_certs, ca_cert, timeout)
        except ssl.SSLError as exc:
            raise RegistryError(
                "the CA bundle %s is not a valid PEM certificate file (%s): set ca_cert to the "
                "registry's CA certificate in PEM format" % (ca_cert, reason_text(exc)),
                kind="ca",
            ) from None
        except (IOError, OSError) as exc:
            raise RegistryError(
                "cannot read the CA bundle %s (%s): set ca_cert to a readable PEM file" % (ca_cert, reason_text(exc)),
                kind="ca",
            ) from None

    def request(self, url, method="GET", headers=None, data=None):
        """Return (status, headers, body bytes). HTTP errors are answers, not exceptions."""
        hdrs = {"User-Agent": USER_AGENT}
        hdrs.update(headers or {})
        try:
            status, answer_headers, body = self.transport.send(method, url, hdrs, data)
        except TransportError as exc:
            raise self._transport_error(exc) from None
        if not 200 <= status < 300:
            body = self._scrubbed(body)
        return status, answer_headers, body

    def hold(self, username, *secrets):
        self.usernames.append(username)
        self.secrets.extend(s for s in secrets if s)

    def _scrubbed(self, body):
        if not self.secrets or not body:
            return body
        text = body.decode("utf-8", "replace")
        return redact.scrub(text, self.secrets, self.usernames).encode("utf-8")

    def _transport_error(self, exc):
        url = exc.url
        if exc.kind == "tls-verify":
            where = ("the CA bundle %s" % self.ca_cert) if self.ca_cert else "the system CA store"
            return RegistryError(
                "TLS certificate of %s could not be verified with %s (%s): set ca_cert to the CA that signed the "
                "registry's certificate, or validate_certs=false for a registry you trust without TLS verification"
                % (url, where, exc.reason),
                kind="tls",
                url=url,
            )
        if exc.kind == "tls":
            return RegistryError("TLS handshake with %s failed (%s)" % (url, exc.reason), kind="tls", url=url)
        if exc.kind == "timeout":
            return RegistryError(
                "%s did not answer within %s seconds: check that the registry is reachable from here or raise timeout"
                % (url, self.timeout),
                kind="unreachable",
                url=url,
            )
        return RegistryError(
            "cannot reach %s (%s): check the registry name, port and network" % (url, exc.reason),
            kind="unreachable",
            url=url,
        )


def _json(body, url):
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        msg = "the token service at %s answered something that is not JSON" % url
        raise RegistryError(msg, kind="protocol", url=url) from None
    if not isinstance(data, dict):
        raise RegistryError("the token service at %s answered JSON that is not an object" % url, kind="protocol", url=url)
    return data


def _ping(client, registry, validate_certs):
    """Find a working endpoint; return (base_url, status, challenge).

    A certificate that fails verification is final (no plain-HTTP fallback: that
    would hide a wrong CA). Where every endpoint fails, what an endpoint that
    answered said wins over the transport errors of the others (a plain-HTTP
    registry that answers 500 is reported as that, not as the TLS error of the
    HTTPS try before it); where none answered, the first error is raised.
    """
    transport, answered = [], None
    for base in endpoints(registry, validate_certs):
        try:
            status, headers, body = client.request(base + "/v2/")
        except RegistryError as exc:
            if exc.kind == "tls" and "could not be verified" in str(exc):
                raise
            transport.append(exc)
            continue
        if status == 401:
            return base, status, pick_challenge(parse_challenges(headers.get("WWW-Authenticate", "")))
        if status == 200:
            return base, status, None
        if status == 404:
            err = RegistryError(
                "%s/v2/ answered 404: %s does not speak the Docker Registry HTTP API v2" % (base, registry),
                kind="protocol",
                url=base,
            )
        else:
            hint = "; the registry itself failed: check its logs and storage" if status >= 500 else ""
            err = RegistryError(
                "%s/v2/ answered HTTP %s%s%s" % (base, status, _detail_suffix(body), hint), kind="protocol", url=base
            )
        answered = answered or err
    if answered is not None:
        raise answered
    if len(transport) > 1 and all(e.kind == "unreachable" and "did not answer" in str(e) for e in transport):
        raise RegistryError(
            "%s did not answer within %s seconds, over HTTPS nor plain HTTP: check that the registry process is "
            "running and not stuck, or raise timeout" % (registry, client.timeout),
            kind="unreachable",
            url=transport[0].url,
        )
    raise transport[0]


def auth_scheme(registry, validate_certs=True, ca_cert=None, timeout=DEFAULT_TIMEOUT):
    """The scheme ``registry`` asks for without credentials: ``bearer``, ``basic`` or ``none``."""
    client = _Client(validate_certs=validate_certs, ca_cert=ca_cert, timeout=timeout)
    _base, status, challenge = _ping(client, registry, validate_certs)
    if status == 200 or challenge is None:
        return "none"
    return challenge[0]


def _unauthorized(registry, username, detail="", where=""):
    msg = "login to %s as %r failed: the registry rejected the username or password (HTTP 401%s)" % (
        registry,
        username,
        (": " + detail) if detail else "",
    )
    if where:
        msg += " at " + where
    return RegistryError(msg + "; check the credentials", kind="unauthorized")


def fetch_token(client, realm, service, username, password, scope=None, client_id=DEFAULT_CLIENT_ID, registry=""):
    """GET the realm with Basic auth and offline_token=true. Returns (token, refresh_token|None)."""
    url = token_url(realm, service, [scope] if scope else (), client_id, offline=True)
    headers = {"Authorization": basic_header(username, password)} if username or password else {}
    status, _headers, body = client.request(url, headers=headers)
    if status == 401 or status == 403:
        raise _unauthorized(registry, username, error_summary(body), where="the token service " + realm)
    if status != 200:
        raise RegistryError(
            "the token service %s for %s answered HTTP %s%s" % (realm, registry, status, _detail_suffix(body)),
            kind="protocol",
            url=realm,
        )
    token, refresh = token_from(_json(body, realm))
    if token is None:
        raise RegistryError("the token service %s answered without a token" % realm, kind="protocol", url=realm)
    return token, refresh


def _detail_suffix(body):
    d = error_summary(body)
    return (": " + d) if d else ""


def verify(
    registry,
    username,
    password,
    validate_certs=True,
    ca_cert=None,
    timeout=DEFAULT_TIMEOUT,
    client_id=DEFAULT_CLIENT_ID,
):
    """Log in to ``registry`` with ``username``/``password``; return ``VerifyResult``.

    Raises ``RegistryError`` (never containing the password or a token).
    """
    client = _Client(validate_certs=validate_certs, ca_cert=ca_cert, timeout=timeout)
    client.hold(username, password)
    base, status, challenge = _ping(client, registry, validate_certs)
    if status == 200:
        return VerifyResult("none", base)
    if challenge is None:
        raise RegistryError(
            "%s/v2/ asked for authentication without a Basic or Bearer challenge" % base, kind="protocol", url=base
        )
    scheme, params = challenge
    if scheme == "basic":
        status, _headers, body = client.request(base + "/v2/", headers={"Authorization": basic_header(username, password)})
        if status in (401, 403):
            raise _unauthorized(registry, username, error_summary(body))
        if status != 200:
            raise RegistryError("%s/v2/ answered HTTP %s to Basic auth" % (base, status), kind="protocol", url=base)
        return VerifyResult("basic", base)
    realm = params.get("realm")
    if not realm:
        raise RegistryError("%s/v2/ sent a Bearer challenge without a realm" % base, kind="protocol", url=base)
    if urlsplit(realm).scheme not in ("http", "https"):
        raise RegistryError("%s/v2/ sent a Bearer realm that is not an http(s) URL" % base, kind="protocol", url=base)
    service = params.get("service")
    token, refresh = fetch_token(
        client, realm, service, username, password, params.get("scope"), client_id=client_id, registry=registry
    )
    client.hold(username, token, refresh)
    status, _headers, body = client.request(base + "/v2/", headers={"Authorization": "Bearer " + token})
    if status in (401, 403):
        raise RegistryError(
            "login to %s as %r: the token service %s issued a token that the registry refused (HTTP %s%s); "
            "check the registry's auth.token settings (issuer, service, rootcertbundle)"
            % (registry, username, realm, status, _detail_suffix(body)),
            kind="unauthorized",
            url=base,
        )
    if status != 200:
        raise RegistryError("%s/v2/ answered HTTP %s to the Bearer token" % (base, status), kind="protocol", url=base)
    return VerifyResult("bearer", base, identity_token=refresh, realm=realm, service=service)


def check_identity_token(
    registry,
    identity_token,
    validate_certs=True,
    ca_cert=None,
    timeout=DEFAULT_TIMEOUT,
    client_id=DEFAULT_CLIENT_ID,
):
    """True when the registry's token service still accepts ``identity_token``
    (``POST realm grant_type=refresh_token``); False when it refuses it (401/400/403).
    Network errors raise ``RegistryError``."""
    client = _Client(validate_certs=validate_certs, ca_cert=ca_cert, timeout=timeout)
    client.hold(None, identity_token)
    base, status, challenge = _ping(client, registry, validate_certs)
    if status == 200 or challenge is None or challenge[0] != "bearer" or not challenge[1].get("realm"):
        return False
    params = challenge[1]
    form = [("grant_type", "refresh_token"), ("refresh_token", identity_token), ("client_id", client_id)]
    if params.get("service"):
        form.append(("service", params["service"]))
    status, _headers, _body = client.request(
        params["realm"],
        method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        data=urlencode(form).encode("ascii"),
    )
    return status == 200
