# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubelet image credential providers on the controller (private, not public API): the checks
the kubelet makes of a CredentialProviderConfig (one it rejects stops the kubelet), and the
document itself, rendered once per node from the role's ``node_auth_credential_providers``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

API_VERSIONS = (
    "credentialprovider.kubelet.k8s.io/v1",
    "credentialprovider.kubelet.k8s.io/v1beta1",
    "credentialprovider.kubelet.k8s.io/v1alpha1",
)
V1 = API_VERSIONS[0]
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$")
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
HEADER = "# Managed by cloud_registry.auth.node_auth (Ansible)\n"


class ProviderError(ValueError):
    """An entry the kubelet would reject; the message names it and what it needs."""


def _invalid(p):
    return ProviderError(
        "node_auth_credential_providers entry %s is invalid: it needs a name usable as a file name, at least one "
        "match_images pattern, a Go duration as default_cache_duration (e.g. 12h), an api_version of %s (or "
        "v1beta1/v1alpha1), and exactly one of src or url (url needs sha256). token_attributes (service-account "
        "tokens for the plugin, KEP-4412) need an audience, api_version %s, cache_type Token or ServiceAccount, "
        "require_service_account true when required_annotation_keys are given, and no key both required and "
        "optional. Nothing was changed." % (p.get("name") or "(no name)", V1, V1)
    )


def check(p):
    """Raise ProviderError unless the kubelet takes provider entry ``p``."""
    if not isinstance(p, dict):
        raise _invalid({})
    name = p.get("name")
    api = p.get("api_version") or V1
    ok = (
        isinstance(name, str)
        and bool(_NAME.match(name))
        and bool(p.get("match_images"))
        and bool(_DURATION.match(str(p.get("default_cache_duration") or "10m")))
        and api in API_VERSIONS
        and (("src" in p) != ("url" in p))
        and ("url" not in p or bool(_SHA256.match(str(p.get("sha256") or ""))))
        and ("sha256" not in p or bool(_SHA256.match(str(p["sha256"]))))
    )
    t = p.get("token_attributes")
    if ok and t is not None:
        required = list(t.get("required_annotation_keys") or [])
        optional = list(t.get("optional_annotation_keys") or [])
        ok = (
            bool(t.get("audience"))
            and api == V1
            and (t.get("cache_type") or "Token") in ("Token", "ServiceAccount")
            and (t.get("require_service_account", True) or not required)
            and not set(required) & set(optional)
        )
    if not ok:
        raise _invalid(p)


def entry(p):
    """The CredentialProviderConfig entry of ``p`` (checked)."""
    e = {
        "name": p["name"],
        "matchImages": list(p["match_images"]),
        "defaultCacheDuration": p.get("default_cache_duration") or "10m",
        "apiVersion": p.get("api_version") or V1,
    }
    if p.get("args"):
        e["args"] = list(p["args"])
    if p.get("env"):
        e["env"] = [{"name": k, "value": v} for k, v in p["env"].items()]
    t = p.get("token_attributes")
    if t is not None:
        ta = {
            "serviceAccountTokenAudience": t["audience"],
            "cacheType": t.get("cache_type") or "Token",
            "requireServiceAccount": bool(t.get("require_service_account", True)),
        }
        if t.get("required_annotation_keys"):
            ta["requiredServiceAccountAnnotationKeys"] = list(t["required_annotation_keys"])
        if t.get("optional_annotation_keys"):
            ta["optionalServiceAccountAnnotationKeys"] = list(t["optional_annotation_keys"])
        e["tokenAttributes"] = ta
    return e


def render(providers):
    """The CredentialProviderConfig document (YAML) for the checked ``providers``."""
    from ansible.plugins.filter.core import to_nice_yaml

    doc = {
        "apiVersion": "kubelet.config.k8s.io/v1",
        "kind": "CredentialProviderConfig",
        "providers": [entry(p) for p in providers],
    }
    return HEADER + to_nice_yaml(doc, indent=2, sort_keys=False)
