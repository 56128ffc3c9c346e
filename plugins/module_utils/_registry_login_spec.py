# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""registry_login's argument spec (private, not public API).

Kept apart from the login logic so the action plugin, which runs once per host
in a fresh worker process, validates arguments without importing anything heavy.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

ARGUMENT_SPEC = dict(
    registry=dict(type="str", required=True),
    username=dict(type="str"),
    password=dict(type="str", no_log=True),
    password_file=dict(type="path", no_log=False),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    config_path=dict(type="path"),
    user=dict(type="str"),
    format=dict(type="str", default="docker", choices=["docker", "containers"]),
    store=dict(type="str", default="auto"),
    verify=dict(type="bool", default=True),
    verify_from=dict(type="str", default="controller", choices=["controller", "host"]),
    validate_certs=dict(type="bool", default=True),
    ca_cert=dict(type="path"),
    timeout=dict(type="int", default=30),
    owner=dict(type="str"),
    group=dict(type="str"),
    mode=dict(type="raw"),
    _verified_scheme=dict(type="str"),
    identity_token=dict(type="bool", default=True),
    expires_at=dict(type="str"),
)
MUTUALLY_EXCLUSIVE = [("password", "password_file")]

REQUIRED_IF = [("state", "present", ("username",)), ("state", "present", ("password", "password_file"), True)]


def credential_options(*extra):
    """The options naming one login (registry, username, password or password_file, state),
    plus ``extra`` of registry_login's: the login entries of the roles' entry points."""
    names = ("registry", "username", "password", "password_file", "state") + extra
    return dict((name, dict(ARGUMENT_SPEC[name])) for name in names)
