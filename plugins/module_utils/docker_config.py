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
import grp
import json
import math
import os
import pwd
import re
import stat

from ansible_collections.cloud_registry.auth.plugins.module_utils import safe_path
from ansible_collections.cloud_registry.auth.plugins.module_utils.errors import DockerConfigError  # noqa: F401 - re-exported
from ansible_collections.cloud_registry.auth.plugins.module_utils.reference import (  # noqa: F401 - re-exported
    FORMATS,
    helper_key,
    normalize_registry,
)

MASK = "********"
CHANGED_MASK = "******** (changed)"
SECRET_FIELDS = ("auth", "password", "identitytoken", "registrytoken", "identityToken", "registryToken")

_HELPER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


# --------------------------------------------------------------------------
# registry keys
# --------------------------------------------------------------------------


def _key_or_none(key, fmt):
    try:
        return normalize_registry(key, fmt)
    except DockerConfigError:
        return None  # a key no client could have meant as this registry


def matching_keys(mapping, server, fmt="docker"):
    """Keys of ``mapping`` that name the same registry as ``server`` (exact key first)."""
    if not isinstance(mapping, dict):
        return []
    key = normalize_registry(server, fmt)
    found = [k for k in mapping if k == key]
    found += [k for k in mapping if k != key and _key_or_none(k, fmt) == key]  # normalising is idempotent
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
    """The real path a write of ``path`` goes to (symlinks followed as :mod:`safe_path` allows)."""
    res = _resolve(path)
    try:
        return res.path
    finally:
        res.close()


def _resolve(path, fmt="docker"):
    try:
        return safe_path.resolve(path, what=_fmt_name(fmt))
    except safe_path.UnsafePathError as e:
        raise DockerConfigError(str(e)) from None


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


class Number:
    """A JSON number kept as the text it was written as: ``1e400`` or
    ``0.10000000000000000001`` survive a round trip byte for byte (a float would
    turn the first into ``Infinity``, which no JSON reader accepts)."""

    __slots__ = ("text",)

    def __init__(self, text):
        self.text = text

    def __eq__(self, other):
        return isinstance(other, Number) and other.text == self.text

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self.text)

    def __repr__(self):
        return self.text


class _Object(dict):
    """A parsed JSON object that remembers the values of keys given more than once."""

    __slots__ = ("dups",)


def _object_pairs(pairs):
    obj = _Object()
    obj.dups = None
    for key, value in pairs:
        if key in obj:
            if obj.dups is None:
                obj.dups = {}
            obj.dups.setdefault(key, [obj[key]]).append(value)
        obj[key] = value
    return obj


def _no_constant(name):
    raise ValueError("%s is not JSON (the docker CLI rejects it)" % name)


def _plain(node, top=False):
    """Plain dicts from _Object, duplicate keys resolved like Go's encoding/json reads
    them into the docker CLI's ConfigFile: a top-level object field given twice is
    merged (Go fills the same map twice), anything else: the last one wins."""
    if isinstance(node, dict):
        out = {}
        dups = getattr(node, "dups", None) or {}
        for key, value in node.items():
            if top and key in dups and all(isinstance(v, dict) for v in dups[key]):
                merged = {}
                for v in dups[key]:
                    merged.update(_plain(v))
                out[key] = merged
            else:
                out[key] = _plain(value)
        return out
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


def parse(raw, path, fmt="docker"):
    """The config in ``raw`` (bytes); DockerConfigError (naming ``path``) when the docker CLI would not read it."""
    if not raw.strip():
        # The docker CLI treats an empty file as an empty config; so do we.
        return {}
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DockerConfigError("%s is not UTF-8 text: fix or remove the file; it was left unchanged" % path) from None
    try:
        data = json.loads(
            text, object_pairs_hook=_object_pairs, parse_float=Number, parse_int=Number, parse_constant=_no_constant
        )
    except RecursionError:
        raise DockerConfigError(
            "%s is nested too deeply to be a %s: fix or remove the file; it was left unchanged" % (path, _fmt_name(fmt))
        ) from None
    except ValueError as e:
        raise DockerConfigError(
            "%s is not valid JSON (%s): fix or remove the file; it was left unchanged" % (path, _safe_json_error(e))
        ) from None
    data = _plain(data, top=True)
    validate(data, path, fmt)
    return data


def load(path, fmt="docker"):
    """The parsed file; ``{}`` when it does not exist. Never guesses on a broken file."""
    res = _resolve(path, fmt)
    try:
        return _load_resolved(res, path, fmt)
    finally:
        res.close()


def _load_resolved(res, path, fmt):
    try:
        raw = safe_path.read_bytes(res)
    except IsADirectoryError:
        raise DockerConfigError("%s is a directory, not a %s file: remove or rename it" % (path, _fmt_name(fmt))) from None
    except OSError as e:
        raise DockerConfigError("cannot read %s: %s" % (path, e.strerror)) from None
    if raw is None:
        return {}
    return parse(raw, path, fmt)


def _safe_json_error(err):
    # json error messages carry a position, never file content.
    if hasattr(err, "lineno"):
        return "%s at line %s column %s" % (err.msg, err.lineno, err.colno)
    return str(err)


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
                    out[_shown_text(k)] = _mask_value(k, v, p, mark_changed=other is not None)
                else:
                    out[_shown_text(k)] = walk(v, p)
            return out
        if isinstance(node, list):
            return [walk(v, None) for v in node]
        if isinstance(node, Number):
            return _shown_number(node)
        if isinstance(node, str):
            return _shown_text(node)
        return node

    return walk(copy.deepcopy(data), other)


_SURROGATE = re.compile("[\ud800-\udfff]")


def _shown_text(text):
    """Text for a result or diff: a lone surrogate shown as U+FFFD, as Go reads it."""
    return _SURROGATE.sub("\ufffd", text)


def _shown_number(num):
    """A JSON number for a result or diff: its value where Python holds it exactly, else its text."""
    try:
        return int(num.text)
    except ValueError:
        pass
    value = float(num.text)
    if value in (float("inf"), float("-inf")) or repr(value) != num.text:
        return num.text
    return value


# --------------------------------------------------------------------------
# writing
# --------------------------------------------------------------------------


# a diff of a file bigger than this shows only what changed (a whole masked copy of a
# 100 MB file in every result would cost more than the write itself)
DIFF_WHOLE_FILE_LIMIT = 256 * 1024
_ABSENT = object()


def _changed_parts(before, after):
    """``before``/``after`` cut down to what differs: top-level keys, and inside the
    objects (``auths``, ``credHelpers``, ...) the entries, that are not the same."""
    b_out, a_out = {}, {}
    for key in list(before) + [k for k in after if k not in before]:
        b, a = before.get(key, _ABSENT), after.get(key, _ABSENT)
        if b == a:
            continue
        if isinstance(b, dict) and isinstance(a, dict):
            b_sub, a_sub = {}, {}
            for k in list(b) + [k for k in a if k not in b]:
                if b.get(k, _ABSENT) != a.get(k, _ABSENT):
                    if k in b:
                        b_sub[k] = b[k]
                    if k in a:
                        a_sub[k] = a[k]
            b_out[key], a_out[key] = b_sub, a_sub
        else:
            if b is not _ABSENT:
                b_out[key] = b
            if a is not _ABSENT:
                a_out[key] = a
    return b_out, a_out


class ConfigUpdate:
    """Result of update_config. ``before``/``after`` are masked (safe for diffs) and
    computed on first use: a run without ``--diff`` never builds them. ``data`` is
    the new content itself (secrets included: for reading non-secret fields)."""

    def __init__(self, changed, before, after, path, content_changed=False, attrs_changed=False, created=False, size=0):
        self.changed = changed
        self._raw = (before, after)
        self._masked = None
        self.data = after
        self.path = path
        self.content_changed = content_changed
        self.attrs_changed = attrs_changed
        self.created = created
        self.size = size  # bytes of the file as it was read

    def _views(self):
        if self._masked is None:
            before, after = self._raw
            self._masked = (masked(before), masked(after, before))
        return self._masked

    @property
    def before(self):
        return self._views()[0]

    @property
    def after(self):
        return self._views()[1]

    def diff(self):
        before, after = self._raw
        note = ""
        if self.size > DIFF_WHOLE_FILE_LIMIT:
            before, after = _changed_parts(before, after)
            note = ", only the entries that changed"
            shown = (masked(before), masked(after, before))
        else:
            shown = self._views()
        return {
            "before": shown[0],
            "after": shown[1],
            "before_header": "%s (before%s)" % (self.path, note),
            "after_header": "%s (after%s)" % (self.path, note),
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


def _dump(node, out, indent):
    if isinstance(node, dict):
        if not node:
            out.append("{}")
            return
        inner = indent + "\t"
        out.append("{\n")
        for i, (key, value) in enumerate(node.items()):
            out.append(inner + _dump_str(key) + ": ")
            _dump(value, out, inner)
            out.append(",\n" if i < len(node) - 1 else "\n")
        out.append(indent + "}")
    elif isinstance(node, list):
        if not node:
            out.append("[]")
            return
        inner = indent + "\t"
        out.append("[\n")
        for i, value in enumerate(node):
            out.append(inner)
            _dump(value, out, inner)
            out.append(",\n" if i < len(node) - 1 else "\n")
        out.append(indent + "]")
    elif isinstance(node, str):
        out.append(_dump_str(node))
    elif isinstance(node, Number):
        out.append(node.text)
    elif node is True:
        out.append("true")
    elif node is False:
        out.append("false")
    elif node is None:
        out.append("null")
    elif isinstance(node, int):
        out.append(str(node))
    elif isinstance(node, float):
        if math.isnan(node) or math.isinf(node):
            raise DockerConfigError("a config value is not a finite number: it cannot be written as JSON")
        out.append(repr(node))
    else:
        raise DockerConfigError("a config value of type %s cannot be written as JSON" % type(node).__name__)


def _dump_str(text):
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # a lone surrogate (valid as a JSON escape): keep the escape, as it was read
        return json.dumps(text, ensure_ascii=True)
    return json.dumps(text, ensure_ascii=False)


def dumps(data):
    """Serialise like the docker CLI (tab indentation), with a final newline; numbers
    are written as they were read."""
    out = []
    _dump(data, out, "")
    return "".join(out) + "\n"


def _attrs_differ(st, uid, gid, mode):
    if st is None:
        return False
    if uid != -1 and st.st_uid != uid:
        return True
    if gid != -1 and st.st_gid != gid:
        return True
    if mode is not None and stat.S_IMODE(st.st_mode) != mode:
        return True
    return False


def check_mode_bits(mode, path):
    """A credentials file is for its owner: no setuid/setgid/sticky, no world access."""
    if mode is None:
        return None
    if mode & 0o7000:
        raise DockerConfigError(
            "mode %04o for %s has setuid/setgid/sticky bits: a credentials file takes none (use 0600)" % (mode, path)
        )
    if mode & 0o007:
        raise DockerConfigError(
            "mode %04o for %s lets every user of the host read the credentials: use 0600 (or 0640 with a group)" % (mode, path)
        )
    return mode


def update_config(path, mutate, fmt="docker", check_mode=False, owner=None, group=None, mode=None):
    """Locked read-modify-write of a config file.

    ``mutate(data)`` edits the loaded dict in place (it may raise
    DockerConfigError to abort; nothing is written then). The result is
    validated before it replaces the file. The path is resolved through
    :mod:`safe_path` (another user's symlinks are followed only into their own
    directories). Directories are created only when something is written, and
    never removed. Returns a ConfigUpdate whose ``before``/``after`` are masked.
    """
    if fmt not in FORMATS:
        raise DockerConfigError("format must be one of %s, got %r" % (", ".join(FORMATS), fmt))
    uid, gid = _uid(owner), _gid(group)
    mode = check_mode_bits(parse_mode(mode), path)
    res = _resolve(path, fmt)
    try:
        if res.st is not None and stat.S_ISDIR(res.st.st_mode):
            raise DockerConfigError("%s is a directory, not a %s file: remove or rename it" % (path, _fmt_name(fmt)))
        if not res.dir_exists:
            # nothing exists yet: decide without creating anything
            new = {}
            mutate(new)
            validate(new, path, fmt)
            if not new or check_mode:
                return _update_result(bool(new), {}, new, res.path, bool(new), False, bool(new))
            try:
                safe_path.make_dirs(res, uid, gid)
            except OSError as e:
                raise DockerConfigError("cannot create the directory for %s: %s" % (path, e.strerror)) from None
            res.close()
            res = _resolve(path, fmt)
        return _locked_update(res, path, mutate, fmt, check_mode, uid, gid, mode)
    except safe_path.UnsafePathError as e:
        raise DockerConfigError(str(e)) from None
    finally:
        res.close()


def _locked_update(res, path, mutate, fmt, check_mode, uid, gid, mode):
    with safe_path.DirLock(res.dir_fd):
        # what another writer did before we got the lock counts
        st = _restat(res)
        data = _load_resolved(res, path, fmt)
        new = copy.deepcopy(data)
        mutate(new)
        validate(new, path, fmt)
        exists = st is not None
        content_changed = new != data or (not exists and bool(new))
        attrs_changed = _attrs_differ(st, uid, gid, mode)
        changed = content_changed or attrs_changed
        if changed and not check_mode:
            safe_path.remove_stale_temps(res)
            try:
                # attrs too are set on a new copy: an existing file is never chowned in place
                safe_path.replace_file(res, dumps(new).encode("utf-8"), uid, gid, mode)
            except OSError as e:
                raise DockerConfigError("cannot write %s: %s" % (res.path, e.strerror)) from None
    return _update_result(
        changed,
        data,
        new,
        res.path,
        content_changed,
        attrs_changed,
        content_changed and not exists,
        size=st.st_size if st is not None else 0,
    )


def _restat(res):
    try:
        res.st = os.stat(res.name, dir_fd=res.dir_fd, follow_symlinks=False)
    except OSError as e:
        if e.errno != errno.ENOENT:
            raise DockerConfigError("cannot look at %s: %s" % (res.path, e.strerror)) from None
        res.st = None
    if res.st is not None and stat.S_ISLNK(res.st.st_mode):
        # became a symlink since it was resolved: someone is racing us
        raise DockerConfigError("%s was replaced by a symbolic link while it was being updated: run again" % res.path)
    return res.st


def _update_result(changed, before, after, real, content_changed, attrs_changed, created, size=0):
    return ConfigUpdate(
        changed, before, after, real, content_changed=content_changed, attrs_changed=attrs_changed, created=created, size=size
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
