# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for gcp_secret_iam: the secret value and the Google credentials reach
the module in a file, not as arguments."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.cloud_registry.auth.plugins.plugin_utils.code_cache import cached_imports

with cached_imports():  # a forked worker per host imports these again: cached bytecode (plugin_utils/code_cache.py)
    from ansible_collections.cloud_registry.auth.plugins.plugin_utils.secrets_transfer import SecretsAction


class ActionModule(SecretsAction, ActionBase):
    TRANSFERS_FILES = False
    MODULE = "cloud_registry.auth.gcp_secret_iam"
    SECRET_PATHS = (("secret_value",), ("credentials_json",), ("access_token",))
