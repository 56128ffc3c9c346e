# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private: a bytecode cache for this collection's controller-side code (not public API).

ansible-core's collection loader compiles a collection's Python source each time a process
imports it, and keeps no bytecode. Ansible runs each host's task in a new forked worker, which
imports the action plugin or lookup, and what they import, again: for ``docker_auth_apply`` that
is 8 files and about 18 ms of ``compile`` per host per task (measured in a forked worker). The
same holds for a plugin's option definitions, which ansible-core parses from YAML in every
worker (see ``plugin_utils.fast_docs``).

``cached_imports()`` is a context manager. Imports of ``ansible_collections.cloud_registry.auth.*``
modules made inside it are found by ansible-core's own finder as usual (same module, same
``__file__``, same search path); only their code object comes from this cache when the cache
holds one for exactly that source. ``cached(kind, parts, compute)`` keeps any other value that
``marshal`` can hold, under a key over ``parts``.

Where and how, with the rules of ``plugin_utils.private_files``:

* ``<root>/cloud_registry_auth-<uid>/code-<cache tag>/<sha256>``, where the name hashes the
  interpreter's bytecode magic number, the kind, and the parts (for code: the file's path and its
  whole source), so an edited file, another path or another Python never reads a stale entry;
* the directory is 0700 and ours; an entry is read only through ``O_NOFOLLOW``, only when it is a
  regular file of ours that nobody else can write, and only when the SHA-256 it carries matches
  its content. ``marshal`` data is code, so anything else is ignored and the source compiled
  again, exactly as without the cache;
* entries are written atomically (``mkstemp`` and ``rename``, 0600), so a reader never sees half
  of one, and any failure to read or write only costs the compile it would have saved.

``CLOUD_REGISTRY_AUTH_CODE_CACHE=off`` (or ``0``, ``false``, ``no``) in the controller's environment
turns it off: everything is then compiled and parsed as ansible-core does it (the benchmarks use
this as their baseline).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import hashlib
import importlib.util
import marshal
import os
import stat
import sys
import tempfile

from ansible_collections.cloud_registry.auth.plugins.plugin_utils.private_files import private_dir, user_base

PREFIX = "ansible_collections.cloud_registry.auth."
SWITCH = "CLOUD_REGISTRY_AUTH_CODE_CACHE"
_HEADER = b"CRAC1"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def enabled():
    """False when ``CLOUD_REGISTRY_AUTH_CODE_CACHE`` turns the cache off."""
    return os.environ.get(SWITCH, "").strip().lower() not in ("off", "0", "false", "no")


def cache_dir(root=None):
    """This interpreter's cache directory (created 0700 when missing); None when it is off or cannot be private."""
    if not enabled():
        return None
    path = os.path.join(user_base(root), "code-%s" % sys.implementation.cache_tag)
    try:
        private_dir(user_base(root), "cache directory")
        private_dir(path, "bytecode cache directory")
    except OSError:
        return None
    return path


def _key(kind, parts):
    digest = hashlib.sha256(importlib.util.MAGIC_NUMBER + b"\0" + kind.encode("ascii"))
    for part in parts:
        digest.update(b"\0%d\0" % len(part))
        digest.update(part)
    return digest.hexdigest()


def _read(path):
    try:
        fd = os.open(path, os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
            return None
        data = f.read()
    head, digest, payload = data[: len(_HEADER)], data[len(_HEADER) : len(_HEADER) + 32], data[len(_HEADER) + 32 :]
    if head != _HEADER or hashlib.sha256(payload).digest() != digest:
        return None
    return payload


def _write(path, payload):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(_HEADER + hashlib.sha256(payload).digest() + payload)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def cached(kind, parts, compute, root=None):
    """``compute()``, or the value it returned before for the same ``kind`` and ``parts`` (bytes).

    The value must be something ``marshal`` can hold (code objects, and plain data: dict, list,
    str, int, bool, None...); when it is not, it is returned and not kept."""
    directory = cache_dir(root)
    path = os.path.join(directory, _key(kind, parts)) if directory else None
    if path:
        payload = _read(path)
        if payload is not None:
            try:
                return marshal.loads(payload)  # noqa: S302 - our own private file, its digest checked
            except (EOFError, ValueError, TypeError):
                pass
    value = compute()
    if path:
        try:
            _write(path, marshal.dumps(value))
        except (OSError, ValueError):
            pass
    return value


def compiled(origin, source):
    """The code object of ``source`` (bytes) read from file ``origin``, compiled as ansible-core compiles it."""
    return cached("code", (os.fsencode(origin), source), lambda: compile(source, origin, "exec", dont_inherit=True))


class _CachedCodeLoader:
    """ansible-core's loader for one module, with the code object taken from the cache."""

    def __init__(self, loader, origin):
        self._loader = loader
        self._origin = origin

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        with open(self._origin, "rb") as f:
            source = f.read()
        exec(compiled(self._origin, source), module.__dict__)  # noqa: S102 - the module's own code, as the loader would

    def __getattr__(self, name):  # get_source, get_filename, get_resource_reader...: ansible-core's
        return getattr(self._loader, name)


class _CachedCodeFinder:
    """A meta path finder that asks the others (ansible-core's collection finder) and wraps what they find."""

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith(PREFIX):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        origin = spec.origin or ""
        if (
            spec.loader is None
            or spec.submodule_search_locations is not None
            or not origin.endswith(".py")
            or getattr(spec.loader, "_redirect_module", None) is not None
            or not os.path.isfile(origin)
        ):
            return spec  # packages, redirects, anything unusual: exactly what ansible-core found
        spec.loader = _CachedCodeLoader(spec.loader, origin)
        return spec


_FINDER = _CachedCodeFinder()


@contextlib.contextmanager
def cached_imports():
    """Within the block, this collection's modules are imported with cached bytecode (see the module doc)."""
    if _FINDER in sys.meta_path or not enabled():
        yield
        return
    sys.meta_path.insert(0, _FINDER)
    try:
        yield
    finally:
        if _FINDER in sys.meta_path:
            sys.meta_path.remove(_FINDER)
