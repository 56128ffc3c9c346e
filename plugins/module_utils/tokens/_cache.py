# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private: the run-scoped and on-disk credential caches of the registry_token lookup.

Not public API. Controller-side (POSIX: ``fcntl``).

Why files: Ansible evaluates a lookup in each forked worker process, so a
per-process memory cache would mint once per fork. The *run cache* is a private
directory named after the ansible-playbook main process (pid + its start time,
so a recycled pid never reuses a directory); concurrent workers serialise on an
``flock`` per identity, the first one mints and the others read its result.

Layout (every directory 0700, every file 0600, owned by the controller user;
file names are SHA-256 hashes of the identity, never a secret)::

    <run base>/cloud_registry_auth-<uid>/run-<pid>-<start>/<sha256>.json|.lock
    <cache_dir>/<sha256>.json|.lock          (optional, survives the run)

A run directory is deleted right after its run by a detached reaper process
(the lookup passes ``reaper``; it is started by the worker that created the
directory); run directories whose main process is gone are also deleted by the
next lookup call of any later run. The run base is ``$XDG_RUNTIME_DIR``
or ``/dev/shm`` (memory-backed) when they exist, else the temp directory.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import errno
import fcntl
import hashlib
import json
import multiprocessing
import os
import shutil
import stat
import tempfile

from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens.base import Credential, TokenError

FORMAT = 1


def cache_key(provider, identity):
    return hashlib.sha256(("%s\0%s" % (provider, identity)).encode("utf-8")).hexdigest()


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def main_process_pid():
    """PID of the ansible(-playbook) main process: the parent of a forked worker, else ourselves."""
    parent = None
    try:
        parent = multiprocessing.parent_process()
    except AttributeError:  # pragma: no cover - Python < 3.8
        parent = None
    if parent is not None and parent.pid:
        return parent.pid
    if multiprocessing.current_process().name != "MainProcess":
        return os.getppid()
    return os.getpid()


def process_start(pid):
    """Start time of ``pid`` in clock ticks since boot (Linux), '0' where /proc is absent, None if gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            raw = f.read().decode("ascii", "replace")
        # the command name (field 2) may hold spaces/parentheses: split after the last ')'
        return raw.rsplit(")", 1)[1].split()[19]
    except FileNotFoundError:
        if os.path.isdir("/proc/self"):
            return None
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass
    return "0"


def default_run_base():
    for candidate in (os.environ.get("XDG_RUNTIME_DIR"), "/dev/shm"):  # noqa: S108 - private 0700 subdir, checked
        if candidate and os.path.isdir(candidate) and os.access(candidate, os.W_OK | os.X_OK):
            return candidate
    return tempfile.gettempdir()


def private_dir(path, what):
    """Create ``path`` (0700) if missing; refuse one that is not ours or not private. True if created."""
    created = False
    try:
        os.makedirs(path, mode=0o700)
        created = True
    except OSError as exc:
        if exc.errno != errno.EEXIST:
            raise TokenError("registry_token: cannot create the %s %s (%s); fix its parent's permissions or choose "
                             "another directory" % (what, path, exc.strerror)) from None
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise TokenError("registry_token: the %s %s must be a directory owned by uid %d with mode 0700 (found %s, "
                         "uid %d); remove it or fix its mode" % (what, path, os.getuid(),
                                                                 oct(stat.S_IMODE(st.st_mode)), st.st_uid))
    return created


class _Lock:
    def __init__(self, path):
        self.path = path
        self.fd = None

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o600)
        fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.fd, fcntl.LOCK_UN)
        os.close(self.fd)


def _read(path):
    """The cached Credential at ``path``, or None if absent/unreadable/corrupt (then removed)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as f:
            data = json.loads(f.read().decode("utf-8"))
        if data.get("format") != FORMAT:
            raise ValueError("format")
        expires = data.get("expires_at")
        if expires is not None:
            expires = datetime.datetime.strptime(expires, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
        return Credential(data["registry"], data["username"], data["password"], expires)
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
        _unlink(path)
        return None


def _write(path, cred):
    data = cred.as_dict()
    data["format"] = FORMAT
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".json")  # mkstemp: 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(json.dumps(data).encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        _unlink(tmp)
        raise


def _read_failure(path, min_ttl):
    """The message of a failed mint of this run for the same min_ttl, or None."""
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read().decode("utf-8"))
        if data.get("format") == FORMAT and data.get("min_ttl") == min_ttl and isinstance(data.get("message"), str):
            return data["message"]
    except (OSError, ValueError, UnicodeDecodeError, AttributeError):
        pass
    return None


def _write_failure(path, message, min_ttl):
    """Remember a failed mint for the rest of the run (the message is secret-free by contract)."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-", suffix=".failed")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(json.dumps({"format": FORMAT, "min_ttl": min_ttl, "message": message}).encode("utf-8"))
        os.replace(tmp, path)
    except OSError:
        _unlink(tmp)


def _unlink(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def fresh(cred, min_ttl, now):
    left = cred.seconds_left(now)
    return left is None or left > min_ttl


class TokenCache:
    """get_or_mint(): one mint per key per run (and per ``disk_dir`` lifetime of the token)."""

    def __init__(self, run_base=None, disk_dir=None, run_id=None, now=None, reaper=None):
        self.now = now or _utcnow
        base = run_base or default_run_base()
        self.root = os.path.join(base, "cloud_registry_auth-%d" % os.getuid())
        self._watch = None
        self._reaper = reaper  # reaper(pid, start, run_dir): called once, by the creator of the run directory
        if run_id is None:
            pid = main_process_pid()
            start = process_start(pid) or "0"
            run_id = "%d-%s" % (pid, start)
            self._watch = (pid, start)
        self.run_id = run_id
        self.run_dir = os.path.join(self.root, "run-%s" % run_id)
        self.disk_dir = disk_dir
        self.last_source = None  # "run", "disk" or "mint": what the last get_or_mint did (for tests/debug)

    def prepare(self):
        private_dir(self.root, "run cache directory")
        if private_dir(self.run_dir, "run cache directory") and self._watch and self._reaper:
            self._reaper(self._watch[0], self._watch[1], self.run_dir)
        if self.disk_dir:
            private_dir(self.disk_dir, "cache_dir")

    def sweep(self):
        """Delete run directories whose ansible main process has exited."""
        try:
            names = os.listdir(self.root)
        except OSError:
            return []
        removed = []
        for name in names:
            if not name.startswith("run-") or name == "run-%s" % self.run_id:
                continue
            parts = name[4:].split("-", 1)
            if len(parts) != 2 or not parts[0].isdigit():
                continue
            pid, start = int(parts[0]), parts[1]
            current = process_start(pid)
            if current is not None and (current == start or current == "0" or start == "0"):
                continue  # that run is still going
            shutil.rmtree(os.path.join(self.root, name), ignore_errors=True)
            removed.append(name)
        return removed

    def get_or_mint(self, provider, identity, mint, min_ttl, scrub=None):
        """Return a Credential valid for more than ``min_ttl`` seconds; call ``mint()`` at most once.

        A failed mint (TokenError) is remembered for the rest of the run (same identity and
        ``min_ttl``): the other hosts fail with the same message without calling the provider.
        ``scrub`` cleans a message before it is stored.
        """
        key = cache_key(provider, identity)
        self.prepare()
        run_file = os.path.join(self.run_dir, key + ".json")
        failed_file = os.path.join(self.run_dir, key + ".failed")
        with _Lock(os.path.join(self.run_dir, key + ".lock")):
            cred = _read(run_file)
            if cred is not None and fresh(cred, min_ttl, self.now()):
                self.last_source = "run"
                return cred
            failure = _read_failure(failed_file, min_ttl)
            if failure is not None:
                # another host of this run already failed to mint for this identity: do not
                # hammer the provider (wrong secrets can lock accounts) - fail the same way
                self.last_source = "failed"
                raise TokenError(failure)
            try:
                cred = self._get_or_mint_locked(provider, key, mint, min_ttl)
            except TokenError as exc:
                _write_failure(failed_file, scrub(str(exc)) if scrub else str(exc), min_ttl)
                raise
            _write(run_file, cred)
            return cred

    def _get_or_mint_locked(self, provider, key, mint, min_ttl):
        """Under the run lock: the cache_dir copy if fresh enough, else a new mint."""
        if self.disk_dir:
            disk_file = os.path.join(self.disk_dir, key + ".json")
            with _Lock(os.path.join(self.disk_dir, key + ".lock")):
                cred = _read(disk_file)
                if cred is not None and cred.expires_at is not None and fresh(cred, min_ttl, self.now()):
                    self.last_source = "disk"
                else:
                    if cred is not None:
                        _unlink(disk_file)  # expired or too close to expiry: do not leave it behind
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
