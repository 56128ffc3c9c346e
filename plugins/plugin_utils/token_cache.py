# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private: the token policy of the registry_token lookup's caches (not public API).

Built on ``plugin_utils.run_cache`` (the run directory, its location and naming,
modes, per-entry ``flock``, HMAC entry names, Fernet payload encryption, sweep and
reaper: see that module). This module adds what is specific to minted tokens:

* one mint per identity per run: the run entry ``<HMAC>.json`` holds the
  credential with its password Fernet-encrypted, reused while it is valid for
  more than ``min_ttl`` seconds;
* a freshly minted credential that is not valid for more than ``min_ttl`` is an
  error, never returned nor cached;
* a failed mint is remembered for the rest of the run (``<HMAC>.failed``, the
  scrubbed message, no secret): the other hosts fail the same way;
* the optional persistent ``cache_dir`` (0700, files 0600, survives the run):
  ``<HMAC-SHA256(key, provider, identity)>.json|.lock``, where ``key`` is a random
  32-byte file ``.key`` of that directory, so a name cannot be used to test guesses
  of a secret that enters the identity as a hash. Entries are plain JSON
  (there is no key that would survive the run), hold only credentials with an
  expiry, and are deleted when within ``min_ttl`` of it.

Controller-side only (POSIX: ``fcntl``); lives in plugin_utils because it
imports ``run_cache``, which module_utils may not.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import hmac
import os

from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens.base import Credential, TokenError
from ansible_collections.cloud_registry.auth.plugins.plugin_utils import run_cache
from ansible_collections.cloud_registry.auth.plugins.plugin_utils.run_cache import RunCacheError

FORMAT = 1
NAMESPACE = "registry_token"


def disk_name(key, provider, identity):
    """Name of a persistent ``cache_dir`` entry: keyed by the directory's own random key."""
    return hmac.new(key, _material(provider, identity).encode("utf-8"), hashlib.sha256).hexdigest()


def _material(provider, identity):
    return "%s\0%s" % (provider, identity)


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def _from_dict(data):
    expires = data.get("expires_at")
    if expires is not None:
        expires = datetime.datetime.strptime(expires, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    return Credential(data["registry"], data["username"], data["password"], expires)


def _read(path, decrypt=None):
    """The cached Credential at ``path``, or None if absent/unreadable/corrupt (then removed)."""
    try:
        data = run_cache.read_json(path)
        if data is None:
            return None
        if data.get("format") != FORMAT:
            raise ValueError("format")
        if decrypt is not None:
            data["password"] = decrypt(data["password"])
            if data["password"] is None:
                raise ValueError("not this run's")
        return _from_dict(data)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        run_cache.unlink(path)
        return None


def _write(path, cred, encrypt=None):
    data = cred.as_dict()
    data["format"] = FORMAT
    if encrypt is not None:
        data["password"] = encrypt(data["password"])
    run_cache.write_json(path, data)


def _read_failure(path, min_ttl):
    """The message of a failed mint of this run for the same min_ttl, or None."""
    try:
        data = run_cache.read_json(path) or {}
    except (OSError, ValueError):
        return None
    if data.get("format") == FORMAT and data.get("min_ttl") == min_ttl and isinstance(data.get("message"), str):
        return data["message"]
    return None


def _write_failure(path, message, min_ttl):
    """Remember a failed mint for the rest of the run (the message is secret-free by contract)."""
    try:
        run_cache.write_json(path, {"format": FORMAT, "min_ttl": min_ttl, "message": message})
    except OSError:
        pass


def fresh(cred, min_ttl, now):
    left = cred.seconds_left(now)
    return left is None or left > min_ttl


def _token_error(exc):
    return TokenError("registry_token: %s" % (exc.strerror or exc))


class TokenCache:
    """get_or_mint(): one mint per key per run (and per ``disk_dir`` lifetime of the token)."""

    def __init__(self, run_base=None, disk_dir=None, run_id=None, now=None, reaper=None):
        self.now = now or _utcnow
        self.run = run_cache.RunDir(root=run_base, rid=run_id, reaper=reaper)
        self.root = self.run.base
        self.run_id = self.run.rid
        self.run_dir = self.run.dir
        self.disk_dir = disk_dir
        self.last_source = None  # "run", "disk", "mint" or "failed": what the last get_or_mint did

    def prepare(self):
        try:
            self.run.open()
            if self.disk_dir:
                run_cache.private_dir(self.disk_dir, "cache_dir")
        except RunCacheError as exc:
            raise _token_error(exc) from None

    def sweep(self):
        """Delete run directories whose ansible main process has exited."""
        return self.run.sweep()

    def run_entry(self, provider, identity):
        """Path prefix (no suffix) of this identity's entry in the run directory."""
        self.prepare()
        return self.run.entry(NAMESPACE, _material(provider, identity))

    def get_or_mint(self, provider, identity, mint, min_ttl, scrub=None):
        """Return a Credential valid for more than ``min_ttl`` seconds; call ``mint()`` at most once.

        A failed mint (TokenError) is remembered for the rest of the run (same identity and
        ``min_ttl``): the other hosts fail with the same message without calling the provider.
        ``scrub`` cleans a message before it is stored.
        """
        material = _material(provider, identity)
        prefix = self.run_entry(provider, identity)

        def encrypt(text):
            return self.run.encrypt(NAMESPACE, material, text)

        def decrypt(text):
            return self.run.decrypt(NAMESPACE, material, text)

        with run_cache.FileLock(prefix + ".lock"):
            cred = _read(prefix + ".json", decrypt)
            if cred is not None and fresh(cred, min_ttl, self.now()):
                self.last_source = "run"
                return cred
            failure = _read_failure(prefix + ".failed", min_ttl)
            if failure is not None:
                # another host of this run already failed to mint for this identity: do not
                # hammer the provider (wrong secrets can lock accounts) - fail the same way
                self.last_source = "failed"
                raise TokenError(failure)
            try:
                cred = self._get_or_mint_locked(provider, identity, mint, min_ttl)
            except TokenError as exc:
                _write_failure(prefix + ".failed", scrub(str(exc)) if scrub else str(exc), min_ttl)
                raise
            _write(prefix + ".json", cred, encrypt)
            return cred

    def display_id(self, provider, identity):
        """A short, run-keyed id of this identity for -vvv output (reveals nothing across runs)."""
        return os.path.basename(self.run_entry(provider, identity))[:12]

    def disk_entry(self, provider, identity):
        """Path prefix of this identity's ``cache_dir`` entry."""
        key = run_cache.load_or_create_key(os.path.join(self.disk_dir, ".key"))
        return os.path.join(self.disk_dir, disk_name(key, provider, identity))

    def _get_or_mint_locked(self, provider, identity, mint, min_ttl):
        """Under the run lock: the cache_dir copy if fresh enough, else a new mint."""
        if self.disk_dir:
            key = os.path.basename(self.disk_entry(provider, identity))
            disk_file = os.path.join(self.disk_dir, key + ".json")
            with run_cache.FileLock(os.path.join(self.disk_dir, key + ".lock")):
                cred = _read(disk_file)
                if cred is not None and cred.expires_at is not None and fresh(cred, min_ttl, self.now()):
                    self.last_source = "disk"
                else:
                    if cred is not None:
                        run_cache.unlink(disk_file)  # expired or too close to expiry: do not leave it behind
                    cred = self._mint(provider, mint, min_ttl)
                    if cred.expires_at is not None:  # never persist a credential without an expiry
                        _write(disk_file, cred)
        else:
            cred = self._mint(provider, mint, min_ttl)
        return cred

    def _mint(self, provider, mint, min_ttl):
        cred = mint()
        self.last_source = "mint"
        left = cred.seconds_left(self.now())
        if left is not None and left <= min_ttl:
            if left <= 0:
                raise TokenError(
                    "registry_token provider=%s: the provider returned a credential that already expired at %s; "
                    "check the controller clock and the provider endpoint" % (provider, cred.as_dict()["expires_at"]))
            raise TokenError(
                "registry_token provider=%s: the provider returned a credential valid for only %ds, not more than "
                "min_ttl=%ds; lower min_ttl below the provider's token lifetime" % (provider, int(left), min_ttl))
        return cred
