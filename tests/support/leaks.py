"""Derived forms of a secret, to search test output for (raw, base64 of ``user:secret``,
JSON-escaped, URL-encoded)."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus


def forms(secret: str, user: str = "ci-bot") -> set[str]:
    pair = base64.b64encode(f"{user}:{secret}".encode()).decode()
    return {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        quote(secret, safe=""),
        quote_plus(secret, safe=""),
        pair,
        pair.rstrip("="),
    }


def leaked(text: str, *secrets: str, user: str = "ci-bot") -> list[str]:
    """The secrets (by position) of which some derived form is in ``text``."""
    return [f"secret #{i}" for i, s in enumerate(secrets) if any(f in text for f in forms(s, user))]
