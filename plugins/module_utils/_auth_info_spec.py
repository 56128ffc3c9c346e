# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument spec of registry_auth_info, shared by the module and its action plugin."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

FORMATS = ["docker", "containers"]

ARGUMENT_SPEC = dict(
    users=dict(type="list", elements="str"),
    all_users=dict(type="bool", default=False),
    formats=dict(type="list", elements="str", choices=FORMATS, default=FORMATS),
    node=dict(type="bool", default=False),
    files=dict(
        type="list",
        elements="dict",
        default=[],
        options=dict(
            path=dict(type="path", required=True),
            format=dict(type="str", choices=FORMATS, default="docker"),
            owner=dict(type="str"),
        ),
    ),
    expiring_within=dict(type="int", default=604800),
    list_helpers=dict(type="bool", default=False),
    expected=dict(
        type="list",
        elements="dict",
        default=[],
        options=dict(
            registry=dict(type="str", required=True),
            username=dict(type="str"),
            helper=dict(type="str"),
            user=dict(type="str"),
            path=dict(type="path"),
            format=dict(type="str", choices=FORMATS, default="docker"),
        ),
    ),
    verify=dict(type="bool", default=False),
    validate_certs=dict(type="bool", default=True),
    ca_cert=dict(type="path"),
    timeout=dict(type="int", default=30),
)
