# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Client for the ``docker-credential-<name>`` protocol (private, not public API).

The protocol (docker-credential-helpers): the helper is run with one action
argument; ``store`` reads ``{"ServerURL", "Username", "Secret"}`` as JSON on
stdin, ``get`` and ``erase`` read the server URL on stdin, ``list`` reads
nothing and prints ``{server: username}``. A failing helper exits non-zero and
prints its error on stdout; ``get`` of an unknown server prints
"credentials not found in native keychain".

Helpers are run through a ``run_command`` callable with the signature of
``AnsibleModule.run_command`` (modules pass ``module.run_command``; module_utils
never start processes themselves). A helper that hangs (a keyring waiting for an
unlock, no D-Bus) is stopped by coreutils ``timeout`` when the host has it.

Standard library only, Python 3.7+: this runs on managed hosts.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import stat

from ansible_collections.cloud_registry.auth.plugins.module_utils import redact
from ansible_collections.cloud_registry.auth.plugins.module_utils.errors import CloudRegistryError

NOT_FOUND = "credentials not found in native keychain"
# Older docker-credential-pass builds (Debian bookworm's 0.6.4) say this instead.
NOT_FOUND_TEXTS = (NOT_FOUND, "is not in the password store")
PREFIX = "docker-credential-"
# helpers that mint credentials from a cloud identity and answer "not implemented" to ``store``
READ_ONLY_HELPERS = frozenset(["ecr-login", "gcr", "gcloud", "acr-helper", "acr-env"])
# Where helpers live when Ansible runs us with a minimal PATH.
EXTRA_PATH = ("/usr/local/bin", "/usr/bin", "/bin", "/usr/local/sbin", "/usr/sbin", "/snap/bin", "/usr/lib/google-cloud-sdk/bin")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


class CredentialStoreError(CloudRegistryError):
    """A helper failed or is missing; the message never contains a secret."""


def _search_path(environ=None):
    env = os.environ if environ is None else environ
    parts = [p for p in (env.get("PATH") or "").split(os.pathsep) if p]
    for extra in EXTRA_PATH:
        if extra not in parts:
            parts.append(extra)
    return parts


def helper_path(name, environ=None):
    """Absolute path of ``docker-credential-<name>``, or None when it is not installed."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise CredentialStoreError(
            "credential helper name %r is invalid: use the part after 'docker-credential-' (gcloud, ecr-login, pass...)" % (name,)
        )
    for directory in _search_path(environ):
        candidate = os.path.join(directory, PREFIX + name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _require(name, environ=None):
    path = helper_path(name, environ)
    if path is None:
        raise CredentialStoreError(
            "credential helper %s%s is not installed on this host (searched PATH and %s): install it, e.g. with the "
            "cloud_registry.auth.credential_helpers role, or choose another store" % (PREFIX, name, ", ".join(EXTRA_PATH[:3]))
        )
    return path


def find_program(program, environ=None):
    """Absolute path of ``program`` on this host's PATH (plus the usual sbin/bin dirs), or None."""
    return _which(program, _search_path(environ))


def _which(program, search):
    for directory in search:
        candidate = os.path.join(directory, program)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def session_bus(uid):
    """The D-Bus session bus socket of user ``uid`` (``/run/user/UID/bus``), or None when there is none."""
    bus = "/run/user/%d/bus" % uid
    try:
        return bus if stat.S_ISSOCK(os.stat(bus).st_mode) else None
    except OSError:
        return None


def _session_bus(env):
    """Point helpers that need D-Bus (secretservice) at the user's session bus.

    A login session has DBUS_SESSION_BUS_ADDRESS; a task run through ``su`` or ``sudo``
    does not, and libsecret would then try X11 autolaunch and fail. When the variable is
    unset and the user's bus socket exists, use it, as the login session would.
    """
    bus = None if env.get("DBUS_SESSION_BUS_ADDRESS") else session_bus(os.geteuid())
    if bus:
        env["DBUS_SESSION_BUS_ADDRESS"] = "unix:path=" + bus


# Variables of the process running the module that must not reach another user's helper:
# they point at the module user's keyrings, stores and session.
_FOREIGN_ENV = (
    "DBUS_SESSION_BUS_ADDRESS",
    "XDG_RUNTIME_DIR",
    "GNUPGHOME",
    "PASSWORD_STORE_DIR",
    "DOCKER_CONFIG",
    "DISPLAY",
    "SSH_AUTH_SOCK",
)


def as_account(run_command, account, environ=None):
    """A ``run_command`` that runs helpers as ``account`` (a ``docker_config.Account``), in
    that user's session: ``HOME``, ``USER``, ``XDG_RUNTIME_DIR`` and the D-Bus session bus
    are theirs, as in their login session, so ``pass`` finds their GnuPG keys and
    ``secretservice`` their keyring.

    Only a helper run becomes the user (``runuser`` from root; no sudo, no login shell, so
    nologin accounts work): files are written by the module itself. Running as that user
    already, nothing changes. As another, unprivileged user the returned callable raises
    ``CredentialStoreError`` naming the fix; it is only raised when a helper is needed."""
    if account is None or os.geteuid() == account.uid:
        return run_command

    def run_as(argv, **kwargs):
        runuser = find_program("runuser", environ) if os.geteuid() == 0 else None
        if runuser is None:
            raise CredentialStoreError(
                "cannot run %s as %s: the module runs as uid %d; run it as root (become: true) or as %s"
                % (
                    os.path.basename(argv[-2]) if len(argv) > 1 else "the credential helper",
                    account.name,
                    os.geteuid(),
                    account.name,
                )
            )
        env_prog = find_program("env", environ) or "env"
        prefix = [runuser, "-u", account.name, "--", env_prog]
        for name in _FOREIGN_ENV:
            prefix += ["-u", name]
        prefix += ["HOME=%s" % account.home, "USER=%s" % account.name, "LOGNAME=%s" % account.name]
        runtime = "/run/user/%d" % account.uid
        if os.path.isdir(runtime):
            prefix.append("XDG_RUNTIME_DIR=%s" % runtime)
        bus = session_bus(account.uid)
        if bus:
            prefix.append("DBUS_SESSION_BUS_ADDRESS=unix:path=%s" % bus)
        update = dict(kwargs.pop("environ_update", None) or {})
        for name in _FOREIGN_ENV:
            update.pop(name, None)
        return run_command(prefix + list(argv), environ_update=update, **kwargs)

    return run_as


def _run(name, action, stdin, timeout, environ, run_command):
    if run_command is None:
        raise CredentialStoreError("internal error: no run_command given to run %s%s" % (PREFIX, name))
    path = _require(name, environ)
    env = dict(os.environ if environ is None else environ)
    search = _search_path(env)
    env["PATH"] = os.pathsep.join(search)
    _session_bus(env)
    argv = [path, action]
    stopper = _which("timeout", search) if timeout else None
    if stopper:
        argv = [stopper, "--kill-after=5", str(int(timeout))] + argv
    rc, out, err = run_command(argv, data=stdin, binary_data=True, environ_update=env)
    if stopper and rc in (124, 137):
        raise CredentialStoreError(
            "%s%s %s did not answer within %ss (a helper waiting for a keyring unlock or D-Bus?)"
            % (PREFIX, name, action, timeout)
        )
    return rc, out or "", err or ""


def _error_text(out, err):
    text = (out.strip() or err.strip() or "no error message").splitlines()
    return text[0][:300] if text else "no error message"


def store(name, server, username, secret, run_command=None, timeout=30, environ=None):
    payload = json.dumps({"ServerURL": server, "Username": username, "Secret": secret})
    rc, out, err = _run(name, "store", payload, timeout, environ, run_command)
    if rc != 0:
        raise CredentialStoreError(
            "%s%s could not store credentials for %s: %s"
            % (PREFIX, name, server, redact.scrub(_error_text(out, err), [secret], [username]))
        )


def get(name, server, run_command=None, timeout=30, environ=None):
    """(username, secret) stored for ``server``, or None when the helper has none."""
    rc, out, err = _run(name, "get", server, timeout, environ, run_command)
    if rc != 0:
        message = _error_text(out, err)
        if _not_found(out, err):
            return None
        raise CredentialStoreError("%s%s could not read credentials for %s: %s" % (PREFIX, name, server, _record_free(message)))
    try:
        data = json.loads(out)
    except ValueError:
        raise CredentialStoreError("%s%s get %s printed something that is not JSON" % (PREFIX, name, server)) from None
    if not isinstance(data, dict):
        raise CredentialStoreError("%s%s get %s printed an unexpected JSON value" % (PREFIX, name, server))
    if not data.get("Username") and not data.get("Secret"):
        return None  # some helpers answer an empty record instead of "not found"
    return data.get("Username", ""), data.get("Secret", "")


def erase(name, server, run_command=None, timeout=30, environ=None):
    """Erase ``server``; returns False when the helper had nothing stored for it."""
    rc, out, err = _run(name, "erase", server, timeout, environ, run_command)
    if rc != 0:
        if _not_found(out, err):
            return False
        raise CredentialStoreError(
            "%s%s could not erase credentials for %s: %s" % (PREFIX, name, server, _record_free(_error_text(out, err)))
        )
    return True


def list_(name, run_command=None, timeout=30, environ=None):
    """{server: username} known to the helper."""
    rc, out, err = _run(name, "list", "", timeout, environ, run_command)
    if rc != 0:
        raise CredentialStoreError("%s%s list failed: %s" % (PREFIX, name, _error_text(out, err)))
    try:
        data = json.loads(out or "{}")
    except ValueError:
        raise CredentialStoreError("%s%s list printed something that is not JSON" % (PREFIX, name)) from None
    return data if isinstance(data, dict) else {}


def _not_found(out, err):
    return any(text in out or text in err for text in NOT_FOUND_TEXTS)


def _record_free(text):
    """A helper's error text, unless it carries a credential record (its secret is unknown here)."""
    if re.search(r'"?(Secret|Username|password|auth)"?\s*[:=]', text, re.IGNORECASE):
        return "(its message carries a credential record and is not shown)"
    return text
