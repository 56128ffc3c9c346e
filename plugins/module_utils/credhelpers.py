# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""credHelpers / credsStore configuration (private to this collection, not public API).

The logic of the credhelper_config module: the ``gcloud auth configure-docker``,
``docker-credential-gcr configure-docker`` and acr-helper setup step for any
registry domain. Takes plain values; standard library only (runs on targets).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.cloud_registry.auth.plugins.module_utils import credential_store, docker_config
from ansible_collections.cloud_registry.auth.plugins.module_utils.docker_config import DockerConfigError

# The hosts `gcloud auth configure-docker` adds when given no registry.
PRESETS = {
    "gcr": (
        "gcloud",
        ["gcr.io", "us.gcr.io", "eu.gcr.io", "asia.gcr.io", "staging-k8s.gcr.io", "marketplace.gcr.io"],
    ),
}


SECRETSERVICE = "secretservice"
PROBE_TIMEOUT = 10


def secretservice_usable(account, run_command=None, environ=None):
    """Whether docker-credential-secretservice can work for ``account``: ``(usable, reason)``.

    It needs the user's D-Bus session bus (``/run/user/UID/bus``); on a headless host there
    is none and every docker pull of a registry it serves fails. With a bus, the helper is
    asked to ``list`` as that user (through ``runuser`` when this runs as root), with
    ``DISPLAY`` unset so it cannot wait for a desktop prompt. ``usable`` is None when it
    cannot be told (another user's bus, and not root).
    """
    helper = credential_store.helper_path(SECRETSERVICE, environ)
    if helper is None:
        return False, "docker-credential-secretservice is not installed"
    bus = credential_store.session_bus(account.uid)
    if bus is None:
        return False, "no D-Bus session bus at /run/user/%d/bus" % account.uid
    if run_command is None:
        return None, "no way to run the helper"
    env_prog = credential_store.find_program("env", environ) or "env"
    argv = [env_prog, "-u", "DISPLAY", "HOME=%s" % account.home, "DBUS_SESSION_BUS_ADDRESS=unix:path=%s" % bus, helper, "list"]
    timeout = credential_store.find_program("timeout", environ)
    if timeout:
        argv = [timeout, "--kill-after=2", str(PROBE_TIMEOUT)] + argv
    if os.geteuid() != account.uid:
        runuser = credential_store.find_program("runuser", environ) if os.geteuid() == 0 else None
        if runuser is None:
            return None, "cannot run the helper as %s (run as root, or as that user)" % account.name
        argv = [runuser, "-u", account.name, "--"] + argv
    rc = run_command(argv)[0]
    if rc != 0:
        return False, "docker-credential-secretservice list failed as %s (rc %s: keyring locked or no secret service)" % (
            account.name,
            rc,
        )
    return True, "answers on %s" % bus


def wanted_helpers(helpers=None, registries=None, helper=None, preset=None, allow_any=False):
    """The requested {registry: helper} map (keys as given), validated.

    With ``allow_any`` (state=absent) ``registries`` may come without ``helper``:
    their value is None, meaning "whatever helper is configured".
    """
    wanted = {}
    if preset:
        if preset not in PRESETS:
            raise DockerConfigError("preset %r is unknown: choose one of %s" % (preset, ", ".join(sorted(PRESETS))))
        default_helper, hosts = PRESETS[preset]
        for host in hosts:
            wanted[host] = helper or default_helper
    for registry in registries or []:
        if not helper and not allow_any:
            raise DockerConfigError("registries needs helper: name the docker-credential-<helper> to use for them")
        wanted[registry] = helper
    for registry, name in (helpers or {}).items():
        if not isinstance(name, str) or not name:
            raise DockerConfigError("helpers[%r] must be a helper name such as gcloud, ecr-login or acr-helper" % registry)
        wanted[registry] = name
    for name in set(wanted.values()):
        if name is not None:
            docker_config.validate_helper_name(name)
    return wanted


def configure(
    config_path,
    helpers=None,
    registries=None,
    helper=None,
    preset=None,
    creds_store=None,
    state="present",
    exclusive=False,
    fmt="docker",
    require_helper=False,
    check_mode=False,
    owner=None,
    group=None,
    mode=None,
    environ=None,
    headless_fallback=None,
    account=None,
    run_command=None,
):
    """Apply the requested credHelpers/credsStore state; returns a result dict (no secrets).

    With ``headless_fallback`` (``file`` or a helper name), secretservice is never left in
    charge where it cannot work for the file's user (``account``, default the current one):
    its credHelpers entries are not written and a credsStore naming it (asked for, or already
    in the file) becomes the fallback (``file`` removes credsStore).
    """
    wanted = wanted_helpers(helpers, registries, helper, preset, allow_any=state == "absent")
    _check_input(wanted, creds_store, state, exclusive, fmt, headless_fallback)
    headless = _Headless(headless_fallback, state, account, run_command, environ)
    wanted, creds_store = headless.rewrite(wanted, creds_store, fmt)
    keys = dict((docker_config.helper_key(registry, fmt), name) for registry, name in wanted.items())
    missing = _missing_helpers(keys, creds_store, state, require_helper, environ, config_path)
    report = {"added": [], "removed": [], "updated": [], "shadowed": []}

    def mutate(data):  # may run twice (a new directory is made between): the report is of the last run
        for found in report.values():
            del found[:]
        headless.rewrite_file(data, creds_store)
        if state == "present":
            _set_helpers(data, keys, exclusive, fmt, report)
        else:
            _remove_helpers(data, keys, fmt, report)
        if creds_store == "":
            data.pop("credsStore", None)
        elif creds_store is not None:
            data["credsStore"] = creds_store

    update = docker_config.update_config(config_path, mutate, fmt=fmt, check_mode=check_mode, owner=owner, group=group, mode=mode)
    result = {
        "changed": update.changed,
        "config_path": update.path,
        "added": sorted(report["added"]),
        "updated": sorted(report["updated"]),
        "removed": sorted(report["removed"]),
        # (masked: no secret there, but names shown as the docker CLI reads them)
        "cred_helpers": docker_config.masked(update.data.get("credHelpers", {})),
        "creds_store": docker_config.masked(update.data.get("credsStore")),
        "missing_helpers": missing,
        # inline logins of registries handed to a helper that mints its own credentials: never read while it runs
        "shadowed_logins": [k for k, _name in sorted(report["shadowed"])],
        "secretservice_usable": headless.usable,
        "secretservice_reason": headless.reason,
        "headless_fallback": headless.fell_back,
        "diff": update.diff,  # built only when the caller asks for it
        "_shadowed": sorted(report["shadowed"]),
    }
    return result


def _check_input(wanted, creds_store, state, exclusive, fmt, headless_fallback):
    if creds_store is not None and fmt != "docker":
        raise DockerConfigError(
            "creds_store applies to Docker's config.json only: containers auth.json has no credsStore; use helpers"
        )
    if creds_store:
        docker_config.validate_helper_name(creds_store)
    if state == "absent" and creds_store:
        raise DockerConfigError("with state=absent, give creds_store='' to remove credsStore (a name is ambiguous)")
    if not wanted and creds_store is None and not (exclusive and state == "present") and headless_fallback is None:
        raise DockerConfigError("nothing to configure: give helpers, registries + helper, preset or creds_store")
    if headless_fallback is not None and state == "present":
        if headless_fallback == SECRETSERVICE:
            raise DockerConfigError("headless_fallback cannot be secretservice: use file or another helper such as pass")
        if headless_fallback != "file":
            docker_config.validate_helper_name(headless_fallback)


class _Headless:
    """Whether secretservice can work for the file's user, and what goes where it cannot (``fell_back``: what
    was moved, credsStore first)."""

    def __init__(self, fallback, state, account, run_command, environ):
        self.usable, self.reason = None, None
        if fallback is not None and state == "present":
            self.usable, self.reason = secretservice_usable(account or docker_config.user_account(), run_command, environ)
        self.active = self.usable is False
        self.store = "" if fallback == "file" else fallback
        self.fell_back = []

    def rewrite(self, wanted, creds_store, fmt):
        """``(wanted, creds_store)`` without secretservice where it cannot work."""
        if not self.active:
            return wanted, creds_store
        if creds_store == SECRETSERVICE:
            creds_store = self.store
            self.fell_back.append("credsStore")
        self.fell_back.extend(sorted(docker_config.helper_key(k, fmt) for k, v in wanted.items() if v == SECRETSERVICE))
        return dict((k, v) for k, v in wanted.items() if v != SECRETSERVICE), creds_store

    def rewrite_file(self, data, creds_store):
        """A credsStore=secretservice already in the file (none asked for) goes to the fallback too."""
        if self.active and creds_store is None and data.get("credsStore") == SECRETSERVICE:
            if "credsStore" not in self.fell_back:
                self.fell_back.insert(0, "credsStore")
            if self.store:
                data["credsStore"] = self.store
            else:
                del data["credsStore"]


def _missing_helpers(keys, creds_store, state, require_helper, environ, config_path):
    if state != "present":
        return []
    missing = [
        name
        for name in sorted(set(list(keys.values()) + ([creds_store] if creds_store else [])))
        if credential_store.helper_path(name, environ) is None
    ]
    if missing and require_helper:
        raise DockerConfigError(
            "credential helper(s) %s not found on PATH: install them (cloud_registry.auth.credential_helpers role) "
            "or set require_helper=false; %s was left unchanged"
            % (", ".join("docker-credential-" + m for m in missing), config_path)
        )
    return missing


def _set_helpers(data, keys, exclusive, fmt, report):
    current = data.get("credHelpers") or {}
    for key, name in keys.items():
        matches = docker_config.matching_keys(current, key, fmt)
        if name in credential_store.READ_ONLY_HELPERS and docker_config.find_auth(data, key, fmt)[0]:
            report["shadowed"].append((key, name))
        if matches == [key] and current[key] == name:
            continue
        (report["updated"] if matches else report["added"]).append(key)
        docker_config.set_helper(data, key, name, fmt)
    if exclusive:
        helpers_now = data.get("credHelpers") or {}
        for k in list(helpers_now):
            if k not in keys:
                del helpers_now[k]
                report["removed"].append(k)
        if "credHelpers" in data and not data["credHelpers"]:
            del data["credHelpers"]


def _remove_helpers(data, keys, fmt, report):
    current = data.get("credHelpers") or {}
    for key, name in keys.items():
        for k in docker_config.matching_keys(current, key, fmt):
            if name is None or current.get(k) == name:
                del current[k]
                report["removed"].append(k)
    if "credHelpers" in data and not data["credHelpers"]:
        del data["credHelpers"]
