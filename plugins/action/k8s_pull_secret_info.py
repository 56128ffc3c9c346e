# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for k8s_pull_secret_info: the API credentials go by the secrets file, as for
k8s_pull_secret."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cloud_registry.auth.plugins.plugin_utils.code_cache import cached_imports

with cached_imports():  # a forked worker per host imports these again: cached bytecode (plugin_utils/code_cache.py)
    from ansible_collections.cloud_registry.auth.plugins.action.k8s_pull_secret import ActionModule as _PullSecretAction


class ActionModule(_PullSecretAction):
    MODULE = "cloud_registry.auth.k8s_pull_secret_info"
    SECRET_PATHS = (("api_key",), ("proxy_headers", "proxy_basic_auth"))
