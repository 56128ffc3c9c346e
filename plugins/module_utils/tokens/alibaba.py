# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private: Alibaba Cloud Container Registry (ACR) provider of the registry_token lookup.

Not public API. Standard library only: the two documented Alibaba Cloud
request-signing schemes (signature version 1.0, HMAC-SHA1) are implemented here.

* Personal Edition (``registry[-vpc|-intl].<region>.aliyuncs.com``): ROA API
  ``cr`` 2016-06-07, ``GET /tokens`` -> ``data.authorizationToken``,
  ``data.tempUserName``, ``data.expireDate`` (ms since the epoch).
* Enterprise Edition (``<instance>-registry[-vpc].<region>.cr.aliyuncs.com``,
  or ``instance_id`` given): RPC API ``cr`` 2018-12-01, ``ListInstance`` +
  ``ListInstanceDomain`` to find the instance serving the domain, then
  ``GetAuthorizationToken`` -> ``AuthorizationToken``, ``TempUsername``,
  ``ExpireTime`` (ms since the epoch).

Credentials, the first of: ``access_key_id`` / ``access_key_secret`` (+
``security_token`` for STS) or the ``ALIBABA_CLOUD_*`` environment variables;
keyless RRSA (``role_arn``, ``oidc_provider_arn``, ``oidc_token_file``, as ACK
injects them: STS ``AssumeRoleWithOIDC``, an anonymous call); keyless ECS RAM role
(``ram_role``: the instance metadata service, hardened mode with a session token);
a profile of the ``~/.alibabacloud/credentials`` INI file (``type = access_key`` or
``sts``), the file the docker-credential-acr-helper reads.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import configparser
import datetime
import email.utils
import hashlib
import hmac
import os
import re
import urllib.parse
import uuid

from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens import _http
from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens._options import (
    bare_registry,
    fingerprint,
    from_env,
    http_options,
)
from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens.base import Credential, TokenError

PROVIDER = "alibaba"
PERSONAL_VERSION = "2016-06-07"
ENTERPRISE_VERSION = "2018-12-01"
DEFAULT_CREDENTIALS_FILE = "~/.alibabacloud/credentials"

_ENTERPRISE_RE = re.compile(r"^(?P<name>[a-z0-9][a-z0-9-]*?)-registry(-vpc)?\.(?P<region>[a-z0-9-]+)\.cr\.aliyuncs\.com$")
_PERSONAL_RE = re.compile(r"^registry(-vpc|-intl|-intl-vpc|-internal)?\.(?P<region>[a-z0-9-]+)\.aliyuncs\.com$")


# --------------------------------------------------------------------------- signing


def percent_encode(value):
    """RFC 3986 encoding as the Alibaba Cloud signature documents it: only A-Z a-z 0-9 - _ . ~ stay as they are."""
    return urllib.parse.quote(str(value), safe="~")


def _hmac_sha1_b64(secret, text):
    digest = hmac.new(secret.encode("utf-8"), text.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


def rpc_string_to_sign(method, params):
    canonical = "&".join("%s=%s" % (percent_encode(k), percent_encode(v)) for k, v in sorted(params.items()))
    return "%s&%s&%s" % (method.upper(), percent_encode("/"), percent_encode(canonical))


def rpc_signature(method, params, secret):
    """RPC signature V1.0: Base64(HMAC-SHA1(secret + '&', StringToSign)); ``params`` exclude Signature."""
    return _hmac_sha1_b64(secret + "&", rpc_string_to_sign(method, params))


def roa_canonical_headers(headers):
    acs = {}
    for name, value in headers.items():
        low = name.lower().strip()
        if low.startswith("x-acs-"):
            acs[low] = re.sub(r"[\t\n\r\f]", " ", str(value)).strip()
    return "".join("%s:%s\n" % (k, acs[k]) for k in sorted(acs))


def roa_canonical_resource(path, query=None):
    if not query:
        return path
    items = []
    for k in sorted(query):
        v = query[k]
        items.append(k if v in (None, "") else "%s=%s" % (k, v))
    return path + "?" + "&".join(items)


def roa_string_to_sign(method, headers, path, query=None):
    lower = {k.lower(): v for k, v in headers.items()}
    return (
        "\n".join(
            [
                method.upper(),
                lower.get("accept", ""),
                lower.get("content-md5", ""),
                lower.get("content-type", ""),
                lower.get("date", ""),
            ]
        )
        + "\n"
        + roa_canonical_headers(headers)
        + roa_canonical_resource(path, query)
    )


def roa_signature(method, headers, path, query, secret):
    """ROA signature V1.0: Base64(HMAC-SHA1(secret, StringToSign)); header ``Authorization: acs <id>:<sig>``."""
    return _hmac_sha1_b64(secret, roa_string_to_sign(method, headers, path, query))


# --------------------------------------------------------------------------- credentials


def _credentials_file(options):
    return os.path.expanduser(
        from_env(options, "credentials_file", "ALIBABA_CLOUD_CREDENTIALS_FILE", default=DEFAULT_CREDENTIALS_FILE)
    )


def _profile(options):
    return from_env(options, "profile", "ALIBABA_CLOUD_PROFILE", default="default")


STS_VERSION = "2015-04-01"
METADATA = "http://100.100.100.200"


def keyless(options):
    """("rrsa", role_arn, provider_arn, token_file) | ("ram_role", name) | None, from options and ACK/ECS env."""
    if from_env(options, "access_key_id", "ALIBABA_CLOUD_ACCESS_KEY_ID"):
        return None
    role = from_env(options, "role_arn", "ALIBABA_CLOUD_ROLE_ARN")
    provider = from_env(options, "oidc_provider_arn", "ALIBABA_CLOUD_OIDC_PROVIDER_ARN")
    token_file = from_env(options, "oidc_token_file", "ALIBABA_CLOUD_OIDC_TOKEN_FILE")
    if role or provider or token_file:
        missing = [n for n, v in (("role_arn", role), ("oidc_provider_arn", provider), ("oidc_token_file", token_file)) if not v]
        if missing:
            raise TokenError(
                "registry_token provider=alibaba: RRSA needs role_arn, oidc_provider_arn and "
                "oidc_token_file (ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN, "
                "ALIBABA_CLOUD_OIDC_TOKEN_FILE on ACK); missing: %s" % ", ".join(missing)
            )
        return "rrsa", role, provider, token_file
    ram_role = from_env(options, "ram_role", "ALIBABA_CLOUD_ECS_METADATA")
    if ram_role:
        return "ram_role", ram_role
    return None


def _assume_role_with_oidc(options, role, provider, token_file):
    try:
        with open(os.path.expanduser(token_file), "r") as f:
            oidc_token = f.read().strip()
    except (IOError, OSError) as e:
        raise TokenError(
            "registry_token provider=alibaba: cannot read the OIDC token file %s (%s); on ACK, enable "
            "RRSA and the ack-pod-identity-webhook for the pod's namespace" % (token_file, e.strerror)
        ) from None
    url = (options.get("sts_endpoint_url") or "https://sts.aliyuncs.com").rstrip("/") + "/"
    params = {
        "Action": "AssumeRoleWithOIDC",
        "Version": STS_VERSION,
        "Format": "JSON",
        "RoleArn": role,
        "OIDCProviderArn": provider,
        "OIDCToken": oidc_token,
        "RoleSessionName": options.get("role_session_name") or "cloud-registry-auth",
        "Timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    result = _http.request("POST", url, PROVIDER, form=params, headers={"Accept": "application/json"}, **http_options(options))
    if result.status != 200:
        raise _http.status_error(
            PROVIDER,
            "POST",
            url,
            result,
            hint=(
                "check that the trust policy of %s names the OIDC provider %s and the token's subject (the pod's service "
                "account), and that the token in %s has not expired" % (role, provider, token_file)
            )
            if result.status in (400, 401, 403, 404)
            else None,
        )
    data = _http.json_body(PROVIDER, url, result).get("Credentials") or {}
    if not all(data.get(k) for k in ("AccessKeyId", "AccessKeySecret", "SecurityToken")):
        raise TokenError("registry_token provider=alibaba: %s returned no Credentials" % _http.describe(url))
    return data["AccessKeyId"], data["AccessKeySecret"], data["SecurityToken"]


def _ecs_ram_role(options, name):
    base = (options.get("identity_endpoint") or METADATA).rstrip("/")
    kw = dict(http_options(options), metadata=True)
    session = _http.request(
        "PUT", base + "/latest/api/token", PROVIDER, headers={"X-aliyun-ecs-metadata-token-ttl-seconds": "300"}, **kw
    )
    headers = {"X-aliyun-ecs-metadata-token": session.body.decode("utf-8").strip()} if session.status == 200 else {}
    url = "%s/latest/meta-data/ram/security-credentials/%s" % (base, urllib.parse.quote(name, safe=""))
    result = _http.request("GET", url, PROVIDER, headers=headers, **kw)
    if result.status != 200:
        raise _http.status_error(
            PROVIDER,
            "GET",
            url,
            result,
            hint=("the instance has no RAM role named %s attached; check ram_role (ALIBABA_CLOUD_ECS_METADATA)" % name)
            if result.status == 404
            else None,
        )
    data = _http.json_body(PROVIDER, url, result)
    fields = ("AccessKeyId", "AccessKeySecret", "SecurityToken")
    if data.get("Code") != "Success" or not all(data.get(k) for k in fields):
        raise TokenError(
            "registry_token provider=alibaba: %s answered Code=%s without credentials" % (_http.describe(url), data.get("Code"))
        )
    return data["AccessKeyId"], data["AccessKeySecret"], data["SecurityToken"]


def credentials(options):
    """(access_key_id, access_key_secret, security_token or None), from options, env, a keyless identity (RRSA, ECS
    RAM role) or the profile file."""
    key_id = from_env(options, "access_key_id", "ALIBABA_CLOUD_ACCESS_KEY_ID")
    secret = from_env(options, "access_key_secret", "ALIBABA_CLOUD_ACCESS_KEY_SECRET")
    token = from_env(options, "security_token", "ALIBABA_CLOUD_SECURITY_TOKEN")
    if key_id or secret:
        if not (key_id and secret):
            raise TokenError(
                "registry_token provider=alibaba: give both access_key_id and access_key_secret "
                "(or ALIBABA_CLOUD_ACCESS_KEY_ID / ALIBABA_CLOUD_ACCESS_KEY_SECRET)"
            )
        return key_id, secret, token or None
    how = keyless(options)
    if how and how[0] == "rrsa":
        return _assume_role_with_oidc(options, *how[1:])
    if how:
        return _ecs_ram_role(options, how[1])
    path = _credentials_file(options)
    profile = _profile(options)
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path, "r", encoding="utf-8") as f:
            parser.read_file(f)
    except FileNotFoundError:
        raise TokenError(
            "registry_token provider=alibaba: no credentials: give access_key_id/access_key_secret "
            "(or the ALIBABA_CLOUD_* variables), a keyless identity (RRSA: role_arn, oidc_provider_arn, "
            "oidc_token_file; or an ECS RAM role: ram_role), or create %s with a [%s] profile" % (path, profile)
        ) from None
    except (OSError, configparser.Error) as exc:
        raise TokenError(
            "registry_token provider=alibaba: cannot read the credentials file %s (%s); fix its "
            "permissions or INI syntax" % (path, type(exc).__name__)
        ) from None
    if not parser.has_section(profile):
        raise TokenError(
            "registry_token provider=alibaba: the credentials file %s has no [%s] profile; set profile= "
            "to one of: %s" % (path, profile, ", ".join(parser.sections()) or "(none)")
        )
    section = parser[profile]
    kind = (section.get("type") or "access_key").strip()
    if kind not in ("access_key", "sts"):
        raise TokenError(
            "registry_token provider=alibaba: profile [%s] of %s has type=%s, which this lookup does not "
            "support; use a profile of type access_key or sts" % (profile, path, kind)
        )
    key_id = (section.get("access_key_id") or "").strip()
    secret = (section.get("access_key_secret") or "").strip()
    token = (section.get("security_token") or section.get("sts_token") or "").strip() or None
    if not key_id or not secret:
        raise TokenError(
            "registry_token provider=alibaba: profile [%s] of %s lacks access_key_id or access_key_secret" % (profile, path)
        )
    if kind == "sts" and not token:
        raise TokenError(
            "registry_token provider=alibaba: profile [%s] of %s is type=sts but has no security_token" % (profile, path)
        )
    return key_id, secret, token


# --------------------------------------------------------------------------- registry analysis


def analyse(options):
    """(edition, registry host or None, region, instance name or None)."""
    registry = bare_registry(options.get("registry")).lower()
    region = from_env(options, "region", "ALIBABA_CLOUD_REGION_ID")
    ent = _ENTERPRISE_RE.match(registry) if registry else None
    per = _PERSONAL_RE.match(registry) if registry else None
    if options.get("instance_id") or ent:
        return (
            "enterprise",
            registry or None,
            region or (ent.group("region") if ent else None),
            (ent.group("name") if ent else None),
        )
    if per:
        return "personal", registry, region or per.group("region"), None
    if registry and not options.get("endpoint_url"):
        raise TokenError(
            "registry_token provider=alibaba: registry=%s is neither a Personal Edition domain "
            "(registry.<region>.aliyuncs.com) nor an Enterprise Edition domain "
            "(<instance>-registry.<region>.cr.aliyuncs.com); for a custom domain give instance_id and "
            "region" % registry
        )
    if not region:
        raise TokenError(
            "registry_token provider=alibaba: no region; set region (or ALIBABA_CLOUD_REGION_ID) or give "
            "registry=registry.<region>.aliyuncs.com"
        )
    return "personal", registry or "registry.%s.aliyuncs.com" % region, region, None


def identity(options):
    try:
        how = keyless(options)
    except TokenError:
        how = None
    if how:
        key_id, secret, token = "|".join(how), "", ""  # no network call to name the identity
    else:
        try:
            key_id, secret, token = credentials(options)
        except TokenError:
            key_id, secret, token = "", "", ""
    edition, registry, region, _name = analyse(options)
    return "|".join(
        [
            "alibaba",
            edition,
            "registry=%s" % (registry or ""),
            "region=%s" % (region or ""),
            "instance=%s" % (options.get("instance_id") or ""),
            "key=%s" % key_id,
            "secret=%s" % fingerprint(secret),
            "sts=%s" % fingerprint(token),
            "profile_file=%s" % ("" if options.get("access_key_id") else _credentials_file(options) + "#" + _profile(options)),
            "endpoint=%s" % (options.get("endpoint_url") or ""),
        ]
    )


# --------------------------------------------------------------------------- API calls


def _endpoint(options, region):
    return (options.get("endpoint_url") or "https://cr.%s.aliyuncs.com" % region).rstrip("/")


def _api_error(result, url, what, method="GET"):
    hint = None
    if result.status in (400, 401, 403):
        hint = "check the AccessKey (and STS token) and that the RAM policy allows %s" % what
    return _http.status_error(PROVIDER, method, url, result, hint=hint)


def _rpc(options, region, creds, action, params):
    key_id, secret, token = creds
    query = {
        "Action": action,
        "Format": "JSON",
        "Version": ENTERPRISE_VERSION,
        "AccessKeyId": key_id,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": uuid.uuid4().hex,
        "Timestamp": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "RegionId": region,
    }
    if token:
        query["SecurityToken"] = token
    query.update({k: str(v) for k, v in params.items()})
    query["Signature"] = rpc_signature("GET", query, secret)
    url = (
        _endpoint(options, region)
        + "/?"
        + "&".join("%s=%s" % (percent_encode(k), percent_encode(v)) for k, v in sorted(query.items()))
    )
    result = _http.request("GET", url, PROVIDER, headers={"Accept": "application/json"}, **http_options(options))
    if result.status != 200:
        raise _api_error(result, url, "cr:%s" % action)
    data = _http.json_body(PROVIDER, url, result)
    if data.get("IsSuccess") is False or (data.get("Code") not in (None, "success", "200")):
        raise TokenError(
            "registry_token provider=alibaba: %s in %s failed (Code=%s: %s); check the instance, region "
            "and RAM permissions" % (action, region, data.get("Code"), str(data.get("Message"))[:200])
        )
    return data


def _find_instance(options, region, creds, registry, name):
    if options.get("instance_id"):
        return options["instance_id"]
    page = 1
    candidates = []
    while True:
        params = {"PageNo": page, "PageSize": 50}
        if name:
            params["InstanceName"] = name
        data = _rpc(options, region, creds, "ListInstance", params)
        instances = data.get("Instances") or []
        candidates.extend(i.get("InstanceId") for i in instances if i.get("InstanceId"))
        total = int(data.get("TotalCount") or 0)
        if not instances or page * 50 >= total:
            break
        page += 1
    for instance_id in candidates:
        domains = _rpc(options, region, creds, "ListInstanceDomain", {"InstanceId": instance_id}).get("Domains") or []
        if any((d.get("Domain") or "").lower() == registry for d in domains):
            return instance_id
    raise TokenError(
        "registry_token provider=alibaba: no Container Registry Enterprise Edition instance in %s serves "
        "%s (checked %d instance(s)); check registry and region, or give instance_id" % (region, registry, len(candidates))
    )


def _expiry(value, what):
    if not isinstance(value, (int, float)) or value <= 0:
        raise TokenError("registry_token provider=alibaba: the %s response has no valid expiry; check endpoint_url" % what)
    return datetime.datetime.fromtimestamp(value / 1000.0, datetime.timezone.utc)


def mint_enterprise(options, registry, region, name, creds):
    instance_id = _find_instance(options, region, creds, registry, name)
    data = _rpc(options, region, creds, "GetAuthorizationToken", {"InstanceId": instance_id})
    password = data.get("AuthorizationToken")
    user = data.get("TempUsername")
    if not password or not user:
        raise TokenError(
            "registry_token provider=alibaba: GetAuthorizationToken of %s returned no token; check endpoint_url" % instance_id
        )
    return Credential(registry, user, password, _expiry(data.get("ExpireTime"), "GetAuthorizationToken"))


def mint_personal(options, registry, region, creds):
    key_id, secret, token = creds
    path = "/tokens"
    headers = {
        "Accept": "application/json",
        "Date": email.utils.formatdate(usegmt=True),
        "x-acs-signature-method": "HMAC-SHA1",
        "x-acs-signature-version": "1.0",
        "x-acs-signature-nonce": uuid.uuid4().hex,
        "x-acs-version": PERSONAL_VERSION,
        "x-acs-region-id": region,
    }
    if token:
        headers["x-acs-security-token"] = token
    headers["Authorization"] = "acs %s:%s" % (key_id, roa_signature("GET", headers, path, None, secret))
    url = _endpoint(options, region) + path
    result = _http.request("GET", url, PROVIDER, headers=headers, **http_options(options))
    if result.status != 200:
        raise _api_error(result, url, "cr:GetAuthorizationToken")
    data = _http.json_body(PROVIDER, url, result).get("data") or {}
    password = data.get("authorizationToken")
    user = data.get("tempUserName")
    if not password or not user:
        raise TokenError("registry_token provider=alibaba: GET /tokens returned no authorizationToken; check endpoint_url")
    return Credential(registry, user, password, _expiry(data.get("expireDate"), "GET /tokens"))


def mint(options):
    edition, registry, region, name = analyse(options)
    if not region:
        raise TokenError("registry_token provider=alibaba: no region; set region (or ALIBABA_CLOUD_REGION_ID)")
    creds = credentials(options)
    if edition == "enterprise":
        if not registry:
            raise TokenError("registry_token provider=alibaba: give registry (the instance's domain) with instance_id")
        return mint_enterprise(options, registry, region, name, creds)
    return mint_personal(options, registry, region, creds)
