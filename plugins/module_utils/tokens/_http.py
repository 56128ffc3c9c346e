# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private HTTP helpers for the token providers (not public API).

Standard library only (urllib + ssl), so the providers need no third-party
package. Two rules are enforced here for every provider:

* ``https`` only, unless the caller passes ``allow_http=True`` AND the host is a
  loopback address (``127.0.0.0/8``, ``::1``, ``localhost``): plain http is
  for local stand-ins and tests, never for a remote service.
* Error messages name the host and path, never the query string (Alibaba RPC
  requests carry a security token there) nor any header or body sent.
* Requests go through the collection's one transport (``distribution.Transport``), with
  its one redirect rule: GET and HEAD only, never to plain http, and to another origin
  without any credential header. No proxy is used: token services are reached directly.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import ssl
import urllib.parse

from ansible_collections.cloud_registry.auth.plugins.module_utils.distribution import (
    Transport,
    TransportError,
    error_summary,
    is_loopback,
)
from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens.base import TokenError

USER_AGENT = "cloud_registry.auth-registry_token"


class HttpResponse:
    __slots__ = ("status", "headers", "body")

    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))


METADATA_HOSTS = ("169.254.169.254", "100.100.100.200")  # Azure / AWS / GCP, Alibaba Cloud


def check_url(url, provider, allow_http=False, metadata=False):
    """Validate an endpoint URL; return it. Raise TokenError naming the option to fix.

    ``metadata``: the cloud's instance metadata / managed identity endpoint, plain http by design (the link-local
    metadata address, or a loopback endpoint the platform gives, as App Service does)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise TokenError(
            "registry_token provider=%s: %r is not an http(s) URL; give a URL such as https://host/path" % (provider, url)
        )
    if parts.scheme == "http" and metadata and (parts.hostname in METADATA_HOSTS or is_loopback(parts.hostname)):
        return url
    if parts.scheme == "http":
        if not allow_http:
            raise TokenError(
                "registry_token provider=%s: refusing plain http for %s; use https, or set allow_http=true "
                "(accepted for loopback addresses only, for local test services)" % (provider, parts.netloc)
            )
        if not is_loopback(parts.hostname):
            raise TokenError(
                "registry_token provider=%s: allow_http accepts only loopback hosts (127.0.0.1, ::1, localhost), "
                "not %s; use https" % (provider, parts.hostname)
            )
    return url


def describe(url):
    """host + path of a URL, without query string or credentials: safe for messages."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = "[%s]" % host
    if parts.port:
        host = "%s:%d" % (host, parts.port)
    return "%s://%s%s" % (parts.scheme, host, parts.path or "/")


def request(
    method,
    url,
    provider,
    headers=None,
    data=None,
    form=None,
    ca_path=None,
    allow_http=False,
    timeout=30,
    ok=(200,),
    metadata=False,
):
    """Send one HTTP request over the collection's one transport (``distribution.Transport``, no proxy);
    return HttpResponse.

    A status in ``ok`` returns normally; any other status is also returned when
    ``ok`` is None (the caller inspects it), else a TokenError is raised naming the
    provider, the endpoint (no query string) and the status.
    """
    check_url(url, provider, allow_http, metadata)
    hdrs = {"User-Agent": USER_AGENT}
    hdrs.update(headers or {})
    body = data
    if form is not None:
        body = urllib.parse.urlencode(form).encode("ascii")
        hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
    where = describe(url)
    try:
        transport = Transport(ca_file=ca_path if url.startswith("https:") else None, timeout=timeout, proxies={}, max_body=None)
    except (OSError, ssl.SSLError) as exc:
        raise TokenError(
            "registry_token: cannot load ca_path %s: %s; give a PEM file of CA certificates"
            % (ca_path, getattr(exc, "strerror", None) or type(exc).__name__)
        ) from None
    try:
        result = HttpResponse(*transport.send(method, url, hdrs, body))
    except TransportError as exc:
        if exc.kind == "timeout":
            raise TokenError(
                "registry_token provider=%s: %s did not answer within %ss; check the endpoint or raise "
                "timeout" % (provider, where, timeout)
            ) from None
        if exc.kind in ("tls-verify", "tls"):
            hint = "check the server certificate, or give its CA with ca_path"
        else:
            hint = "check the endpoint URL/registry name and that it is reachable from the controller"
        raise TokenError("registry_token provider=%s: cannot reach %s (%s); %s" % (provider, where, exc.reason, hint)) from None
    if ok is not None and result.status not in ok:
        raise status_error(provider, method, url, result)
    return result


def status_error(provider, method, url, result, hint=None):
    detail = error_summary(result.body)
    if hint is None:
        if result.status in (401, 403):
            hint = "check the credentials (and their permissions) given to the lookup"
        elif result.status == 404:
            hint = "check the registry name / endpoint URL"
        else:
            hint = "retry later or check the endpoint"
    return TokenError(
        "registry_token provider=%s: %s %s returned HTTP %d%s; %s"
        % (provider, method, describe(url), result.status, (" (%s)" % detail) if detail else "", hint)
    )


def json_body(provider, url, result):
    try:
        data = result.json()
    except (ValueError, UnicodeDecodeError):
        raise TokenError(
            "registry_token provider=%s: %s did not return JSON (HTTP %d); check the endpoint URL"
            % (provider, describe(url), result.status)
        ) from None
    if not isinstance(data, dict):
        raise TokenError(
            "registry_token provider=%s: %s returned unexpected JSON; check the endpoint URL" % (provider, describe(url))
        )
    return data
