# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for docker_auth_apply: verify every credential on the controller (once per
credential per run, whatever the hosts and users: ``plugin_utils.verification``), then one
module run per host with the passwords and identity tokens sent by file."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.cloud_registry.auth.plugins.plugin_utils.code_cache import cached_imports

with cached_imports():  # a forked worker per host imports these again: cached bytecode (plugin_utils/code_cache.py)
    from ansible_collections.cloud_registry.auth.plugins.module_utils._docker_auth_spec import (
        ARGUMENT_SPEC,
        LOGIN_INTERNAL,
    )
    from ansible_collections.cloud_registry.auth.plugins.plugin_utils.secrets_transfer import (
        refuse_internal,
        send_secrets,
    )
    from ansible_collections.cloud_registry.auth.plugins.plugin_utils.verification import verify_once

MODULE = "cloud_registry.auth.docker_auth_apply"
SECRET_PATHS = (
    ("logins", "*", "password"),
    ("logins", "*", "_identity_token"),
    ("users", "*", "logins", "*", "password"),
    ("users", "*", "logins", "*", "_identity_token"),
)


def _pick(login, params, key):
    value = login.get(key)
    return params[key] if value is None else value


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        refuse_internal(self._task.args, MODULE)
        _validation, params = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        args = dict(self._task.args)
        args["logins"] = self._verified(params.get("logins") or [], args.get("logins") or [], params)
        users = []
        for checked, given in zip(params["users"], args["users"]):
            given = dict(given)
            if given.get("logins"):
                given["logins"] = self._verified(checked.get("logins") or [], given["logins"], params)
            users.append(given)
        args["users"] = users
        args = send_secrets(self, args, SECRET_PATHS)
        result.update(self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars))
        return result

    def _verified(self, checked, given, params):
        """``given`` (the logins as written) with the outcome of the controller's verification."""
        out = []
        for login, raw in zip(checked, given):
            for key in LOGIN_INTERNAL:
                if key in raw:
                    raise AnsibleActionFail("%s is internal to %s and cannot be set in a task" % (key, MODULE))
            raw = dict(raw)
            if login["state"] == "present" and not login.get("username"):
                raise AnsibleActionFail("login to %s: username is required with state=present" % login["registry"])
            if (
                login["state"] == "present"
                and _pick(login, params, "verify")
                and params["verify_from"] == "controller"
                and login.get("password") is not None
            ):
                scheme, token = verify_once(
                    self._display,
                    login["registry"],
                    login.get("username"),
                    login["password"],
                    validate_certs=_pick(login, params, "validate_certs"),
                    ca_cert=_pick(login, params, "ca_cert"),
                    timeout=params["timeout"],
                    owner="docker_auth",
                )
                raw["_verified_scheme"] = scheme
                if token and login.get("identity_token", True):
                    raw["_identity_token"] = token
            out.append(raw)
        return out
