#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: k8s_pull_secret
short_description: Image pull secrets across namespaces and service accounts
version_added: 1.0.0
description:
  - Creates, updates or deletes one C(kubernetes.io/dockerconfigjson) Secret in many namespaces at once, and adds it
    to (or removes it from) the C(imagePullSecrets) of service accounts.
  - The task form of C(kubectl create secret docker-registry) run per namespace plus the service account patch.
    For one registry the C(.dockerconfigjson) payload is byte-for-byte what
    C(kubectl create secret docker-registry --dry-run=client -o json) produces for the same server, username,
    password and email. Several registries go into one secret.
  - Docker Hub aliases (C(docker.io), C(index.docker.io), C(registry-1.docker.io), ...) are written as
    C(https://index.docker.io/v1/), the key the kubelet and docker use.
  - C(imagePullSecrets) is an atomic list, so it is updated by read-modify-write guarded by the object's
    C(resourceVersion); a concurrent change (HTTP 409 Conflict) is read again and kept. Other entries are never
    removed or duplicated.
  - An unchanged secret or service account is not written at all (a re-run sends only reads).
  - Namespaces are processed in parallel (O(parallel)). A namespace that does not exist (or disappears during the
    run) is reported in RV(missing_namespaces) with a warning; the others are still processed. Any other
    per-namespace error (for example HTTP 403) fails the task after every namespace was processed, with all results.
  - No secret value appears in results, diffs, warnings or errors.
author:
  - cloud_registry.auth maintainers (@cloud-registry-auth)
options:
  name:
    description:
      - Name of the Secret (a lowercase RFC 1123 subdomain), for example C(regcred).
    type: str
    required: true
    version_added: 1.0.0
  namespaces:
    description:
      - The namespaces to manage the secret in.
      - Exactly one of O(namespaces), O(namespace_selector) and O(all_namespaces) is required.
    type: list
    elements: str
    version_added: 1.0.0
  namespace_selector:
    description:
      - A label selector for namespaces, equality or set based, for example C(env=prod,team in (a,b)) or
        C(!ephemeral). A list is joined with commas (all must match).
    type: raw
    version_added: 1.0.0
  namespace_field_selector:
    description:
      - A field selector for namespaces, for example C(metadata.name!=kube-system) or C(status.phase=Active)
        (namespaces support C(metadata.name) and C(status.phase)). A list is joined with commas.
      - Combined with O(namespace_selector), both must match; alone, it selects among all namespaces.
    type: raw
    version_added: 1.1.0
  all_namespaces:
    description:
      - Every namespace of the cluster (minus O(exclude_namespaces)). Namespaces being deleted are skipped.
    type: bool
    default: false
    version_added: 1.0.0
  exclude_namespaces:
    description:
      - Namespaces left alone; shell-style patterns, for example C(kube-*).
    type: list
    elements: str
    default: []
    version_added: 1.0.0
  registries:
    description:
      - Registry credentials that go into the one secret.
      - The return value of the P(cloud_registry.auth.registry_token#lookup) lookup fits as an element
        (C(registry) is an alias of O(registries[].server); C(expires_at) is ignored).
      - Required with O(state=present) unless O(config_file) is given.
    type: list
    elements: dict
    version_added: 1.0.0
    suboptions:
      server:
        description:
          - The registry, for example C(europe-docker.pkg.dev), C(123456789012.dkr.ecr.eu-west-1.amazonaws.com)
            or C(https://index.docker.io/v1/).
        type: str
        required: true
        aliases: [registry]
        version_added: 1.0.0
      username:
        description:
          - User name, for example C(oauth2accesstoken) for Google or C(AWS) for ECR.
        type: str
        required: true
        version_added: 1.0.0
      password:
        description:
          - Password or access token.
        type: str
        required: true
        version_added: 1.0.0
      email:
        description:
          - Optional e-mail written into the entry, as C(kubectl --docker-email) does.
        type: str
        version_added: 1.0.0
      expires_at:
        description:
          - When the credential expires (ISO 8601, as the P(cloud_registry.auth.registry_token#lookup) lookup
            returns it). The earliest one of the secret goes into O(expiry_annotation); with O(refresh_before), an
            existing credential of this registry that is still valid for longer is kept.
        type: str
        version_added: 1.0.0
  config_file:
    description:
      - Path (on the host that runs the module) of a docker C(config.json) whose registries are copied into the
        secret, like C(kubectl create secret generic --from-file=.dockerconfigjson=...) but safe.
      - Every registry of the file must yield a username and password. Entries whose credentials live in a
        credential helper (C(credsStore) or C(credHelpers)) need O(resolve_helpers=true); without it the task fails
        and says so, so a Docker Desktop style file never produces a secret with empty credentials.
      - Mutually exclusive with O(registries).
    type: path
    version_added: 1.0.0
  resolve_helpers:
    description:
      - With O(config_file), read credentials that live in C(credsStore) / C(credHelpers) through the real
        C(docker-credential-<name>) helper on the host that runs the module.
      - Identity tokens (a helper answering the user C(<token>)) cannot be used by the kubelet and are an error.
    type: bool
    default: false
    version_added: 1.0.0
  merge:
    description:
      - Keep the registries of an existing secret that are not given (the given ones are replaced).
      - When V(false), the secret holds exactly the given registries.
    type: bool
    default: false
    version_added: 1.0.0
  service_accounts:
    description:
      - Service accounts (in every selected namespace) whose C(imagePullSecrets) get the secret with
        O(state=present), or lose it with O(state=absent). A service account that does not exist is reported as
        C(missing) and left alone.
      - Combined with O(all_service_accounts) and O(service_account_selector), the union of the three is managed.
    type: list
    elements: str
    default: []
    version_added: 1.0.0
  all_service_accounts:
    description:
      - Every service account of each selected namespace gets (or loses) the secret, as they exist when the task
        runs; one list request per namespace reads them all.
      - Service accounts created later are covered by the next run, or within seconds by the collection's
        Event-Driven Ansible rulebook C(cloud_registry.auth.pull_secrets) (the C(k8s_watch) event source).
    type: bool
    default: false
    version_added: 1.1.0
  service_account_selector:
    description:
      - A label selector for the service accounts of each selected namespace, equality or set based, for example
        C(pull-secrets=inject) or C(app in (web,api)). A list is joined with commas (all must match).
      - Ignored when O(all_service_accounts=true).
    type: raw
    version_added: 1.1.0
  state:
    description:
      - V(present) creates or updates the secret and adds it to O(service_accounts).
      - V(absent) removes it from O(service_accounts) and deletes the secret.
    type: str
    choices: [present, absent]
    default: present
    version_added: 1.0.0
  labels:
    description:
      - Labels set on the secret; other labels of an existing secret are kept.
    type: dict
    default: {}
    version_added: 1.0.0
  annotations:
    description:
      - Annotations set on the secret; other annotations of an existing secret are kept.
    type: dict
    default: {}
    version_added: 1.0.0
  parallel:
    description:
      - Number of namespaces processed at the same time (one connection each).
    type: int
    default: 16
    version_added: 1.0.0
  expiry_annotation:
    description:
      - Annotation of the secret that holds the earliest O(registries[].expires_at) of the credentials it holds
        (ISO 8601 UTC), so that monitoring, the next run and the C(k8s_watch) event source know when a refresh is
        due. Removed when the secret holds no credential with an expiry.
      - V("") leaves the annotation alone.
    type: str
    default: cloud-registry.auth/expires-at
    version_added: 1.1.0
  refresh_before:
    description:
      - Seconds before the expiry at which short-lived credentials (those with O(registries[].expires_at)) are
        replaced. A secret whose O(expiry_annotation) is later than now plus this keeps its credentials (same
        registry and username), so a run scheduled every few minutes writes only when a refresh is due, when a
        namespace or service account lacks the secret, or when a static credential changed.
      - Unset (the default), the given credentials are always written.
    type: int
    version_added: 1.1.0
extends_documentation_fragment:
  - cloud_registry.auth.k8s_auth
  - cloud_registry.auth.secrets_transfer
attributes:
  check_mode:
    support: full
    description:
      - Reads the current state and sends every write with C(dryRun=All), so the API server validates it and checks
        permissions, without storing anything. The result and diff are those of a real run.
  diff_mode:
    support: full
    description:
      - One diff per changed namespace; the secret's payload is shown decoded with passwords and C(auth) masked
        (a changed hidden value reads C(******** (changed))), plus each service account's C(imagePullSecrets).
  idempotent:
    support: full
    description: A second run with the same options reports no change and sends no write request.
  action_group:
    support: full
    description: Use C(group/cloud_registry.auth.k8s) in C(module_defaults) to give the connection options once.
    membership:
      - cloud_registry.auth.k8s
  platform:
    support: full
    platforms: posix
    description: Any host with Python and the C(kubernetes) package that can reach the API server.
notes:
  - Runs where the task runs, usually on the controller (C(hosts=localhost) or C(delegate_to=localhost)) with its
    kubeconfig. Needs RBAC C(get), C(create), C(patch) and C(delete) on C(secrets), C(get) and C(patch) on
    C(serviceaccounts) in the namespaces, and C(list) on C(namespaces) for O(namespace_selector) / O(all_namespaces).
  - Registry tokens are short-lived (Google and Azure one hour, ECR twelve hours); schedule the
    P(cloud_registry.auth.k8s_pull_secrets#role) role often with O(refresh_before), or run the collection's
    Event-Driven Ansible rulebook, to refresh them before they expire.
seealso:
  - name: Pull an image from a private registry
    description: The Kubernetes task this module automates.
    link: https://kubernetes.io/docs/tasks/configure-pod-container/pull-image-private-registry/
  - name: Add imagePullSecrets to a service account
    description: Kubernetes documentation.
    link: https://kubernetes.io/docs/tasks/configure-pod-container/configure-service-account/#add-imagepullsecrets-to-a-service-account
  - module: kubernetes.core.k8s
"""

EXAMPLES = r"""
---
- name: One pull secret for two registries in three namespaces, used by their default service account
  cloud_registry.auth.k8s_pull_secret:
    name: regcred
    namespaces: [team-a, team-b, team-c]
    registries:
      - server: registry.example.com
        username: ci
        password: "{{ vault_registry_password }}"
      - server: docker.io
        username: acme
        password: "{{ vault_dockerhub_token }}"
    service_accounts: [default]
    kubeconfig: ~/.kube/prod.yaml
    context: prod

- name: Fresh Artifact Registry token in every namespace labelled pull-from=gar
  cloud_registry.auth.k8s_pull_secret:
    name: gar-pull
    namespace_selector: pull-from=gar
    registries:
      - "{{ lookup('cloud_registry.auth.registry_token', provider='gcp', registry='europe-docker.pkg.dev') }}"
    service_accounts: [default, builder]
    labels:
      app.kubernetes.io/managed-by: ansible

- name: Copy the controller's docker logins (credential helpers resolved) to all namespaces but the system ones
  cloud_registry.auth.k8s_pull_secret:
    name: regcred
    all_namespaces: true
    exclude_namespaces: [kube-*, default]
    config_file: ~/.docker/config.json
    resolve_helpers: true

- name: Add one registry to an existing secret, keeping the others
  cloud_registry.auth.k8s_pull_secret:
    name: regcred
    namespaces: [team-a]
    merge: true
    registries:
      - server: ghcr.io
        username: bot
        password: "{{ vault_ghcr_token }}"

- name: The secret for every service account of the team namespaces, and only labelled ones elsewhere
  cloud_registry.auth.k8s_pull_secret:
    name: regcred
    namespace_selector: team
    registries: "{{ registry_credentials }}"
    all_service_accounts: true

- name: Only service accounts that ask for it (the label imagepullsecret-patcher users know)
  cloud_registry.auth.k8s_pull_secret:
    name: regcred
    all_namespaces: true
    exclude_namespaces: [kube-*]
    registries: "{{ registry_credentials }}"
    service_account_selector: pull-secrets=inject

- name: Scheduled every 10 minutes, writes only when the token expires within 30 minutes (or a namespace lacks it)
  cloud_registry.auth.k8s_pull_secret:
    name: acr-pull
    namespace_field_selector: metadata.name!=kube-system
    registries:
      - "{{ lookup('cloud_registry.auth.registry_token', provider='azure', registry='myreg.azurecr.io') }}"
    all_service_accounts: true
    refresh_before: 1800

- name: Remove the secret and its imagePullSecrets entries
  cloud_registry.auth.k8s_pull_secret:
    name: regcred
    namespaces: [team-a, team-b]
    service_accounts: [default]
    state: absent
"""

RETURN = r"""
name:
  description: The secret's name.
  returned: always
  type: str
  sample: regcred
expires_at:
  description:
    - The earliest O(expiry_annotation) of the secrets after the run (ISO 8601 UTC), or V(null) when no secret
      holds a credential with an expiry.
  returned: always
  type: str
  sample: "2026-12-03T11:00:00Z"
  version_added: 1.1.0
refresh_at:
  description:
    - RV(expires_at) minus O(refresh_before), the time by which the next run has to start to replace the credentials.
  returned: always
  type: str
  sample: "2026-12-03T10:30:00Z"
  version_added: 1.1.0
state:
  description: The requested state.
  returned: always
  type: str
  sample: present
registries:
  description: Registry keys in the secret's C(.dockerconfigjson) (normalised; no credentials).
  returned: always
  type: list
  elements: str
  sample: ["https://index.docker.io/v1/", "registry.example.com"]
namespaces:
  description: One entry per namespace.
  returned: always
  type: list
  elements: dict
  contains:
    namespace:
      description: The namespace.
      type: str
      sample: team-a
    status:
      description: V(ok), V(missing) (namespace not found), V(skipped) (being deleted) or V(failed).
      type: str
      sample: ok
    secret:
      description:
        - What happened to the secret; V(created), V(updated), V(unchanged), V(deleted) or V(absent); null when
          the namespace was missing, skipped or failed before.
      type: str
      sample: created
    service_accounts:
      description: Service account name to V(patched), V(unchanged) or V(missing).
      type: dict
      sample: {"default": "patched"}
    changed:
      description: Whether anything changed in this namespace.
      type: bool
    expires_at:
      description: The secret's O(expiry_annotation) after the run; V(null) when it has none.
      type: str
      sample: "2026-12-03T11:00:00Z"
      version_added: 1.1.0
    msg:
      description: Why the namespace is missing, skipped or failed.
      type: str
      returned: when status is not V(ok)
totals:
  description: Counts over all namespaces.
  returned: always
  type: dict
  sample:
    namespaces: 3
    created: 2
    updated: 0
    unchanged: 1
    deleted: 0
    absent: 0
    service_accounts_patched: 2
    service_accounts_unchanged: 1
    service_accounts_missing: 0
    missing: 0
    skipped: 0
    failed: 0
failed_namespaces:
  description: Namespaces where an error occurred (the task fails when this is not empty).
  returned: always
  type: list
  elements: str
missing_namespaces:
  description: Namespaces that do not exist (a warning, not a failure).
  returned: always
  type: list
  elements: str
api_requests:
  description: Number of requests sent to the API server.
  returned: always
  type: int
  sample: 6
elapsed:
  description: Seconds spent reconciling the namespaces.
  returned: always
  type: float
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloud_registry.auth.plugins.module_utils.kube import (
    AUTH_ARG_SPEC,
    AUTH_KEYS,
    KubeClient,
    KubeError,
    kubeconfig_secrets,
    proxy_secrets,
    reconcile_pull_secret,
)

from ansible_collections.cloud_registry.auth.plugins.module_utils.secrets_transfer import (
    SECRETS_ARGSPEC,
    receive_secrets,
)


def main():
    argument_spec = dict(
        name=dict(type="str", required=True),
        namespaces=dict(type="list", elements="str"),
        namespace_selector=dict(type="raw"),
        namespace_field_selector=dict(type="raw"),
        all_namespaces=dict(type="bool", default=False),
        exclude_namespaces=dict(type="list", elements="str", default=[]),
        registries=dict(
            type="list",
            elements="dict",
            options=dict(
                server=dict(type="str", required=True, aliases=["registry"]),
                username=dict(type="str", required=True),
                password=dict(type="str", required=True, no_log=True),
                email=dict(type="str"),
                expires_at=dict(type="str"),
            ),
        ),
        config_file=dict(type="path"),
        resolve_helpers=dict(type="bool", default=False),
        merge=dict(type="bool", default=False),
        service_accounts=dict(type="list", elements="str", default=[]),
        all_service_accounts=dict(type="bool", default=False),
        service_account_selector=dict(type="raw"),
        state=dict(type="str", default="present", choices=["present", "absent"]),
        labels=dict(type="dict", default={}),
        annotations=dict(type="dict", default={}),
        parallel=dict(type="int", default=16),
        expiry_annotation=dict(type="str", default="cloud-registry.auth/expires-at"),
        refresh_before=dict(type="int"),
    )
    argument_spec.update(AUTH_ARG_SPEC)
    argument_spec.update(SECRETS_ARGSPEC)
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[
            ("namespaces", "namespace_selector", "all_namespaces"),
            ("namespaces", "namespace_field_selector"),
            ("registries", "config_file"),
        ],
        required_one_of=[("namespaces", "namespace_selector", "all_namespaces", "namespace_field_selector")],
        required_if=[("state", "present", ("registries", "config_file"), True)],
        supports_check_mode=True,
    )
    p = receive_secrets(module)
    if not (p["all_namespaces"] or p["namespaces"] or p["namespace_selector"] or p["namespace_field_selector"]):
        module.fail_json(
            msg="give namespaces (a non-empty list), namespace_selector, namespace_field_selector or all_namespaces: true"
        )
    if p["parallel"] < 1:
        module.fail_json(msg="parallel must be at least 1, got %d" % p["parallel"])
    auth = dict((k, p[k]) for k in AUTH_KEYS)
    # user:password@ in a proxy URL, tokens and keys of a kubeconfig given as a dictionary
    module.no_log_values.update(proxy_secrets(auth) + kubeconfig_secrets(auth))
    try:
        client = KubeClient.from_auth(auth, pool_size=p["parallel"])
        if client.insecure:
            module.warn(
                "the TLS certificate of the Kubernetes API server at %s is not verified (validate_certs: "
                "false or the kubeconfig's insecure-skip-tls-verify); give ca_cert instead" % client.cluster
            )
        result = reconcile_pull_secret(client, p, check_mode=module.check_mode, run_command=module.run_command)
    except KubeError as exc:
        module.fail_json(msg=str(exc))
    diff = result.pop("diff")
    if module._diff:
        result["diff"] = diff
    for r in result["namespaces"]:
        if r["status"] == "missing":
            module.warn("%s; nothing was done there" % r.get("msg", "namespace %s does not exist" % r["namespace"]))
    if result["failed_namespaces"]:
        msgs = [r["msg"] for r in result["namespaces"] if r["status"] == "failed"]
        module.fail_json(
            msg="k8s_pull_secret %s failed in %d of %d namespaces: %s"
            % (
                result["name"],
                len(msgs),
                result["totals"]["namespaces"],
                "; ".join(msgs[:5]) + ("; ..." if len(msgs) > 5 else ""),
            ),
            **result,
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
