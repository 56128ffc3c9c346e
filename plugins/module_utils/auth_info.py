# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a host holds for which registry (private engine of ``registry_auth_info``).

Reads Docker ``config.json`` and containers ``auth.json`` files the way their clients do
and reports every registry entry: where the credential is stored (inline, a
``credHelpers`` helper, the ``credsStore``), whether the helper binary is there, the
user name (never the secret), the kind of credential, its expiry when it can be known
(the ``exp`` of a JWT, the ``expiration`` of an ECR token), problems of the file (owner,
mode) and entries the client would never read. Read only; standard library only.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import json
import os
import pwd
import stat
import time

from ansible_collections.cloud_registry.auth.plugins.module_utils import credential_store, docker_config
from ansible_collections.cloud_registry.auth.plugins.module_utils.errors import DockerConfigError
from ansible_collections.cloud_registry.auth.plugins.module_utils import expiry as expiry_record
from ansible_collections.cloud_registry.auth.plugins.module_utils.expiry import format_time
from ansible_collections.cloud_registry.auth.plugins.module_utils.reference import (
    Reference,
    DOCKER_HUB_ALIASES,
    DOCKER_HUB_KEY,
    helper_key,
    normalize_registry,
)

NODE_FILES = (("/var/lib/kubelet/config.json", "docker"), ("/etc/containers/auth.json", "containers"))
TOKEN_USERNAME = "<token>"
STATES = ("valid", "present", "expiring", "expired", "invalid", "ignored", "helper_missing", "unverifiable", "empty")


def _b64url(text):
    text = text.strip()
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode("ascii"))


def token_expiry(value, username=None):
    """``(epoch, source)`` of when a stored credential stops working, or ``(None, None)``:
    the ``exp`` claim of a JWT (ACR refresh and access tokens, identity tokens of OAuth2
    registries, Google ID tokens) or the ``expiration`` of an ECR authorization token."""
    if not isinstance(value, str) or not value:
        return None, None
    parts = value.split(".")
    if len(parts) == 3 and all(parts[:2]):
        try:
            claims = json.loads(_b64url(parts[1]).decode("utf-8"))
        except (ValueError, TypeError, binascii.Error, UnicodeError):
            claims = None
        if isinstance(claims, dict) and isinstance(claims.get("exp"), (int, float)) and not isinstance(claims["exp"], bool):
            return float(claims["exp"]), "jwt"
    if username == "AWS":
        try:
            data = json.loads(base64.b64decode(value.encode("ascii"), validate=True).decode("utf-8"))
        except (ValueError, TypeError, binascii.Error, UnicodeError):
            data = None
        if isinstance(data, dict) and isinstance(data.get("expiration"), (int, float)):
            return float(data["expiration"]), "ecr"
    return None, None


def _hostname(key):
    """What the docker CLI's ConvertToHostname makes of a key: scheme and path dropped."""
    text = key
    for prefix in ("http://", "https://"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
            break
    return text.split("/", 1)[0]


def _owner_name(uid):
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return "uid %d" % uid


def file_problems(st, path, account=None, expect_uid=None):
    """What is wrong with who may read or replace the file, each with its fix."""
    problems = []
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        problems.append("%s has mode %04o: others can read the credentials; chmod 600 %s" % (path, mode, path))
    uid = account.uid if account is not None else expect_uid
    if uid is not None and st.st_uid != uid:
        name = account.name if account is not None else _owner_name(uid)
        problems.append("%s is owned by %s, not %s: chown %s %s" % (path, _owner_name(st.st_uid), name, name, path))
    parent = os.path.dirname(path)
    try:
        pst = os.stat(parent)
    except OSError:
        pst = None
    if pst is not None and stat.S_IMODE(pst.st_mode) & 0o002 and not stat.S_IMODE(pst.st_mode) & stat.S_ISVTX:
        problems.append(
            "%s is writable by everyone: anyone can replace %s; chmod o-w %s" % (parent, os.path.basename(path), parent)
        )
    return problems


class Inspector:
    """One run of registry_auth_info on a host."""

    def __init__(
        self, now=None, expiring_within=7 * 86400, environ=None, wrap=None, list_helpers=False, run_command=None, timeout=10
    ):
        self.now = time.time() if now is None else now
        self.within = expiring_within
        self.environ = environ
        self.wrap = wrap  # callable(json text) -> sealed text, when the controller verifies
        self.list_helpers = list_helpers
        self.run_command = run_command
        self.timeout = timeout
        self._helpers = {}
        self._lists = {}

    def helper_present(self, name):
        if name not in self._helpers:
            try:
                self._helpers[name] = credential_store.helper_path(name, self.environ) is not None
            except credential_store.CredentialStoreError:
                self._helpers[name] = None  # not a helper name at all
        return self._helpers[name]

    # -- one file ------------------------------------------------------------------------
    def inspect_file(self, path, fmt, user=None, account=None, expect_uid=None, source="user"):
        record = {
            "path": path,
            "format": fmt,
            "user": user,
            "source": source,
            "exists": False,
            "problems": [],
            "error": None,
            "creds_store": None,
            "entries": [],
        }
        try:
            st = os.stat(path)
        except OSError:
            return record
        record["exists"] = True
        record["mode"] = "%04o" % stat.S_IMODE(st.st_mode)
        record["owner"] = _owner_name(st.st_uid)
        if os.path.islink(path):
            record["symlink"] = os.path.realpath(path)
        record["problems"] = file_problems(st, path, account, expect_uid)
        try:
            data = docker_config.load(path, fmt)
        except DockerConfigError as e:
            record["error"] = "%s" % e
            return record
        record["entries"] = self.entries(data, fmt, account, expiry_record.read(path))
        for entry in record["entries"]:
            entry.update(path=path, format=fmt, user=user)
        if fmt == "docker" and data.get("credsStore"):
            record["creds_store"] = data["credsStore"]
        return record

    # -- the entries of one file ------------------------------------------------------------
    def entries(self, data, fmt, account=None, recorded=None):
        out = []
        helpers = data.get("credHelpers") or {}
        store = data.get("credsStore") if fmt == "docker" else None
        auths = data.get("auths") or {}
        # host -> (helper, installed), for the helper entries a client really consults. The docker CLI falls back
        # to the inline entry when the helper cannot be run (it drops the error), and reads only the helper's
        # answer when it runs, even "not found"; containers/image asks the helper and does not fall back.
        routed = {}
        for key in sorted(helpers):
            entry = self._helper_entry(key, helpers[key], fmt, account)
            if entry["state"] != "ignored":
                routed[entry["registry"] if fmt == "containers" else _hostname(key)] = (
                    helpers[key],
                    entry["state"] != "helper_missing",
                )
            out.append(entry)
        if store:
            out.append(self._store_entry(store, account))
            store = (store, out[-1]["state"] != "helper_missing")
        exact = {}
        for key in auths:
            try:
                exact.setdefault(normalize_registry(key, fmt), []).append(key)
            except DockerConfigError:
                continue
        for key in sorted(auths):
            out.append(self._inline_entry(key, auths[key], fmt, store, routed, exact, (recorded or {}).get(key)))
        return out

    def _base(self, key, stored):
        return {
            "key": key,
            "registry": key,
            "stored": stored,
            "helper": None,
            "helper_present": None,
            "username": None,
            "kind": None,
            "expires_at": None,
            "expiry_source": None,
            "state": "present",
            "reason": None,
            "verified": None,
            "verify_error": None,
        }

    def _helper_entry(self, key, helper, fmt, account=None):
        entry = self._base(key, "helper")
        entry["helper"] = helper
        try:
            entry["registry"] = normalize_registry(key, fmt) if fmt == "containers" else helper_key(key)
        except DockerConfigError as e:
            entry.update(state="ignored", reason="%s" % e)
            return entry
        host = _hostname(key)
        if not helper:
            entry.update(state="ignored", reason="the helper name is empty: the client reads no helper for %s" % key)
            return entry
        if fmt == "docker" and key != host:
            entry.update(
                state="ignored",
                reason=(
                    "the docker CLI looks credHelpers up by host name (%s), never as %r: rename the key to %s"
                    % (host, key, helper_key(key))
                ),
            )
            return entry
        if fmt == "docker" and host in DOCKER_HUB_ALIASES and host != "index.docker.io":
            entry.update(
                state="ignored",
                reason=("the docker CLI looks the Docker Hub helper up as index.docker.io, never as %s: rename the key" % host),
            )
            return entry
        present = self.helper_present(helper)
        entry["helper_present"] = bool(present)
        if present is None:
            entry.update(state="ignored", reason="%r is not a credential helper name" % helper)
        elif not present:
            entry.update(
                state="helper_missing",
                reason=(
                    "docker-credential-%s is not installed on this host: install it (cloud_registry.auth.credential_helpers)"
                    " or remove the entry" % helper
                ),
            )
        else:
            entry.update(state="unverifiable", reason="the credential is kept by docker-credential-%s" % helper)
            self._helper_login(entry, key, helper, account)
        return entry

    def _listed(self, helper, account):
        """``{server: username}`` the helper keeps for ``account`` (``list``, no secret), cached per run; None when
        not asked for, or for a helper that mints its own credentials."""
        if not self.list_helpers or self.run_command is None or helper in credential_store.READ_ONLY_HELPERS:
            return None
        cache_key = (helper, getattr(account, "name", None))
        if cache_key not in self._lists:
            try:
                run = credential_store.as_account(self.run_command, account, self.environ)
                listed = credential_store.list_(helper, run_command=run, timeout=self.timeout, environ=self.environ)
                self._lists[cache_key] = dict((k, v) for k, v in listed.items() if isinstance(v, str))
            except credential_store.CredentialStoreError as e:
                self._lists[cache_key] = e
        return self._lists[cache_key]

    def _helper_login(self, entry, key, helper, account):
        """With list_helpers: the user name the helper keeps for this registry, or the entry is empty (a pull that
        needs a login fails: the helper answers "credentials not found")."""
        listed = self._listed(helper, account)
        if listed is None:
            return
        if isinstance(listed, Exception):
            entry["reason"] += " (list failed: %s)" % listed
            return
        names = [k for k in listed if _hostname(k) == _hostname(key) or k == key]
        if names:
            username = listed[sorted(names)[0]] or None
            if username == TOKEN_USERNAME:  # what docker login stores for the registry's identity token
                entry["kind"] = "identity_token"
            else:
                entry["username"] = username
        else:
            entry.update(
                state="empty",
                reason=(
                    "docker-credential-%s keeps no login for %s: log in (cloud_registry.auth.registry_login with "
                    "store: %s) or remove the credHelpers entry" % (helper, key, helper)
                ),
            )

    def _store_entry(self, store, account):
        entry = self._base("*", "store")
        entry.update(registry="*", helper=store)
        present = self.helper_present(store)
        entry["helper_present"] = bool(present)
        if not present:
            entry.update(
                state="helper_missing",
                reason=(
                    "credsStore %s: docker-credential-%s is not installed, so every docker login and pull that needs a "
                    "credential fails: install it or remove credsStore" % (store, store)
                ),
            )
            return entry
        entry.update(
            state="unverifiable", reason="every registry without a credHelpers entry is kept by docker-credential-%s" % store
        )
        if self.list_helpers and self.run_command is not None:
            try:
                run = credential_store.as_account(self.run_command, account, self.environ)
                listed = credential_store.list_(store, run_command=run, timeout=self.timeout, environ=self.environ)
            except credential_store.CredentialStoreError as e:
                entry["reason"] += " (list failed: %s)" % e
            else:
                entry["listed"] = dict((k, v) for k, v in sorted(listed.items()) if isinstance(v, str))
        return entry

    def _inline_entry(self, key, value, fmt, store, routed, exact, recorded=None):
        entry = self._base(key, "inline")
        try:
            registry = normalize_registry(key, fmt)
        except DockerConfigError as e:
            entry.update(state="ignored", reason="%s" % e)
            return entry
        entry["registry"] = registry
        if not isinstance(value, dict):
            entry.update(state="invalid", reason="the entry is not a JSON object")
            return entry
        try:
            username, password, identity = docker_config.entry_credentials(value)
        except DockerConfigError as e:
            entry.update(state="invalid", reason="%s: docker login again" % e)
            return entry
        registry_token = value.get("registrytoken") or value.get("registryToken")
        entry["username"] = username or None
        if identity:
            entry["kind"], secret = "identity_token", identity
        elif registry_token:
            entry["kind"], secret = "registry_token", registry_token
        elif password:
            entry["kind"], secret = "password", password
        else:
            entry["kind"], secret = None, None
        expiry, source = token_expiry(secret, username)
        if expiry is None and recorded and recorded[1] == expiry_record.fingerprint(value):
            # the expires_at the registry_token lookup gave when this very entry was written
            expiry, source = recorded[0], "recorded"
        if expiry is not None:
            entry.update(expires_at=format_time(expiry), expiry_source=source)

        reason, fallback = self._ignored(key, registry, fmt, store, routed, exact)
        entry["reason"] = fallback
        if reason:
            entry.update(state="ignored", reason=reason)
        elif secret is None:
            entry.update(state="empty", reason="the entry holds no credential")
        elif expiry is not None and expiry <= self.now:
            entry.update(state="expired", reason="expired at %s: log in again or refresh it" % entry["expires_at"])
        elif expiry is not None and expiry - self.now <= self.within:
            entry.update(state="expiring", reason="expires at %s" % entry["expires_at"])
        if self.wrap is not None and entry["kind"] == "password" and entry["state"] in ("present", "expiring"):
            entry["_sealed"] = self.wrap(json.dumps([registry, username, password]))
        return entry

    @staticmethod
    def _ignored(key, registry, fmt, store, routed, exact):
        """``(why the client never reads this entry, or None; note when it is read only as a fallback)``."""
        if fmt == "docker":
            if registry == DOCKER_HUB_KEY and key != DOCKER_HUB_KEY:
                return (
                    "the docker CLI looks Docker Hub up as %s only, never as %s: docker login again (or rename the "
                    "key)" % (DOCKER_HUB_KEY, key)
                ), None
            host = _hostname(key) if registry != DOCKER_HUB_KEY else "index.docker.io"
            via = routed.get(host) or store
            if via:
                helper, installed = via
                which = "credHelpers sends %s to" % host if host in routed else "credsStore is"
                if installed:
                    return (
                        "%s docker-credential-%s: this inline entry is never read (docker login stores into the "
                        "helper)" % (which, helper)
                    ), None
                fallback = (
                    "the docker CLI reads this entry only because docker-credential-%s (%s) is missing; "
                    "once it is installed, the helper's answer is used instead"
                    % (helper, "credHelpers" if host in routed else "credsStore")
                )
                return None, fallback
        elif registry in routed:
            return "credHelpers sends %s to %s: this inline entry is never read" % (registry, routed[registry][0]), None
        spellings = exact.get(registry) or []
        if len(spellings) > 1:
            if registry in spellings and key != registry:
                return "the entry %s is read instead of this spelling of the same registry" % registry, None
            if registry not in spellings and key != sorted(spellings)[0]:
                return (
                    "%s are spellings of one registry and the client reads any one of them: keep one"
                    % ", ".join(sorted(spellings))
                ), None
        return None, None


def user_files(users, formats):
    """``(user, account, path, fmt)`` of each user's own files (under their home, as the clients read them)."""
    out = []
    for user in users:
        account = docker_config.user_account(user)
        for fmt in formats:
            path = docker_config.default_config_path(fmt, environ={}, home=account.home)
            out.append((account.name, account, path, fmt))
    return out


def all_accounts():
    """Names of root and every account with a home that holds a docker or containers credentials file."""
    names = []
    for pw in pwd.getpwall():
        if pw.pw_uid != 0 and pw.pw_uid < 1000:
            continue
        for fmt in ("docker", "containers"):
            if os.path.exists(docker_config.default_config_path(fmt, environ={}, home=pw.pw_dir)):
                names.append(pw.pw_name)
                break
    return sorted(set(names))


def summarize(entries):
    counts = dict((s, 0) for s in STATES)
    for entry in entries:
        counts[entry["state"]] = counts.get(entry["state"], 0) + 1
    expiries = [e["expires_at"] for e in entries if e.get("expires_at") and e["state"] != "ignored"]
    return {"entries": len(entries), "states": counts, "earliest_expiry": min(expiries) if expiries else None}


def drift(expected, records):
    """Entries of the desired state (what a role would write) that the host's files do not match."""
    out = []
    by_file = {}
    for record in records:
        by_file.setdefault((record["user"], record["format"]), record)
        by_file.setdefault((record["path"], record["format"]), record)
    for want in expected:
        fmt = want.get("format") or "docker"
        record = by_file.get((want.get("path") or want.get("user"), fmt))
        what = "%s of %s" % (want["registry"], want.get("path") or want.get("user") or "this host")
        if record is None:
            out.append({"expected": want, "problem": "no %s file of %s was inspected" % (fmt, what)})
            continue
        try:
            ref = Reference.parse(want["registry"])
            registry, hkey = ref.config_key(fmt), ref.helper_key(fmt)
        except DockerConfigError as e:
            out.append({"expected": want, "problem": "%s" % e})
            continue
        live = [e for e in record["entries"] if e["state"] != "ignored"]
        if want.get("helper"):
            found = [e for e in live if e["stored"] == "helper" and e["registry"] in (registry, hkey)]
            if not found:
                out.append(
                    {
                        "expected": want,
                        "path": record["path"],
                        "problem": "%s: no credHelpers entry (wants docker-credential-%s)" % (what, want["helper"]),
                    }
                )
            elif found[0]["helper"] != want["helper"]:
                out.append(
                    {
                        "expected": want,
                        "path": record["path"],
                        "problem": "%s: credHelpers says %s, wants %s" % (what, found[0]["helper"], want["helper"]),
                    }
                )
            continue
        found = [e for e in live if e["stored"] == "inline" and e["registry"] == registry]
        if not found:
            via = [e for e in record["entries"] if e["stored"] == "inline" and e["registry"] == registry]
            problem = "%s: no login%s" % (what, " the client reads (%s)" % via[0]["reason"] if via else "")
            out.append({"expected": want, "path": record["path"], "problem": problem})
        elif want.get("username") and found[0]["username"] != want["username"]:
            out.append(
                {
                    "expected": want,
                    "path": record["path"],
                    "problem": "%s: logged in as %s, wants %s" % (what, found[0]["username"], want["username"]),
                }
            )
    return out
