# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The config.json engine (private to this collection, not public API).

Loads, validates, edits and saves Docker's ``config.json`` and the
containers-auth.json format (podman, skopeo, buildah, CRI-O) the way the
docker CLI and containers/image do:

* registry keys are normalised like the docker CLI (Docker Hub aliases go to
  ``https://index.docker.io/v1/``, everything else to ``host[:port]``), and
  entries stored under legacy spellings are still found;
* ``credHelpers[key]`` beats ``credsStore``, which beats inline ``auths``;
* every key this engine does not own is kept as it was;
* writes are locked (``flock`` on the directory), atomic (temp file in the same
  directory, fsync, rename), keep owner and mode of an existing file, create
  new files 0600 and new directories 0700, and follow symlinks like the CLI;
* a file that cannot be parsed is an error naming the path; it is never
  treated as empty and never overwritten.

Standard library only, Python 3.7+: this runs on managed hosts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import copy
import errno
import fcntl
import grp
import ipaddress
import json
import os
import pwd
import re
import stat
import tempfile

MASK = "********"
CHANGED_MASK = "******** (changed)"
DOCKER_HUB_KEY = "https://index.docker.io/v1/"
CONTAINERS_HUB_KEY = "docker.io"
DOCKER_HUB_ALIASES = frozenset(
    [
        "docker.io",
        "index.docker.io",
        "registry-1.docker.io",
        "registry.hub.docker.com",
    ]
)
FORMATS = ("docker", "containers")
SECRET_FIELDS = ("auth", "password", "identitytoken", "registrytoken", "identityToken", "registryToken")

_HOST_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_-]{0,61}[A-Za-z0-9])?$")
_HELPER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_PATH_SEGMENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")


class DockerConfigError(Exception):
    """A config file or registry name problem; the message is safe to show."""


# --------------------------------------------------------------------------
# registry keys
# --------------------------------------------------------------------------


def _split_server(server):
    """Return (host, port_or_None, path) of a registry reference, scheme dropped."""
    if not isinstance(server, str):
        raise DockerConfigError("registry must be a string, got %s" % type(server).__name__)
    raw = server.strip()
    if not raw:
        raise DockerConfigError("registry is empty: give a host such as registry.example.com or docker.io")
    if any(c.isspace() for c in raw):
        raise DockerConfigError("registry %r contains white space: give a host[:port] such as registry.example.com" % server)
    lowered = raw.lower()
    for scheme in ("https://", "http://"):
        if lowered.startswith(scheme):
            raw = raw[len(scheme):]
            break
    else:
        if "://" in raw:
            raise DockerConfigError(
                "registry %r has an unsupported scheme: use host[:port], https://host or http://host" % server
            )
    hostport, _sep, path = raw.partition("/")
    if "@" in hostport:
        raise DockerConfigError("registry %r must not contain user information ('@'): pass username separately" % server)
    if not hostport:
        raise DockerConfigError("registry %r has no host" % server)
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise DockerConfigError("registry %r has an unterminated IPv6 literal" % server)
        host, rest = hostport[: end + 1], hostport[end + 1:]
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise DockerConfigError("registry %r has an invalid IPv6 address" % server) from None
        if rest and not rest.startswith(":"):
            raise DockerConfigError("registry %r: unexpected text after the IPv6 address" % server)
        port = rest[1:] if rest else None
    else:
        host, sep, port = hostport.partition(":")
        if not sep:
            port = None
        labels = host.split(".")
        if not all(_HOST_LABEL.match(label) for label in labels):
            raise DockerConfigError(
                "registry %r: %r is not a valid host name (letters, digits, '-' and '.' only)" % (server, host)
            )
    if port is not None:
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise DockerConfigError("registry %r has an invalid port %r (1-65535)" % (server, port))
        port = str(int(port))
    return host.lower(), port, path.strip("/")


def is_docker_hub(server):
    host, port, _path = _split_server(server)
    return port is None and host in DOCKER_HUB_ALIASES


def normalize_registry(server, fmt="docker"):
    """The key under which ``server`` is stored.

    docker format: Docker Hub aliases -> ``https://index.docker.io/v1/``;
    any other registry -> ``host[:port]`` (scheme, path and trailing slash dropped),
    as ``docker login`` stores it.

    containers format (auth.json): Docker Hub -> ``docker.io``; other registries
    -> ``host[:port]`` plus an optional repository namespace path, which
    containers/image uses to scope credentials.
    """
    if fmt not in FORMATS:
        raise DockerConfigError("format must be one of %s, got %r" % (", ".join(FORMATS), fmt))
    host, port, path = _split_server(server)
    hub = port is None and host in DOCKER_HUB_ALIASES
    if fmt == "docker":
        if hub:
            return DOCKER_HUB_KEY
        return host if port is None else "%s:%s" % (host, port)
    # containers format
    if hub:
        host = CONTAINERS_HUB_KEY
        if path in ("v1", "v2"):
            path = ""
    key = host if port is None else "%s:%s" % (host, port)
    if path and path not in ("v1", "v2"):
        segments = path.split("/")
        if not all(_PATH_SEGMENT.match(s) for s in segments):
            raise DockerConfigError(
                "registry %r: namespace path %r is not a valid repository path (lowercase, digits, '._-')" % (server, path)
            )
        key = key + "/" + path
    return key


def helper_key(server, fmt="docker"):
    """The ``credHelpers`` key for ``server``.

    The docker CLI looks helpers up by host name (``ConvertToHostname``), so
    Docker Hub's helper key is ``index.docker.io`` while its auths key is
    ``https://index.docker.io/v1/``. containers/image uses its auth.json keys.
    """
    key = normalize_registry(server, fmt)
    if fmt == "docker" and key == DOCKER_HUB_KEY:
        return "index.docker.io"
    return key


def _same_registry(key, server, fmt):
    try:
        return normalize_registry(key, fmt) == normalize_registry(server, fmt)
    except DockerConfigError:
        return False


def lookup_keys(server, fmt="docker"):
    """The normalised key first, then legacy spellings docker clients have written."""
    key = normalize_registry(server, fmt)
    variants = [key]
    if fmt == "docker" and key == DOCKER_HUB_KEY:
        hosts = sorted(DOCKER_HUB_ALIASES)
    elif fmt == "containers" and key == CONTAINERS_HUB_KEY:
        hosts = sorted(DOCKER_HUB_ALIASES)
    else:
        hosts = [key]
    for host in hosts:
        for candidate in (
            host,
            "https://" + host,
            "http://" + host,
            "https://" + host + "/",
            "https://" + host + "/v1/",
            "https://" + host + "/v2/",
            "http://" + host + "/v1/",
        ):
            if candidate not in variants:
                variants.append(candidate)
    return variants


def matching_keys(mapping, server, fmt="docker"):
    """Keys of ``mapping`` that name the same registry as ``server`` (exact key first)."""
    if not isinstance(mapping, dict):
        return []
    key = normalize_registry(server, fmt)
    found = [k for k in mapping if k == key]
    found += [k for k in mapping if k != key and _same_registry(k, key, fmt)]
    return found


def validate_helper_name(name):
    if not isinstance(name, str) or not _HELPER_NAME.match(name):
        raise DockerConfigError(
            "credential helper name %r is invalid: use the part after 'docker-credential-' (for example gcloud, "
            "ecr-login, pass)" % (name,)
        )
    return name


# --------------------------------------------------------------------------
# auth entries
# --------------------------------------------------------------------------


def encode_auth(username, password):
    raw = ("%s:%s" % (username or "", password or "")).encode("utf-8")
    return base64.b64encode(raw).decode("ascii")


def decode_auth(auth):
    """(username, password) of a base64 ``auth`` value; raises DockerConfigError (no secret in it)."""
    if not auth:
        return "", ""
    try:
        padded = auth + "=" * (-len(auth) % 4)
        raw = base64.b64decode(padded.encode("ascii"), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise DockerConfigError("an 'auth' value is not valid base64 of 'username:password'") from None
    username, sep, password = raw.partition(":")
    if not sep:
        raise DockerConfigError("an 'auth' value does not contain 'username:password'")
    return username, password


def auth_entry(username, password, identity_token=None):
    """The entry ``docker login`` writes: with an identity token the password is not stored."""
    if identity_token:
        return {"auth": encode_auth(username, ""), "identitytoken": identity_token}
    return {"auth": encode_auth(username, password)}


def entry_credentials(entry):
    """(username, password, identity_token) stored in an auths entry."""
    if not isinstance(entry, dict):
        return "", "", None
    username, password = decode_auth(entry.get("auth", ""))
    if not username and entry.get("username"):
        username = entry.get("username")
        password = entry.get("password", "")
    return username, password, entry.get("identitytoken") or None


# --------------------------------------------------------------------------
# paths
# --------------------------------------------------------------------------


def default_config_path(fmt="docker", environ=None, home=None):
    """Where the docker CLI (or containers/image) of this user keeps its credentials.

    docker: ``$DOCKER_CONFIG/config.json``, else ``~/.docker/config.json``.
    containers: ``$REGISTRY_AUTH_FILE``, else ``$XDG_CONFIG_HOME/containers/auth.json``
    (``~/.config/containers/auth.json``), the persistent file podman, skopeo and
    buildah read for every user.
    """
    env = os.environ if environ is None else environ
    if home is None:
        home = env.get("HOME") or os.path.expanduser("~")
    if fmt == "docker":
        if env.get("DOCKER_CONFIG"):
            return os.path.join(env["DOCKER_CONFIG"], "config.json")
        return os.path.join(home, ".docker", "config.json")
    if fmt == "containers":
        if env.get("REGISTRY_AUTH_FILE"):
            return env["REGISTRY_AUTH_FILE"]
        xdg = env.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
        return os.path.join(xdg, "containers", "auth.json")
    raise DockerConfigError("format must be one of %s, got %r" % (", ".join(FORMATS), fmt))


class Account:
    """A local account whose file this is."""

    def __init__(self, name, home, uid, gid):
        self.name = name
        self.home = home
        self.uid = uid
        self.gid = gid


def user_account(user=None):
    """The local account ``user`` (a name or a numeric uid); the current user when None."""
    import pwd

    try:
        if user is None:
            pw = pwd.getpwuid(os.geteuid())
        elif isinstance(user, int) or str(user).isdigit():
            pw = pwd.getpwuid(int(user))
        else:
            pw = pwd.getpwnam(user)
    except KeyError:
        raise DockerConfigError(
            "user %s does not exist on this host: create it first (ansible.builtin.user) or leave it out" % (user,)
        ) from None
    return Account(pw.pw_name, pw.pw_dir, pw.pw_uid, pw.pw_gid)


def for_user(user, config_path=None, fmt="docker", owner=None, group=None, environ=None):
    """Where and as whom to write: ``(path, owner, group, account)``.

    With ``user``, the default path is that user's own file under their home (the
    environment of the process running the module is not theirs, so $DOCKER_CONFIG and
    $REGISTRY_AUTH_FILE are not looked at), and the file and the directories created for
    it belong to them unless ``owner`` / ``group`` say otherwise. Without ``user``: the
    current user's defaults and the given owner/group.
    """
    if not user:
        return config_path or default_config_path(fmt, environ=environ), owner, group, None
    account = user_account(user)
    path = config_path or default_config_path(fmt, environ={}, home=account.home)
    return (
        path,
        owner if owner not in (None, "") else str(account.uid),
        group if group not in (None, "") else str(account.gid),
        account,
    )


def resolve_path(path):
    """The file a write goes to: symlinks are followed like the docker CLI does."""
    path = os.path.abspath(os.path.expanduser(path))
    return os.path.realpath(path)


# --------------------------------------------------------------------------
# load / validate
# --------------------------------------------------------------------------


def validate(data, path, fmt="docker"):
    """Raise DockerConfigError when ``data`` is not a usable config of ``fmt``."""
    if not isinstance(data, dict):
        raise DockerConfigError("%s: the top level must be a JSON object, found %s" % (path, type(data).__name__))
    auths = data.get("auths")
    if auths is not None:
        if not isinstance(auths, dict):
            raise DockerConfigError("%s: 'auths' must be an object of registry -> entry" % path)
        for key, entry in auths.items():
            if not isinstance(entry, dict):
                raise DockerConfigError("%s: auths[%r] must be an object" % (path, key))
            for field in ("auth", "identitytoken", "username", "password"):
                if field in entry and not isinstance(entry[field], str):
                    raise DockerConfigError("%s: auths[%r].%s must be a string" % (path, key, field))
    helpers = data.get("credHelpers")
    if helpers is not None:
        if not isinstance(helpers, dict) or not all(isinstance(v, str) for v in helpers.values()):
            raise DockerConfigError("%s: 'credHelpers' must be an object of registry -> helper name" % path)
    store = data.get("credsStore")
    if store is not None and not isinstance(store, str):
        raise DockerConfigError("%s: 'credsStore' must be a string" % path)


def load(path, fmt="docker"):
    """The parsed file; ``{}`` when it does not exist. Never guesses on a broken file."""
    real = resolve_path(path)
    try:
        with open(real, "rb") as f:
            raw = f.read()
    except IOError as e:
        if e.errno == errno.ENOENT:
            return {}
        if e.errno == errno.EISDIR:
            raise DockerConfigError("%s is a directory, not a %s file: remove or rename it" % (path, _fmt_name(fmt))) from None
        raise DockerConfigError("cannot read %s: %s" % (path, e.strerror)) from None
    if not raw.strip():
        # The docker CLI treats an empty file as an empty config; so do we.
        return {}
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, UnicodeDecodeError) as e:
        raise DockerConfigError(
            "%s is not valid JSON (%s): fix or remove the file; it was left unchanged" % (path, _safe_json_error(e))
        ) from None
    validate(data, path, fmt)
    return data


def _safe_json_error(err):
    # json error messages carry a position, never file content.
    if isinstance(err, ValueError) and hasattr(err, "msg"):
        return "%s at line %s column %s" % (err.msg, getattr(err, "lineno", "?"), getattr(err, "colno", "?"))
    return "not UTF-8 text"


def _fmt_name(fmt):
    return "Docker config.json" if fmt == "docker" else "containers auth.json"


# --------------------------------------------------------------------------
# credential sources
# --------------------------------------------------------------------------


def credential_source(data, server, fmt="docker"):
    """Where a client reads credentials for ``server``: ("helper", name) | ("store", name) | ("file", None)."""
    helpers = data.get("credHelpers") or {}
    for key in matching_keys(helpers, server, fmt):
        if helpers[key]:
            return "helper", helpers[key]
    store = data.get("credsStore")
    if store and fmt == "docker":
        return "store", store
    return "file", None


def find_auth(data, server, fmt="docker"):
    """(key, entry) of the inline auths entry for ``server``, or (None, None)."""
    auths = data.get("auths") or {}
    keys = matching_keys(auths, server, fmt)
    if not keys:
        return None, None
    return keys[0], auths[keys[0]]


# --------------------------------------------------------------------------
# masking for diffs and results
# --------------------------------------------------------------------------


def _mask_value(field, value, other=None, mark_changed=False):
    if field == "auth" and isinstance(value, str):
        try:
            user, _pw = decode_auth(value)
        except DockerConfigError:
            user = "?"
        tail = CHANGED_MASK if (mark_changed and other != value) else MASK
        return "%s:%s" % (user, tail) if user else tail
    if mark_changed and other != value:
        return CHANGED_MASK
    return MASK


def masked(data, other=None):
    """Deep copy with every secret replaced. With ``other`` (the "before" state),
    secrets that differ from it are shown as ``CHANGED_MASK`` so a diff tells the
    truth about a changed password without showing it."""

    def walk(node, peer):
        if isinstance(node, dict):
            out = {}
            for k, v in node.items():
                p = peer.get(k) if isinstance(peer, dict) else None
                if k in SECRET_FIELDS and isinstance(v, str):
                    out[k] = _mask_value(k, v, p, mark_changed=other is not None)
                else:
                    out[k] = walk(v, p)
            return out
        if isinstance(node, list):
            return [walk(v, None) for v in node]
        return node

    return walk(copy.deepcopy(data), other)


# --------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------


class ConfigUpdate:
    """Result of update_config. ``before``/``after`` are masked (safe for diffs)."""

    def __init__(self, changed, before, after, path, content_changed=False, attrs_changed=False, created=False):
        self.changed = changed
        self.before = before
        self.after = after
        self.path = path
        self.content_changed = content_changed
        self.attrs_changed = attrs_changed
        self.created = created

    def diff(self):
        return {
            "before": self.before,
            "after": self.after,
            "before_header": "%s (before)" % self.path,
            "after_header": "%s (after)" % self.path,
        }


def _uid(owner):
    if owner is None or owner == "":
        return -1
    if isinstance(owner, int) or str(owner).isdigit():
        return int(owner)
    try:
        return pwd.getpwnam(owner).pw_uid
    except KeyError:
        raise DockerConfigError("owner %r does not exist on this host: create the user or fix the owner option" % owner) from None


def _gid(group):
    if group is None or group == "":
        return -1
    if isinstance(group, int) or str(group).isdigit():
        return int(group)
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise DockerConfigError("group %r does not exist on this host: create it or fix the group option" % group) from None


def parse_mode(mode):
    """An int mode from an int or an octal string ('0600', '600'); None stays None."""
    if mode is None or mode == "":
        return None
    if isinstance(mode, int):
        return mode & 0o7777
    text = str(mode).strip()
    if re.match(r"^0?[0-7]{3,4}$", text):
        return int(text, 8) & 0o7777
    raise DockerConfigError("mode %r is not an octal mode such as '0600' (symbolic modes are not supported here)" % mode)


def _owner_of_new_dir(path, uid, gid):
    if uid != -1 or gid != -1:
        os.chown(path, uid, gid)


def _makedirs(directory, uid, gid, check_mode):
    """Create missing parents 0700 (owned like the file); return the missing ones, innermost first."""
    missing = []
    d = directory
    while d and not os.path.isdir(d):
        if os.path.exists(d):
            raise DockerConfigError("%s exists and is not a directory: cannot write a config below it" % d)
        missing.append(d)
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    if check_mode:
        return missing
    for d in reversed(missing):
        try:
            os.mkdir(d, 0o700)
        except OSError as e:
            if e.errno != errno.EEXIST:
                raise DockerConfigError("cannot create directory %s: %s" % (d, e.strerror)) from None
        os.chmod(d, 0o700)
        _owner_of_new_dir(d, uid, gid)
    return missing


def _remove_new_dirs(created):
    """Take back directories made for a file that needed no write (only while they are empty)."""
    for d in created:
        try:
            os.rmdir(d)
        except OSError:
            return


class _DirLock:
    """flock on the directory that holds the file: serialises read-modify-write
    across processes without leaving a lock file beside the config."""

    def __init__(self, directory):
        self.directory = directory
        self.fd = None

    def __enter__(self):
        if os.path.isdir(self.directory):
            self.fd = os.open(self.directory, os.O_RDONLY)
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
        return False


def dumps(data):
    """Serialise like the docker CLI (tab indentation), with a final newline."""
    return json.dumps(data, indent="\t", ensure_ascii=False) + "\n"


def atomic_write(real_path, content, uid=-1, gid=-1, mode=None):
    """Temp file in the same directory, fsync, keep/set owner and mode, rename, fsync dir."""
    directory = os.path.dirname(real_path)
    try:
        st = os.stat(real_path)
    except OSError:
        st = None
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(real_path), suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        if st is not None:
            new_mode = stat.S_IMODE(st.st_mode) if mode is None else mode
            new_uid = st.st_uid if uid == -1 else uid
            new_gid = st.st_gid if gid == -1 else gid
        else:
            new_mode = 0o600 if mode is None else mode
            new_uid, new_gid = uid, gid
        os.chmod(tmp, new_mode)
        if new_uid != -1 or new_gid != -1:
            if new_uid != os.geteuid() or new_gid != os.getegid():
                os.chown(tmp, new_uid, new_gid)
        os.rename(tmp, real_path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise DockerConfigError("cannot write %s: %s" % (real_path, e.strerror)) from None
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


def _attrs_differ(real_path, uid, gid, mode):
    try:
        st = os.stat(real_path)
    except OSError:
        return False
    if uid != -1 and st.st_uid != uid:
        return True
    if gid != -1 and st.st_gid != gid:
        return True
    if mode is not None and stat.S_IMODE(st.st_mode) != mode:
        return True
    return False


def update_config(path, mutate, fmt="docker", check_mode=False, owner=None, group=None, mode=None):
    """Locked read-modify-write of a config file.

    ``mutate(data)`` edits the loaded dict in place (it may raise
    DockerConfigError to abort; nothing is written then). The result is
    validated before it replaces the file. Returns a ConfigUpdate whose
    ``before``/``after`` are masked.
    """
    if fmt not in FORMATS:
        raise DockerConfigError("format must be one of %s, got %r" % (", ".join(FORMATS), fmt))
    real = resolve_path(path)
    if os.path.isdir(real):
        raise DockerConfigError("%s is a directory, not a %s file: remove or rename it" % (path, _fmt_name(fmt)))
    uid, gid, mode = _uid(owner), _gid(group), parse_mode(mode)
    directory = os.path.dirname(real)
    created_dirs = _makedirs(directory, uid, gid, check_mode)
    if created_dirs and check_mode:
        data = {}
        before = {}
        new = copy.deepcopy(data)
        mutate(new)
        validate(new, path, fmt)
        changed = new != before
        return ConfigUpdate(changed, {}, masked(new, {}), real, content_changed=changed, created=changed)
    with _DirLock(directory):
        exists = os.path.exists(real)
        data = load(real, fmt)
        new = copy.deepcopy(data)
        mutate(new)
        validate(new, path, fmt)
        content_changed = new != data or (not exists and bool(new))
        attrs_changed = exists and _attrs_differ(real, uid, gid, mode)
        changed = content_changed or attrs_changed
        if changed and not check_mode:
            if content_changed:
                atomic_write(real, dumps(new), uid, gid, mode)
            else:
                try:
                    if uid != -1 or gid != -1:
                        os.chown(real, uid, gid)
                    if mode is not None:
                        os.chmod(real, mode)
                except OSError as e:
                    raise DockerConfigError("cannot set owner/mode of %s: %s" % (path, e.strerror)) from None
    if created_dirs and not changed:
        _remove_new_dirs(created_dirs)
    return ConfigUpdate(
        changed,
        masked(data),
        masked(new, data),
        real,
        content_changed=content_changed,
        attrs_changed=attrs_changed,
        created=content_changed and not exists,
    )


# --------------------------------------------------------------------------
# common edits (used by registry_login, credhelper_config, node roles)
# --------------------------------------------------------------------------


def set_auth(data, server, entry, fmt="docker"):
    """Store ``entry`` for ``server`` under the normalised key; drop legacy duplicates."""
    key = normalize_registry(server, fmt)
    auths = data.setdefault("auths", {})
    for k in matching_keys(auths, key, fmt):
        if k != key:
            del auths[k]
    current = auths.get(key)
    if isinstance(current, dict):
        merged = dict((k, v) for k, v in current.items() if k not in SECRET_FIELDS and k not in ("username", "email"))
        merged.update(entry)
        auths[key] = merged
    else:
        auths[key] = dict(entry)
    return key


def remove_auth(data, server, fmt="docker"):
    """Remove every auths entry naming ``server`` (legacy spellings too); returns removed keys."""
    auths = data.get("auths")
    if not isinstance(auths, dict):
        return []
    removed = matching_keys(auths, server, fmt)
    for k in removed:
        del auths[k]
    return removed


def set_helper(data, server, helper, fmt="docker"):
    key = helper_key(server, fmt)
    validate_helper_name(helper)
    helpers = data.setdefault("credHelpers", {})
    for k in matching_keys(helpers, key, fmt):
        if k != key:
            del helpers[k]
    helpers[key] = helper
    return key


def remove_helper(data, server, fmt="docker"):
    helpers = data.get("credHelpers")
    if not isinstance(helpers, dict):
        return []
    removed = matching_keys(helpers, server, fmt)
    for k in removed:
        del helpers[k]
    if not helpers:
        del data["credHelpers"]
    return removed
