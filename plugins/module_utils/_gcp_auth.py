# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Google credentials from plain option values (private to this collection, not public API).

Shared by the ``registry_token`` lookup's ``gcp`` provider (``tokens/gcp.py``) and by
``gcp_api.py`` (the ``gcp_secret_iam`` module), so both accept the same options,
documented once in the ``cloud_registry.auth.gcp_auth`` doc fragment:

``auth_kind``
    ``application`` (Application Default Credentials: ``GOOGLE_APPLICATION_CREDENTIALS``,
    gcloud's ADC file, then the metadata server), ``serviceaccount`` (``credentials_file``
    or ``credentials_json``; any ADC JSON type works, service-account keys are the usual),
    ``machineaccount`` (the metadata server only), ``accesstoken`` (``access_token``).
    When omitted it is inferred from the other options.
``scopes``, ``impersonate_service_account``, ``delegates``, ``universe_domain``,
``token_uri`` (override the key's token endpoint), ``iam_endpoint`` (iamcredentials
base URL), ``service_account_email`` (metadata server account).

Everything raises ``GcpAuthError`` whose message never holds a secret. google-auth is
imported lazily: it is needed only when a credential is actually built.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import json
import os

from ansible_collections.cloud_registry.auth.plugins.module_utils.errors import CloudRegistryError

GOOGLE_AUTH_MIN_VERSION = "2.20.0"
DEFAULT_SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
DEFAULT_UNIVERSE = "googleapis.com"
AUTH_KINDS = ("application", "serviceaccount", "machineaccount", "accesstoken")

try:
    from google.auth import __version__ as GOOGLE_AUTH_VERSION

    HAS_GOOGLE_AUTH = True
    GOOGLE_AUTH_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - depends on the environment
    GOOGLE_AUTH_VERSION = None
    HAS_GOOGLE_AUTH = False
    GOOGLE_AUTH_IMPORT_ERROR = exc


def _version_tuple(text):
    out = []
    for part in str(text).split("."):
        digits = ""
        for char in part:
            if not char.isdigit():
                break
            digits += char
        out.append(int(digits or 0))
    return tuple(out)


class GcpAuthError(CloudRegistryError):
    """Credentials could not be built or refreshed; the message is safe to show."""


# Argument spec fragment for modules (documented by the gcp_auth doc fragment).
AUTH_ARGSPEC = dict(
    auth_kind=dict(type="str", choices=list(AUTH_KINDS)),
    credentials_file=dict(type="path"),
    credentials_json=dict(type="raw", no_log=True),
    access_token=dict(type="str", no_log=True),
    scopes=dict(type="list", elements="str", default=list(DEFAULT_SCOPES)),
    impersonate_service_account=dict(type="str"),
    delegates=dict(type="list", elements="str", default=[]),
    universe_domain=dict(type="str"),
    token_uri=dict(type="str", no_log=False),
    iam_endpoint=dict(type="str"),
    service_account_email=dict(type="str"),
)
AUTH_MUTUALLY_EXCLUSIVE = [
    ("credentials_file", "credentials_json", "access_token"),
]


def require_google_auth():
    if not HAS_GOOGLE_AUTH:
        raise GcpAuthError(
            "the Python library google-auth>=%s (and requests) is required for Google "
            "credentials on the controller; install it with 'pip install \"google-auth>=%s\" requests' "
            "(import error: %s)" % (GOOGLE_AUTH_MIN_VERSION, GOOGLE_AUTH_MIN_VERSION, GOOGLE_AUTH_IMPORT_ERROR)
        )
    if _version_tuple(GOOGLE_AUTH_VERSION) < _version_tuple(GOOGLE_AUTH_MIN_VERSION):
        raise GcpAuthError(
            "google-auth %s is too old: google-auth>=%s is required on the controller; upgrade it with "
            "'pip install -U \"google-auth>=%s\"'" % (GOOGLE_AUTH_VERSION, GOOGLE_AUTH_MIN_VERSION, GOOGLE_AUTH_MIN_VERSION)
        )


def _opt(options, name, default=None):
    value = options.get(name)
    return default if value in (None, "", []) else value


def auth_kind(options):
    """The explicit ``auth_kind`` or the one implied by the other options."""
    kind = _opt(options, "auth_kind")
    if kind:
        if kind not in AUTH_KINDS:
            raise GcpAuthError("auth_kind %r is not one of %s" % (kind, ", ".join(AUTH_KINDS)))
        return kind
    if _opt(options, "access_token"):
        return "accesstoken"
    if _opt(options, "credentials_file") or _opt(options, "credentials_json"):
        return "serviceaccount"
    return "application"


def scopes(options):
    value = _opt(options, "scopes", DEFAULT_SCOPES)
    if isinstance(value, str):
        value = [s for s in value.replace(",", " ").split() if s]
    return list(value)


def _parse_json(raw, error):
    """``raw`` (UTF-8 bytes) decoded as JSON, else GcpAuthError(``error``), which must not quote ``raw``."""
    try:
        return json.loads(raw.decode("utf-8"))
    except ValueError:
        raise GcpAuthError(error) from None


def load_key_info(options):
    """The credentials JSON as a dict (from ``credentials_json`` or ``credentials_file``).

    Returns ``(info, raw_bytes, source)``; ``source`` names the file (or 'credentials_json')
    for error messages.
    """
    raw_json = _opt(options, "credentials_json")
    path = _opt(options, "credentials_file")
    if raw_json is not None:
        source = "credentials_json"
        if isinstance(raw_json, dict):
            info = raw_json
            raw = json.dumps(raw_json, indent=2).encode("utf-8")
        else:
            raw = raw_json.encode("utf-8") if isinstance(raw_json, str) else bytes(raw_json)
            info = _parse_json(raw, "credentials_json is not valid JSON; pass the content of a service-account key file")
    elif path is not None:
        source = os.path.expanduser(path)
        try:
            with open(source, "rb") as fh:
                raw = fh.read()
        except (IOError, OSError) as exc:
            raise GcpAuthError(
                "cannot read credentials_file %s: %s; check the path and its permissions" % (source, exc.strerror)
            ) from None
        info = _parse_json(
            raw, "credentials_file %s is not valid JSON; it must be a Google credentials (service-account key) file" % source
        )
    else:
        raise GcpAuthError("auth_kind=serviceaccount needs credentials_file or credentials_json (a service-account key)")
    if not isinstance(info, dict) or "type" not in info:
        raise GcpAuthError("%s is not a Google credentials JSON (no 'type' field)" % source)
    if info.get("type") == "service_account":
        missing = [k for k in ("client_email", "private_key") if not info.get(k)]
        if missing:
            raise GcpAuthError("%s: service-account key lacks %s" % (source, ", ".join(missing)))
    return info, raw, source


def principal(options):
    """A stable, non-secret name for the identity the options describe (no network)."""
    kind = auth_kind(options)
    parts = ["kind=" + kind]
    if kind == "serviceaccount":
        info, raw, source = load_key_info(options)
        parts.append("key=%s" % (info.get("client_email") or info.get("client_id") or info.get("type")))
        parts.append("keyhash=" + hashlib.sha256(raw).hexdigest()[:16])
    elif kind == "accesstoken":
        parts.append("tokenhash=" + hashlib.sha256(_opt(options, "access_token").encode("utf-8")).hexdigest()[:16])
    elif kind == "machineaccount":
        parts.append("mds=%s/%s" % (os.environ.get("GCE_METADATA_HOST", ""), _opt(options, "service_account_email", "default")))
    else:
        parts.append(
            "adc=%s|%s|%s"
            % (
                os.environ.get("GOOGLE_APPLICATION_CREDENTIALS", ""),
                os.environ.get("CLOUDSDK_CONFIG", ""),
                os.environ.get("GCE_METADATA_HOST", ""),
            )
        )
    if _opt(options, "impersonate_service_account"):
        parts.append("as=" + options["impersonate_service_account"])
        parts.append("via=" + ",".join(_opt(options, "delegates", [])))
    parts.append("scopes=" + " ".join(sorted(scopes(options))))
    parts.append("universe=" + _opt(options, "universe_domain", DEFAULT_UNIVERSE))
    return ";".join(parts)


def _source_credentials(options):
    """google-auth credentials for the options, before impersonation (not yet refreshed)."""
    require_google_auth()
    import google.auth
    import google.auth.exceptions
    from google.oauth2 import credentials as oauth2_credentials

    kind = auth_kind(options)
    wanted = scopes(options)
    universe = _opt(options, "universe_domain")
    try:
        if kind == "accesstoken":
            token = _opt(options, "access_token")
            if not token:
                raise GcpAuthError("auth_kind=accesstoken needs access_token")
            kwargs = {}
            if universe:
                kwargs["universe_domain"] = universe
            return oauth2_credentials.Credentials(token, **kwargs)
        if kind == "serviceaccount":
            info, raw, source = load_key_info(options)
            info = dict(info)
            key_universe = info.get("universe_domain", DEFAULT_UNIVERSE)
            if universe and info.get("universe_domain") and universe != key_universe:
                raise GcpAuthError(
                    "universe_domain %r does not match the universe_domain %r of %s; "
                    "use a key from that universe or drop the option" % (universe, key_universe, source)
                )
            if universe:
                info["universe_domain"] = universe
            if _opt(options, "token_uri"):
                info["token_uri"] = options["token_uri"]
            creds, _project = google.auth.load_credentials_from_dict(info, scopes=wanted)
            return creds
        if kind == "machineaccount":
            from google.auth import compute_engine

            kwargs = {"service_account_email": _opt(options, "service_account_email", "default"), "scopes": wanted}
            if universe:
                kwargs["universe_domain"] = universe
            return compute_engine.Credentials(**kwargs)
        creds, _project = google.auth.default(scopes=wanted)
        if _opt(options, "token_uri") and hasattr(creds, "_token_uri"):
            creds._token_uri = options["token_uri"]
        return creds
    except google.auth.exceptions.DefaultCredentialsError as exc:
        raise GcpAuthError(
            "no Google credentials found (%s): set credentials_file, GOOGLE_APPLICATION_CREDENTIALS, "
            "run 'gcloud auth application-default login', or run on a host with a metadata server" % _first_line(exc)
        ) from None
    except ValueError as exc:
        raise GcpAuthError("invalid Google credentials: %s" % _first_line(exc)) from None


def credentials(options):
    """google-auth credentials for ``options`` (impersonation applied), not yet refreshed."""
    source = _source_credentials(options)
    target = _opt(options, "impersonate_service_account")
    if not target:
        return source
    from google.auth import impersonated_credentials

    kwargs = {
        "source_credentials": source,
        "target_principal": target,
        "target_scopes": scopes(options),
        "delegates": list(_opt(options, "delegates", [])),
        "lifetime": 3600,
    }
    endpoint = _opt(options, "iam_endpoint")
    if endpoint:
        kwargs["iam_endpoint_override"] = "%s/v1/projects/-/serviceAccounts/%s:generateAccessToken" % (
            endpoint.rstrip("/"),
            target,
        )
    elif _opt(options, "universe_domain"):
        kwargs["iam_endpoint_override"] = "https://iamcredentials.%s/v1/projects/-/serviceAccounts/%s:generateAccessToken" % (
            options["universe_domain"],
            target,
        )
    return impersonated_credentials.Credentials(**kwargs)


def _first_line(exc):
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__


def describe(options):
    """Short human description of the principal for error messages."""
    kind = auth_kind(options)
    target = _opt(options, "impersonate_service_account")
    if kind == "serviceaccount":
        try:
            info = load_key_info(options)[0]
            what = "service account %s" % (info.get("client_email") or info.get("type"))
        except GcpAuthError:
            what = "service-account key"
    elif kind == "machineaccount":
        what = "metadata-server account %s" % _opt(options, "service_account_email", "default")
    elif kind == "accesstoken":
        what = "the given access_token"
    else:
        what = "Application Default Credentials"
    if target:
        what += " impersonating %s" % target
    return what


def refresh(creds, options, request=None):
    """Refresh ``creds``; return ``(token, expires_at)`` (aware UTC datetime or None).

    ``creds.refresh`` is called directly (never ``before_request``) so google-auth makes no
    other call than the token request itself.
    """
    require_google_auth()
    import google.auth.exceptions
    import google.auth.transport.requests

    if auth_kind(options) == "accesstoken" and not _opt(options, "impersonate_service_account"):
        return creds.token, None
    request = request or google.auth.transport.requests.Request()
    try:
        creds.refresh(request)
    except google.auth.exceptions.RefreshError as exc:
        raise GcpAuthError("Google token request for %s failed: %s" % (describe(options), _refresh_reason(exc))) from None
    except google.auth.exceptions.TransportError as exc:
        raise GcpAuthError(
            "cannot reach the Google token endpoint for %s: %s; check network access, token_uri, "
            "GCE_METADATA_HOST or the proxy settings" % (describe(options), _first_line(exc))
        ) from None
    expiry = creds.expiry
    if expiry is not None and expiry.tzinfo is None:
        expiry = expiry.replace(tzinfo=datetime.timezone.utc)
    return creds.token, expiry


def _refresh_reason(exc):
    """The useful part of a RefreshError (error code + description), never a token."""
    args = getattr(exc, "args", ())
    detail = None
    for arg in args:
        if isinstance(arg, dict):
            detail = arg
            break
        if isinstance(arg, str) and arg.strip().startswith("{"):
            try:
                detail = json.loads(arg)
                break
            except ValueError:
                continue
    if isinstance(detail, dict):
        err = detail.get("error")
        if isinstance(err, dict):
            text = ("%s %s" % (err.get("status", ""), err.get("message", ""))).strip()
            for det in err.get("details") or []:
                meta = det.get("metadata") or {} if isinstance(det, dict) else {}
                if meta.get("permission"):
                    text += " (missing permission %s on %s)" % (meta["permission"], meta.get("resource", "?"))
                    if meta["permission"] == "iam.serviceAccounts.getAccessToken":
                        text += "; grant the caller roles/iam.serviceAccountTokenCreator on that service account"
            return text
        desc = detail.get("error_description")
        return ("%s: %s" % (err, desc)) if desc else str(err)
    return _first_line(exc)


def access_token(options):
    """Mint an access token for ``options``; returns ``(token, expires_at)``."""
    return refresh(credentials(options), options)
