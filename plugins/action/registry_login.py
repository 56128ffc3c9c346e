# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for registry_login: verify on the controller once per credential per run.

Each host's task runs in its own worker process; the verification outcome is
shared through ``plugin_utils.run_cache`` (the collection's one run-scoped cache:
locked, 0700/0600, HMAC-named entries, identity tokens Fernet-encrypted under a
key derived from the run key and the credential), so the registry sees one
verification per unique credential per playbook run whatever the hosts and
forks. Failures are cached too: a wrong password costs one request, and every
host fails with the same message. The run directory is removed by the next run
(``RunDir.sweep``); no reaper is started, so the directory of the last run stays
until then (its identity tokens are unreadable without the credential).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.cloud_registry.auth.plugins.module_utils._registry_login_spec import (
    ARGUMENT_SPEC,
    MUTUALLY_EXCLUSIVE,
    REQUIRED_IF,
)
from ansible_collections.cloud_registry.auth.plugins.plugin_utils.run_cache import RunCache
from ansible_collections.cloud_registry.auth.plugins.plugin_utils.secrets_transfer import (
    SECRETS_OPTION,
    refuse_internal,
    send_secrets,
)

MODULE = "cloud_registry.auth.registry_login"
INTERNAL = ("_verified_scheme", SECRETS_OPTION)


def _material(*parts):
    return json.dumps([to_text(p) if p is not None else None for p in parts])


def _endpoint_key(registry):
    """One cache key for every spelling of a registry that is verified at the same place:
    ``https://reg:5000/``, ``reg:5000`` and ``REG:5000/v2/`` are one registry, Docker Hub
    has many names, and only an explicit ``http://`` changes where verification goes."""
    from ansible_collections.cloud_registry.auth.plugins.module_utils import docker_config as dc

    text = registry.strip().lower()
    try:
        key = dc.normalize_registry(text)
    except dc.DockerConfigError:
        return text  # verification names the problem
    return ("http://" if text.startswith("http://") else "") + key


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        refuse_internal(self._task.args, MODULE, INTERNAL)
        _validation, params = self.validate_argument_spec(
            argument_spec=ARGUMENT_SPEC, mutually_exclusive=MUTUALLY_EXCLUSIVE, required_if=REQUIRED_IF
        )
        module_args = dict(self._task.args)  # paths stay as the user wrote them (expanded on the host)
        # a password_file is read on the host and verified there: no secret travels back from a host
        on_controller = (params["state"] == "present" and params["verify"] and params["verify_from"] == "controller"
                         and params.get("password") is not None)
        extra = {}
        if on_controller:
            scheme, identity_token = self._verify(params, params["password"])
            module_args["_verified_scheme"] = scheme
            if identity_token and params.get("identity_token", True):
                extra["_identity_token"] = identity_token
        module_args = send_secrets(self, module_args, [("password",)], extra)
        result.update(self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars))
        return result

    # -- helpers -----------------------------------------------------------
    def _cache(self):
        try:
            return RunCache("registry_login")
        except (IOError, OSError) as e:
            self._display.warning("registry_login: no run cache (%s); verifying for this host" % to_text(e))
            return None

    def _verify(self, p, password):
        """(scheme, identity_token) for this credential, computed once per run."""
        # the registry as written (not normalised: that would cost an import per host); two
        # spellings of one registry in one run verify twice, which is harmless
        ca_material = None
        if p.get("ca_cert"):
            try:
                with open(p["ca_cert"], "rb") as f:
                    ca_material = base64.b64encode(f.read()).decode("ascii")
            except (IOError, OSError):
                ca_material = "unreadable:" + p["ca_cert"]  # verify() names the problem
        material = _material(
            "verify", _endpoint_key(p["registry"]), p["username"], password, p["validate_certs"], p.get("ca_cert"), ca_material
        )

        def compute():
            from ansible_collections.cloud_registry.auth.plugins.module_utils import registry as reg

            try:
                res = reg.verify(
                    p["registry"],
                    p["username"],
                    password,
                    validate_certs=p["validate_certs"],
                    ca_cert=p.get("ca_cert"),
                    timeout=p["timeout"],
                )
            except reg.RegistryError as e:
                return {"ok": False, "error": to_text(e)}, None
            return {"ok": True, "scheme": res.scheme}, res.identity_token

        cache = self._cache()
        if cache is None:
            public, secret = compute()
        else:
            public, secret, _cached = cache.get_or_compute(material, compute)
        if not public.get("ok"):
            raise AnsibleActionFail(public.get("error") or "verification failed")
        return public["scheme"], secret
