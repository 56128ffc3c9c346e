# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pull secrets of a cluster as they are (private engine of ``k8s_pull_secret_info``).

Three list requests per cluster, whatever the number of namespaces: the namespaces of the
selection, the ``kubernetes.io/dockerconfigjson`` secrets and the service accounts. For
each namespace: its pull secrets with their registries, user names (never the secret),
expiry (the expiry annotation ``k8s_pull_secret`` writes, else the ``exp`` of a JWT
password) and the service accounts that use them; which namespaces lack the named secret
and which service accounts do not reference it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.cloud_registry.auth.plugins.module_utils import auth_info, dockerconfigjson, kube
from ansible_collections.cloud_registry.auth.plugins.module_utils.errors import DockerConfigError


def _registries(obj):
    """[{registry, username, expires_at}] of a secret's .dockerconfigjson (None when it cannot be read)."""
    raw = (obj.get("data") or {}).get(kube.DATA_KEY)
    if raw is None:
        return None
    try:
        data = dockerconfigjson.decode(raw)
    except DockerConfigError:
        return None
    out = []
    for key, entry in sorted((data.get("auths") or {}).items()):
        try:
            username, password, identity = auth_info.docker_config.entry_credentials(entry)
        except DockerConfigError:
            username, password, identity = None, None, None
        at, _source = auth_info.token_expiry(identity or password, username)
        out.append(
            {"registry": key, "username": username or None, "expires_at": auth_info.format_time(at) if at is not None else None}
        )
    return out


def _state(expires_at, now, within):
    at = kube.parse_time(expires_at)
    if at is None:
        return "present"
    if at <= now:
        return "expired"
    return "expiring" if at - now <= within else "present"


def pull_secret_info(client, spec, now=None):
    now = time.time() if now is None else now
    within = spec.get("expiring_within", 7 * 86400)
    annotation = spec.get("expiry_annotation")
    name = spec.get("name")
    wanted_sas = spec.get("service_accounts") or []
    targets = kube.resolve_namespaces(client, spec)
    selected = set(ns for ns, _skip in targets)
    query = {"fieldSelector": "type=%s" % kube.PULL_SECRET_TYPE + (",metadata.name=%s" % name if name else "")}
    secrets = {}
    for obj in client.list_all("/api/v1/secrets", query):
        meta = obj["metadata"]
        if meta["namespace"] in selected:
            secrets.setdefault(meta["namespace"], []).append(obj)
    refs = {}
    for sa in client.list_all("/api/v1/serviceaccounts"):
        meta = sa["metadata"]
        if meta["namespace"] not in selected:
            continue
        names = [r.get("name") for r in sa.get("imagePullSecrets") or [] if isinstance(r, dict)]
        refs.setdefault(meta["namespace"], {})[meta["name"]] = names
    namespaces = []
    for ns, skip in targets:
        accounts = refs.get(ns, {})
        found = []
        for obj in sorted(secrets.get(ns, []), key=lambda o: o["metadata"]["name"]):
            meta = obj["metadata"]
            registries = _registries(obj)
            recorded = (meta.get("annotations") or {}).get(annotation) if annotation else None
            expiries = [r["expires_at"] for r in registries or [] if r["expires_at"]]
            expires_at = recorded or (min(expiries) if expiries else None)
            state = "invalid" if registries is None else _state(expires_at, now, within)
            found.append(
                {
                    "name": meta["name"],
                    "registries": registries or [],
                    "expires_at": expires_at,
                    "state": state,
                    "reason": ".dockerconfigjson cannot be read: recreate the secret" if registries is None else None,
                    "used_by": sorted(sa for sa, names in accounts.items() if meta["name"] in names),
                    "resource_version": meta.get("resourceVersion"),
                }
            )
        entry = {"namespace": ns, "skipped": skip, "secrets": found}
        if name:
            entry["missing"] = not found
            entry["service_accounts_without"] = sorted(sa for sa in (wanted_sas or accounts) if name not in accounts.get(sa, []))
            entry["service_accounts_absent"] = sorted(sa for sa in wanted_sas if sa not in accounts)
        namespaces.append(entry)
    all_secrets = [s for n in namespaces for s in n["secrets"]]
    states = dict((s, 0) for s in ("present", "expiring", "expired", "invalid"))
    for s in all_secrets:
        states[s["state"]] += 1
    expiries = [s["expires_at"] for s in all_secrets if kube.parse_time(s["expires_at"]) is not None]
    return {
        "changed": False,
        "name": name,
        "namespaces": namespaces,
        "missing_namespaces": [n["namespace"] for n in namespaces if n.get("missing")],
        "summary": {
            "namespaces": len(namespaces),
            "secrets": len(all_secrets),
            "states": states,
            "missing": sum(1 for n in namespaces if n.get("missing")),
            "service_accounts_without": sum(len(n.get("service_accounts_without") or []) for n in namespaces),
            "earliest_expiry": min(expiries, key=kube.parse_time) if expiries else None,
        },
        "api_requests": client.requests,
    }
