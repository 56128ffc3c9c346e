# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""refresh_timer's argument spec (private, not public API), shared by the module and its action plugin."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", default="present", choices=["present", "absent"]),
    at=dict(type="str"),
    before=dict(type="int", default=600),
    command=dict(type="list", elements="str"),
    playbook=dict(type="path"),
    playbook_args=dict(type="list", elements="str", default=[]),
    inventory=dict(type="list", elements="str"),
    limit=dict(type="str"),
    description=dict(type="str"),
    working_directory=dict(type="path"),
    environment_file=dict(type="path"),
    user=dict(type="str"),
    scope=dict(type="str", default="system", choices=["system", "user"]),
    unit_dir=dict(type="path"),
    start=dict(type="bool", default=True),
)
MUTUALLY_EXCLUSIVE = [("command", "playbook")]
# the options the action plugin turns into ``command``
PLAYBOOK_OPTIONS = ("playbook", "playbook_args", "inventory", "limit")
