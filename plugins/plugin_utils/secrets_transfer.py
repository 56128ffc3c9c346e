# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of the collection's one way secrets reach a module.

Module arguments are logged by ansible-core itself (``ANSIBLE_DEBUG=1`` prints every
module's arguments and raw output, whatever ``no_log`` says). So an action plugin
replaces each secret argument by a placeholder that is random per task, writes the
secrets to a file in the task's private remote temporary directory (0600 for the
remote user, removed with that directory), and passes only the file's path in
``_secrets_file``. On the target, ``module_utils.secrets_transfer.receive_secrets``
puts the values back before the module does anything, deletes the file and adds
every value to the module's ``no_log_values``.

Secret locations are key paths: ``("api_key",)``, ``("registries", "*", "password")``
(``*``: every element of a list). A located value that is ``None`` is left alone.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import secrets as _random

from ansible.errors import AnsibleActionFail

from ansible_collections.cloud_registry.auth.plugins.module_utils.secrets_transfer import (
    PLACEHOLDER_PREFIX,
    SECRETS_OPTION,
)


def refuse_internal(task_args, module, names=(SECRETS_OPTION,)):
    """Internal options cannot come from a task: a task could point a module at any file."""
    for name in names:
        if name in task_args:
            raise AnsibleActionFail("%s is internal to %s and cannot be set in a task" % (name, module))


def seal(module_args, paths, extra=None, parts=()):
    """Replace the secrets at ``paths`` in ``module_args`` (a new dict is returned) by placeholders.

    ``parts``: ``(path, text)`` pairs; only ``text`` inside the string at ``path`` is
    replaced (the password of a URL). Path elements are dict keys, list indexes or
    ``*`` (every element of a list).

    Returns ``(module_args, payload)``; ``payload`` is None when there is no secret, else
    the JSON-able ``{"values": {placeholder: secret}, "params": extra}`` for the file.
    """
    nonce = _random.token_hex(16)
    values = {}

    def placeholder(value):
        key = "%s%s_%d__" % (PLACEHOLDER_PREFIX, nonce, len(values))
        values[key] = value
        return key

    def walk(node, path, replace):
        if not path:
            return node if node is None else replace(node)
        head, rest = path[0], path[1:]
        if head == "*":
            if isinstance(node, list):
                return [walk(item, rest, replace) for item in node]
            return node
        if isinstance(node, list) and isinstance(head, int) and 0 <= head < len(node):
            node = list(node)
            node[head] = walk(node[head], rest, replace)
        elif isinstance(node, dict) and head in node:
            node = dict(node)
            node[head] = walk(node[head], rest, replace)
        return node

    def replace_part(text):
        return lambda node: node.replace(text, placeholder(text)) if isinstance(node, str) and text else node

    args = dict(module_args)
    for path in paths:
        args = walk(args, tuple(path), placeholder)
    for path, text in parts:
        args = walk(args, tuple(path), replace_part(text))
    extra = dict((k, v) for k, v in (extra or {}).items() if v is not None)
    if not values and not extra:
        return args, None
    return args, {"values": values, "params": extra}


def send_secrets(action, module_args, paths, extra=None, parts=()):
    """``seal()`` and put the payload where the module finds it; returns the module arguments."""
    args, payload = seal(module_args, paths, extra, parts)
    if payload is None:
        return args
    shell = action._connection._shell
    tmpdir = shell.tmpdir or action._make_tmp_path()
    path = shell.join_path(tmpdir, "cloud_registry_auth_secrets.json")
    action._transfer_data(path, json.dumps(payload))
    if action._is_become_unprivileged():
        # the module runs as another user: let it (and only it, where ACLs allow) read the file
        action._fixup_perms2([tmpdir, path])
    # else the connection user runs the module and owns the file, in its own 0700 directory: no chmod to run (a
    # remote command saved per host; the file is data, it needs no execute bit)
    args[SECRETS_OPTION] = path
    return args


class SecretsAction(object):
    """Mixin for an ``ActionBase`` whose only job is to run its module with the secrets
    sent by file: set ``MODULE`` and ``SECRET_PATHS``."""

    MODULE = None
    SECRET_PATHS = ()

    def secret_parts(self, args):
        """``(path, text)`` pairs of secrets inside strings of the task's arguments."""
        return ()

    def secret_paths(self, args):
        return self.SECRET_PATHS

    def run(self, tmp=None, task_vars=None):
        result = super(SecretsAction, self).run(tmp, task_vars)
        del tmp
        refuse_internal(self._task.args, self.MODULE)
        args = self._task.args
        args = send_secrets(self, args, self.secret_paths(args), parts=self.secret_parts(args))
        result.update(self._execute_module(module_name=self.MODULE, module_args=args, task_vars=task_vars))
        return result
