# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for k8s_pull_secret: the registry passwords and the API credentials
(token, the secrets of a kubeconfig given as a dictionary, the proxy's password)
reach the module in a file, not as arguments. Only the secrets: names, paths and
URLs stay in the arguments, so error messages can still name them."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from urllib.parse import urlsplit

from ansible.plugins.action import ActionBase

from ansible_collections.cloud_registry.auth.plugins.plugin_utils.code_cache import cached_imports

with cached_imports():  # a forked worker per host imports these again: cached bytecode (plugin_utils/code_cache.py)
    from ansible_collections.cloud_registry.auth.plugins.module_utils.redact import kubeconfig_secret_items
    from ansible_collections.cloud_registry.auth.plugins.plugin_utils.secrets_transfer import SecretsAction


class ActionModule(SecretsAction, ActionBase):
    TRANSFERS_FILES = False
    MODULE = "cloud_registry.auth.k8s_pull_secret"
    SECRET_PATHS = (
        ("registries", "*", "password"),
        ("api_key",),
        ("proxy_headers", "proxy_basic_auth"),
    )

    def secret_paths(self, args):
        # only the secrets of a kubeconfig dictionary: its names stay readable in errors
        return list(self.SECRET_PATHS) + [
            ("kubeconfig",) + path for path, _value in kubeconfig_secret_items(args.get("kubeconfig"))
        ]

    def secret_parts(self, args):
        proxy = args.get("proxy")
        if not isinstance(proxy, str):
            return ()
        try:
            password = urlsplit(proxy).password
        except ValueError:
            return ()  # the module names the bad URL (without its user info)
        return [(("proxy",), password)] if password else ()
