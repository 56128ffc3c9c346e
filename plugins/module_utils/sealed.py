# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Authenticated encryption with the standard library only (private, not public API).

For the one case where a secret must travel from a managed host back to the controller
(``registry_auth_info`` with ``verify``: the controller checks each stored credential
once per run). The action plugin sends a fresh random key through the secrets file; the
module seals what it read under it and returns only the sealed text, so ansible-core's
own logging of module output (``ANSIBLE_DEBUG=1``) and any callback see ciphertext.

Construction: keys for encryption and authentication derived from the key with
HMAC-SHA256; keystream HMAC-SHA256(enc_key, nonce || counter) (a PRF in counter mode,
nonce 16 random bytes); tag HMAC-SHA256(mac_key, nonce || ciphertext), encrypt then MAC,
checked in constant time before anything is decrypted.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import hmac
import os
import struct

from ansible_collections.cloud_registry.auth.plugins.module_utils.errors import CloudRegistryError

_VERSION = b"cra1"


class SealedError(CloudRegistryError):
    """A sealed text was altered, cut or sealed under another key."""


def new_key():
    return base64.b64encode(os.urandom(32)).decode("ascii")


def _keys(key):
    raw = base64.b64decode(key.encode("ascii")) if isinstance(key, str) else key
    if len(raw) < 32:
        raise SealedError("the sealing key is too short")
    return (
        hmac.new(raw, b"cloud_registry.auth sealed enc", hashlib.sha256).digest(),
        hmac.new(raw, b"cloud_registry.auth sealed mac", hashlib.sha256).digest(),
    )


def _stream(enc_key, nonce, length):
    out = bytearray()
    counter = 0
    while len(out) < length:
        out += hmac.new(enc_key, nonce + struct.pack(">Q", counter), hashlib.sha256).digest()
        counter += 1
    return bytes(out[:length])


def seal(key, plaintext):
    """Sealed text (ASCII) of ``plaintext`` (bytes or text)."""
    if not isinstance(plaintext, bytes):
        plaintext = plaintext.encode("utf-8")
    enc_key, mac_key = _keys(key)
    nonce = os.urandom(16)
    body = bytes(a ^ b for a, b in zip(plaintext, _stream(enc_key, nonce, len(plaintext))))
    tag = hmac.new(mac_key, _VERSION + nonce + body, hashlib.sha256).digest()
    return base64.b64encode(_VERSION + nonce + tag + body).decode("ascii")


def unseal(key, text):
    """The plaintext bytes of a sealed text; SealedError when it does not check out."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (ValueError, TypeError, AttributeError):
        raise SealedError("a sealed value is not base64") from None
    if len(raw) < 52 or raw[:4] != _VERSION:
        raise SealedError("a sealed value is cut short or of another version")
    nonce, tag, body = raw[4:20], raw[20:52], raw[52:]
    enc_key, mac_key = _keys(key)
    if not hmac.compare_digest(tag, hmac.new(mac_key, _VERSION + nonce + body, hashlib.sha256).digest()):
        raise SealedError("a sealed value does not check out (altered, or sealed under another key)")
    return bytes(a ^ b for a, b in zip(body, _stream(enc_key, nonce, len(body))))
