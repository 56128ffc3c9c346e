# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Target side of the collection's one way secrets reach a module (see
``plugin_utils/secrets_transfer.py``): the action plugin sent placeholders as module
arguments and the values in a file named by ``_secrets_file``."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

from ansible_collections.cloud_registry.auth.plugins.module_utils.errors import CloudRegistryError

SECRETS_OPTION = "_secrets_file"
# placeholders are word characters only, so one can stand for a part of a string too
# (the password in a proxy URL) without changing how the rest of it parses
PLACEHOLDER_PREFIX = "__cloud_registry_auth_secret_"
_PLACEHOLDER = re.compile(PLACEHOLDER_PREFIX + "[0-9a-f]{32}_[0-9]+__")

SECRETS_ARGSPEC = {SECRETS_OPTION: dict(type="path")}


class SecretsTransferError(CloudRegistryError):
    """The secrets file could not be read; the message names the file, not its content."""


def _secret_strings(value):
    if isinstance(value, (dict, list)):
        items = value.values() if isinstance(value, dict) else value
        out = []
        for item in items:
            out.extend(_secret_strings(item))
        return out
    if value is None or isinstance(value, bool):
        return []
    text = value if isinstance(value, str) else str(value)
    return [text] if text else []


def unseal(params, payload):
    """``params`` with the placeholders of ``payload`` replaced and its extra params added
    (a new dict; the input is not changed). Returns ``(params, secret_strings)``."""
    values = payload.get("values") or {}
    secrets = []

    def restore_part(match):
        key = match.group(0)
        if key not in values or not isinstance(values[key], str):
            return key
        secrets.append(values[key])
        return values[key]

    def walk(node):
        if isinstance(node, str) and PLACEHOLDER_PREFIX in node:
            if node in values:
                secrets.extend(_secret_strings(values[node]))
                return values[node]
            return _PLACEHOLDER.sub(restore_part, node)
        if isinstance(node, dict):
            return dict((k, walk(v)) for k, v in node.items())
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    out = walk(dict(params))
    for key, value in (payload.get("params") or {}).items():
        out[key] = value
        secrets.extend(_secret_strings(value))
    out.pop(SECRETS_OPTION, None)
    return out, secrets


def read_payload(path):
    """The payload the action plugin wrote; the file is deleted whether it could be read or not."""
    try:
        with open(path, "rb") as f:
            data = json.loads(f.read().decode("utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not an object")
        return data
    except (IOError, OSError, ValueError) as e:
        raise SecretsTransferError(
            "cannot read the secrets the action plugin sent (%s): %s"
            % (path, getattr(e, "strerror", None) or "not the JSON object it writes")
        ) from None
    finally:
        try:
            os.unlink(path)
        except OSError:
            pass


def receive_secrets(module):
    """Put the secrets back into ``module.params`` (in place) and mark them no_log.

    Call it right after ``AnsibleModule()``. Without ``_secrets_file`` (the module run
    without its action plugin) nothing changes."""
    path = module.params.get(SECRETS_OPTION)
    if not path:
        module.params.pop(SECRETS_OPTION, None)
        return module.params
    try:
        payload = read_payload(path)
    except SecretsTransferError as e:
        module.fail_json(msg=str(e))
    params, secrets = unseal(module.params, payload)
    module.no_log_values.update(secrets)
    module.params.clear()
    module.params.update(params)
    return module.params
