# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one controller-side credential verification (private, not public API).

Every action plugin that logs hosts in (``registry_login``, ``docker_auth_apply``)
verifies a credential here: once per unique credential per playbook run, whatever
the hosts, users and forks. The outcome is shared through ``run_cache`` (locked,
0700/0600, HMAC-named entries, identity tokens encrypted under a key derived from
the run key and the credential). Failures are cached too: a wrong password costs
one request and every host fails with the same message.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.cloud_registry.auth.plugins.plugin_utils.code_cache import cached_imports
from ansible_collections.cloud_registry.auth.plugins.plugin_utils.run_cache import RunCache


def _material(*parts):
    return json.dumps([to_text(p) if p is not None else None for p in parts])


def endpoint_key(registry):
    """One cache key for every spelling of a registry that is verified at the same place:
    ``https://reg:5000/``, ``reg:5000`` and ``REG:5000/v2/`` are one registry, Docker Hub
    has many names, and only an explicit ``http://`` changes where verification goes."""
    with cached_imports():
        from ansible_collections.cloud_registry.auth.plugins.module_utils import reference

    text = registry.strip().lower()
    try:
        return reference.Reference.parse(text).verification_key
    except reference.DockerConfigError:
        return text  # verification names the problem


def _ca_material(ca_cert):
    if not ca_cert:
        return None
    try:
        with open(ca_cert, "rb") as f:
            return base64.b64encode(f.read()).decode("ascii")
    except (IOError, OSError):
        return "unreadable:" + ca_cert  # verify() names the problem


def _cache(display, owner):
    try:
        return RunCache("registry_login")
    except (IOError, OSError) as e:
        display.warning("%s: no run cache (%s); verifying for this host" % (owner, to_text(e)))
        return None


def _verify_outcome(display, registry, username, password, validate_certs, ca_cert, timeout, owner):
    """``(public, identity_token)``: public is ``{"ok": True, "scheme": ...}`` or ``{"ok": False, "error": ...,
    "kind": ...}``, computed once per run per credential (failures too)."""
    material = _material("verify", endpoint_key(registry), username, password, validate_certs, ca_cert, _ca_material(ca_cert))

    def compute():
        with cached_imports():
            from ansible_collections.cloud_registry.auth.plugins.module_utils import registry as reg

        try:
            res = reg.verify(registry, username, password, validate_certs=validate_certs, ca_cert=ca_cert, timeout=timeout)
        except reg.RegistryError as e:
            return {"ok": False, "error": to_text(e), "kind": e.kind}, None
        return {"ok": True, "scheme": res.scheme}, res.identity_token

    cache = _cache(display, owner)
    if cache is None:
        return compute()
    public, secret, _cached = cache.get_or_compute(material, compute)
    return public, secret


def verify_once(display, registry, username, password, validate_certs=True, ca_cert=None, timeout=30, owner="registry_login"):
    """``(scheme, identity_token)`` for this credential, computed once per run.

    Raises ``AnsibleActionFail`` with the registry's answer (never the secret) when the
    credential does not work."""
    public, secret = _verify_outcome(display, registry, username, password, validate_certs, ca_cert, timeout, owner)
    if not public.get("ok"):
        raise AnsibleActionFail(public.get("error") or "verification failed")
    return public["scheme"], secret


def check_once(display, registry, username, password, validate_certs=True, ca_cert=None, timeout=30, owner="registry_auth_info"):
    """The outcome of verifying a stored credential, once per run, without failing:
    ``(True, None, None)`` or ``(False, kind, message)`` (kind: unauthorized, unreachable, tls, ...)."""
    public, _secret = _verify_outcome(display, registry, username, password, validate_certs, ca_cert, timeout, owner)
    if public.get("ok"):
        return True, None, None
    return False, public.get("kind") or "error", public.get("error") or "verification failed"


def scheme_once(display, registry, validate_certs=True, ca_cert=None, timeout=30, owner="node_auth"):
    """The auth scheme ``registry`` challenges with (``bearer``, ``basic``, ``none``), asked once per run."""
    material = _material("scheme", endpoint_key(registry), validate_certs, ca_cert, _ca_material(ca_cert))

    def compute():
        with cached_imports():
            from ansible_collections.cloud_registry.auth.plugins.module_utils import registry as reg

        try:
            return {"ok": True, "scheme": reg.auth_scheme(registry, validate_certs, ca_cert, timeout)}, None
        except reg.RegistryError as e:
            return {"ok": False, "error": to_text(e)}, None

    cache = _cache(display, owner)
    public = compute()[0] if cache is None else cache.get_or_compute(material, compute)[0]
    if not public.get("ok"):
        raise AnsibleActionFail(public.get("error") or "%s did not answer" % registry)
    return public["scheme"]


def file_sha256_once(display, path, owner="node_auth"):
    """sha256 of a file on the controller, hashed once per run per (path, size, mtime)."""
    import hashlib
    import os

    try:
        st = os.stat(path)
    except OSError as e:
        raise AnsibleActionFail("%s does not exist on the controller (%s); nothing was changed" % (path, e.strerror)) from None
    material = _material("sha256", os.path.realpath(path), st.st_size, st.st_mtime_ns)

    def compute():
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        return {"sha256": h.hexdigest()}, None

    cache = _cache(display, owner)
    return (compute()[0] if cache is None else cache.get_or_compute(material, compute)[0])["sha256"]
