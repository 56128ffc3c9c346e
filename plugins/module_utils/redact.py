# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to this collection (not public API): secrets out of text we did not write.

Registries, token services and credential helpers answer errors in their own words,
and some of them echo what they were sent: an ``Authorization`` header
(``base64(user:password)``), a JSON body (the password JSON-escaped), a query string
(URL-encoded). :func:`scrub` removes every such derived form of the secrets in play
from a message before it becomes part of one of ours.

Standard library only: this runs on managed hosts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json

try:
    from urllib.parse import quote, quote_plus
except ImportError:  # pragma: no cover - Python 2
    from urllib import quote, quote_plus

MASK = "********"
# a secret shorter than this is not looked for (it would match ordinary words)
MIN_LEN = 4


def _b64(raw):
    return base64.b64encode(raw.encode("utf-8")).decode("ascii")


def derived_forms(secret, usernames=()):
    """Every spelling of ``secret`` a peer may echo back, longest first."""
    if not secret or not isinstance(secret, str) or len(secret) < MIN_LEN:
        return []
    forms = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        _b64(secret),
        _b64(secret).rstrip("="),
        _b64(":" + secret),
    }
    for user in usernames:
        if user is None:
            continue
        pair = _b64("%s:%s" % (user, secret))
        forms.update((pair, pair.rstrip("=")))
    return sorted((f for f in forms if len(f) >= MIN_LEN), key=len, reverse=True)


def scrub(text, secrets, usernames=()):
    """``text`` with every derived form of each of ``secrets`` replaced by the mask."""
    if not text:
        return text
    for secret in secrets:
        for form in derived_forms(secret, usernames):
            if form in text:
                text = text.replace(form, MASK)
    return text


# the secret fields of a kubeconfig's users (tokens, passwords, keys, auth-provider tokens)
KUBECONFIG_SECRET_KEYS = ("token", "password", "client-key-data", "id-token", "refresh-token", "access-token", "client-secret")


def kubeconfig_secret_items(kubeconfig):
    """``(path, value)`` of every secret in the users of a kubeconfig given as a dictionary;
    ``path`` is the key path from the kubeconfig (``("users", 0, "user", "token")``)."""
    if not isinstance(kubeconfig, dict):
        return []
    out = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in KUBECONFIG_SECRET_KEYS and isinstance(value, str):
                    out.append((path + (key,), value))
                else:
                    walk(value, path + (key,))
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, path + (index,))

    walk(kubeconfig.get("users") or [], ("users",))
    return out
