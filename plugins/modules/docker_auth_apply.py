#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: docker_auth_apply
short_description: The whole Docker auth state of a host's users in one pass (the docker_auth role's entry point)
version_added: 1.0.0
description:
  - Applies, for every user in O(users), the C(credHelpers) / C(credsStore) of M(cloud_registry.auth.credhelper_config)
    and every login of M(cloud_registry.auth.registry_login), in one module run per host.
  - This is how the C(cloud_registry.auth.docker_auth) role runs; use the role, or the two modules for one
    concern at a time.
  - Everything that can fail on bad input is checked for every user before anything is written - the users
    exist, the password files are readable, the credentials work (verified once per credential per run on the
    controller, or once per host with O(verify_from=host)).
  - Files are written by the module (run it as root to manage other users' files) and belong to the user. Only a
    credential helper that needs the user's session (C(pass), C(secretservice), ...) is run as the user, through
    C(runuser) with the user's C(HOME), C(XDG_RUNTIME_DIR) and D-Bus session bus; no sudo, no login shell.
author:
  - cloud_registry.auth maintainers (@cloud-registry-auth)
extends_documentation_fragment:
  - cloud_registry.auth.secrets_transfer
options:
  users:
    description: The users whose config.json is managed. Each must exist on the host.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Login name (or numeric uid) of the user.
        type: str
        required: true
      config_path:
        description: The file to manage. Default C(<home>/.docker/config.json).
        type: path
      cred_helpers:
        description: Registry -> helper entries for this user, merged over O(cred_helpers).
        type: dict
      creds_store:
        description: C(credsStore) for this user, overriding O(creds_store); an empty string removes it.
        type: str
      logins:
        description: Logins for this user only, after O(logins); same keys as O(logins).
        type: list
        elements: dict
        suboptions: &login_options
          registry:
            description: Registry host, optionally with port and scheme.
            type: str
            required: true
          username:
            description: User name; required with O(logins[].state=present).
            type: str
          password:
            description: Password or token. Mutually exclusive with O(logins[].password_file).
            type: str
          password_file:
            description: A file on the host holding the password (trailing newline removed).
            type: path
          state:
            description: V(present) logs in, V(absent) logs out.
            type: str
            choices: [present, absent]
            default: present
          store:
            description: Where the secret goes, as in M(cloud_registry.auth.registry_login); default O(store).
            type: str
          verify:
            description: Verify the credential against the registry first; default O(verify).
            type: bool
          validate_certs:
            description: Verify the registry's TLS certificate; default O(validate_certs).
            type: bool
          ca_cert:
            description: CA bundle for the registry; default O(ca_cert).
            type: path
          identity_token:
            description: Store an identity token the registry returns instead of the password.
            type: bool
            default: true
          expires_at:
            description:
              - When the credential stops working (the C(expires_at) of the C(cloud_registry.auth.registry_token)
                lookup); recorded beside the file as M(cloud_registry.auth.registry_login) does, and the earliest is
                returned as RV(expires_at).
            type: str
            version_added: 1.1.0
          _verified_scheme:
            description: Internal, set by the action plugin after it verified the credential. Do not set it.
            type: str
          _identity_token:
            description: Internal, set by the action plugin (the registry's identity token, sent by file). Do not set it.
            type: str
  logins:
    description: Logins for every user; keys as the options of M(cloud_registry.auth.registry_login).
    type: list
    elements: dict
    default: []
    suboptions: *login_options
  cred_helpers:
    description: Registry -> helper name (the part after C(docker-credential-)) for every user.
    type: dict
    default: {}
  creds_store:
    description: C(credsStore) for every user; an empty string removes it; unset leaves it as it is.
    type: str
  exclusive:
    description: Remove C(credHelpers) entries not asked for.
    type: bool
    default: false
  require_helper:
    description: Fail, before writing, when a named helper is not installed.
    type: bool
    default: false
  headless_fallback:
    description:
      - Where a user for whom C(docker-credential-secretservice) cannot work (no D-Bus session bus) gets what was
        meant for secretservice - V(file) or another helper. Unset turns the check off.
    type: str
  provision_pass:
    description:
      - For each user whose logins or helpers use C(pass) and whose password store is not initialised yet, create
        a GnuPG key without passphrase and run C(pass init) with it, as that user, so C(store=pass) works on a
        headless host without a person typing. A store that exists is left alone.
      - The key protects the secrets only as well as the user's home directory does (no passphrase); it keeps them
        out of C(config.json) and out of other users' reach.
    type: bool
    default: false
    version_added: 1.1.0
  store:
    description: Default store of the logins (V(auto), V(file) or a helper name).
    type: str
    default: auto
  verify:
    description: Default of O(logins[].verify).
    type: bool
    default: true
  verify_from:
    description: Verify on the V(controller) (once per credential per run) or on each V(host).
    type: str
    choices: [controller, host]
    default: controller
  validate_certs:
    description: Default of O(logins[].validate_certs).
    type: bool
    default: true
  ca_cert:
    description: Default of O(logins[].ca_cert).
    type: path
  timeout:
    description: Seconds to wait for the registry and for each credential helper.
    type: int
    default: 30
attributes:
  action:
    support: full
    description: An action plugin verifies the credentials on the controller once per run.
  async:
    support: none
    description: Run it synchronously.
  check_mode:
    support: full
    description: Credentials are still verified; nothing is written and C(changed) is predicted.
  diff_mode:
    support: full
    description: One diff per file or helper that changes; secrets masked.
  idempotent:
    support: full
    description: A second run with the same input reports C(ok) and writes nothing.
  platform:
    support: full
    platforms: posix
    description: Any POSIX host with Python 3.7 or later; only the standard library is used.
seealso:
  - module: cloud_registry.auth.credhelper_config
  - module: cloud_registry.auth.registry_login
notes:
  - Secrets never appear in results, warnings, diffs or C(-vvvv) output.
"""

EXAMPLES = r"""
---
- name: Two users, one shared login, Google registries through gcloud (what the docker_auth role runs)
  become: true
  cloud_registry.auth.docker_auth_apply:
    users:
      - name: app
      - name: ci
        logins:
          - registry: ghcr.io
            username: ci-bot
            password: "{{ vault_ghcr_token }}"
    cred_helpers:
      europe-west1-docker.pkg.dev: gcloud
    logins:
      - registry: registry.example.com
        username: deploy
        password: "{{ vault_registry_password }}"
    headless_fallback: file
"""

RETURN = r"""
users:
  description: Per user, what the run found and did.
  returned: always
  type: dict
  sample:
    app:
      config_path: /home/app/.docker/config.json
      cred_helpers: {europe-west1-docker.pkg.dev: gcloud}
      creds_store: null
      missing_helpers: [gcloud]
      secretservice_usable: false
      headless_fallback: []
      logins:
        - {registry: registry.example.com, state: present, store: file, changed: true, verified: true,
           auth_scheme: bearer, expires_at: null}
expires_at:
  description: The earliest O(logins[].expires_at) of the logins applied (state present), V(null) when none expires.
  returned: always
  type: str
  sample: "2026-12-03T18:00:00Z"
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.cloud_registry.auth.plugins.module_utils._docker_auth_spec import ARGUMENT_SPEC  # noqa: E402
from ansible_collections.cloud_registry.auth.plugins.module_utils.docker_auth import (  # noqa: E402
    DockerAuthError,
    safe_apply,
)
from ansible_collections.cloud_registry.auth.plugins.module_utils.secrets_transfer import (  # noqa: E402
    SECRETS_ARGSPEC,
    receive_secrets,
)


def main():
    module = AnsibleModule(argument_spec=dict(ARGUMENT_SPEC, **SECRETS_ARGSPEC), supports_check_mode=True)
    params = receive_secrets(module)

    def hide(secrets):
        for value in secrets:
            module.no_log_values.add(value)

    try:
        result = safe_apply(
            params,
            check_mode=module.check_mode,
            run_command=module.run_command,
            want_diff=module._diff,
            warn=module.warn,
            on_secrets=hide,
        )
    except DockerAuthError as e:
        module.fail_json(msg=str(e))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
