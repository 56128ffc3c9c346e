# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private: Azure Container Registry provider of the registry_token lookup.

Not public API. Standard library only.

1. An Entra ID (AAD) access token, the first of: given (``aad_access_token``);
   the client-credentials grant with a secret (``tenant_id``, ``client_id``,
   ``client_secret``) or, keyless, with a federated token as client assertion
   (workload identity: ``federated_token_file``, the ``AZURE_FEDERATED_TOKEN_FILE``
   AKS injects) at ``<authority_host>/<tenant>/oauth2/v2.0/token``; a managed
   identity (``managed_identity``: the App Service / Functions endpoint of
   ``IDENTITY_ENDPOINT`` + ``IDENTITY_HEADER``, else the VM's IMDS).
2. Exchanged at ``https://<registry>/oauth2/exchange`` (form
   ``grant_type=access_token``, ``service``, ``tenant``, ``access_token``) for
   an ACR refresh token, which is what ``docker login`` accepts as password
   with the fixed username ``00000000-0000-0000-0000-000000000000``.
3. The expiry is the refresh token's JWT ``exp`` claim.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import json
import re

from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens import _http
from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens._options import (
    bare_registry,
    fingerprint,
    from_env,
    http_options,
)
from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens.base import Credential, TokenError

PROVIDER = "azure"
USERNAME = "00000000-0000-0000-0000-000000000000"
DEFAULT_AUTHORITY = "https://login.microsoftonline.com"
DEFAULT_SCOPE = "https://management.azure.com/.default"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
IMDS_ENDPOINT = "http://169.254.169.254/metadata/identity/oauth2/token"
MI_RESOURCE = "https://management.azure.com/"
_REGISTRY_RE = re.compile(r"^[A-Za-z0-9.-]+(:[0-9]+)?$")


def _registry(options):
    registry = bare_registry(options.get("registry"))
    if not registry or not _REGISTRY_RE.match(registry):
        raise TokenError(
            "registry_token provider=azure: registry=%r is not a registry host; give the login server, "
            "e.g. registry=myregistry.azurecr.io" % (options.get("registry"),)
        )
    return registry


def identity(options):
    return "|".join(
        [
            "azure",
            "registry=%s" % (options.get("registry") or ""),
            "tenant=%s" % from_env(options, "tenant_id", "AZURE_TENANT_ID"),
            "client=%s" % from_env(options, "client_id", "AZURE_CLIENT_ID"),
            "secret=%s" % fingerprint(from_env(options, "client_secret", "AZURE_CLIENT_SECRET")),
            "aad_token=%s" % fingerprint(options.get("aad_access_token") or ""),
            "federated=%s" % (from_env(options, "federated_token_file", "AZURE_FEDERATED_TOKEN_FILE") or ""),
            "mi=%s|%s" % (bool(options.get("managed_identity")), _identity_endpoint(options)[0]),
            "authority=%s" % from_env(options, "authority_host", "AZURE_AUTHORITY_HOST"),
            "scope=%s" % (options.get("aad_scope") or ""),
            "endpoint=%s" % (options.get("endpoint_url") or ""),
        ]
    )


def jwt_claims(token):
    """Claims of a JWT, without verifying it (the registry verifies it; we only read ``exp``)."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")).decode("utf-8"))
    except (IndexError, ValueError, UnicodeError, TypeError):
        return None
    return claims if isinstance(claims, dict) else None


def _identity_endpoint(options):
    """(url, header value or None): App Service / Functions (IDENTITY_ENDPOINT + IDENTITY_HEADER), else IMDS."""
    import os

    url = options.get("identity_endpoint") or os.environ.get("IDENTITY_ENDPOINT")
    if url:
        return url, os.environ.get("IDENTITY_HEADER")
    return IMDS_ENDPOINT, None


def _read_assertion(path):
    try:
        with open(path, "r") as f:
            text = f.read().strip()
    except (IOError, OSError) as e:
        raise TokenError(
            "registry_token provider=azure: cannot read the federated token file %s (%s); on AKS, label "
            "the pod azure.workload.identity/use=true so the webhook projects it" % (path, e.strerror)
        ) from None
    if not text:
        raise TokenError("registry_token provider=azure: the federated token file %s is empty" % path)
    return text


def managed_identity_token(options):
    """An access token of the host's managed identity (system-assigned, or the user-assigned ``client_id``)."""
    url, header = _identity_endpoint(options)
    client_id = from_env(options, "client_id", "AZURE_CLIENT_ID")
    if header is not None:
        query = {"api-version": "2019-08-01", "resource": MI_RESOURCE}
        headers = {"X-IDENTITY-HEADER": header}
    else:
        query = {"api-version": "2018-02-01", "resource": MI_RESOURCE}
        headers = {"Metadata": "true"}
    if client_id:
        query["client_id"] = client_id
    from ansible.module_utils.six.moves.urllib.parse import urlencode

    full = url + ("&" if "?" in url else "?") + urlencode(sorted(query.items()))
    result = _http.request(
        "GET", full, PROVIDER, headers=dict(headers, Accept="application/json"), metadata=True, **http_options(options)
    )
    if result.status != 200:
        raise _http.status_error(
            PROVIDER,
            "GET",
            url,
            result,
            hint=(
                "the host has no managed identity%s, or it has no role on the registry (AcrPull)"
                % (" with client_id %s" % client_id if client_id else "")
            )
            if result.status in (400, 401, 403, 404)
            else None,
        )
    data = _http.json_body(PROVIDER, url, result)
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise TokenError("registry_token provider=azure: %s returned no access_token" % _http.describe(url))
    return token


def aad_token(options):
    tenant = from_env(options, "tenant_id", "AZURE_TENANT_ID")
    client_id = from_env(options, "client_id", "AZURE_CLIENT_ID")
    secret = from_env(options, "client_secret", "AZURE_CLIENT_SECRET")
    federated = None if secret else from_env(options, "federated_token_file", "AZURE_FEDERATED_TOKEN_FILE")
    if (
        not secret
        and not federated
        and (options.get("managed_identity") or (options.get("managed_identity") is None and _identity_endpoint(options)[1]))
    ):
        return managed_identity_token(options), tenant
    missing = [
        n
        for n, v in (
            ("tenant_id", tenant),
            ("client_id", client_id),
            ("client_secret or federated_token_file", secret or federated),
        )
        if not v
    ]
    if missing:
        raise TokenError(
            "registry_token provider=azure: give aad_access_token, or tenant_id and client_id with "
            "client_secret or federated_token_file (workload identity), or managed_identity=true "
            "(missing: %s; also read from AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, "
            "AZURE_FEDERATED_TOKEN_FILE)" % ", ".join(missing)
        )
    authority = (from_env(options, "authority_host", "AZURE_AUTHORITY_HOST") or DEFAULT_AUTHORITY).rstrip("/")
    if "://" not in authority:
        authority = "https://" + authority
    url = "%s/%s/oauth2/v2.0/token" % (authority, tenant)
    result = _http.request(
        "POST",
        url,
        PROVIDER,
        form=dict(
            {
                "grant_type": "client_credentials",
                "client_id": client_id,
                "scope": options.get("aad_scope") or DEFAULT_SCOPE,
            },
            **(
                {"client_secret": secret}
                if secret
                else {"client_assertion_type": ASSERTION_TYPE, "client_assertion": _read_assertion(federated)}
            ),
        ),
        headers={"Accept": "application/json"},
        **http_options(options),
    )
    if result.status != 200:
        raise _http.status_error(
            PROVIDER,
            "POST",
            url,
            result,
            hint=(
                (
                    "check tenant_id, client_id and client_secret (the service principal's secret may have expired)"
                    if secret
                    else "check the federated identity credential of %s (issuer, subject and audience "
                    "api://AzureADTokenExchange must match the token in %s) and that the token has not expired"
                    % (client_id, federated)
                )
                if result.status in (400, 401)
                else None
            ),
        )
    data = _http.json_body(PROVIDER, url, result)
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise TokenError("registry_token provider=azure: %s returned no access_token; check authority_host" % _http.describe(url))
    return token, tenant


def mint(options):
    registry = _registry(options)
    tenant = from_env(options, "tenant_id", "AZURE_TENANT_ID")
    token = options.get("aad_access_token")
    if not token:
        token, tenant = aad_token(options)
    base = (options.get("endpoint_url") or "https://%s" % registry).rstrip("/")
    url = base + "/oauth2/exchange"
    form = {"grant_type": "access_token", "service": registry, "access_token": token}
    if tenant:
        form["tenant"] = tenant
    result = _http.request("POST", url, PROVIDER, form=form, headers={"Accept": "application/json"}, **http_options(options))
    if result.status != 200:
        hint = None
        if result.status in (400, 401):
            hint = (
                "the registry rejected the Entra ID token: check that it is valid, for the registry's tenant, "
                "and that the principal has a role on %s (e.g. AcrPull)" % registry
            )
        raise _http.status_error(PROVIDER, "POST", url, result, hint=hint)
    data = _http.json_body(PROVIDER, url, result)
    refresh = data.get("refresh_token")
    if not isinstance(refresh, str) or not refresh:
        raise TokenError("registry_token provider=azure: %s returned no refresh_token; check endpoint_url" % _http.describe(url))
    claims = jwt_claims(refresh)
    exp = claims.get("exp") if claims else None
    if not isinstance(exp, (int, float)):
        raise TokenError(
            "registry_token provider=azure: the refresh token from %s has no readable 'exp' claim, so "
            "its expiry is unknown; check endpoint_url" % _http.describe(url)
        )
    expires = datetime.datetime.fromtimestamp(exp, datetime.timezone.utc)
    return Credential(registry, USERNAME, refresh, expires)
