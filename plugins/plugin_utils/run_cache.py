# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run-scoped, cross-process cache for controller-side work (private, not public API).

Ansible runs each host's task in a separate worker process, so "once per run"
needs state shared between processes. This cache keeps it on disk:

* one directory per playbook run: ``$TMPDIR/cloud_registry_auth-<uid>/run-<pid>-<start>``
  where pid/start identify the ``ansible-playbook`` process (the workers' parent),
  mode 0700 (the parent 0700 too), files 0600;
* entries are named by ``HMAC-SHA256(run secret, purpose + key material)``: never a
  secret, nor a plain hash of one, in a file name; the run secret is a random file
  of that run directory;
* an entry's secret payload is encrypted with keys derived from the key material
  itself (encrypt-then-MAC: an HMAC-SHA256 keystream with a random nonce, then an
  HMAC-SHA256 tag; standard library only, so a worker imports nothing heavy), so the
  files alone reveal nothing without the credential;
* ``flock`` on a per-entry lock file: the first process computes, the others wait
  and read its answer (so 100 hosts and 10 forks make one registry request);
* directories of runs whose process is gone are removed by the next run; entries
  older than ``ttl`` are recomputed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import errno
import fcntl
import hashlib
import hmac
import json
import os
import shutil
import tempfile
import time

DEFAULT_TTL = 900


def _proc_start(pid):
    """Start time of ``pid`` (clock ticks since boot, Linux) or '' when unknown."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read().decode("ascii", "replace")
        return data.rsplit(")", 1)[1].split()[19]
    except (IOError, OSError, IndexError):
        return ""


def run_id(pid=None):
    """Identity of the playbook run: the parent (ansible-playbook) of this worker."""
    pid = os.getppid() if pid is None else pid
    return "%d-%s" % (pid, _proc_start(pid) or "0")


def _alive(name):
    try:
        pid_s, start = name[len("run-"):].split("-", 1)
        pid = int(pid_s)
    except ValueError:
        return False
    try:
        os.kill(pid, 0)
    except OSError as e:
        if e.errno == errno.ESRCH:
            return False
    return start in ("0", _proc_start(pid))


def _mkdir_private(path):
    try:
        os.mkdir(path, 0o700)
    except OSError as e:
        if e.errno != errno.EEXIST:
            raise
    st = os.lstat(path)
    if not os.path.isdir(path) or os.path.islink(path) or st.st_uid != os.getuid():
        raise OSError(errno.EPERM, "refusing to use %s: not a directory owned by this user" % path)
    if st.st_mode & 0o077:
        os.chmod(path, 0o700)


class RunCache:
    """See the module docstring. ``root`` defaults to the system temp dir."""

    def __init__(self, namespace, root=None, ttl=DEFAULT_TTL, rid=None):
        base = os.path.join(root or tempfile.gettempdir(), "cloud_registry_auth-%d" % os.getuid())
        _mkdir_private(base)
        self.base = base
        self.rid = rid or run_id()
        self.dir = os.path.join(base, "run-" + self.rid)
        created = not os.path.isdir(self.dir)
        _mkdir_private(self.dir)
        self.namespace = namespace
        self.ttl = ttl
        self._secret = self._run_secret()
        if created:
            self.sweep()

    def _run_secret(self):
        path = os.path.join(self.dir, "secret")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as e:
            if e.errno != errno.EEXIST:
                raise
        else:
            with os.fdopen(fd, "wb") as f:
                f.write(os.urandom(32))
                f.flush()
                os.fsync(f.fileno())
        for _attempt in range(50):
            with open(path, "rb") as f:
                data = f.read()
            if len(data) == 32:
                return data
            time.sleep(0.01)  # another process is between open and write
        raise OSError(errno.EIO, "run secret %s is incomplete" % path)

    def sweep(self):
        """Remove directories of runs that ended."""
        try:
            names = os.listdir(self.base)
        except OSError:
            return
        for name in names:
            if name.startswith("run-") and name != "run-" + self.rid and not _alive(name):
                shutil.rmtree(os.path.join(self.base, name), ignore_errors=True)

    def _name(self, material):
        mac = hmac.new(self._secret, (self.namespace + "\0" + material).encode("utf-8"), hashlib.sha256)
        return mac.hexdigest()

    def _keys(self, material):
        def derive(label):
            msg = (label + "\0" + self.namespace + "\0" + material).encode("utf-8")
            return hmac.new(self._secret, msg, hashlib.sha256).digest()

        return derive("enc"), derive("mac")

    @staticmethod
    def _keystream(key, nonce, length):
        out = bytearray()
        counter = 0
        while len(out) < length:
            out += hmac.new(key, nonce + counter.to_bytes(4, "big"), hashlib.sha256).digest()
            counter += 1
        return bytes(out[:length])

    def encrypt(self, material, plaintext):
        enc, mac = self._keys(material)
        nonce = os.urandom(16)
        data = plaintext.encode("utf-8")
        ct = bytes(a ^ b for a, b in zip(data, self._keystream(enc, nonce, len(data))))
        tag = hmac.new(mac, nonce + ct, hashlib.sha256).digest()
        return base64.b64encode(nonce + ct + tag).decode("ascii")

    def decrypt(self, material, token):
        """The plaintext, or None when the token was not made with this material/run."""
        try:
            raw = base64.b64decode(token.encode("ascii"))
        except (ValueError, UnicodeError):
            return None
        if len(raw) < 48:
            return None
        nonce, ct, tag = raw[:16], raw[16:-32], raw[-32:]
        enc, mac = self._keys(material)
        if not hmac.compare_digest(tag, hmac.new(mac, nonce + ct, hashlib.sha256).digest()):
            return None
        data = bytes(a ^ b for a, b in zip(ct, self._keystream(enc, nonce, len(ct))))
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return None

    def get_or_compute(self, material, compute):
        """``compute()`` -> (public dict, secret str|None), once per run for ``material``.

        Returns (public, secret, cached). The public dict must hold nothing secret.
        """
        name = self._name(material)
        entry_path = os.path.join(self.dir, name + ".json")
        lock_path = os.path.join(self.dir, name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            hit = self._read(entry_path, material)
            if hit is not None:
                return hit[0], hit[1], True
            public, secret = compute()
            self._write(entry_path, material, public, secret)
            return public, secret, False
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    def _read(self, path, material):
        try:
            with open(path, "rb") as f:
                data = json.loads(f.read().decode("utf-8"))
        except (IOError, OSError, ValueError):
            return None
        if time.time() - data.get("at", 0) > self.ttl:
            return None
        secret = None
        if data.get("secret"):
            secret = self.decrypt(material, data["secret"])
            if secret is None:
                return None
        return data.get("public") or {}, secret

    def _write(self, path, material, public, secret):
        payload = {"at": time.time(), "public": public}
        if secret:
            payload["secret"] = self.encrypt(material, secret)
        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(json.dumps(payload).encode("utf-8"))
            os.replace(tmp, path)
        except Exception:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
