# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private to this collection (not public API): files written through directory fds.

Every file the collection writes on a host for somebody (config.json, auth.json,
node files) goes through :func:`locked_target`, which resolves the path one
component at a time with ``openat`` semantics (``dir_fd`` + ``O_NOFOLLOW``), the
way the kernel's ``protected_symlinks`` reasons about links:

* a symlink owned by root or by the writer is followed like the docker CLI does;
* a symlink owned by anybody else (the user whose file it is, typically) is
  followed only into that user's own territory: the directory the file lands in
  must belong to the link's owner, and so must an existing file there. Anything
  else is refused before a byte is read, so ``become: true`` + ``user: app``
  can never be turned into "root writes /etc/... and chowns it to app";
* the write is a temp file created ``O_EXCL|O_NOFOLLOW`` in the resolved
  directory fd, fsync'd, ``fchown``/``fchmod``'d, renamed over the name in the
  same directory fd, then the directory is fsync'd. An existing file is never
  written or chowned in place (a hard link to someone else's file stays intact);
* the read-modify-write holds ``flock`` on the directory fd; stale temp files of
  our own naming (left by a writer killed mid-write) are removed under that lock;
* directories are created only when something is written (0700, owned like the
  file) and never removed, so concurrent writers never lose a directory.

Standard library only, Python 3.7+: this runs on managed hosts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import os
import stat
from ansible_collections.cloud_registry.auth.plugins.module_utils.errors import CloudRegistryError

MAX_LINKS = 40
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class UnsafePathError(CloudRegistryError):
    """A path that cannot be written safely; the message names it and the fix (no secret)."""


def _uid_name(uid):
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (KeyError, ImportError):
        return "uid %d" % uid


def _join(parent, name):
    return parent.rstrip("/") + "/" + name if parent != "/" else "/" + name


class Resolved:
    """Where a path leads: ``dir_fd`` (open) of its deepest existing directory
    ``dir_path``, the components still ``missing`` below it (directories, then
    the file name; just the file name when the directory exists) and ``st`` of the
    existing file (None when it does not exist). ``link_owner``: uid of the untrusted
    symlink owner the resolution went through, or None."""

    def __init__(self, dir_fd, dir_path, missing, st, link_owner):
        self.dir_fd = dir_fd
        self.dir_path = dir_path
        self.missing = missing
        self.st = st
        self.link_owner = link_owner

    @property
    def name(self):
        return self.missing[-1]

    @property
    def path(self):
        """The real path of the file (symlinks resolved)."""
        return _join(self.dir_path, "/".join(self.missing))

    @property
    def dir_exists(self):
        return len(self.missing) == 1

    def close(self):
        if self.dir_fd is not None:
            os.close(self.dir_fd)
            self.dir_fd = None


def _trusted_uids():
    return (0, os.geteuid())


def resolve(path, what="file"):
    """Resolve ``path`` safely (see the module docstring). The caller closes the result."""
    path = os.path.abspath(os.path.expanduser(path))
    parts = [p for p in path.split("/") if p]
    if not parts:
        raise UnsafePathError("%s is not a file path" % path)
    fd = os.open("/", _DIR_FLAGS)
    cur = "/"
    links = 0
    link_owner = None
    link_path = None
    try:
        while parts:
            name = parts.pop(0)
            if name == ".":
                continue
            if name == "..":
                nfd = os.open("..", _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd, cur = nfd, os.path.dirname(cur) or "/"
                continue
            try:
                st = os.stat(name, dir_fd=fd, follow_symlinks=False)
            except OSError as e:
                if e.errno == errno.ENOENT:
                    return _checked(
                        Resolved(fd, cur, [name] + [p for p in parts if p != "."], None, link_owner), path, link_path, what
                    )
                if e.errno == errno.ENOTDIR:
                    raise UnsafePathError("%s: %s is not a directory" % (path, cur)) from None
                raise UnsafePathError("cannot look at %s: %s" % (_join(cur, name), e.strerror)) from None
            if stat.S_ISLNK(st.st_mode):
                links += 1
                if links > MAX_LINKS:
                    raise UnsafePathError("%s: too many levels of symbolic links" % path)
                if st.st_uid not in _trusted_uids():
                    if link_owner is not None and link_owner != st.st_uid:
                        raise UnsafePathError(
                            "%s goes through symbolic links of two different users (%s, %s): refusing to write "
                            "through them; replace the links with the real path"
                            % (path, _uid_name(link_owner), _uid_name(st.st_uid))
                        )
                    link_owner, link_path = st.st_uid, _join(cur, name)
                target = os.readlink(name, dir_fd=fd)
                if target.startswith("/"):
                    nfd = os.open("/", _DIR_FLAGS)
                    os.close(fd)
                    fd, cur = nfd, "/"
                parts = [p for p in target.split("/") if p] + parts
                continue
            if not parts:
                return _checked(Resolved(fd, cur, [name], st, link_owner), path, link_path, what)
            if not stat.S_ISDIR(st.st_mode):
                raise UnsafePathError("%s exists and is not a directory: cannot write %s below it" % (_join(cur, name), path))
            try:
                nfd = os.open(name, _DIR_FLAGS | _NOFOLLOW, dir_fd=fd)
            except OSError as e:
                # ELOOP: it became a symlink between stat and open (someone is racing us)
                raise UnsafePathError("cannot open directory %s: %s" % (_join(cur, name), e.strerror)) from None
            os.close(fd)
            fd, cur = nfd, _join(cur, name)
        raise UnsafePathError("%s is not a file path" % path)
    except BaseException:
        os.close(fd)
        raise


def _checked(res, path, link_path, what):
    """Refuse a resolution through another user's link that leaves their territory."""
    if res.link_owner is None:
        return res
    owner = res.link_owner
    dir_st = os.fstat(res.dir_fd)
    outside = dir_st.st_uid != owner or (res.st is not None and res.st.st_uid != owner)
    if outside:
        target = res.path
        raise UnsafePathError(
            "%s is reached through the symbolic link %s owned by %s, and leads to %s, which %s does not own: "
            "refusing to write the %s there as %s. Remove the link (or point it at a file in %s's own "
            "directory) and run again; nothing was changed."
            % (path, link_path, _uid_name(owner), target, _uid_name(owner), what, _uid_name(os.geteuid()), _uid_name(owner))
        )
    return res


def read_bytes(res, limit=None):
    """Content of the resolved existing file (None when it does not exist)."""
    if res.st is None:
        return None
    if stat.S_ISDIR(res.st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a directory")
    fd = os.open(res.name, os.O_RDONLY | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0), dir_fd=res.dir_fd)
    with os.fdopen(fd, "rb") as f:
        return f.read() if limit is None else f.read(limit)


def make_dirs(res, uid=-1, gid=-1):
    """Create the missing directories below ``res.dir_fd`` (0700, owned uid/gid).
    An existing one (a concurrent writer made it) is fine; nothing is ever removed."""
    for name in res.missing[:-1]:
        try:
            os.mkdir(name, 0o700, dir_fd=res.dir_fd)
            created = True
        except OSError as e:
            if e.errno != errno.EEXIST:
                raise UnsafePathError("cannot create directory %s: %s" % (_join(res.dir_path, name), e.strerror)) from None
            created = False
        nfd = os.open(name, _DIR_FLAGS | _NOFOLLOW, dir_fd=res.dir_fd)
        if created:
            os.fchmod(nfd, 0o700)
            if uid != -1 or gid != -1:
                os.fchown(nfd, uid, gid)
        os.close(res.dir_fd)
        res.dir_fd = nfd
        res.dir_path = _join(res.dir_path, name)
    res.missing = res.missing[-1:]


class DirLock:
    """flock on a directory fd: serialises read-modify-write across processes
    without leaving a lock file beside the config."""

    def __init__(self, dir_fd):
        self.dir_fd = dir_fd

    def __enter__(self):
        fcntl.flock(self.dir_fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        fcntl.flock(self.dir_fd, fcntl.LOCK_UN)
        return False


def temp_prefix(name):
    return ".%s." % name


def remove_stale_temps(res):
    """Remove ``.NAME.*.tmp`` left by a writer that died (call with the lock held:
    every live writer of NAME holds it while its temp file exists)."""
    prefix = temp_prefix(res.name)
    removed = 0
    try:
        names = os.listdir(res.dir_fd)
    except OSError:
        return 0
    for entry in names:
        if not (entry.startswith(prefix) and entry.endswith(".tmp")):
            continue
        try:
            st = os.stat(entry, dir_fd=res.dir_fd, follow_symlinks=False)
            if stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
                os.unlink(entry, dir_fd=res.dir_fd)
                removed += 1
        except OSError:
            continue
    return removed


def replace_file(res, data, uid=-1, gid=-1, mode=None):
    """Atomically put ``data`` (bytes) at the resolved name: temp file in the same
    directory fd, fsync, owner and mode (an existing file's, unless given; a new
    file 0600), rename, fsync the directory."""
    st = res.st
    if st is not None:
        new_mode = stat.S_IMODE(st.st_mode) if mode is None else mode
        new_uid = st.st_uid if uid == -1 else uid
        new_gid = st.st_gid if gid == -1 else gid
    else:
        new_mode = 0o600 if mode is None else mode
        new_uid, new_gid = uid, gid
    tmp = None
    for _attempt in range(100):
        candidate = "%s%s.tmp" % (temp_prefix(res.name), os.urandom(6).hex())
        try:
            fd = os.open(
                candidate,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0),
                0o600,
                dir_fd=res.dir_fd,
            )
        except OSError as e:
            if e.errno == errno.EEXIST:
                continue
            raise
        tmp = candidate
        break
    if tmp is None:
        raise OSError(errno.EEXIST, "no free temporary file name")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            if new_uid != -1 or new_gid != -1:
                if (new_uid, new_gid) != (os.geteuid(), os.getegid()):
                    os.fchown(f.fileno(), new_uid, new_gid)
            os.fchmod(f.fileno(), new_mode)
        os.rename(tmp, res.name, src_dir_fd=res.dir_fd, dst_dir_fd=res.dir_fd)
    except BaseException:
        try:
            os.unlink(tmp, dir_fd=res.dir_fd)
        except OSError:
            pass
        raise
    try:
        os.fsync(res.dir_fd)
    except OSError:
        pass
