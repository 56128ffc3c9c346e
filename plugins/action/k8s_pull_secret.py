# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for k8s_pull_secret: the registry passwords and the API credentials
(token, kubeconfig, proxy user info) reach the module in a file, not as arguments."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase

from ansible_collections.cloud_registry.auth.plugins.plugin_utils.secrets_transfer import SecretsAction


class ActionModule(SecretsAction, ActionBase):
    TRANSFERS_FILES = False
    MODULE = "cloud_registry.auth.k8s_pull_secret"
    SECRET_PATHS = (
        ("registries", "*", "password"),
        ("api_key",),
        ("kubeconfig",),
        ("proxy",),
        ("proxy_headers", "proxy_basic_auth"),
    )
