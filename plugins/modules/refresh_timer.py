#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: refresh_timer
short_description: Run a playbook again before short-lived registry credentials expire (a systemd timer)
version_added: 1.1.0
description:
  - Writes a systemd C(NAME.service) (C(Type=oneshot), the command) and C(NAME.timer) that fires once, at O(at)
    minus O(before), and starts the timer when systemd runs on the host.
  - Give O(playbook) to run that playbook again with the inventory and limit of this run. Each run writes the timer
    anew from the tokens it minted, so the schedule follows their expiry instead of a fixed interval - what a cron
    job or C(systemd-run) cannot do by themselves.
  - The C(docker_auth) and C(k8s_pull_secrets) roles call it when C(docker_auth_refresh_timer) /
    C(k8s_pull_secrets_refresh_timer) is set. Use it directly for any other schedule driven by an expiry.
  - The timer is C(Persistent=true) - a runner that was off at that time runs the command when it boots - and a
    time already past (or within a minute) is moved to a minute from now, with a warning.
author:
  - cloud_registry.auth maintainers (@cloud-registry-auth)
options:
  name:
    description: The units' name, without C(.service) or C(.timer); letters, digits and C(- _ . :).
    type: str
    required: true
  state:
    description: V(present) writes (and starts) the timer; V(absent) stops it and removes both units.
    type: str
    choices: [present, absent]
    default: present
  at:
    description:
      - The expiry the run is scheduled from, as ISO 8601 (V(2026-12-03T18:00:00Z), what the
        C(cloud_registry.auth.registry_token) lookup returns as C(expires_at)) or epoch seconds.
      - Required with O(state=present).
    type: str
  before:
    description: Seconds before O(at) at which the timer fires.
    type: int
    default: 600
  command:
    description:
      - The program and its arguments, one list item each; the program as an absolute path.
      - Mutually exclusive with O(playbook). Put no secret here (unit files are world-readable); read them from
        files, a vault password file or O(environment_file).
    type: list
    elements: str
  playbook:
    description:
      - Run this playbook again, with C(ansible-playbook) of this controller (the one beside
        C(ansible_playbook_python)), the inventory sources of this run (or O(inventory)), and its C(--limit)
        (or O(limit)).
      - A relative path is taken from C(playbook_dir). Handled on the controller by the action plugin.
    type: path
  playbook_args:
    description: More arguments for C(ansible-playbook), before the playbook (for example C(--vault-password-file)).
    type: list
    elements: str
    default: []
  inventory:
    description: Inventory sources for O(playbook); default the ones of this run (C(ansible_inventory_sources)).
    type: list
    elements: str
  limit:
    description: C(--limit) for O(playbook); default the C(--limit) of this run, if any.
    type: str
  description:
    description: C(Description=) of the service.
    type: str
  working_directory:
    description: C(WorkingDirectory=) of the service (where C(ansible.cfg) is found); default the directory of
      O(playbook).
    type: path
  environment_file:
    description: C(EnvironmentFile=) of the service, for variables the command needs (C(ANSIBLE_CONFIG), proxies...).
    type: path
  user:
    description: C(User=) of a system service; default root.
    type: str
  scope:
    description: V(system) (C(/etc/systemd/system), run it as root) or V(user) (C(~/.config/systemd/user),
      C(systemctl --user)).
    type: str
    choices: [system, user]
    default: system
  unit_dir:
    description: Where the units go, instead of the directory of O(scope).
    type: path
  start:
    description: Reload systemd and enable and start the timer after a change, when systemd runs on the host.
    type: bool
    default: true
attributes:
  action:
    support: full
    description: The action plugin turns O(playbook) into the command, from this run's inventory and limit.
  async:
    support: none
    description: Run it synchronously.
  check_mode:
    support: full
    description: Nothing is written or started; C(changed) and the diff say what would be.
  diff_mode:
    support: full
    description: The text of each unit file that changes.
  idempotent:
    support: full
    description: The same input writes nothing and tells systemd nothing (an inactive timer is started again).
  platform:
    support: full
    platforms: posix
    description: A host with systemd; elsewhere the units are written and a warning says how to start them.
seealso:
  - module: cloud_registry.auth.registry_login
  - module: cloud_registry.auth.k8s_pull_secret
notes:
  - The units are world-readable, like every unit file; they hold no secret unless you put one into O(command).
"""

EXAMPLES = r"""
---
- name: Mint a Google access token, log in with it, and run this playbook again 10 minutes before it expires
  hosts: vms
  tasks:
    - name: Log in
      cloud_registry.auth.registry_login:
        registry: "{{ cred.registry }}"
        username: "{{ cred.username }}"
        password: "{{ cred.password }}"
        expires_at: "{{ cred.expires_at }}"
      vars:
        cred: "{{ lookup('cloud_registry.auth.registry_token', 'gcp', registry='europe-west1-docker.pkg.dev') }}"
      register: login

    - name: Schedule the next run from the earliest expiry of all hosts
      cloud_registry.auth.refresh_timer:
        name: registry-logins
        at: "{{ ansible_play_hosts | map('extract', hostvars, ['login', 'expires_at']) | select | min }}"
        before: 600
        playbook: site.yml
      run_once: true
      delegate_to: localhost
      become: true

- name: Stop refreshing
  hosts: localhost
  tasks:
    - name: Remove the timer
      cloud_registry.auth.refresh_timer:
        name: registry-logins
        state: absent
"""

RETURN = r"""
service_path:
  description: The service unit.
  returned: always
  type: str
  sample: /etc/systemd/system/registry-logins.service
timer_path:
  description: The timer unit.
  returned: always
  type: str
  sample: /etc/systemd/system/registry-logins.timer
on_calendar:
  description: The timer's C(OnCalendar=) value (V(null) with O(state=absent)).
  returned: always
  type: str
  sample: "2026-12-03 17:50:00 UTC"
fires_at:
  description: When the timer fires, ISO 8601 UTC (V(null) with O(state=absent)).
  returned: always
  type: str
  sample: "2026-12-03T17:50:00Z"
command:
  description: The command the service runs.
  returned: with O(state=present)
  type: list
  elements: str
systemd:
  description: Whether systemd runs on the host (the timer was started only then).
  returned: always
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.cloud_registry.auth.plugins.module_utils._refresh_timer_spec import (  # noqa: E402
    ARGUMENT_SPEC,
    MUTUALLY_EXCLUSIVE,
)
from ansible_collections.cloud_registry.auth.plugins.module_utils.refresh_timer import (  # noqa: E402
    RefreshTimerError,
    safe_apply,
)


def main():
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, mutually_exclusive=MUTUALLY_EXCLUSIVE, supports_check_mode=True)
    params = dict(module.params)
    if params["state"] == "present" and not params.get("command"):
        module.fail_json(msg="refresh_timer %s: give command (the program and its arguments) or playbook" % params["name"])
    try:
        result = safe_apply(params, check_mode=module.check_mode, run_command=module.run_command)
    except RefreshTimerError as e:
        module.fail_json(msg=str(e))
    for message in result.pop("warnings"):
        module.warn(message)
    diff = result.pop("diff")
    if module._diff and diff:
        result["diff"] = diff
    if params["state"] == "present":
        result["command"] = params["command"]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
