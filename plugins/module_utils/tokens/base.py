# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Shared types for the token providers (private to this collection, not public API).

Every provider module in this package exposes two functions that take a plain
``options`` dict (the lookup's options, already defaulted):

``identity(options) -> str``
    A stable, non-secret string naming the principal the credential is minted
    for (provider + principal + scopes/registry). Used as the cache key (after
    hashing); it may include a hash of a secret, never the secret itself.

``mint(options) -> Credential``
    Calls the provider and returns a fresh credential, or raises ``TokenError``
    with a message that names the provider, the endpoint or principal, and the fix.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
from ansible_collections.cloud_registry.auth.plugins.module_utils.errors import CloudRegistryError


class TokenError(CloudRegistryError):
    """A credential could not be minted; the message is safe to show (no secret)."""


class Credential:
    """A registry credential. ``expires_at`` is an aware UTC datetime or None (no expiry)."""

    __slots__ = ("registry", "username", "password", "expires_at")

    def __init__(self, registry, username, password, expires_at=None):
        self.registry = registry
        self.username = username
        self.password = password
        if expires_at is not None and expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=datetime.timezone.utc)
        self.expires_at = expires_at

    def seconds_left(self, now=None):
        if self.expires_at is None:
            return None
        now = now or datetime.datetime.now(datetime.timezone.utc)
        return (self.expires_at - now).total_seconds()

    def as_dict(self):
        """The lookup's return value: ``expires_at`` as ISO 8601 UTC (``Z``) or None."""
        expires = None
        if self.expires_at is not None:
            expires = self.expires_at.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "registry": self.registry,
            "username": self.username,
            "password": self.password,
            "expires_at": expires,
        }

    def __repr__(self):  # never show the secret
        return "Credential(registry=%r, username=%r, password=<hidden>, expires_at=%r)" % (
            self.registry,
            self.username,
            self.expires_at,
        )
