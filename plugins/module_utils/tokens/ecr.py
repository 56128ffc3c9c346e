# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private: AWS ECR provider of the registry_token lookup (ecr:GetAuthorizationToken through boto3).

Not public API. boto3 is optional: it is imported here, and only ``mint()``
fails (naming ``boto3`` and its minimum version) when it is missing.

Options read: ``region``, ``profile``, ``aws_access_key_id``,
``aws_secret_access_key``, ``aws_session_token``, ``role_arn``,
``role_session_name``, ``external_id``, ``registry_id``, ``endpoint_url``,
``sts_endpoint_url``, ``ca_path``, ``timeout``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import datetime
import urllib.parse

from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens._options import fingerprint, from_env
from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens.base import Credential, TokenError

BOTO3_MIN = "1.28.0"

try:
    import boto3
    from botocore.config import Config
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError

    HAS_BOTO3 = True
    BOTO3_IMPORT_ERROR = None
except ImportError as _exc:  # pragma: no cover - exercised by the import-guard test
    HAS_BOTO3 = False
    BOTO3_IMPORT_ERROR = _exc

PROVIDER = "ecr"
USERNAME = "AWS"
PUBLIC_REGISTRY = "public.ecr.aws"
PUBLIC_REGION = "us-east-1"  # ECR Public hands out tokens in us-east-1 only


def is_public(options):
    return (options.get("registry") or "").strip().lower().rstrip("/") in (PUBLIC_REGISTRY, "https://" + PUBLIC_REGISTRY)


def _region(options):
    return from_env(options, "region", "AWS_REGION", "AWS_DEFAULT_REGION", default=None)


def identity(options):
    """provider + principal (profile / access key id / role) + region + registry id + endpoint."""
    key_id = from_env(options, "aws_access_key_id", "AWS_ACCESS_KEY_ID")
    secret = from_env(options, "aws_secret_access_key", "AWS_SECRET_ACCESS_KEY")
    token = from_env(options, "aws_session_token", "AWS_SESSION_TOKEN")
    parts = [
        "ecr",
        "profile=%s" % from_env(options, "profile", "AWS_PROFILE"),
        "key=%s" % key_id,
        "secret=%s" % fingerprint(secret),
        "session=%s" % fingerprint(token),
        "role=%s" % (options.get("role_arn") or ""),
        "external_id=%s" % fingerprint(options.get("external_id") or ""),
        "region=%s" % (_region(options) or ""),
        "registry_id=%s" % (options.get("registry_id") or ""),
        "public=%s" % is_public(options),
        "endpoint=%s" % (options.get("endpoint_url") or ""),
    ]
    return "|".join(parts)


def _check_endpoint(name, url, options):
    if not url:
        return
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise TokenError("registry_token provider=ecr: %s=%r is not an http(s) URL" % (name, url))
    if parts.scheme == "http" and not options.get("allow_http"):
        raise TokenError(
            "registry_token provider=ecr: refusing plain http for %s=%s; use https, or set allow_http=true "
            "(loopback addresses only)" % (name, parts.netloc)
        )
    if parts.scheme == "http":
        from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens._http import is_loopback

        if not is_loopback(parts.hostname):
            raise TokenError("registry_token provider=ecr: allow_http accepts only loopback hosts, not %s" % parts.hostname)


def _client_error(exc, what):
    err = exc.response.get("Error", {}) if hasattr(exc, "response") else {}
    code = err.get("Code", "")
    message = err.get("Message", "")
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") if hasattr(exc, "response") else None
    hint = "check the AWS credentials and that they allow %s" % what
    if code in ("ExpiredToken", "ExpiredTokenException"):
        hint = "the AWS session token has expired; refresh it"
    return TokenError("registry_token provider=ecr: %s failed (HTTP %s %s: %s); %s" % (what, status, code, message[:200], hint))


def mint(options):
    if not HAS_BOTO3:
        raise TokenError(
            "registry_token provider=ecr needs the Python library boto3 >= %s on the controller "
            "(pip install 'boto3>=%s'); import failed: %s" % (BOTO3_MIN, BOTO3_MIN, BOTO3_IMPORT_ERROR)
        )
    region = PUBLIC_REGION if is_public(options) else _region(options)
    if not region:
        raise TokenError(
            "registry_token provider=ecr: no AWS region; set the region option (or AWS_REGION / "
            "AWS_DEFAULT_REGION), e.g. region=eu-west-1"
        )
    endpoint = options.get("endpoint_url")
    sts_endpoint = options.get("sts_endpoint_url")
    _check_endpoint("endpoint_url", endpoint, options)
    _check_endpoint("sts_endpoint_url", sts_endpoint, options)
    verify = options.get("ca_path") or None
    timeout = options.get("timeout") or 30
    config = Config(connect_timeout=timeout, read_timeout=timeout, retries={"max_attempts": 2})
    try:
        session = boto3.session.Session(
            profile_name=options.get("profile") or None,
            aws_access_key_id=options.get("aws_access_key_id") or None,
            aws_secret_access_key=options.get("aws_secret_access_key") or None,
            aws_session_token=options.get("aws_session_token") or None,
            region_name=region,
        )
        creds = {}
        if options.get("role_arn"):
            sts = session.client("sts", endpoint_url=sts_endpoint or None, verify=verify, config=config)
            kwargs = {
                "RoleArn": options["role_arn"],
                "RoleSessionName": options.get("role_session_name") or "cloud_registry-auth",
            }
            if options.get("external_id"):
                kwargs["ExternalId"] = options["external_id"]
            try:
                assumed = sts.assume_role(**kwargs)["Credentials"]
            except ClientError as exc:
                raise _client_error(exc, "sts:AssumeRole of %s" % options["role_arn"]) from None
            creds = {
                "aws_access_key_id": assumed["AccessKeyId"],
                "aws_secret_access_key": assumed["SecretAccessKey"],
                "aws_session_token": assumed["SessionToken"],
            }
        if is_public(options):
            # ECR Public: one token for public.ecr.aws (pushes, and pulls above the anonymous rate limit)
            client = session.client(
                "ecr-public", region_name=PUBLIC_REGION, endpoint_url=endpoint or None, verify=verify, config=config, **creds
            )
            try:
                data = client.get_authorization_token()["authorizationData"]
            except ClientError as exc:
                raise _client_error(exc, "ecr-public:GetAuthorizationToken (and sts:GetServiceBearerToken)") from None
            data = [dict(data, proxyEndpoint="https://" + PUBLIC_REGISTRY)] if data else []
        else:
            ecr = session.client("ecr", endpoint_url=endpoint or None, verify=verify, config=config, **creds)
            kwargs = {}
            if options.get("registry_id"):
                kwargs["registryIds"] = [str(options["registry_id"])]
            try:
                data = ecr.get_authorization_token(**kwargs)["authorizationData"]
            except ClientError as exc:
                raise _client_error(exc, "ecr:GetAuthorizationToken in %s" % region) from None
    except NoCredentialsError:
        raise TokenError(
            "registry_token provider=ecr: no AWS credentials found; set profile, aws_access_key_id/"
            "aws_secret_access_key, the AWS_* environment variables, or an instance role"
        ) from None
    except NoRegionError:
        raise TokenError("registry_token provider=ecr: no AWS region; set the region option") from None
    except TokenError:
        raise
    except BotoCoreError as exc:
        # botocore messages name endpoints/profiles, never secret values
        raise TokenError(
            "registry_token provider=ecr: %s (%s); check profile, region and endpoint_url" % (type(exc).__name__, str(exc)[:300])
        ) from None
    if not data:
        raise TokenError("registry_token provider=ecr: GetAuthorizationToken returned no authorizationData; check registry_id")
    item = data[0]
    try:
        decoded = base64.b64decode(item["authorizationToken"]).decode("utf-8")
    except (KeyError, binascii.Error, UnicodeDecodeError):
        raise TokenError(
            "registry_token provider=ecr: GetAuthorizationToken returned an undecodable authorizationToken; check endpoint_url"
        ) from None
    user, sep, password = decoded.partition(":")
    if not sep or not password:
        raise TokenError("registry_token provider=ecr: the authorizationToken is not 'user:password'; check endpoint_url")
    proxy = item.get("proxyEndpoint") or ""
    registry = urllib.parse.urlsplit(proxy).netloc if "://" in proxy else proxy
    expires = item.get("expiresAt")
    if isinstance(expires, (int, float)):
        expires = datetime.datetime.fromtimestamp(expires, datetime.timezone.utc)
    if not isinstance(expires, datetime.datetime):
        raise TokenError("registry_token provider=ecr: GetAuthorizationToken returned no expiresAt; check endpoint_url")
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=datetime.timezone.utc)
    return Credential(registry or None, user or USERNAME, password, expires)
