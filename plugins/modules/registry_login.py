#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: registry_login
short_description: Log hosts in to a container registry (docker login for fleets)
version_added: 1.0.0
description:
  - Verifies a registry credential with the Registry v2 auth handshake (C(GET /v2/), Basic, or Bearer through the
    realm/service challenge with C(offline_token=true)) and stores it where Docker, skopeo, podman, crane and the
    kubelet read it, the way C(docker login) does.
  - Verification happens on the controller by default, B(once per unique credential per playbook run) whatever the
    number of hosts and forks; each host then only writes its file. A wrong password fails every host with the same
    clear message and changes nothing.
  - When the registry returns a refresh token, it is stored as C(identitytoken) instead of the password, like
    C(docker login). On later runs an identity token already stored for the same user is kept when the registry
    still accepts it (checked once per run on the controller), so the task stays idempotent.
  - Stores inline in C(config.json) / C(auth.json), or in a C(docker-credential-*) helper (O(store)).
  - Pure Python standard library on the managed host; no Docker daemon or Docker SDK needed.
  - Writes are locked, atomic, keep the owner and mode of an existing file and every key this module does not own;
    a new file is created C(0600) in a C(0700) directory. A file that cannot be parsed is an error and is left
    byte-identical.
author:
  - cloud_registry.auth maintainers (@cloud-registry-auth)
extends_documentation_fragment:
  - cloud_registry.auth.registry_tls
  - cloud_registry.auth.secrets_transfer
options:
  registry:
    description:
      - The registry to log in to, as you would give it to C(docker login), for example V(registry.example.com:5000),
        V(us-docker.pkg.dev), V(https://index.docker.io/v1/) or V(docker.io).
      - The key written is normalised like the docker CLI (RV(registry)); entries under legacy spellings
        (scheme, trailing slash, C(/v1/)) are replaced on login and removed on logout.
      - A V(http://) prefix makes verification use plain HTTP; without a scheme HTTPS is used, with a plain-HTTP
        fallback only for loopback registries or O(validate_certs=false).
    type: str
    required: true
    version_added: 1.0.0
  username:
    description:
      - The user name. Required with O(state=present).
    type: str
    version_added: 1.0.0
  password:
    description:
      - The password or access token. Mutually exclusive with O(password_file).
      - One of O(password) and O(password_file) is required with O(state=present).
    type: str
    version_added: 1.0.0
  password_file:
    description:
      - Path of a file B(on the managed host) that holds the password (like C(docker login --password-stdin)); a
        trailing newline is removed.
      - The file is read on the host, and the credential is verified there (as with O(verify_from=host)), so no secret
        travels from a host back to the controller.
    type: path
    version_added: 1.0.0
  state:
    description:
      - V(present) logs in; V(absent) logs out (removes the inline entry under every legacy key and the helper's copy).
    type: str
    choices: [present, absent]
    default: present
    version_added: 1.0.0
  config_path:
    description:
      - The file to write.
      - Default for O(format=docker) is C($DOCKER_CONFIG/config.json), else C(~/.docker/config.json) of the user the
        module runs as (so with C(become_user) it is that user's file).
      - Default for O(format=containers) is C($REGISTRY_AUTH_FILE), else C($XDG_CONFIG_HOME/containers/auth.json),
        else C(~/.config/containers/auth.json).
      - With O(user), the default is that user's C(~/.docker/config.json) (or C(~/.config/containers/auth.json)).
    type: path
    version_added: 1.0.0
  user:
    description:
      - The local user (name or uid) whose file this is, typically with C(become) as root and O(store=file).
      - Their home gives the default O(config_path); the file and the directories created for it belong to them
        unless O(owner) / O(group) say otherwise. A user that does not exist is an error and nothing is written.
      - A credential helper store keeps secrets in the keyring of the user the module runs as; for a helper, run the
        task as that user (C(become_user)) rather than as root.
    type: str
    version_added: 1.0.0
  format:
    description:
      - V(docker) writes Docker's C(config.json); V(containers) writes the C(auth.json) of podman, skopeo, buildah and
        CRI-O.
    type: str
    choices: [docker, containers]
    default: docker
    version_added: 1.0.0
  store:
    description:
      - Where the secret goes.
      - V(auto) does what the docker CLI would do with that file, in its order of precedence - the helper in
        C(credHelpers) for this registry, else the C(credsStore) helper, else inline in the file.
      - When that helper mints its own credentials and cannot store one (V(ecr-login), V(gcr), V(gcloud),
        V(acr-helper), V(acr-env), which answer C(not implemented) where C(docker login) then fails), nothing is
        stored or changed and a warning names the entry to remove (or use V(file)); RV(stored) is V(false).
      - V(file) always stores inline in the file.
      - Any other value is a helper name (the part after C(docker-credential-), for example V(pass),
        V(secretservice)); the secret is stored with that helper and the file gets C(credHelpers[registry]) pointing
        at it (unless C(credsStore) already names it). A helper that is not installed is an error and nothing is
        changed.
    type: str
    default: auto
    version_added: 1.0.0
  verify:
    description:
      - Verify the credential against the registry before storing it. A rejected credential fails the task and
        nothing is written.
      - With V(false) the credential is stored as given and RV(verified) is V(false).
    type: bool
    default: true
    version_added: 1.0.0
  verify_from:
    description:
      - V(controller) verifies once per unique credential per playbook run on the Ansible controller, whatever the
        number of hosts and forks (the registry must be reachable from the controller; O(ca_cert) is a controller
        path).
      - V(host) verifies on each managed host (each host contacts the registry; O(ca_cert) is a host path).
    type: str
    choices: [controller, host]
    default: controller
    version_added: 1.0.0
  owner:
    description:
      - Owner of the file (name or uid). Default is the user running the module; an existing file keeps its owner.
    type: str
    version_added: 1.0.0
  group:
    description:
      - Group of the file (name or gid). An existing file keeps its group unless this is set.
    type: str
    version_added: 1.0.0
  mode:
    description:
      - Mode of the file, octal string such as V('0600'). A new file is created C(0600); an existing file keeps its
        mode unless this is set.
    type: raw
    version_added: 1.0.0
  identity_token:
    description:
      - With V(true), an identity (refresh) token the registry's token service returns is stored instead of the
        password, as C(docker login) does.
      - With V(false), the username and password are stored even then, for clients that do not read identity
        tokens - the kubelet and containerd's CRI read only C(username), C(password) and C(auth) from a
        C(config.json). The P(cloud_registry.auth.node_auth#role) role sets it for the kubelet's file.
    type: bool
    default: true
    version_added: 1.0.0
  expires_at:
    description:
      - When the credential stops working, as an ISO 8601 time (what the C(cloud_registry.auth.registry_token) lookup
        returns as C(expires_at)) or epoch seconds. Empty means it does not expire.
      - For a login stored in the file, the expiry is recorded beside it in C(cloud-registry-auth.expiry.json)
        (with a fingerprint of the entry, never the secret), so M(cloud_registry.auth.registry_auth_info) reports
        it for tokens that carry no expiry of their own, such as Google access tokens and Alibaba temporary
        passwords. A later login without it, a login kept by a helper or stored as the identity token the registry returned
        (whose own expiry is read when it is a JWT), or O(state=absent) removes the record.
    type: str
    version_added: 1.1.0
  _verified_scheme:
    description:
      - Internal, set by the action plugin after it verified the credential on the controller. Do not set it.
    type: str
    version_added: 1.0.0
attributes:
  action:
    support: full
    description: An action plugin verifies the credential on the controller once per run, then runs the module on
      the host.
  async:
    support: none
    description: The login is quick; run it synchronously.
  check_mode:
    support: full
    description: The credential is still verified (a read-only login); nothing is written and C(changed) is predicted.
  diff_mode:
    support: full
    description: Secrets are masked; a changed secret shows as C(******** (changed)).
  idempotent:
    support: full
    description: The same credential already stored (inline or in the helper) reports C(ok).
  platform:
    support: full
    platforms: posix
    description: Any POSIX host with Python 3.7 or later; only the standard library is used.
seealso:
  - module: cloud_registry.auth.credhelper_config
  - module: community.docker.docker_login
  - name: docker login
    description: The docker CLI command this module does for fleets.
    link: https://docs.docker.com/reference/cli/docker/login/
  - name: Token authentication specification
    description: The Bearer flow used for verification.
    link: https://distribution.github.io/distribution/spec/auth/token/
notes:
  - Secrets never appear in results, warnings, diffs or C(-vvvv) output.
  - See R(the registry_login guide,ansible_collections.cloud_registry.auth.docsite.registry_login) for the
    verification cache and the plain-HTTP rules.
"""

EXAMPLES = r"""
---
- name: Log every host in to the company registry (verified once on the controller)
  cloud_registry.auth.registry_login:
    registry: registry.example.com
    username: deploy
    password: "{{ vault_registry_password }}"

- name: Log in for podman/skopeo/CRI-O instead (containers auth.json)
  cloud_registry.auth.registry_login:
    registry: registry.example.com
    username: deploy
    password: "{{ vault_registry_password }}"
    format: containers

- name: Write another user's config.json with the right owner
  become: true
  cloud_registry.auth.registry_login:
    registry: registry.example.com:5000
    username: deploy
    password: "{{ vault_registry_password }}"
    user: app  # /home/app/.docker/config.json, owned by app
    store: file
    ca_cert: /etc/pki/registry-ca.pem

- name: Keep the secret in pass (docker-credential-pass) instead of the file
  cloud_registry.auth.registry_login:
    registry: registry.example.com
    username: deploy
    password: "{{ vault_registry_password }}"
    store: pass

- name: Use a password file that already exists on the hosts
  cloud_registry.auth.registry_login:
    registry: registry.example.com
    username: deploy
    password_file: /etc/registry/password

- name: Log out (also removes entries under legacy keys such as https://registry.example.com/v1/)
  cloud_registry.auth.registry_login:
    registry: registry.example.com
    state: absent
"""

RETURN = r"""
registry:
  description: The normalised key the login is stored under (C(https://index.docker.io/v1/) for Docker Hub in the
    docker format, C(docker.io) in the containers format, otherwise C(host[:port])).
  returned: always
  type: str
  sample: registry.example.com:5000
config_path:
  description: The file that was (or would be) written, symlinks resolved.
  returned: always
  type: str
  sample: /home/app/.docker/config.json
store:
  description: Where the secret is stored - V(file) or the helper name.
  returned: always
  type: str
  sample: file
stored:
  description: V(false) when O(store=auto) led to a helper that cannot store logins, so nothing was stored.
  returned: when nothing was stored for that reason
  type: bool
  sample: false
verified:
  description: Whether the credential was verified against the registry in this run.
  returned: always
  type: bool
  sample: true
auth_scheme:
  description: The authentication scheme the registry uses, found during verification - V(none), V(basic) or
    V(bearer). V(null) when not verified.
  returned: always
  type: str
  sample: bearer
expires_at:
  description: The O(expires_at) given, in UTC (V(null) when none).
  returned: always
  type: str
  sample: "2026-12-03T18:00:00Z"
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.cloud_registry.auth.plugins.module_utils._registry_login_spec import (  # noqa: E402
    ARGUMENT_SPEC,
    MUTUALLY_EXCLUSIVE,
    REQUIRED_IF,
)
from ansible_collections.cloud_registry.auth.plugins.module_utils.login import LoginError, safe_run  # noqa: E402
from ansible_collections.cloud_registry.auth.plugins.module_utils.secrets_transfer import (  # noqa: E402
    SECRETS_ARGSPEC,
    receive_secrets,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(ARGUMENT_SPEC, **SECRETS_ARGSPEC),
        mutually_exclusive=MUTUALLY_EXCLUSIVE,
        required_if=REQUIRED_IF,
        supports_check_mode=True,
    )
    try:
        result = safe_run(
            receive_secrets(module), check_mode=module.check_mode, run_command=module.run_command, want_diff=module._diff
        )
    except LoginError as e:
        module.fail_json(msg=str(e))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
