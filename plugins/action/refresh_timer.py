# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for refresh_timer: ``playbook`` becomes the command that runs it again, with the
``ansible-playbook`` of this controller, this run's inventory sources and ``--limit``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shutil

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.cloud_registry.auth.plugins.plugin_utils.code_cache import cached_imports

with cached_imports():  # a forked worker per host imports these again: cached bytecode (plugin_utils/code_cache.py)
    from ansible_collections.cloud_registry.auth.plugins.module_utils._refresh_timer_spec import (
        ARGUMENT_SPEC,
        MUTUALLY_EXCLUSIVE,
        PLAYBOOK_OPTIONS,
    )

MODULE = "cloud_registry.auth.refresh_timer"


def ansible_playbook(task_vars):
    """The ansible-playbook beside the controller's Python (its virtualenv), else the one on PATH."""
    python = task_vars.get("ansible_playbook_python") or ""
    beside = os.path.join(os.path.dirname(python), "ansible-playbook")
    if python and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("ansible-playbook")
    if not found:
        raise AnsibleActionFail(
            "refresh_timer: no ansible-playbook beside %s nor on PATH: give command instead of "
            "playbook" % (python or "the controller's Python")
        )
    return os.path.abspath(found)


def playbook_command(params, task_vars):
    playbook = params["playbook"]
    if not os.path.isabs(playbook):
        playbook = os.path.join(task_vars.get("playbook_dir") or os.getcwd(), playbook)
    playbook = os.path.normpath(playbook)
    if not os.path.isfile(playbook):
        raise AnsibleActionFail("refresh_timer: playbook %s does not exist on the controller" % playbook)
    command = [ansible_playbook(task_vars)]
    inventory = params.get("inventory")
    if inventory is None:
        inventory = [s for s in (task_vars.get("ansible_inventory_sources") or []) if s]
    for source in inventory:
        command += ["-i", os.path.abspath(source) if os.path.exists(source) else source]
    limit = params.get("limit")
    if limit is None:
        limit = task_vars.get("ansible_limit")
    if limit:
        command += ["--limit", limit]
    return command + list(params.get("playbook_args") or []) + [playbook], os.path.dirname(playbook)


class ActionModule(ActionBase):
    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        _validation, params = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC, mutually_exclusive=MUTUALLY_EXCLUSIVE)
        args = dict((k, v) for k, v in self._task.args.items() if k not in PLAYBOOK_OPTIONS)
        if params.get("playbook") and params["state"] == "present":
            args["command"], workdir = playbook_command(params, task_vars or {})
            args.setdefault("working_directory", workdir)
        result.update(self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars))
        return result
