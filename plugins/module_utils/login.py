# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Log in / log out on a host (private to this collection, not public API): the logic of registry_login.

Takes plain values, not the AnsibleModule, so the module, the action plugin and
unit tests share it. Standard library only, Python 3.7+ (runs on targets).

Where a login is stored (``store``):

* ``file``: inline ``auths[KEY]`` in the config file;
* ``auto``: what the docker CLI would do with that file: ``credHelpers[KEY]``,
  else ``credsStore`` (docker format), else inline;
* a helper name (``pass``, ``secretservice``, ...): the secret goes to
  ``docker-credential-NAME``; the file gets ``credHelpers[KEY] = NAME`` unless
  ``credsStore`` already names that helper; an inline entry for the registry is
  removed so no copy of an old secret stays in the file.

What is stored, like ``docker login``: ``auth = base64(user:password)``; when the
registry returned an identity (refresh) token: ``auth = base64(user:)`` +
``identitytoken`` (helpers get ``Username = "<token>"``, ``Secret = token``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.cloud_registry.auth.plugins.module_utils import docker_config as dc
from ansible_collections.cloud_registry.auth.plugins.module_utils import expiry
from ansible_collections.cloud_registry.auth.plugins.module_utils.errors import CloudRegistryError, run_domain
from ansible_collections.cloud_registry.auth.plugins.module_utils.reference import Reference

# credential_store (subprocess) and registry (ssl, urllib) are imported where they are
# used: most hosts need neither, and every import is paid once per host.

TOKEN_USERNAME = "<token>"  # what docker stores as Username in a helper for identity tokens


class LoginError(CloudRegistryError):
    """Bad input for a login; the message is safe to show."""


def read_password_file(path):
    """The password in ``path`` on this host, trailing newline removed (like ``--password-stdin``)."""
    try:
        with open(os.path.expanduser(path), "rb") as f:
            raw = f.read()
    except IOError as e:
        raise LoginError("cannot read password_file %s: %s" % (path, e.strerror)) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise LoginError("password_file %s is not UTF-8 text" % path) from None
    text = text.rstrip("\r\n")
    if not text:
        raise LoginError("password_file %s is empty" % path)
    return text


def _target(data, server, store, fmt):
    """(kind, helper): where this login goes. kind: "file" | "helper"."""
    if store == "file":
        return "file", None
    if store == "auto":
        kind, name = dc.credential_source(data, server, fmt)
        if kind == "file":
            return "file", None
        return "helper", name
    dc.validate_helper_name(store)
    return "helper", store


def cs_read_only():
    from ansible_collections.cloud_registry.auth.plugins.module_utils.credential_store import READ_ONLY_HELPERS

    return READ_ONLY_HELPERS


def _helper_get(helper, key, run_command):
    """(username, secret) the helper holds for ``key``, or None (credential_store
    maps every helper's way of saying "nothing stored" to None)."""
    from ansible_collections.cloud_registry.auth.plugins.module_utils import credential_store as cs

    got = cs.get(helper, key, run_command=run_command)
    return None if got is None else tuple(got)


def _wanted(username, password, identity_token):
    """(username, secret) to store in a helper for this login."""
    if identity_token:
        return TOKEN_USERNAME, identity_token
    return username, password


class Outcome:
    """What a login/logout did. ``existing_identity_token``: the identity token of an
    earlier login that was kept (a secret: checked on the host, never returned)."""

    def __init__(self):
        self.changed = False
        self.key = None
        self.store = "file"
        self._diffs = []  # diffs, or callables that build one: built only when asked for
        self.existing_identity_token = None
        self.config_path = None
        self.read_only = None  # the read-only helper that serves the registry (nothing was stored)
        self.read_only_via = None  # credHelpers or credsStore
        self.entry = None  # the inline entry as stored (to fingerprint it for the expiry record)

    def add_diff(self, diff, first=False):
        self._diffs.insert(0, diff) if first else self._diffs.append(diff)

    @property
    def diffs(self):
        return [d() if callable(d) else d for d in self._diffs]

    def result_diff(self):
        """The ``diff`` of a module result (built now), or None when nothing changed."""
        diffs = self.diffs
        return (diffs if len(diffs) > 1 else diffs[0]) if diffs else None


def _helper_diff(helper, server, before, after):
    def show(v):
        if v is None:
            return {}
        return {"username": v[0], "secret": dc.MASK}

    b = show(before)
    a = show(after)
    if before is not None and after is not None and before[1] != after[1]:
        a["secret"] = dc.CHANGED_MASK
    return {
        "before": b,
        "after": a,
        "before_header": "docker-credential-%s %s (before)" % (helper, server),
        "after_header": "docker-credential-%s %s (after)" % (helper, server),
    }


def login(
    path,
    registry,
    username,
    password,
    fmt="docker",
    store="auto",
    identity_token=None,
    keep_identity_token=True,
    check_mode=False,
    owner=None,
    group=None,
    mode=None,
    run_command=None,
):
    """Store the login. With ``keep_identity_token`` an existing identity token for the
    same user is kept and returned in ``Outcome.existing_identity_token`` (to be checked
    by the caller), instead of being replaced by ``identity_token``."""
    if not username:
        raise LoginError("username is required with state=present")
    if password is None or password == "":
        raise LoginError("password or password_file is required with state=present")
    out = Outcome()
    key = dc.normalize_registry(registry, fmt)
    out.key = key
    state = {}

    def mutate(data):
        kind, helper = _target(data, key, store, fmt)
        state["kind"], state["helper"] = kind, helper
        if kind == "file":
            put_inline(data)
            state["entry"] = dc.find_auth(data, key, fmt)[1]
            return
        put_helper(data, helper)

    def put_inline(data):
        found, entry = dc.find_auth(data, key, fmt)
        cur_user, cur_pw, cur_token = dc.entry_credentials(entry) if entry is not None else ("", "", None)
        if entry is not None and cur_token and cur_user == username and identity_token and keep_identity_token:
            # a token from an earlier login of this user: kept, the caller checks it still works
            if cur_token != identity_token:
                out.existing_identity_token = cur_token
            if found != key:
                dc.set_auth(
                    data, key, {"auth": entry.get("auth") or dc.encode_auth(username, ""), "identitytoken": cur_token}, fmt
                )
            return
        same = not identity_token and not cur_token and (cur_user, cur_pw) == (username, password)
        if entry is not None and same and found == key and "auth" in entry:
            return
        dc.set_auth(data, key, dc.auth_entry(username, password, identity_token), fmt)

    def put_helper(data, helper):
        if store == "auto" and helper in cs_read_only():
            # docker login would fail here ("not implemented"): the helper mints its own credentials
            state["read_only"] = helper
            state["read_only_via"] = "credsStore" if dc.credential_source(data, key, fmt)[0] == "store" else "credHelpers"
            return
        # a credential helper (CredentialStoreError names a helper that is not installed)
        current = _helper_get(helper, key, run_command)
        want = _wanted(username, password, identity_token)
        new = want
        if current is not None and identity_token and keep_identity_token and current[0] == TOKEN_USERNAME:
            if current[1] != identity_token:
                out.existing_identity_token = current[1]
            new = tuple(current)
        if current is None or tuple(current) != tuple(new):
            state["helper_changed"] = True
            out.add_diff(_helper_diff(helper, key, current, new))
            if not check_mode:
                from ansible_collections.cloud_registry.auth.plugins.module_utils import credential_store as cs

                cs.store(helper, key, new[0], new[1], run_command=run_command)
        # the file must send clients to this helper and hold no stale inline secret
        if store != "auto" and not (fmt == "docker" and data.get("credsStore") == helper):
            dc.set_helper(data, key, helper, fmt)
        dc.remove_auth(data, key, fmt)

    upd = dc.update_config(path, mutate, fmt=fmt, check_mode=check_mode, owner=owner, group=group, mode=mode)
    out.config_path = upd.path
    out.store = "file" if state.get("kind") == "file" else state.get("helper")
    out.read_only = state.get("read_only")
    out.read_only_via = state.get("read_only_via")
    out.entry = state.get("entry")
    out.changed = bool(upd.changed or state.get("helper_changed"))
    if upd.changed:
        out.add_diff(upd.diff, first=True)
    return out


def logout(path, registry, fmt="docker", store="auto", check_mode=False, owner=None, group=None, mode=None, run_command=None):
    """Remove the login: inline entries under every legacy key, and the helper's copy."""
    out = Outcome()
    key = dc.normalize_registry(registry, fmt)
    out.key = key
    state = {}

    def erase(helper):
        current = _helper_get(helper, key, run_command)
        if current is not None:
            state["helper_changed"] = True
            out.add_diff(_helper_diff(helper, key, current, None))
            if not check_mode:
                from ansible_collections.cloud_registry.auth.plugins.module_utils import credential_store as cs

                cs.erase(helper, key, run_command=run_command)

    def mutate(data):
        kind, helper = _target(data, key, store, fmt)
        state["kind"], state["helper"] = kind, helper
        dc.remove_auth(data, key, fmt)
        if kind == "helper":
            erase(helper)

    real = dc.resolve_path(path)
    out.config_path = real
    if not os.path.exists(real):
        # nothing to remove from a file that does not exist (and no directory is created)
        kind, helper = _target({}, key, store, fmt)
        out.store = "file" if kind == "file" else helper
        if kind == "helper":
            erase(helper)
        out.changed = bool(state.get("helper_changed"))
        return out
    upd = dc.update_config(path, mutate, fmt=fmt, check_mode=check_mode, owner=owner, group=group, mode=mode)
    out.store = "file" if state.get("kind") == "file" else state.get("helper")
    out.changed = bool(upd.changed or state.get("helper_changed"))
    if upd.changed:
        out.add_diff(upd.diff, first=True)
    return out


def safe_run(params, check_mode=False, environ=None, run_command=None, want_diff=False):
    """``run()`` with every domain error turned into ``LoginError`` (what modules catch)."""
    return run_domain(
        LoginError, run, params, check_mode=check_mode, environ=environ, run_command=run_command, want_diff=want_diff
    )


def run(params, check_mode=False, environ=None, run_command=None, want_diff=False):
    """The module's whole job, from its parameters. Returns the result dict (no secret in it).

    ``run_command`` (``AnsibleModule.run_command``) runs credential helpers.

    Raises DockerConfigError, CredentialStoreError, RegistryError or LoginError.
    """
    fmt = params.get("format") or "docker"
    path, owner, group, dummy = dc.for_user(
        params.get("user"), params.get("config_path"), fmt, params.get("owner"), params.get("group"), environ=environ
    )
    state = params.get("state") or "present"
    store_kind_param = store = params.get("store") or "auto"
    registry = Reference.parse(params["registry"])  # parsed once for the whole login; a bad name fails first
    expires_at = expiry.to_epoch(params.get("expires_at"))
    if state == "absent":
        out = logout(path, registry, fmt, store, check_mode, owner, group, params.get("mode"), run_command=run_command)
        forgot = _record_expiry(out, None, check_mode, want_diff)
        result = {
            "changed": out.changed or forgot,
            "registry": out.key,
            "config_path": out.config_path,
            "store": out.store,
            "verified": False,
            "auth_scheme": None,
            "expires_at": None,
        }
        return _with_diff(result, out, want_diff)

    password = params.get("password")
    if params.get("password_file") and password is None:
        password = read_password_file(params["password_file"])
    scheme = params.get("_verified_scheme") or None
    identity_token = params.get("_identity_token") or None
    verified = bool(scheme)
    if not verified and params.get("verify", True):
        # verify_from=host (or the module run without its action plugin): verify here
        from ansible_collections.cloud_registry.auth.plugins.module_utils.registry import verify as registry_verify

        res = registry_verify(
            registry,
            params["username"],
            password,
            validate_certs=params.get("validate_certs", True),
            ca_cert=params.get("ca_cert"),
            timeout=params.get("timeout") or 30,
        )
        scheme, identity_token = res.scheme, res.identity_token
        verified = True
    if not params.get("identity_token", True):
        identity_token = None  # for clients that read only username/password (kubelet, containerd CRI)

    def store(keep):
        return login(
            path,
            registry,
            params["username"],
            password,
            fmt=fmt,
            store=store_kind,
            identity_token=identity_token,
            keep_identity_token=keep,
            check_mode=check_mode,
            owner=owner,
            group=group,
            mode=params.get("mode"),
            run_command=run_command,
        )

    store_kind = store_kind_param
    out = store(True)
    if out.existing_identity_token:
        # the host's token of an earlier login is kept only while the token service
        # still takes it, checked from here: the token never leaves the host
        if not _token_still_valid(registry, out.existing_identity_token, params):
            out = store(False)
    # the expiry of a short-lived inline login is kept beside the file (registry_auth_info reports it); a login that
    # goes to a helper, or carries no expiry, leaves no record behind
    # (not when the registry gave an identity token: that token, not the password, is what is stored)
    as_given = out.store == "file" and not out.read_only and not (out.entry or {}).get("identitytoken")
    recorded = _record_expiry(out, expires_at if as_given else None, check_mode, want_diff)
    result = {
        "changed": out.changed or recorded,
        "expires_at": expiry.format_time(expires_at) if expires_at is not None else None,
        "registry": out.key,
        "config_path": out.config_path,
        "store": out.store,
        "verified": bool(verified),
        "auth_scheme": scheme,
    }
    if out.read_only:
        result["stored"] = False
        result["warnings"] = [
            "%s: %s is served by docker-credential-%s, which mints its own credentials and cannot store a login; "
            "the login was not stored (nothing changed). Remove that %s entry to use this login, or give store: file "
            "to keep it inline (the docker CLI reads it only while the helper is not installed)"
            % (out.config_path, out.key, out.read_only, out.read_only_via)
        ]
    return _with_diff(result, out, want_diff)


def _record_expiry(out, expires_at, check_mode, want_diff):
    """Record (or forget) the login's expiry beside its file; True when the record changes (with its diff)."""
    before = expiry.read(out.config_path).get(out.key) if want_diff else None
    changed = expiry.update(out.config_path, out.key, expires_at, out.entry, check_mode)
    if changed and want_diff:
        path = expiry.record_path(out.config_path)
        out.add_diff(
            {
                "before_header": path,
                "after_header": path,
                "before": {out.key: expiry.format_time(before[0])} if before else {},
                "after": {out.key: expiry.format_time(expires_at)} if expires_at is not None else {},
            }
        )
    return changed


def _with_diff(result, out, want_diff):
    """``result`` with the outcome's diff, built (once) only when the caller shows diffs."""
    diff = out.result_diff() if want_diff else None
    if diff:
        result["diff"] = diff
    return result


def _token_still_valid(registry, token, params):
    from ansible_collections.cloud_registry.auth.plugins.module_utils.registry import RegistryError, check_identity_token

    try:
        return check_identity_token(
            registry, token, params.get("validate_certs", True), params.get("ca_cert"), params.get("timeout") or 30
        )
    except RegistryError:
        return False  # cannot tell from here: the fresh token replaces it


__all__ = ["LoginError", "login", "logout", "run", "read_password_file"]
