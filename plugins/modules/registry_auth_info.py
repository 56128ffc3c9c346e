#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: registry_auth_info
short_description: Report which registry logins a host and its users hold, where, and until when
version_added: 1.1.0
description:
  - Reads the Docker C(config.json) and containers C(auth.json) of the given users (and, with O(node), the kubelet
    and CRI-O node files) the way their clients read them, and reports every registry entry.
  - For each entry, where the credential is kept (V(inline) in the file, a C(credHelpers) V(helper), the
    C(credsStore) V(store)), whether the helper binary is installed, the user name (never the secret), the kind of
    credential (V(password), V(identity_token), V(registry_token)) and its expiry when the credential says it (the
    C(exp) claim of a JWT such as an ACR token, the C(expiration) of an ECR authorization token).
  - Entries the client would never read are reported as V(ignored) with the reason, for example a Docker Hub login
    stored as C(docker.io) (the docker CLI reads only C(https://index.docker.io/v1/)), an inline login shadowed by
    a C(credHelpers) entry or by C(credsStore), or a C(credHelpers) key with a scheme.
  - File problems are listed with their fix (mode readable by others, wrong owner, a directory anyone can write).
  - With O(expected), the desired state a role would write (for example the C(docker_auth_logins) and
    C(docker_auth_cred_helpers) of the P(cloud_registry.auth.docker_auth#role) role) is compared and every difference
    is returned in RV(drift); nothing is changed.
  - With O(verify), each unique inline credential is checked against its registry once per playbook run from the
    controller, whatever the number of hosts and users (as M(cloud_registry.auth.registry_login) does). To get
    there, the module seals the credentials under a key that exists only for this task (sent like every secret of
    this collection, see O(_secrets_file)); what travels back and what ansible-core logs is ciphertext, and the
    result holds no secret.
  - Read only, standard library only on the managed host.
author:
  - cloud_registry.auth maintainers (@cloud-registry-auth)
extends_documentation_fragment:
  - cloud_registry.auth.secrets_transfer
options:
  users:
    description:
      - Local accounts whose own files are read (C(~/.docker/config.json), C(~/.config/containers/auth.json)).
      - Default is the account the module runs as, unless O(all_users) or O(node) or O(files) say otherwise.
    type: list
    elements: str
  all_users:
    description:
      - Also every account (root and UID 1000 and above) whose home holds one of these files.
    type: bool
    default: false
  formats:
    description:
      - Which files of each user are read.
    type: list
    elements: str
    choices: [docker, containers]
    default: [docker, containers]
  node:
    description:
      - Also the node files the kubelet and CRI-O / podman read, C(/var/lib/kubelet/config.json) and
        C(/etc/containers/auth.json) (expected to be owned by root).
    type: bool
    default: false
  files:
    description:
      - More files to read.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The file.
        type: path
        required: true
      format:
        description: V(docker) for C(config.json), V(containers) for C(auth.json).
        type: str
        choices: [docker, containers]
        default: docker
      owner:
        description: The account that should own it (checked and reported when it does not).
        type: str
  expiring_within:
    description:
      - Seconds before its expiry from which an entry is reported as V(expiring) instead of V(present).
    type: int
    default: 604800
  list_helpers:
    description:
      - Ask the C(credsStore) helper, and each C(credHelpers) helper that stores logins, which registries it keeps
        (C(docker-credential-<name> list), which answers registries and user names, no secret), as the file's user.
        A C(credHelpers) entry then gets its RV(entries[].username), or state V(empty) when its helper
        keeps no login for the registry. Helpers that mint their own credentials (C(ecr-login), C(gcloud), ...)
        are not asked.
      - Off by default, as some helpers need an unlocked keyring.
    type: bool
    default: false
  expected:
    description:
      - The desired state to compare with, one item per registry and file. Nothing is changed; differences are
        returned in RV(drift).
    type: list
    elements: dict
    default: []
    suboptions:
      registry:
        description: The registry.
        type: str
        required: true
      username:
        description: The user name the login should have.
        type: str
      helper:
        description: The credential helper C(credHelpers) should send the registry to (instead of a login).
        type: str
      user:
        description: Whose file (default the first of O(users)).
        type: str
      path:
        description: Which file, instead of O(expected[].user).
        type: path
      format:
        description: Which format of the user's files.
        type: str
        choices: [docker, containers]
        default: docker
  verify:
    description:
      - Check each unique inline credential (user name and password) against its registry, once per playbook run,
        from the controller. V(valid) or V(invalid) replaces V(present) in its state.
      - Identity tokens and credentials kept by helpers are not checked.
    type: bool
    default: false
  validate_certs:
    description: With O(verify), check the registries' TLS certificates (and their token services').
    type: bool
    default: true
  ca_cert:
    description: With O(verify), a PEM file on the controller with the CA certificates of the registries.
    type: path
  timeout:
    description: Seconds to wait for each answer of a registry (with O(verify)) or a helper (O(list_helpers)).
    type: int
    default: 30
attributes:
  check_mode:
    support: full
    description: Reads only, in both modes.
  diff_mode:
    support: none
    description: Changes nothing, so there is no diff.
  platform:
    support: full
    platforms: posix
    description: Any POSIX host with Python.
notes:
  - To read other users' files, run it as root (C(become=true)).
  - The report playbook C(cloud_registry.auth.audit) gathers this from a whole inventory.
seealso:
  - module: cloud_registry.auth.registry_login
  - module: cloud_registry.auth.credhelper_config
  - module: cloud_registry.auth.k8s_pull_secret_info
"""

EXAMPLES = r"""
- name: What do root and the deploy user hold, and is it still good?
  become: true
  cloud_registry.auth.registry_auth_info:
    users: [root, deploy]
    node: true
    verify: true
    expiring_within: "{{ 14 * 86400 }}"
  register: auth_info

- name: Fail when something has expired or is routed to a missing helper
  ansible.builtin.assert:
    that:
      - auth_info.summary.states.expired == 0
      - auth_info.summary.states.helper_missing == 0
    fail_msg: "{{ auth_info.entries | selectattr('state', 'in', ['expired', 'helper_missing']) | map(attribute='reason') }}"

- name: Compare with the desired state (the audit playbook builds this from the roles' variables)
  cloud_registry.auth.registry_auth_info:
    users: [deploy]
    expected:
      - registry: ghcr.io
        username: deploy-bot
      - registry: europe-west1-docker.pkg.dev
        helper: gcloud
  register: drift_check
"""

RETURN = r"""
files:
  description: Every file looked at, present or not.
  returned: always
  type: list
  elements: dict
  contains:
    path:
      description: The file.
      type: str
    format:
      description: V(docker) or V(containers).
      type: str
    user:
      description: Whose file it is (null for node files).
      type: str
    source:
      description: V(user), V(node) or V(file).
      type: str
    exists:
      description: Whether the file exists.
      type: bool
    problems:
      description: Owner and mode problems, each with its fix.
      type: list
      elements: str
    error:
      description: Why the file could not be read (it is then reported, not failed).
      type: str
    creds_store:
      description: The C(credsStore) of a C(config.json).
      type: str
entries:
  description:
    - Every registry entry of every file.
  returned: always
  type: list
  elements: dict
  contains:
    registry:
      description: The registry, normalised (C(*) for the C(credsStore) entry).
      type: str
    key:
      description: The key as the file spells it.
      type: str
    path:
      description: The file.
      type: str
    user:
      description: Whose file.
      type: str
    stored:
      description: V(inline), V(helper) or V(store).
      type: str
    helper:
      description: The helper of a V(helper) or V(store) entry.
      type: str
    helper_present:
      description: Whether the helper binary is installed.
      type: bool
    username:
      description: The user name of an inline login.
      type: str
    kind:
      description: V(password), V(identity_token) or V(registry_token).
      type: str
    expires_at:
      description: When the credential expires (UTC), when it can be known.
      type: str
    expiry_source:
      description:
        - V(jwt) (the token's C(exp)), V(ecr) (the authorization token's C(expiration)) or V(recorded) (the
          C(expires_at) given to M(cloud_registry.auth.registry_login) or the C(docker_auth) role when this entry
          was written, kept in C(cloud-registry-auth.expiry.json) beside the file).
      type: str
    state:
      description:
        - V(valid) (verified), V(present), V(expiring), V(expired), V(invalid), V(ignored) (never read by its
          client), V(helper_missing), V(unverifiable) (kept by a helper) or V(empty).
      type: str
    reason:
      description: Why the entry has its state, with the fix where there is one.
      type: str
    verified:
      description: The registry's verdict with O(verify) (null when not checked).
      type: bool
    verify_error:
      description: The registry's answer when the check failed (no secret).
      type: str
summary:
  description: Counts per state, the number of entries and the earliest expiry.
  returned: always
  type: dict
  sample: {"entries": 3, "states": {"present": 2, "expired": 1}, "earliest_expiry": "2026-12-01T10:00:00Z"}
drift:
  description: The items of O(expected) the files do not match, each with the problem.
  returned: always
  type: list
  elements: dict
"""

import functools

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloud_registry.auth.plugins.module_utils import auth_info
from ansible_collections.cloud_registry.auth.plugins.module_utils._auth_info_spec import ARGUMENT_SPEC
from ansible_collections.cloud_registry.auth.plugins.module_utils.errors import CloudRegistryError
from ansible_collections.cloud_registry.auth.plugins.module_utils.secrets_transfer import (
    SECRETS_ARGSPEC,
    receive_secrets,
)


def run(params, run_command=None):
    wrap = None
    if params.get("_wrap_key"):
        from ansible_collections.cloud_registry.auth.plugins.module_utils import sealed

        wrap = functools.partial(sealed.seal, params["_wrap_key"])
    inspector = auth_info.Inspector(
        expiring_within=params["expiring_within"],
        wrap=wrap,
        list_helpers=params["list_helpers"],
        run_command=run_command,
        timeout=min(params["timeout"], 30),
    )
    users = list(params.get("users") or [])
    if params["all_users"]:
        users += [u for u in auth_info.all_accounts() if u not in users]
    if not users and not params["node"] and not params["files"] and not params["all_users"]:
        users = [auth_info.docker_config.user_account().name]
    records = []
    for user, account, path, fmt in auth_info.user_files(users, params["formats"]):
        records.append(inspector.inspect_file(path, fmt, user=user, account=account))
    if params["node"]:
        for path, fmt in auth_info.NODE_FILES:
            records.append(inspector.inspect_file(path, fmt, expect_uid=0, source="node"))
    for f in params["files"]:
        expect = None
        if f.get("owner"):
            expect = auth_info.docker_config.user_account(f["owner"]).uid
        records.append(inspector.inspect_file(f["path"], f["format"], user=f.get("owner"), expect_uid=expect, source="file"))
    expected = []
    for item in params["expected"]:
        item = dict((k, v) for k, v in item.items() if v is not None)
        if not item.get("path") and not item.get("user") and users:
            item["user"] = users[0]
        expected.append(item)
    entries = [e for r in records for e in r.pop("entries")]
    return {
        "changed": False,
        "files": records,
        "entries": entries,
        "summary": auth_info.summarize(entries),
        "drift": auth_info.drift(expected, [dict(r, entries=[e for e in entries if e["path"] == r["path"]]) for r in records]),
    }


def main():
    module = AnsibleModule(argument_spec=dict(ARGUMENT_SPEC, **SECRETS_ARGSPEC), supports_check_mode=True)
    params = receive_secrets(module)
    try:
        module.exit_json(**run(params, run_command=module.run_command))
    except CloudRegistryError as e:
        module.fail_json(msg=str(e))


if __name__ == "__main__":
    main()
