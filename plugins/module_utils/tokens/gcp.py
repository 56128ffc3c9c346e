# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Google registry credentials (private to this collection, not public API).

Provider ``gcp`` of the ``registry_token`` lookup (contract in ``tokens/base.py``).

- Default: an OAuth2 access token minted with google-auth from Application Default
  Credentials, a service-account key (``credentials_file`` / ``credentials_json``), the
  metadata server, an explicit ``access_token``, optionally impersonating a service
  account (``impersonate_service_account`` + ``delegates``) through iamcredentials
  ``generateAccessToken``. Username ``oauth2accesstoken``, valid about 60 minutes.
- ``key_auth: json_key`` / ``json_key_base64``: no minting; username ``_json_key`` /
  ``_json_key_base64`` and the service-account key (raw JSON / base64 of the file bytes)
  as password, no expiry (Container Registry / Artifact Registry "JSON key" method).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib

from ansible_collections.cloud_registry.auth.plugins.module_utils import _gcp_auth
from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens.base import Credential, TokenError

ACCESS_TOKEN_USERNAME = "oauth2accesstoken"
KEY_AUTH_USERNAMES = {"json_key": "_json_key", "json_key_base64": "_json_key_base64"}


def _key_auth(options):
    mode = options.get("key_auth")
    if mode in (None, "", False, "none"):
        return None
    if mode not in KEY_AUTH_USERNAMES:
        raise TokenError(
            "gcp: key_auth %r is not one of json_key, json_key_base64 (or leave it unset to mint an access token)" % (mode,)
        )
    return mode


def _registry(options):
    return options.get("registry") or None


def identity(options):
    """Non-secret identity: provider, principal, scopes, universe, registry, mode."""
    try:
        mode = _key_auth(options)
        if mode:
            info, raw, _source = _gcp_auth.load_key_info(options)
            who = "gcp;key_auth=%s;key=%s;keyhash=%s" % (
                mode,
                info.get("client_email", info.get("type")),
                hashlib.sha256(raw).hexdigest()[:16],
            )
        else:
            who = "gcp;" + _gcp_auth.principal(options)
    except _gcp_auth.GcpAuthError as exc:
        raise TokenError("gcp: %s" % exc) from None
    return "%s;registry=%s" % (who, _registry(options) or "")


def mint(options):
    """A fresh registry credential for ``options`` (see the module docstring)."""
    try:
        mode = _key_auth(options)
        if mode:
            info, raw, source = _gcp_auth.load_key_info(options)
            if info.get("type") != "service_account":
                raise TokenError(
                    "gcp: key_auth needs a service-account key, but %s has type %r; "
                    "drop key_auth to mint an access token instead" % (source, info.get("type"))
                )
            if mode == "json_key_base64":
                password = base64.b64encode(raw).decode("ascii")
            else:
                password = raw.decode("utf-8")
            return Credential(_registry(options), KEY_AUTH_USERNAMES[mode], password, None)
        token, expires_at = _gcp_auth.access_token(options)
    except _gcp_auth.GcpAuthError as exc:
        raise TokenError("gcp: %s" % exc) from None
    if not token:
        raise TokenError("gcp: google-auth returned no access token for %s" % _gcp_auth.describe(options))
    return Credential(_registry(options), ACCESS_TOKEN_USERNAME, token, expires_at)
