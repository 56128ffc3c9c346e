# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one ``WWW-Authenticate`` parser (private, not public API).

RFC 7235 challenges as registries and token services send them: used by the registry
handshake (``registry``: login verification, the auth-scheme probe) and by the OAuth2
token minter (``tokens/oauth2``). Standard library only (runs on targets).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

_TOKEN_CHARS = frozenset("!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _skip_ws(s, i):
    while i < len(s) and s[i] in " \t":
        i += 1
    return i


def _read_token(s, i):
    start = i
    while i < len(s) and s[i] in _TOKEN_CHARS:
        i += 1
    return s[start:i], i


def _read_quoted(s, i):
    # s[i] == '"'
    i += 1
    out = []
    while i < len(s):
        c = s[i]
        if c == "\\" and i + 1 < len(s):
            out.append(s[i + 1])
            i += 2
            continue
        if c == '"':
            return "".join(out), i + 1
        out.append(c)
        i += 1
    return "".join(out), i  # unterminated: take what is there


def parse_challenges(header):
    """Parse a ``WWW-Authenticate`` value into ``[(scheme_lower, {param_lower: value})]``.

    Handles several challenges in one header, quoted values with commas and
    escapes, unquoted values, and token68 forms (kept under the key ``""``).
    Unparsable trailing garbage is ignored, never raised.
    """
    challenges = []
    if not header:
        return challenges
    s = header
    i = 0
    n = len(s)
    current = None
    while i < n:
        i = _skip_ws(s, i)
        if i >= n:
            break
        if s[i] == ",":
            i += 1
            continue
        word, j = _read_token(s, i)
        if not word:
            i += 1  # skip an unexpected character
            continue
        k = _skip_ws(s, j)
        if k < n and s[k] == "=" and current is not None and not (k + 1 < n and s[k + 1] == "="):
            # auth-param: name = value
            k = _skip_ws(s, k + 1)
            if k < n and s[k] == '"':
                value, k = _read_quoted(s, k)
            else:
                start = k
                while k < n and s[k] not in ", \t":
                    k += 1
                value = s[start:k]
            current[1][word.lower()] = value
            i = k
            continue
        # a new challenge: scheme [token68]
        current = (word.lower(), {})
        challenges.append(current)
        i = j
        k = _skip_ws(s, i)
        if k < n and k > i and s[k] != ",":
            # token68 ("Negotiate abc==")? only when it is not the name of an auth-param
            m = k
            while m < n and (s[m] in _TOKEN_CHARS or s[m] == "/"):
                m += 1
            while m < n and s[m] == "=":
                m += 1
            rest = _skip_ws(s, m)
            if m > k and (rest >= n or s[rest] == ","):
                current[1][""] = s[k:m]
                i = m
    return challenges


def pick_challenge(challenges):
    """The challenge to answer: Bearer preferred over Basic (like docker). None if neither."""
    by_scheme = dict((c[0], c[1]) for c in reversed(challenges))
    for scheme in ("bearer", "basic"):
        if scheme in by_scheme:
            return scheme, by_scheme[scheme]
    return None
