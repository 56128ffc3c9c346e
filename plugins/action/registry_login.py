# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for registry_login: verify on the controller once per credential per run.

Each host's task runs in its own worker process; the verification outcome is
shared through ``plugin_utils.verification`` (the collection's one controller-side
verification, on its run-scoped cache), so the registry sees one
verification per unique credential per playbook run whatever the hosts and
forks. Failures are cached too: a wrong password costs one request, and every
host fails with the same message. The run directory is removed by the next run
(``RunDir.sweep``); no reaper is started, so the directory of the last run stays
until then (its identity tokens are unreadable without the credential).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.cloud_registry.auth.plugins.plugin_utils.code_cache import cached_imports

with cached_imports():  # a forked worker per host imports these again: cached bytecode (plugin_utils/code_cache.py)
    from ansible_collections.cloud_registry.auth.plugins.module_utils._registry_login_spec import (
        ARGUMENT_SPEC,
        MUTUALLY_EXCLUSIVE,
        REQUIRED_IF,
    )
    from ansible_collections.cloud_registry.auth.plugins.plugin_utils.secrets_transfer import (
        SECRETS_OPTION,
        refuse_internal,
        send_secrets,
    )
    from ansible_collections.cloud_registry.auth.plugins.plugin_utils.verification import verify_once

MODULE = "cloud_registry.auth.registry_login"
INTERNAL = ("_verified_scheme", SECRETS_OPTION)


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
        on_controller = (
            params["state"] == "present"
            and params["verify"]
            and params["verify_from"] == "controller"
            and params.get("password") is not None
        )
        extra = {}
        if on_controller:
            scheme, identity_token = verify_once(
                self._display,
                params["registry"],
                params["username"],
                params["password"],
                validate_certs=params["validate_certs"],
                ca_cert=params.get("ca_cert"),
                timeout=params["timeout"],
            )
            module_args["_verified_scheme"] = scheme
            if identity_token and params.get("identity_token", True):
                extra["_identity_token"] = identity_token
        module_args = send_secrets(self, module_args, [("password",)], extra)
        result.update(self._execute_module(module_name=MODULE, module_args=module_args, task_vars=task_vars))
        return result
