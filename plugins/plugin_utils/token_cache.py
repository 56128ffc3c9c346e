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
  of a secret that enters the identity as a hash. Entries are JSON that carry an
  HMAC (under a key derived from ``.key``) over their name and content: an entry
  this collection did not write, one moved to another identity's name, or a file
  another user could have written (owner, mode) is ignored, removed and reported
  in ``TokenCache.rejected``. Entries hold only credentials with an expiry and are
  deleted, with their lock files, when within ``min_ttl`` of it; once per run the
  directory is swept of expired entries, orphaned lock files and stale temp files.

Controller-side only (POSIX: ``fcntl``); lives in plugin_utils because it
imports ``run_cache``, which module_utils may not.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import hashlib
import hmac
import json
import os
import time

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
        # the form Credential.as_dict writes; fromisoformat, not strptime, whose first call in a worker costs ~3 ms
        if len(expires) != 20 or expires[10] != "T" or not expires.endswith("Z"):
            raise ValueError("expires_at %r is not YYYY-MM-DDTHH:MM:SSZ" % (expires,))
        expires = datetime.datetime.fromisoformat(expires[:-1]).replace(tzinfo=datetime.timezone.utc)
    return Credential(data["registry"], data["username"], data["password"], expires)


def _mac(key, name, data):
    """HMAC of a cache_dir entry: its name (the identity) and its content."""
    mac_key = hmac.new(key, b"cloud_registry.auth registry_token cache_dir entry mac", hashlib.sha256).digest()
    body = dict((k, v) for k, v in data.items() if k != "mac")
    material = "%s\0%s" % (name, json.dumps(body, sort_keys=True, separators=(",", ":")))
    return hmac.new(mac_key, material.encode("utf-8"), hashlib.sha256).hexdigest()


def _read(path, decrypt=None, mac_key=None, rejected=None):
    """The cached Credential at ``path``, or None if absent/unreadable/corrupt (then removed).

    With ``mac_key`` (cache_dir entries) the file must be private and carry a valid MAC;
    what fails is removed and its reason appended to ``rejected``."""
    try:
        data = run_cache.read_json(path, private=mac_key is not None)
        if data is None:
            return None
        if data.get("format") != FORMAT:
            raise ValueError("format")
        if mac_key is not None:
            name = os.path.basename(path)
            mac = data.get("mac")
            if not isinstance(mac, str) or not hmac.compare_digest(mac, _mac(mac_key, name, data)):
                raise run_cache.NotPrivate("its MAC does not match: this collection did not write it there")
        if decrypt is not None:
            data["password"] = decrypt(data["password"])
            if data["password"] is None:
                raise ValueError("not this run's")
        return _from_dict(data)
    except run_cache.NotPrivate as exc:
        if rejected is not None:
            rejected.append("%s (%s)" % (path, exc))
        run_cache.unlink(path)
        return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        run_cache.unlink(path)
        return None


def _write(path, cred, encrypt=None, mac_key=None):
    data = cred.as_dict()
    data["format"] = FORMAT
    if encrypt is not None:
        data["password"] = encrypt(data["password"])
    if mac_key is not None:
        data["mac"] = _mac(mac_key, os.path.basename(path), data)
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
        self.rejected = []  # cache_dir files that were ignored and removed, with the reason
        self._disk_key = None

    def prepare(self):
        try:
            self.run.open()
            if self.disk_dir:
                run_cache.private_dir(self.disk_dir, "cache_dir")
                if self._disk_key is None:  # prepare() runs per lookup call: read the key and sweep once
                    self._disk_key = run_cache.load_or_create_key(os.path.join(self.disk_dir, ".key"))
                    self._sweep_disk_once()
        except RunCacheError as exc:
            raise _token_error(exc) from None
        except OSError as exc:
            raise _token_error(exc) from None

    def _sweep_disk_once(self):
        """Once per run (the first process to get here): remove expired or foreign entries,
        lock files without an entry and temp files left by a crash."""
        marker = os.path.join(
            self.run_dir, "cache_dir-swept-" + hashlib.sha256(os.path.realpath(self.disk_dir).encode("utf-8")).hexdigest()[:16]
        )
        try:
            os.close(os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except OSError:
            return  # swept already in this run (or the run dir refuses: then the next run does it)
        now = self.now()
        try:
            names = os.listdir(self.disk_dir)
        except OSError:
            return
        for name in names:
            path = os.path.join(self.disk_dir, name)
            if name.startswith(".tmp-"):
                try:
                    if time.time() - os.lstat(path).st_mtime > 300:
                        run_cache.unlink(path)
                except OSError:
                    pass
            elif name.endswith(".json"):
                lock = run_cache.FileLock(path[:-5] + ".lock", blocking=False)
                if not lock.acquire():
                    continue  # in use right now
                try:
                    cred = _read(path, mac_key=self._disk_key, rejected=self.rejected)
                    if cred is None or cred.expires_at is None or cred.seconds_left(now) <= 0:
                        run_cache.unlink(path)
                        lock.remove()
                finally:
                    lock.release()
            elif name.endswith(".lock") and not os.path.exists(path[:-5] + ".json"):
                lock = run_cache.FileLock(path, blocking=False)
                if lock.acquire():
                    try:
                        if not os.path.exists(path[:-5] + ".json"):
                            lock.remove()
                    finally:
                        lock.release()

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
        if self._disk_key is None:
            self._disk_key = run_cache.load_or_create_key(os.path.join(self.disk_dir, ".key"))
        return os.path.join(self.disk_dir, disk_name(self._disk_key, provider, identity))

    def _get_or_mint_locked(self, provider, identity, mint, min_ttl):
        """Under the run lock: the cache_dir copy if fresh enough, else a new mint."""
        if self.disk_dir:
            key = os.path.basename(self.disk_entry(provider, identity))
            disk_file = os.path.join(self.disk_dir, key + ".json")
            with run_cache.FileLock(os.path.join(self.disk_dir, key + ".lock")) as lock:
                cred = _read(disk_file, mac_key=self._disk_key, rejected=self.rejected)
                if cred is not None and cred.expires_at is not None and fresh(cred, min_ttl, self.now()):
                    self.last_source = "disk"
                else:
                    if cred is not None:
                        run_cache.unlink(disk_file)  # expired or too close to expiry: do not leave it behind
                    try:
                        cred = self._mint(provider, mint, min_ttl)
                    except TokenError:
                        lock.remove()  # nothing is cached for this identity: neither is its lock
                        raise
                    if cred.expires_at is not None:  # never persist a credential without an expiry
                        _write(disk_file, cred, mac_key=self._disk_key)
                    else:
                        lock.remove()
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
                    "check the controller clock and the provider endpoint" % (provider, cred.as_dict()["expires_at"])
                )
            raise TokenError(
                "registry_token provider=%s: the provider returned a credential valid for only %ds, not more than "
                "min_ttl=%ds; lower min_ttl below the provider's token lifetime" % (provider, int(left), min_ttl)
            )
        return cred
