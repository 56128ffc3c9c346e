# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build and compare ``.dockerconfigjson`` payloads (private, not public API).

Used by k8s_pull_secret and the node roles. The JSON is produced the way
``kubectl create secret docker-registry`` produces it (Go's encoding/json:
compact, fields username/password/email/auth, email omitted when empty,
``<``, ``>``, ``&`` escaped), so a secret made here and one made by kubectl for
the same inputs are byte-identical. Registry keys go through
``docker_config.normalize_registry`` (Docker Hub aliases ->
``https://index.docker.io/v1/``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import copy
import json

from ansible_collections.cloud_registry.auth.plugins.module_utils.docker_config import (
    MASK,
    DockerConfigError,
    encode_auth,
    normalize_registry,
)


def entry(username, password, email=None):
    """One auths entry in kubectl's field order."""
    out = {"username": username or "", "password": password or ""}
    if email:
        out["email"] = email
    out["auth"] = encode_auth(username, password)
    return out


def build(entries, normalize=True):
    """``{"auths": {...}}`` for entries ``[{server, username, password, email?}]``.

    Two entries naming the same registry (after normalisation) are an error.
    """
    auths = {}
    for item in entries:
        server = item.get("server")
        key = normalize_registry(server) if normalize else server
        if key in auths:
            raise DockerConfigError("registry %r is given twice (as %r): give each registry once" % (server, key))
        auths[key] = entry(item.get("username"), item.get("password"), item.get("email"))
    return {"auths": auths}


def go_json(data):
    """Compact JSON as Go's json.Marshal writes it (HTML-safe escapes, raw UTF-8)."""
    text = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def encode(data):
    """Base64 of the Go-style JSON: the value of a Secret's ``data[".dockerconfigjson"]``."""
    return base64.b64encode(go_json(data).encode("utf-8")).decode("ascii")


def decode(value):
    """Parse a Secret's base64 ``.dockerconfigjson``; raises DockerConfigError (never echoing it)."""
    try:
        raw = base64.b64decode(value.encode("ascii") if isinstance(value, str) else value, validate=True)
        data = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeError):
        raise DockerConfigError(".dockerconfigjson is not base64-encoded JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("auths", {}), dict):
        raise DockerConfigError(".dockerconfigjson has no 'auths' object")
    return data


def merge(existing, new):
    """``new`` plus the registries of ``existing`` that ``new`` does not name."""
    out = {"auths": dict((existing or {}).get("auths") or {})}
    for key in list(out["auths"]):
        for new_key in new.get("auths", {}):
            try:
                same = normalize_registry(key) == normalize_registry(new_key)
            except DockerConfigError:
                same = False
            if same:
                out["auths"].pop(key, None)
    out["auths"].update(new.get("auths", {}))
    return out


def masked(data):
    """Copy safe for diffs: passwords and auth masked, usernames kept."""
    out = copy.deepcopy(data)
    for value in (out.get("auths") or {}).values():
        if isinstance(value, dict):
            for field in ("password", "auth", "identitytoken", "registrytoken"):
                if field in value:
                    value[field] = MASK
    return out
