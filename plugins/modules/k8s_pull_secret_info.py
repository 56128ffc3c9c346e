#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: k8s_pull_secret_info
short_description: Report the image pull secrets of a cluster, who uses them, until when, and where they are missing
version_added: 1.1.0
description:
  - Lists the C(kubernetes.io/dockerconfigjson) secrets of the selected namespaces with their registries and user
    names (never the secret), their expiry and state, and the service accounts whose C(imagePullSecrets) name them.
  - The expiry is the annotation M(cloud_registry.auth.k8s_pull_secret) writes (O(expiry_annotation)), else the
    earliest C(exp) of a JWT password (an ACR token, for example).
  - With O(name), also which namespaces lack that secret and which service accounts do not reference it.
  - Three list requests per cluster whatever the number of namespaces (namespaces, secrets, service accounts), so
    it is cheap on large clusters. Read only.
author:
  - cloud_registry.auth maintainers (@cloud-registry-auth)
extends_documentation_fragment:
  - cloud_registry.auth.k8s_auth
  - cloud_registry.auth.secrets_transfer
options:
  name:
    description:
      - Only the pull secret of this name; then RV(missing_namespaces) and each namespace's
        C(service_accounts_without) are returned.
      - Default is every pull secret.
    type: str
  namespaces:
    description: The namespaces to look at.
    type: list
    elements: str
  namespace_selector:
    description: Label selector of the namespaces to look at (a string or a list of requirements).
    type: raw
  namespace_field_selector:
    description: Field selector of the namespaces (C(metadata.name), C(status.phase)).
    type: raw
  all_namespaces:
    description: Every namespace.
    type: bool
    default: false
  exclude_namespaces:
    description: Namespaces to leave out (shell-style patterns such as C(kube-*)).
    type: list
    elements: str
    default: []
  service_accounts:
    description:
      - With O(name), the service accounts that should reference it in each namespace (default every service
        account of the namespace).
    type: list
    elements: str
    default: []
  expiry_annotation:
    description: The annotation holding a secret's expiry (written by M(cloud_registry.auth.k8s_pull_secret)).
    type: str
    default: cloud-registry.auth/expires-at
  expiring_within:
    description: Seconds before its expiry from which a secret is reported as V(expiring).
    type: int
    default: 604800
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
    description: Wherever the kubernetes Python client runs (usually the controller).
seealso:
  - module: cloud_registry.auth.k8s_pull_secret
  - module: cloud_registry.auth.registry_auth_info
"""

EXAMPLES = r"""
- name: Where is regcred missing, expired or not used by the default service account?
  cloud_registry.auth.k8s_pull_secret_info:
    kubeconfig: ~/.kube/prod
    name: regcred
    namespace_selector: team
    service_accounts: [default]
  register: pull_secrets

- name: Show the gaps
  ansible.builtin.debug:
    msg:
      missing: "{{ pull_secrets.missing_namespaces }}"
      expired: "{{ pull_secrets.namespaces | map(attribute='secrets') | flatten | selectattr('state', 'eq', 'expired')
                  | map(attribute='name') }}"
"""

RETURN = r"""
namespaces:
  description: One item per selected namespace.
  returned: always
  type: list
  elements: dict
  contains:
    namespace:
      description: The namespace.
      type: str
    secrets:
      description: >-
        Its pull secrets: name, registries (registry, username, expires_at), expires_at, state (present, expiring,
        expired, invalid), reason, used_by (service accounts), resource_version.
      type: list
      elements: dict
    missing:
      description: With O(name), whether the namespace lacks it.
      type: bool
    service_accounts_without:
      description: With O(name), the service accounts that do not reference it.
      type: list
      elements: str
    service_accounts_absent:
      description: Service accounts of O(service_accounts) that do not exist in the namespace.
      type: list
      elements: str
missing_namespaces:
  description: With O(name), the namespaces that lack it.
  returned: always
  type: list
  elements: str
summary:
  description: Counts (namespaces, secrets, states, missing, service_accounts_without) and the earliest expiry.
  returned: always
  type: dict
api_requests:
  description: Requests sent to the API server.
  returned: always
  type: int
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloud_registry.auth.plugins.module_utils.kube import (
    AUTH_ARG_SPEC,
    AUTH_KEYS,
    KubeClient,
    KubeError,
    kubeconfig_secrets,
    proxy_secrets,
)
from ansible_collections.cloud_registry.auth.plugins.module_utils.kube_info import pull_secret_info
from ansible_collections.cloud_registry.auth.plugins.module_utils.secrets_transfer import (
    SECRETS_ARGSPEC,
    receive_secrets,
)


def main():
    argument_spec = dict(
        name=dict(type="str"),
        namespaces=dict(type="list", elements="str"),
        namespace_selector=dict(type="raw"),
        namespace_field_selector=dict(type="raw"),
        all_namespaces=dict(type="bool", default=False),
        exclude_namespaces=dict(type="list", elements="str", default=[]),
        service_accounts=dict(type="list", elements="str", default=[]),
        expiry_annotation=dict(type="str", default="cloud-registry.auth/expires-at"),
        expiring_within=dict(type="int", default=604800),
    )
    argument_spec.update(AUTH_ARG_SPEC)
    argument_spec.update(SECRETS_ARGSPEC)
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[("namespaces", "namespace_selector", "all_namespaces"), ("namespaces", "namespace_field_selector")],
        required_one_of=[("namespaces", "namespace_selector", "all_namespaces", "namespace_field_selector")],
        supports_check_mode=True,
    )
    p = receive_secrets(module)
    if not (p["all_namespaces"] or p["namespaces"] or p["namespace_selector"] or p["namespace_field_selector"]):
        module.fail_json(
            msg="give namespaces (a non-empty list), namespace_selector, namespace_field_selector or all_namespaces: true"
        )
    auth = dict((k, p[k]) for k in AUTH_KEYS)
    module.no_log_values.update(proxy_secrets(auth) + kubeconfig_secrets(auth))
    try:
        client = KubeClient.from_auth(auth, pool_size=2)
        result = pull_secret_info(client, p)
    except KubeError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
