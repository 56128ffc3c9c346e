# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private: where the controller-side caches live, and the rules their directories follow (not public API).

Shared by ``plugin_utils.run_cache`` (the run directories) and ``plugin_utils.code_cache`` (the
bytecode cache), so both choose the same place and refuse the same things:

* the root is ``$TMPDIR`` when set, else ``$XDG_RUNTIME_DIR`` or ``/dev/shm`` (memory-backed),
  else the temp directory;
* every directory under it is 0700 and owned by the controller user; an existing one that is
  not is refused with a ``PrivateDirError`` that names it and the fix, never used.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import stat
import tempfile


class PrivateDirError(OSError):
    """A cache directory cannot be created or is not private; the message names it and the fix."""


def default_root(environ=None):
    """Where the caches go: $TMPDIR if set, else a memory-backed directory, else the temp dir."""
    environ = os.environ if environ is None else environ
    for candidate in (environ.get("TMPDIR"), environ.get("XDG_RUNTIME_DIR"), "/dev/shm"):  # noqa: S108 - private 0700 subdir, checked
        if candidate and os.path.isdir(candidate) and os.access(candidate, os.W_OK | os.X_OK):
            return candidate
    return tempfile.gettempdir()


def user_base(root=None):
    """``<root>/cloud_registry_auth-<uid>``: this user's directory under the root (not created here)."""
    return os.path.join(root or default_root(), "cloud_registry_auth-%d" % os.getuid())


def private_dir(path, what):
    """Create ``path`` (0700) if missing; refuse one that is not ours or not private. True if created."""
    created = False
    try:
        os.makedirs(path, mode=0o700)
        created = True
    except OSError as exc:
        if exc.errno != errno.EEXIST:
            raise PrivateDirError(
                exc.errno,
                "cannot create the %s %s (%s); fix its parent's permissions or "
                "choose another directory" % (what, path, exc.strerror),
            ) from None
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & 0o077:
        raise PrivateDirError(
            errno.EPERM,
            "the %s %s must be a directory owned by uid %d with mode 0700 (found "
            "%s, uid %d); remove it or fix its mode" % (what, path, os.getuid(), oct(stat.S_IMODE(st.st_mode)), st.st_uid),
        )
    return created
