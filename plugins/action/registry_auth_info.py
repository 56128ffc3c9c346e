# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for registry_auth_info: with ``verify``, a key for this task only goes to the
module by the secrets file; the module seals each inline credential under it; here each
unique credential is checked once per run (``verification.check_once``) and the sealed
values are dropped, so no secret is in the result, and only ciphertext in any log."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.cloud_registry.auth.plugins.plugin_utils.code_cache import cached_imports

with cached_imports():  # a forked worker per host imports these again: cached bytecode (plugin_utils/code_cache.py)
    from ansible_collections.cloud_registry.auth.plugins.module_utils import sealed
    from ansible_collections.cloud_registry.auth.plugins.module_utils._auth_info_spec import ARGUMENT_SPEC
    from ansible_collections.cloud_registry.auth.plugins.module_utils.auth_info import summarize
    from ansible_collections.cloud_registry.auth.plugins.plugin_utils.secrets_transfer import (
        SECRETS_OPTION,
        refuse_internal,
        send_secrets,
    )
    from ansible_collections.cloud_registry.auth.plugins.plugin_utils.verification import check_once

MODULE = "cloud_registry.auth.registry_auth_info"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        refuse_internal(self._task.args, MODULE, (SECRETS_OPTION, "_wrap_key"))
        _validation, params = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        args = dict(self._task.args)
        key = sealed.new_key() if params["verify"] else None
        if key:
            args = send_secrets(self, args, [], extra={"_wrap_key": key})
        out = self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)
        entries = out.get("entries") or []
        for entry in entries:
            box = entry.pop("_sealed", None)
            if box is None or key is None:
                continue
            try:
                registry, username, password = json.loads(sealed.unseal(key, box).decode("utf-8"))
            except (sealed.SealedError, ValueError, TypeError) as e:
                raise AnsibleActionFail(
                    "registry_auth_info: a sealed credential from the host did not check out (%s); nothing was verified" % e
                ) from None
            ok, kind, message = check_once(
                self._display,
                registry,
                username,
                password,
                validate_certs=params["validate_certs"],
                ca_cert=params.get("ca_cert"),
                timeout=params["timeout"],
            )
            entry["verified"] = ok
            if ok:
                if entry["state"] == "present":
                    entry["state"] = "valid"
            else:
                entry["verify_error"] = message
                if kind == "unauthorized":
                    entry.update(state="invalid", reason="the registry refused it: %s" % message)
                else:
                    entry["reason"] = "not verified (%s): %s" % (kind, message)
        if key and entries:
            out["summary"] = summarize(entries)
        result.update(out)
        return result
