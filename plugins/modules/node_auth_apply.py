#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: node_auth_apply
short_description: A Kubernetes node's whole registry auth in one pass (the node_auth role's entry point)
version_added: 1.0.0
description:
  - Writes, in one module run per node, the logins of the kubelet's C(config.json) and the containers
    C(auth.json), containerd's registry auth (C(hosts.toml) per registry, or the CRI C(registry.configs) tables in a
    marked block of C(config.toml)) and the kubelet C(CredentialProviderConfig) with its provider binaries.
  - This is how the C(cloud_registry.auth.node_auth) role runs; use the role.
  - Every check runs before the first write - credentials verified once per run on the controller, password files
    read, C(config.toml) checked to still parse with the tables added, provider binaries hashed - so bad input
    changes nothing.
  - A provider binary is sent to a node only when the node's copy differs from the controller's.
author:
  - cloud_registry.auth maintainers (@cloud-registry-auth)
extends_documentation_fragment:
  - cloud_registry.auth.secrets_transfer
options:
  _bearer_hosts:
    description: Internal, set by the action plugin (registries that challenge with Bearer). Do not set it.
    type: list
    elements: str
    default: []
  _binary_files:
    description: Internal, set by the action plugin (provider binaries it sent to this node). Do not set it.
    type: dict
    default: {}
  logins:
    description: The node's logins.
    type: list
    elements: dict
    default: []
    suboptions:
      registry:
        description: Registry host, optionally with port and scheme.
        type: str
        required: true
      username:
        description: User name; required for a present login.
        type: str
      password:
        description: Password or token.
        type: str
      password_file:
        description: A file on the node holding the password.
        type: path
      state:
        description: V(present) or V(absent).
        type: str
        choices: [present, absent]
        default: present
      _verified_scheme:
        description: Internal, set by the action plugin after it verified the credential. Do not set it.
        type: str
  files:
    description: The login files - the kubelet's config.json (V(docker), O(files[].identity_token=false)) and the
      containers auth.json (V(containers)).
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: The file.
        type: path
        required: true
      format:
        description: V(docker) (config.json) or V(containers) (auth.json).
        type: str
        choices: [docker, containers]
        default: docker
      identity_token:
        description: Store identity tokens the registry returns (the kubelet cannot read them).
        type: bool
        default: true
  owner:
    description: Owner of the login files.
    type: str
    default: root
  group:
    description: Group of the login files.
    type: str
    default: root
  mode:
    description: Mode of the login files.
    type: raw
    default: "0600"
  containerd:
    description: containerd's registry auth.
    type: dict
    default: {}
    suboptions:
      mode:
        description: V(none), V(hosts) (hosts.toml with a Basic Authorization header) or V(cri_auth) (deprecated
          CRI tables in config.toml).
        type: str
        choices: [none, hosts, cri_auth]
        default: none
      certs_dir:
        description: containerd's C(config_path) directory.
        type: path
        default: /etc/containerd/certs.d
      ca_file:
        description: CA file named in each hosts.toml.
        type: path
      config_path:
        description: containerd's config.toml.
        type: path
        default: /etc/containerd/config.toml
      dropin:
        description: The drop-in earlier versions of the role wrote; emptied when it holds anything.
        type: path
      config_version:
        description: config.toml version (2 for containerd 1.x, 3 for 2.x).
        type: int
        choices: [2, 3]
        default: 2
  providers:
    description: kubelet image credential providers.
    type: dict
    default: {}
    suboptions:
      entries:
        description:
          - The providers, as the role's C(node_auth_credential_providers) - C(name), C(match_images),
            C(default_cache_duration), C(api_version), C(args), C(env), C(token_attributes), and C(src) (a binary on
            the controller, optionally with C(sha256)) or C(url) with C(sha256).
          - Checked on the controller as the kubelet checks them, before anything is written.
        type: list
        elements: dict
        default: []
      config_path:
        description: Where the kubelet reads the CredentialProviderConfig.
        type: path
        default: /etc/kubernetes/image-credential-provider-config.yaml
      bin_dir:
        description: The kubelet's provider binary directory.
        type: path
        default: /usr/libexec/kubernetes/kubelet-plugins/credential-provider/exec
      _config:
        description: Internal, set by the action plugin (the rendered document). Do not set it.
        type: str
      _binaries:
        description: Internal, set by the action plugin (names and sha256 of the binaries). Do not set it.
        type: list
        elements: dict
        default: []
      _downloads:
        description: Internal, set by the action plugin (binaries fetched on the node). Do not set it.
        type: list
        elements: dict
        default: []
  verify:
    description: Verify each present login against its registry first.
    type: bool
    default: true
  verify_from:
    description: Verify on the V(controller) (once per credential per run) or on each V(host).
    type: str
    choices: [controller, host]
    default: controller
  validate_certs:
    description: Verify the registries' TLS certificates.
    type: bool
    default: true
  ca_cert:
    description: CA bundle for the registries.
    type: path
  timeout:
    description: Seconds to wait for a registry.
    type: int
    default: 30
attributes:
  action:
    support: full
    description: An action plugin verifies, asks registries their scheme and hashes binaries once per run.
  async:
    support: none
    description: Run it synchronously.
  check_mode:
    support: full
    description: Nothing is written; C(changed) is predicted.
  diff_mode:
    support: partial
    description: Login files show masked diffs; files that hold a credential (hosts.toml, the CRI block) are named,
      not shown.
  idempotent:
    support: full
    description: A second run writes nothing.
  platform:
    support: full
    platforms: posix
    description: Linux nodes with Python 3.7 or later (the TOML check needs 3.11; older nodes skip it).
notes:
  - Secrets never appear in results, warnings, diffs or C(-vvvv) output.
seealso:
  - module: cloud_registry.auth.registry_login
"""

EXAMPLES = r"""
---
- name: What the node_auth role runs
  become: true
  cloud_registry.auth.node_auth_apply:
    logins:
      - registry: registry.example.com
        username: pull-bot
        password: "{{ vault_pull_password }}"
    files:
      - {path: /var/lib/kubelet/config.json, format: docker, identity_token: false}
      - {path: /etc/containers/auth.json, format: containers}
    containerd:
      mode: hosts
"""

RETURN = r"""
files:
  description: Each login file and whether it changed.
  returned: always
  type: list
  elements: dict
  sample: [{path: /var/lib/kubelet/config.json, format: docker, changed: true}]
changed_paths:
  description: Every file written (or, in check mode, that would be).
  returned: always
  type: list
  elements: str
restart_kubelet:
  description: Whether the kubelet must re-read its files (config.json or the provider config changed).
  returned: always
  type: bool
restart_containerd:
  description: Whether containerd must restart (its config.toml changed).
  returned: always
  type: bool
bearer_hosts:
  description: Registries that use token (Bearer) auth, so their hosts.toml holds no credential.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule  # noqa: E402

from ansible_collections.cloud_registry.auth.plugins.module_utils._node_auth_spec import (  # noqa: E402
    ARGUMENT_SPEC,
    INTERNAL_ARGSPEC,
)
from ansible_collections.cloud_registry.auth.plugins.module_utils.node_auth import NodeAuthError, safe_apply  # noqa: E402
from ansible_collections.cloud_registry.auth.plugins.module_utils.secrets_transfer import (  # noqa: E402
    SECRETS_ARGSPEC,
    receive_secrets,
)


def main():
    spec = dict(ARGUMENT_SPEC, **SECRETS_ARGSPEC)
    spec.update(INTERNAL_ARGSPEC)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    params = receive_secrets(module)
    for login in params.get("logins") or []:
        login.setdefault("verify", params["verify"])
        login.setdefault("validate_certs", params["validate_certs"])
        login.setdefault("ca_cert", params.get("ca_cert"))
    params.setdefault("containerd", {})
    if params["containerd"] is not None:
        params["containerd"]["bearer_hosts"] = params.get("_bearer_hosts") or []
    try:
        result = safe_apply(
            params,
            check_mode=module.check_mode,
            run_command=module.run_command,
            want_diff=module._diff,
            binary_files=params.get("_binary_files") or {},
        )
    except NodeAuthError as e:
        module.fail_json(msg=str(e))
    for host in sorted(set(result.get("bearer_hosts") or [])):
        module.warn(
            "%s uses token (Bearer) auth: containerd cannot log in there with a static header, so its "
            "hosts.toml holds no credential; pulls through the kubelet use its config.json or pull secrets, "
            "and containerd mode cri_auth gives containerd itself the username and password." % host
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
