# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private: option helpers shared by the token providers (not public API).

Each provider reads some options with an environment-variable fallback, tags
secrets in its cache identity with a short hash, and passes the same TLS /
timeout options to ``_http.request``; these are the one place that does it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os

DEFAULT_TIMEOUT = 30


def from_env(options, name, *env_names, default=""):
    """Option ``name`` if set, else the first of ``env_names`` set in the environment, else ``default`` ('')."""
    value = options.get(name)
    if value:
        return value
    for env in env_names:
        if os.environ.get(env):
            return os.environ[env]
    return default


def fingerprint(value):
    """A short one-way tag of a secret for cache identities ('' when there is no secret); never the secret."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:16] if value else ""


def http_options(options, ok=None):
    """The keyword arguments of ``_http.request`` that come from the lookup's options."""
    return {
        "ca_path": options.get("ca_path"),
        "allow_http": options.get("allow_http"),
        "timeout": options.get("timeout") or DEFAULT_TIMEOUT,
        "ok": ok,
    }


def bare_registry(value):
    """A registry host given as host or URL, without scheme and trailing '/': ``https://r.io/`` -> ``r.io``."""
    value = (value or "").strip()
    if "://" in value:
        value = value.split("://", 1)[1]
    return value.rstrip("/")
