# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The docker_auth role's whole desired state for one host, in one pass (private, not public API).

For every listed user: credHelpers / credsStore (``credhelpers.configure``, headless
safe), then each login (``login.run``, the logic of registry_login), all in one
module run per host instead of one run per task, user and login. Everything that
can fail on bad input is checked for every user before anything is written: the
users exist, the password files are readable, the credentials work. Files are
written by the module (as root, owned by the user); only a credential helper that
needs the user's session runs as the user (``credential_store.as_account``).

Takes plain values; standard library only (runs on targets).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.cloud_registry.auth.plugins.module_utils import docker_config as dc
from ansible_collections.cloud_registry.auth.plugins.module_utils import expiry
from ansible_collections.cloud_registry.auth.plugins.module_utils import login as login_logic
from ansible_collections.cloud_registry.auth.plugins.module_utils.credential_store import as_account
from ansible_collections.cloud_registry.auth.plugins.module_utils.credhelpers import SECRETSERVICE, configure
from ansible_collections.cloud_registry.auth.plugins.module_utils.errors import CloudRegistryError, run_domain

# login options that fall back to the module's option of the same name
LOGIN_DEFAULTS = ("store", "verify", "validate_certs", "ca_cert")


class DockerAuthError(CloudRegistryError):
    """Bad input for the host's desired state; the message is safe to show."""


def plan(params):
    """``[(user, account, [login, ...])]``: each user's logins (the shared ones first), the
    module-wide defaults filled in. Raises DockerAuthError naming every missing user."""
    users = params.get("users") or []
    names = [u.get("name") for u in users]
    if len(set(names)) != len(names):
        dup = sorted(set(n for n in names if names.count(n) > 1))
        raise DockerAuthError("users: %s listed more than once: give each user once" % ", ".join(dup))
    accounts, missing = {}, []
    for name in names:
        try:
            accounts[name] = dc.user_account(name)
        except dc.DockerConfigError:
            missing.append(name)
    if missing:
        raise DockerAuthError(
            "user(s) %s do not exist on this host: create them first or remove them from docker_auth_users; "
            "nothing was changed" % ", ".join(missing)
        )
    out = []
    for user in users:
        logins = []
        for login in list(params.get("logins") or []) + list(user.get("logins") or []):
            full = dict(login)
            for key in LOGIN_DEFAULTS:
                if full.get(key) is None:
                    full[key] = params.get(key)
            full["state"] = full.get("state") or "present"
            logins.append(full)
        out.append((user, accounts[user["name"]], logins))
    return out


def _credential(login):
    return (
        login["registry"],
        login.get("username"),
        login.get("password"),
        bool(login.get("validate_certs")),
        login.get("ca_cert"),
    )


def prepare(planned, params):
    """Read password files and verify on the host (``verify_from=host``) once per credential,
    before any write: a wrong password or an unreadable file changes nothing.

    Returns the secrets read here (the caller hides them from every output)."""
    read = {}
    secrets = []
    verified = {}
    for _user, _account, logins in planned:
        for login in logins:
            if login["state"] != "present":
                continue
            expiry.to_epoch(login.get("expires_at"), "login to %s: expires_at" % login["registry"])
            if login.get("password") is None and login.get("password_file"):
                path = login["password_file"]
                if path not in read:
                    read[path] = login_logic.read_password_file(path)
                    secrets.append(read[path])
                login["password"] = read[path]
            if not login.get("username"):
                raise DockerAuthError("login to %s: username is required with state=present" % login["registry"])
            if login.get("password") in (None, ""):
                raise DockerAuthError("login to %s: password or password_file is required with state=present" % login["registry"])
            if login.get("_verified_scheme") or not login.get("verify"):
                continue
            key = _credential(login)
            if key not in verified:
                from ansible_collections.cloud_registry.auth.plugins.module_utils.registry import verify

                res = verify(
                    login["registry"],
                    login["username"],
                    login["password"],
                    validate_certs=login.get("validate_certs", True),
                    ca_cert=login.get("ca_cert"),
                    timeout=params.get("timeout") or 30,
                )
                verified[key] = (res.scheme, res.identity_token)
                if res.identity_token:
                    secrets.append(res.identity_token)
            login["_verified_scheme"], login["_identity_token"] = verified[key]
    return secrets


def _helpers_for(user, params):
    helpers = dict(params.get("cred_helpers") or {})
    helpers.update(user.get("cred_helpers") or {})
    store = user.get("creds_store")
    if store is None:
        store = params.get("creds_store")
    return helpers, store


def _uses_pass(user, logins, params):
    helpers, store = _helpers_for(user, params)
    return (
        store == "pass"
        or "pass" in helpers.values()
        or any((lg.get("store") or params.get("store")) == "pass" for lg in logins if lg.get("state") != "absent")
    )


def provision_pass(account, runner, check_mode=False):
    """A passphrase-less GnuPG key and ``pass init`` for ``account``, so ``store: pass`` works on a headless host
    without a person typing. Returns True when it was (or, in check mode, would be) done; nothing when the user's
    password store is already initialised."""
    import socket

    from ansible_collections.cloud_registry.auth.plugins.module_utils.credential_store import (
        CredentialStoreError,
        find_program,
    )

    if os.path.exists(os.path.join(account.home, ".password-store", ".gpg-id")):
        return False
    if check_mode:
        return True
    gpg, pass_ = find_program("gpg"), find_program("pass")
    if not gpg or not pass_:
        raise CredentialStoreError(
            "provision_pass for %s needs gpg and pass on the host (Debian/Ubuntu: apt-get install pass gnupg; the "
            "cloud_registry.auth.credential_helpers role installs them with docker-credential-pass)" % account.name
        )
    uid = "%s@%s (cloud_registry.auth docker credential store)" % (account.name, socket.gethostname())

    def run(argv, what):
        rc, out, err = runner(argv)
        if rc != 0:
            raise CredentialStoreError(
                "provision_pass for %s: %s failed: %s"
                % (account.name, what, (err or out or "no message").strip().splitlines()[-1][:300])
            )
        return out

    run(
        [
            gpg,
            "--batch",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--quick-gen-key",
            uid,
            "rsa3072",
            "encrypt,sign",
            "never",
        ],
        "creating a GnuPG key",
    )
    listing = run([gpg, "--batch", "--with-colons", "--list-secret-keys", uid], "listing the new key")
    fingerprints = [line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:")]
    if not fingerprints:
        raise CredentialStoreError("provision_pass for %s: the new GnuPG key has no fingerprint" % account.name)
    run([pass_, "init", fingerprints[0]], "pass init")
    return True


def apply(params, check_mode=False, run_command=None, want_diff=False, warn=None, on_secrets=None):
    """Apply the desired state; returns the module result (no secret in it). ``on_secrets``
    gets the secrets read on the host (password files, identity tokens) before anything
    else happens, to hide them from every output."""
    planned = plan(params)
    secrets = prepare(planned, params)
    if on_secrets:
        on_secrets(secrets)
    fallback = params.get("headless_fallback")
    changed = False
    diffs = []
    report = {}
    expiries = []  # ISO 8601 UTC texts sort like the times they name
    for user, account, logins in planned:
        name = user["name"]
        runner = as_account(run_command, account)
        helpers, creds_store = _helpers_for(user, params)
        entry = {"config_path": None, "logins": [], "missing_helpers": [], "secretservice_usable": None, "headless_fallback": []}
        report[name] = entry
        if params.get("provision_pass") and _uses_pass(user, logins, params):
            entry["pass_provisioned"] = provision_pass(account or dc.user_account(name), runner, check_mode)
            changed = changed or entry["pass_provisioned"]
        headless = False
        if helpers or creds_store is not None or params.get("exclusive") or fallback is not None:
            path, owner, group, _acc = dc.for_user(name, user.get("config_path"))
            res = configure(
                path,
                helpers=helpers or None,
                creds_store=creds_store,
                exclusive=params.get("exclusive"),
                require_helper=params.get("require_helper"),
                check_mode=check_mode,
                owner=owner,
                group=group,
                headless_fallback=fallback,
                account=account,
                run_command=run_command,
            )  # its probe becomes the user itself
            changed = changed or res["changed"]
            if want_diff and res["changed"]:
                diffs.append(res["diff"]())
            entry.update(
                config_path=res["config_path"],
                cred_helpers=res["cred_helpers"],
                creds_store=res["creds_store"],
                missing_helpers=res["missing_helpers"],
                secretservice_usable=res["secretservice_usable"],
                headless_fallback=res["headless_fallback"],
            )
            headless = res["secretservice_usable"] is False
            if warn and res["missing_helpers"]:
                warn(
                    "%s: %s not on PATH; pulls from these registries fail until it is installed "
                    "(cloud_registry.auth.credential_helpers role)"
                    % (res["config_path"], ", ".join("docker-credential-" + m for m in res["missing_helpers"]))
                )
            if warn and res["headless_fallback"]:
                warn(
                    "docker-credential-secretservice cannot work for %s on this host (%s); %s instead (%s)"
                    % (
                        name,
                        res["secretservice_reason"],
                        "logins stay in %s" % res["config_path"] if fallback == "file" else "using " + fallback,
                        ", ".join(res["headless_fallback"]),
                    )
                )
        moved = False
        for login in logins:
            store = login.get("store") or "auto"
            if store == SECRETSERVICE and fallback is not None and headless:
                store, moved = fallback, True
            args = dict(login, user=name, config_path=user.get("config_path"), store=store, timeout=params.get("timeout") or 30)
            args["verify"] = False  # verified above (here or on the controller), once per credential
            res = login_logic.run(args, check_mode=check_mode, run_command=runner, want_diff=want_diff)
            for message in res.pop("warnings", []):
                if warn:
                    warn(message)
            changed = changed or res["changed"]
            if res.get("diff"):
                diffs.extend(res["diff"] if isinstance(res["diff"], list) else [res["diff"]])
            entry["config_path"] = entry["config_path"] or res["config_path"]
            entry["logins"].append(
                {
                    "registry": res["registry"],
                    "state": login["state"],
                    "store": res["store"],
                    "changed": res["changed"],
                    "verified": bool(login.get("_verified_scheme")),
                    "auth_scheme": login.get("_verified_scheme") or None,
                    "expires_at": res.get("expires_at"),
                }
            )
            if login["state"] == "present" and res.get("expires_at"):
                expiries.append(res["expires_at"])
        if moved and warn and not entry["headless_fallback"]:
            warn(
                "docker-credential-secretservice cannot work for %s on this host; its secretservice logins "
                "go to %s instead" % (name, fallback)
            )
    result = {"changed": changed, "users": report, "expires_at": min(expiries) if expiries else None}
    if want_diff and diffs:
        result["diff"] = diffs if len(diffs) > 1 else diffs[0]
    return result


def safe_apply(params, **kwargs):
    """``apply()`` with every domain error turned into DockerAuthError (what the module catches)."""
    return run_domain(DockerAuthError, apply, params, **kwargs)
