# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run-scoped, cross-process cache for controller-side work (private, not public API).

The one implementation shared by the ``registry_login`` action plugin (verify a
credential once per run) and the ``registry_token`` lookup (mint a token once per
run; its token policy lives in ``plugin_utils.token_cache``, built on this).

Ansible runs each host's task in a forked worker process, so "once per run"
needs state shared between processes. It is kept on disk:

* one directory per playbook run, ``<root>/cloud_registry_auth-<uid>/run-<pid>-<start>``,
  where pid/start identify the ``ansible-playbook`` (or ``ansible``) main process,
  the parent of every worker (its start time, so a recycled pid never reuses a
  directory). ``<root>`` is the caller's choice, else the default of
  ``plugin_utils.private_files`` (``$TMPDIR``, ``$XDG_RUNTIME_DIR`` or ``/dev/shm``);
* every directory 0700 and owned by the controller user (an existing one that is
  not is refused, never used: ``private_files.private_dir``), every file 0600;
* a random 32-byte per-run key (file ``secret``) names the entries:
  ``HMAC-SHA256(run key, namespace + key material)``, so no file name holds a
  secret nor a plain hash of one;
* payload encryption: a secret in an entry (an identity token, a minted
  password) is encrypted with ``cryptography``'s Fernet (AES-128-CBC +
  HMAC-SHA256, random IV; ansible-core depends on ``cryptography``, so it is
  always on the controller), with a key derived by HKDF-SHA256 from the run key
  and the entry's key material. For ``registry_login`` the material holds the
  password, so the files alone reveal nothing. For ``registry_token`` the material
  is the identity, which holds secrets only as hashes: when it includes one, the
  files alone reveal nothing either; when it does not (e.g. ambient credentials),
  the protection is the private 0700/0600 directory, memory-backed where possible
  and deleted right after the run;
* ``flock`` on a per-entry lock file: the first process computes, the others wait
  and read its answer (100 hosts with 10 forks make one request);
* deletion: a run's directory is removed by a detached reaper process once the
  main process has exited (when the caller passes ``reaper=spawn_reaper``), and
  directories of runs whose main process is gone are removed by the next run
  that creates its own directory (``sweep``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import errno
import fcntl
import hashlib
import hmac
import json
import multiprocessing
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time

from ansible_collections.cloud_registry.auth.plugins.plugin_utils.private_files import (
    PrivateDirError as RunCacheError,  # the name token_cache and the lookup catch
    private_dir,
    user_base,
)

DEFAULT_TTL = 900
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


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


def run_id(pid=None):
    """Identity of the playbook run: ``<pid>-<start time>`` of the main process (default: ours)."""
    pid = main_process_pid() if pid is None else pid
    return "%d-%s" % (pid, process_start(pid) or "0")


class FileLock:
    """Exclusive ``flock`` on ``path`` (created 0600) for a ``with`` block.

    The lock file may be removed by its holder (``remove()``): a waiter that then gets
    the lock of the removed file sees that ``path`` is another file (or none) and starts
    over, so lock files do not have to pile up. ``blocking=False``: ``acquire()`` returns
    False instead of waiting."""

    def __init__(self, path, blocking=True):
        self.path = path
        self.blocking = blocking
        self.fd = None

    def acquire(self):
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | _NOFOLLOW, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if self.blocking else fcntl.LOCK_NB))
            except (IOError, OSError) as e:
                os.close(fd)
                if e.errno in (errno.EAGAIN, errno.EACCES):
                    return False
                raise
            try:
                current = os.lstat(self.path)
            except OSError:
                current = None
            held = os.fstat(fd)
            if current is not None and (current.st_dev, current.st_ino) == (held.st_dev, held.st_ino):
                self.fd = fd
                return True
            os.close(fd)  # removed (or replaced) while we waited: lock the file that is there now

    def remove(self):
        """Delete the lock file while holding it (the lock is released on exit as usual)."""
        unlink(self.path)

    def release(self):
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()


def unlink(path):
    try:
        os.unlink(path)
    except OSError:
        pass


def load_or_create_key(path):
    """A random 32-byte key kept in ``path`` (0600), created once; concurrent callers agree."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
    except OSError as e:
        if e.errno != errno.EEXIST:
            raise
    else:
        with os.fdopen(fd, "wb") as f:
            f.write(os.urandom(32))
            f.flush()
            os.fsync(f.fileno())
    for _attempt in range(100):
        with open(path, "rb") as f:
            data = f.read()
        if len(data) == 32:
            return data
        time.sleep(0.01)  # another process is between open and write
    raise RunCacheError(errno.EIO, "the key file %s is incomplete; remove it" % path)


def write_json(path, data):
    """Atomically replace ``path`` with ``data`` as JSON (0600: mkstemp)."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(json.dumps(data).encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        unlink(tmp)
        raise


class NotPrivate(ValueError):
    """A file that another user could have written (owner or mode)."""


def read_json(path, private=False):
    """The JSON object at ``path`` (never through a symlink); None if absent; ValueError if corrupt.

    ``private``: the file must be a regular file of ours that nobody else can write or read
    (else ``NotPrivate``, naming the owner and mode)."""
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        if private:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
                raise NotPrivate(
                    "owner uid %d, mode %s (want uid %d, 0600)" % (st.st_uid, oct(stat.S_IMODE(st.st_mode)), os.getuid())
                )
        raw = f.read()
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ValueError("not UTF-8") from None
    if not isinstance(data, dict):
        raise ValueError("not an object")
    return data


def _reap(pid, start, path):
    """Body of the reaper process: wait for the main process to exit, then delete ``path``."""
    while True:
        current = process_start(pid)
        if current is None or (current not in (start, "0") and start != "0"):
            break
        time.sleep(0.5)
    shutil.rmtree(path, ignore_errors=True)


# the reaper runs detached beside the playbook, importing this module from the collection's tree
_REAPER = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from ansible_collections.cloud_registry.auth.plugins.plugin_utils.run_cache import _reap; "
    "_reap(int(sys.argv[2]), sys.argv[3], sys.argv[4])"
)
_COLLECTIONS_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[".."] * 5))


def spawn_reaper(pid, start, path):
    """Start the detached process that removes ``path`` once ``pid`` (started at ``start``) has exited.

    RunDir.sweep() of a later run is the fallback if that process is killed.
    """
    try:
        subprocess.Popen(  # noqa: S603 - our own interpreter and code, no shell
            [sys.executable or "python3", "-c", _REAPER, _COLLECTIONS_ROOT, str(pid), str(start), path],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            close_fds=True,
            start_new_session=True,
            cwd="/",
        )
        return True
    except OSError:
        return False  # the sweep of a later run still removes it


class RunDir:
    """The private directory of one playbook run (see the module docstring).

    ``rid`` defaults to the running playbook's id; ``reaper(pid, start, path)`` is called
    once, by the process that creates the directory, and only for the default id.
    """

    def __init__(self, root=None, rid=None, reaper=None):
        self.base = user_base(root)
        self._watch = None
        if rid is None:
            pid = main_process_pid()
            start = process_start(pid) or "0"
            rid = "%d-%s" % (pid, start)
            self._watch = (pid, start)
        self.rid = rid
        self.dir = os.path.join(self.base, "run-" + rid)
        self._reaper = reaper
        self._key = None

    def open(self):
        """Create the directories (and the run key) if needed; sweep finished runs when new."""
        if self._key is not None:
            return self
        private_dir(self.base, "run cache directory")
        created = private_dir(self.dir, "run cache directory")
        if created:
            if self._watch and self._reaper:
                self._reaper(self._watch[0], self._watch[1], self.dir)
            self.sweep()
        self._key = self._run_key()
        return self

    def _run_key(self):
        return load_or_create_key(os.path.join(self.dir, "secret"))

    def sweep(self):
        """Delete the directories of runs whose main process has exited; return their names."""
        try:
            names = os.listdir(self.base)
        except OSError:
            return []
        removed = []
        for name in names:
            if not name.startswith("run-") or name == "run-" + self.rid:
                continue
            parts = name[4:].split("-", 1)
            if len(parts) != 2 or not parts[0].isdigit():
                continue
            pid, start = int(parts[0]), parts[1]
            current = process_start(pid)
            if current is not None and (current == start or current == "0" or start == "0"):
                continue  # that run is still going
            shutil.rmtree(os.path.join(self.base, name), ignore_errors=True)
            removed.append(name)
        return removed

    def entry(self, namespace, material):
        """Path prefix of the entry for ``material``: ``<dir>/<HMAC(run key, namespace, material)>``."""
        self.open()
        mac = hmac.new(self._key, (namespace + "\0" + material).encode("utf-8"), hashlib.sha256)
        return os.path.join(self.dir, mac.hexdigest())

    def _fernet(self, namespace, material):
        from cryptography.fernet import Fernet
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.kdf.hkdf import HKDF

        self.open()
        key = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=self._key,
            info=b"cloud_registry.auth run cache\0" + namespace.encode("utf-8"),
        ).derive(material.encode("utf-8"))
        return Fernet(base64.urlsafe_b64encode(key))

    def encrypt(self, namespace, material, plaintext):
        """Fernet token (as standard base64 text) of ``plaintext`` under this run and ``material``."""
        token = self._fernet(namespace, material).encrypt(plaintext.encode("utf-8"))
        return base64.b64encode(base64.urlsafe_b64decode(token)).decode("ascii")

    def decrypt(self, namespace, material, text):
        """The plaintext, or None when ``text`` was not made with this run and material (or was altered)."""
        from cryptography.fernet import InvalidToken

        try:
            token = base64.urlsafe_b64encode(base64.b64decode(text.encode("ascii"), validate=True))
            return self._fernet(namespace, material).decrypt(token).decode("utf-8")
        except (ValueError, TypeError, UnicodeError, InvalidToken):
            return None


class RunCache:
    """``get_or_compute()``: a (public, secret) answer computed once per run per key material."""

    def __init__(self, namespace, root=None, ttl=DEFAULT_TTL, rid=None, reaper=None):
        self.run = RunDir(root=root, rid=rid, reaper=reaper).open()
        self.base = self.run.base
        self.rid = self.run.rid
        self.dir = self.run.dir
        self.namespace = namespace
        self.ttl = ttl

    def sweep(self):
        return self.run.sweep()

    def encrypt(self, material, plaintext):
        return self.run.encrypt(self.namespace, material, plaintext)

    def decrypt(self, material, token):
        return self.run.decrypt(self.namespace, material, token)

    def get_or_compute(self, material, compute):
        """``compute()`` -> (public dict, secret str|None), once per run for ``material``.

        Returns (public, secret, cached). The public dict must hold nothing secret.
        """
        prefix = self.run.entry(self.namespace, material)
        with FileLock(prefix + ".lock"):
            hit = self._read(prefix + ".json", material)
            if hit is not None:
                return hit[0], hit[1], True
            public, secret = compute()
            payload = {"at": time.time(), "public": public}
            if secret:
                payload["secret"] = self.encrypt(material, secret)
            write_json(prefix + ".json", payload)
            return public, secret, False

    def _read(self, path, material):
        try:
            data = read_json(path)
        except ValueError:
            return None
        if data is None or time.time() - data.get("at", 0) > self.ttl:
            return None
        secret = None
        if data.get("secret"):
            secret = self.decrypt(material, data["secret"])
            if secret is None:
                return None
        return data.get("public") or {}, secret
