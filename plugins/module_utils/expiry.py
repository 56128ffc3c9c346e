# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""When credentials stop working (private to this collection, not public API).

* ISO 8601 times in and out (``parse_time`` / ``format_time``), the one place that
  spells them for the modules, the lookup and the event source.
* The expiry record on hosts: a short-lived login (a token the ``registry_token``
  lookup minted, whose ``expires_at`` it returned) written inline into a credentials
  file leaves ``cloud-registry-auth.expiry.json`` beside that file::

      {"version": 1, "files": {"config.json": {"registry.example.com": {
          "expires_at": "2026-12-03T18:00:00Z", "fingerprint": "<16 hex>"}}}}

  ``registry_auth_info`` reads it for secrets that carry no expiry of their own
  (Google access tokens, Alibaba temporary passwords). The fingerprint (a keyed
  SHA-256 of the stored entry, cut to 64 bits; the secret cannot be recovered from it)
  ties the record to the entry it was written with: a later ``docker login`` by hand
  replaces the entry, and the stale record no longer applies.

Standard library only, Python 3.7+ (runs on targets). Written like the credentials
files: locked (flock on the directory), atomic (temp file + rename), 0600 and owned
like the file it describes; entries of other files and registries are kept.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import hmac
import json
import os
import time

from ansible_collections.cloud_registry.auth.plugins.module_utils import safe_path
from ansible_collections.cloud_registry.auth.plugins.module_utils.errors import CloudRegistryError

RECORD_NAME = "cloud-registry-auth.expiry.json"
_FINGERPRINT_KEY = b"cloud_registry.auth expiry record v1"
_MAX_RECORD = 1 << 20


class ExpiryError(CloudRegistryError):
    """A bad ``expires_at`` or an expiry record that cannot be written; the message is safe to show."""


def parse_time(value):
    """Epoch seconds of an ISO 8601 time (``2026-12-03T10:00:00Z``, an offset, or none meaning UTC); None if not one."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        when = datetime.datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()


def format_time(epoch):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def to_epoch(value, what="expires_at"):
    """Epoch seconds of ``value`` (ISO 8601 text or a number of seconds since the epoch); None for None or "".

    Raises ExpiryError naming ``what`` for anything else."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ExpiryError("%s must be an ISO 8601 time or epoch seconds, got %r" % (what, value))
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and value.strip().replace(".", "", 1).isdigit():
        return float(value.strip())
    epoch = parse_time(value)
    if epoch is None:
        raise ExpiryError(
            "%s must be an ISO 8601 time such as 2026-12-03T18:00:00Z (what the registry_token lookup "
            "returns) or epoch seconds, got %r" % (what, value)
        )
    return epoch


def fingerprint(entry):
    """64-bit keyed digest of what a credentials entry stores (auth, identity token, registry token)."""
    if not isinstance(entry, dict):
        return None
    parts = [entry.get(k) for k in ("auth", "identitytoken", "registrytoken", "username", "password")]
    text = json.dumps([p if isinstance(p, str) else None for p in parts], separators=(",", ":"))
    return hmac.new(_FINGERPRINT_KEY, text.encode("utf-8"), hashlib.sha256).hexdigest()[:16]


def record_path(config_path):
    return os.path.join(os.path.dirname(config_path), RECORD_NAME)


def _parse(raw):
    try:
        data = json.loads(raw.decode("utf-8")) if raw else {}
    except (ValueError, UnicodeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("files", {}), dict):
        return None
    return data


def read(config_path):
    """``{registry key: (epoch, fingerprint)}`` recorded for ``config_path``; {} when none (or unreadable)."""
    try:
        # never through a symlink: the record is ours, written as a regular file
        fd = os.open(record_path(config_path), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as f:
            data = _parse(f.read(_MAX_RECORD))
    except (IOError, OSError):
        return {}
    if not data:
        return {}
    out = {}
    mine = (data.get("files") or {}).get(os.path.basename(config_path))
    for key, item in (mine or {}).items() if isinstance(mine, dict) else ():
        if isinstance(item, dict):
            epoch = parse_time(item.get("expires_at"))
            if epoch is not None:
                out[key] = (epoch, item.get("fingerprint"))
    return out


def update(config_path, key, expires_at=None, entry=None, check_mode=False):
    """Record (``expires_at`` given) or forget (``expires_at`` None) the expiry of ``key`` in the file
    ``config_path``. Returns True when the record changes. Nothing is created to forget something, and the
    record is owned like ``config_path``."""
    path = record_path(config_path)
    if expires_at is None and not os.path.exists(path):
        return False
    try:
        res = safe_path.resolve(path)
    except safe_path.UnsafePathError as e:
        raise ExpiryError(str(e)) from None
    try:
        if not res.dir_exists:
            return False  # the credentials file was not written (check mode): nothing to describe yet
        with safe_path.DirLock(res.dir_fd):
            try:
                res.st = os.stat(res.name, dir_fd=res.dir_fd, follow_symlinks=False)
            except OSError:
                res.st = None
            raw = safe_path.read_bytes(res, _MAX_RECORD) if res.st is not None else None
            data = _parse(raw)
            if data is None:
                data = {}  # unreadable: rewritten (it holds nothing that cannot be recorded again)
            files = data.setdefault("files", {})
            name = os.path.basename(config_path)
            mine = files.get(name) if isinstance(files.get(name), dict) else {}
            before = json.dumps(mine, sort_keys=True)
            if expires_at is None:
                mine.pop(key, None)
            else:
                mine[key] = {"expires_at": format_time(expires_at), "fingerprint": fingerprint(entry)}
            if json.dumps(mine, sort_keys=True) == before and raw is not None:
                return False
            if mine:
                files[name] = mine
            else:
                files.pop(name, None)
            data["version"] = 1
            if check_mode:
                return True
            if not files:
                os.unlink(res.name, dir_fd=res.dir_fd)  # nothing left to describe
                return True
            try:
                st = os.stat(config_path)
                uid, gid = st.st_uid, st.st_gid
            except OSError:
                uid = gid = -1
            text = json.dumps(data, indent=2, sort_keys=True) + "\n"
            try:
                safe_path.replace_file(res, text.encode("utf-8"), uid, gid, 0o600)
            except OSError as e:
                raise ExpiryError("cannot write %s: %s" % (res.path, e.strerror)) from None
            return True
    finally:
        res.close()
