# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""docker_auth_apply's argument spec (private, not public API), apart from its logic so the
action plugin validates arguments without importing anything heavy."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cloud_registry.auth.plugins.module_utils._registry_login_spec import (
    MUTUALLY_EXCLUSIVE,
    credential_options,
)

LOGIN_OPTIONS = credential_options("identity_token", "expires_at")
LOGIN_OPTIONS.update(
    # unset: the module-wide option of the same name
    store=dict(type="str"),
    verify=dict(type="bool"),
    validate_certs=dict(type="bool"),
    ca_cert=dict(type="path"),
    # set by the action plugin once it verified the credential on the controller
    _verified_scheme=dict(type="str"),
    _identity_token=dict(type="str", no_log=True),
)
LOGIN_MUTUALLY_EXCLUSIVE = MUTUALLY_EXCLUSIVE
# the login keys a task cannot set
LOGIN_INTERNAL = ("_verified_scheme", "_identity_token")

ARGUMENT_SPEC = dict(
    users=dict(
        type="list",
        elements="dict",
        required=True,
        options=dict(
            name=dict(type="str", required=True),
            config_path=dict(type="path"),
            cred_helpers=dict(type="dict"),
            creds_store=dict(type="str"),
            logins=dict(type="list", elements="dict", options=LOGIN_OPTIONS, mutually_exclusive=LOGIN_MUTUALLY_EXCLUSIVE),
        ),
    ),
    logins=dict(type="list", elements="dict", default=[], options=LOGIN_OPTIONS, mutually_exclusive=LOGIN_MUTUALLY_EXCLUSIVE),
    cred_helpers=dict(type="dict", default={}),
    creds_store=dict(type="str"),
    exclusive=dict(type="bool", default=False),
    require_helper=dict(type="bool", default=False),
    headless_fallback=dict(type="str"),
    provision_pass=dict(type="bool", default=False),
    store=dict(type="str", default="auto"),
    verify=dict(type="bool", default=True),
    verify_from=dict(type="str", default="controller", choices=["controller", "host"]),
    validate_certs=dict(type="bool", default=True),
    ca_cert=dict(type="path"),
    timeout=dict(type="int", default=30),
)
