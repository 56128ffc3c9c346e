# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The registry auth protocol and its HTTP transport, shared by both clients of the collection (private, not public API).

``registry`` (verification, on the controller or a host) and ``tokens._http`` (the
``registry_token`` providers) each keep their own errors and options, and take from
here the parts that must not differ between them: the one HTTP ``Transport`` (TLS
context, redirects, HTTP errors as answers, a failed connection classified once), the
Basic header, what counts as a loopback host, the token request of the Docker Registry
v2 token specification and the reading of its answer, and the one redirect rule:

* only GET and HEAD are redirected (a body, such as a client secret in a form, is never
  sent again), at most ``MAX_REDIRECTS`` times;
* never from https to http;
* to another origin (scheme, host, port) only the harmless headers go along
  (``User-Agent``, ``Accept``): ``Authorization`` and every custom header a caller set
  (metadata tokens, identity headers) stay with the origin they were meant for.

The summary of an error body (``error_summary``) is shared too. The WWW-Authenticate
parser lives in ``challenge``. Standard library only (runs on targets).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import ipaddress
import json
import socket
import ssl

from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urlsplit
from urllib.request import HTTPRedirectHandler, HTTPSHandler, ProxyHandler, Request, build_opener

DEFAULT_CLIENT_ID = "cloud_registry.auth"
MAX_REDIRECTS = 5
CROSS_ORIGIN_HEADERS = ("user-agent", "accept")
MAX_BODY = 1024 * 1024


def basic_header(username, password):
    raw = ("%s:%s" % (username or "", password or "")).encode("utf-8")
    return "Basic " + base64.b64encode(raw).decode("ascii")


def hostname(hostport):
    """The host of ``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address."""
    value = (hostport or "").strip()
    if value.startswith("["):
        return value[1:].split("]", 1)[0]
    if value.count(":") > 1:  # bare IPv6
        return value
    return value.rsplit(":", 1)[0] if ":" in value else value


def is_loopback(hostport):
    """True for localhost (and ``*.localhost``) and loopback addresses, with or without a port."""
    name = hostname(hostport).lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def token_url(realm, service=None, scopes=(), client_id=None, offline=False):
    """The GET URL of a token request (``service``, one ``scope`` per scope, ``client_id``, ``offline_token``)."""
    query = []
    if service:
        query.append(("service", service))
    for scope in [s for s in (scopes or ()) if s]:
        query.append(("scope", scope))
    query.append(("client_id", client_id or DEFAULT_CLIENT_ID))
    if offline:
        query.append(("offline_token", "true"))
    return realm + ("&" if "?" in realm else "?") + urlencode(query)


def token_from(data):
    """``(token, refresh_token)`` of a token service's JSON answer (``token`` or ``access_token``); each None when
    missing or not a non-empty string."""
    token = data.get("token") or data.get("access_token") if isinstance(data, dict) else None
    refresh = data.get("refresh_token") if isinstance(data, dict) else None
    return (token if isinstance(token, str) and token else None, refresh if isinstance(refresh, str) and refresh else None)


def error_summary(body, limit=300):
    """A short, secret-free description of an error body: its JSON error fields only, never the rest.

    Knows the Distribution shape (``{"errors": [{"code", "message"}]}``), OAuth2's
    (``error``, ``error_description``) and the clouds' (``code``/``Code``, ``message``/``Message``,
    ``details``, ``{"error": {"code", "message"}}``). Anything else (HTML, a JSON list, a token
    answer) gives "". A peer that echoes a credential into a message is the caller's to scrub
    (``registry._Client`` does).
    """
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError, AttributeError):
        return ""
    if not isinstance(data, dict):
        return ""
    found = []
    for key in ("error", "error_description", "code", "Code", "message", "Message", "details"):
        value = data.get(key)
        if isinstance(value, (str, int)):
            found.append("%s=%s" % (key, value))
        elif isinstance(value, dict):
            found.extend("%s.%s=%s" % (key, sub, value[sub]) for sub in ("code", "message") if isinstance(value.get(sub), str))
    errors = data.get("errors")
    if isinstance(errors, list):
        found.extend("%s: %s" % (item.get("code"), item.get("message")) for item in errors[:3] if isinstance(item, dict))
    return "; ".join(found)[:limit]


def _origin(url):
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


class SafeRedirect(HTTPRedirectHandler):
    """urllib redirect handler with the collection's one redirect rule (see the module docstring)."""

    max_redirections = MAX_REDIRECTS

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if req.get_method() not in ("GET", "HEAD"):
            return None  # the caller sees the 3xx answer
        old, new = _origin(req.full_url), _origin(newurl)
        if new[0] not in ("http", "https") or (old[0] == "https" and new[0] == "http"):
            return None
        redirected = HTTPRedirectHandler.redirect_request(self, req, fp, code, msg, headers, newurl)
        if redirected is not None and new != old:
            for store in (redirected.headers, redirected.unredirected_hdrs):
                for name in list(store):
                    if name.lower() not in CROSS_ORIGIN_HEADERS:
                        del store[name]
        return redirected


class TransportError(Exception):
    """A request that got no HTTP answer. ``kind``: ``tls-verify`` (the certificate was not trusted),
    ``tls`` (another TLS failure), ``timeout`` or ``unreachable``; ``reason``: the cause, as text."""

    def __init__(self, kind, url, reason):
        super(TransportError, self).__init__(reason)  # the URL apart: it may carry a query string
        self.kind = kind
        self.url = url
        self.reason = reason


def reason_text(exc):
    """The short cause of an OS, socket or TLS error, as text."""
    text = (
        getattr(exc, "verify_message", None)
        or getattr(exc, "strerror", None)
        or getattr(exc, "reason", None)
        or str(exc)
        or exc.__class__.__name__
    )
    return str(text)


def _classify(url, reason):
    if isinstance(reason, ssl.SSLCertVerificationError) or (
        isinstance(reason, ssl.SSLError) and "CERTIFICATE_VERIFY_FAILED" in str(reason)
    ):
        return TransportError("tls-verify", url, reason_text(reason))
    if isinstance(reason, ssl.SSLError):
        return TransportError("tls", url, reason_text(reason))
    if isinstance(reason, (socket.timeout, TimeoutError)) or "timed out" in str(reason):
        return TransportError("timeout", url, reason_text(reason))
    return TransportError("unreachable", url, reason_text(reason))


def ssl_context(validate_certs=True, ca_file=None):
    """The TLS context: the system store (plus ``ca_file``), or no verification at all.

    Raises ``ssl.SSLError`` for a CA file that is not PEM and ``OSError`` for one that cannot be
    read: the caller names its own option in the message."""
    if not validate_certs:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    ctx = ssl.create_default_context()
    if ca_file:
        ctx.load_verify_locations(cafile=ca_file)
    return ctx


class Transport:
    """HTTP(S) for registries and token services: urllib with the one redirect rule.

    ``send`` returns ``(status, headers, body)`` for every HTTP answer, 4xx and 5xx included,
    and raises ``TransportError`` when there is none. ``proxies``: None uses the environment's
    proxy settings (as docker does for registries), ``{}`` none. At most ``max_body`` bytes of a
    body are read (None: all)."""

    def __init__(self, validate_certs=True, ca_file=None, timeout=30, proxies=None, max_body=MAX_BODY):
        handlers = [HTTPSHandler(context=ssl_context(validate_certs, ca_file)), SafeRedirect()]
        if proxies is not None:
            handlers.append(ProxyHandler(proxies))
        self.opener = build_opener(*handlers)
        self.timeout = timeout
        self.max_body = max_body

    def _read(self, resp):
        return resp.read() if self.max_body is None else resp.read(self.max_body)

    def send(self, method, url, headers=None, data=None):
        # the callers build http(s) URLs only (registry endpoints; tokens._http.check_url)
        req = Request(url, data=data, headers=dict(headers or {}), method=method)  # noqa: S310
        try:
            resp = self.opener.open(req, timeout=self.timeout)
            try:
                return resp.status, resp.headers, self._read(resp)
            finally:
                resp.close()
        except HTTPError as exc:
            try:
                body = self._read(exc) if exc.fp else b""
            except Exception:  # noqa: BLE001 - an error body is optional
                body = b""
            return exc.code, exc.headers, body
        except URLError as exc:
            raise _classify(url, exc.reason) from None
        except (socket.timeout, TimeoutError, ssl.SSLError, OSError) as exc:
            raise _classify(url, exc) from None
