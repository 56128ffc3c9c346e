#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: gcp_secret_iam
short_description: Store a registry credential in Google Secret Manager, grant access to it, wire it into Artifact Registry
version_added: 1.0.0
description:
  - Makes sure a Secret Manager secret exists (replication and labels), that its latest enabled version holds
    O(secret_value) (a new version is added only when the value differs), that O(members) have O(role) on the
    secret, and optionally that an Artifact Registry remote repository uses the secret version as its upstream
    password (the Docker Hub upstream flow of Artifact Registry remote repositories).
  - By default the member is the Artifact Registry service agent of the project,
    C(service-PROJECT_NUMBER@gcp-sa-artifactregistry.iam.gserviceaccount.com); the project number is read from
    Cloud Resource Manager when O(project_number) is not given.
  - The IAM policy is changed by read-modify-write with its etag and policy version 3; other bindings, conditional
    bindings and other members are kept. A concurrent change (HTTP 409 C(ABORTED)) restarts the whole cycle with
    exponential backoff.
  - Runs on the controller (or wherever it is delegated) and calls the Google REST APIs with C(google-auth).
author:
  - cloud_registry.auth contributors (@cloud-registry)
extends_documentation_fragment:
  - cloud_registry.auth.gcp_auth
  - cloud_registry.auth.secrets_transfer
options:
  project:
    description: Project ID (or number) that holds the secret and the repository.
    type: str
    required: true
    version_added: 1.0.0
  secret_id:
    description: ID of the secret (letters, digits, C(-) and C(_)).
    type: str
    required: true
    version_added: 1.0.0
  secret_value:
    description:
      - The secret payload, for example a Docker Hub personal access token. Compared with the latest enabled
        version; a version is added only when it differs.
      - Omit it (and O(secret_file)) to manage only the secret and the binding and to use the latest enabled version.
    type: str
    version_added: 1.0.0
  secret_file:
    description: Path (where the module runs) of a file whose bytes are the payload, instead of O(secret_value).
    type: path
    version_added: 1.0.0
  replication:
    description:
      - Replication policy of the secret. V(user_managed) needs O(locations).
      - Replication cannot change after creation; a secret that exists with another replication is an error (delete
        and re-create it to change it).
    type: str
    choices: [automatic, user_managed]
    default: automatic
    version_added: 1.0.0
  locations:
    description: Locations of the replicas for O(replication=user_managed), for example V(europe-west1).
    type: list
    elements: str
    version_added: 1.0.0
  labels:
    description: Labels the secret must have. Other labels are kept unless O(purge_labels=true).
    type: dict
    version_added: 1.0.0
  purge_labels:
    description: Remove labels of the secret that are not in O(labels).
    type: bool
    default: false
    version_added: 1.0.0
  disable_previous:
    description:
      - Disable every other enabled version once the current value is in place (rotation). Disabled versions can
        still be enabled again in Secret Manager; nothing is destroyed.
    type: bool
    default: false
    version_added: 1.0.0
  members:
    description:
      - IAM members to grant O(role) on the secret (C(serviceAccount:...), C(user:...), C(group:...)). A bare
        service account e-mail is accepted.
      - Default is the Artifact Registry service agent of O(project).
    type: list
    elements: str
    version_added: 1.0.0
  role:
    description: Role granted to O(members) on the secret.
    type: str
    default: roles/secretmanager.secretAccessor
    version_added: 1.0.0
  project_number:
    description: Number of O(project), to build the service agent without asking Cloud Resource Manager.
    type: str
    version_added: 1.0.0
  remote_repository:
    description:
      - An Artifact Registry Docker remote repository that should authenticate upstream with O(remote_repository.username)
        and the secret version holding O(secret_value). Patched (update mask
        C(remoteRepositoryConfig.upstreamCredentials)) after the grant.
    type: dict
    version_added: 1.0.0
    suboptions:
      location:
        description: Region or multi-region of the repository, for example V(europe) or V(us-central1).
        type: str
        required: true
      repository:
        description: ID of the repository.
        type: str
        required: true
      username:
        description: The upstream (Docker Hub) user name.
        type: str
        required: true
      create:
        description: Create the repository (Docker format, remote mode, Docker Hub upstream) when it does not exist.
        type: bool
        default: false
      description:
        description: Description of a repository created with O(remote_repository.create=true).
        type: str
  state:
    description:
      - V(present) converges secret, version, binding and repository.
      - V(absent) removes O(members) from the O(role) binding; the secret itself is deleted only with
        O(delete_secret=true). The repository is not touched.
    type: str
    choices: [present, absent]
    default: present
    version_added: 1.0.0
  delete_secret:
    description: With O(state=absent), delete the whole secret (all versions and its policy).
    type: bool
    default: false
    version_added: 1.0.0
  iam_retries:
    description: How many times a policy write that lost a concurrent change (409 C(ABORTED)) is retried.
    type: int
    default: 5
    version_added: 1.0.0
  secretmanager_endpoint:
    description: Base URL of the Secret Manager API. Default C(https://secretmanager.UNIVERSE_DOMAIN).
    type: str
    version_added: 1.0.0
  resourcemanager_endpoint:
    description: Base URL of the Cloud Resource Manager API. Default C(https://cloudresourcemanager.UNIVERSE_DOMAIN).
    type: str
    version_added: 1.0.0
  artifactregistry_endpoint:
    description: Base URL of the Artifact Registry API. Default C(https://artifactregistry.UNIVERSE_DOMAIN).
    type: str
    version_added: 1.0.0
attributes:
  check_mode:
    support: full
    description: Reads everything and reports the same changes without writing.
  diff_mode:
    support: full
    description: Shows secret, version (value masked), the O(role) members and the repository's upstream credentials.
  idempotent:
    support: full
    description: A second run with the same value changes nothing (the payload is compared, not re-added).
requirements:
  - google-auth >= 2.20.0
  - requests
notes:
  - Needed permissions on the caller, depending on what changes - C(secretmanager.secrets.get/create/update/delete),
    C(secretmanager.versions.list/access/add/disable), C(secretmanager.secrets.getIamPolicy/setIamPolicy),
    C(resourcemanager.projects.get) (only when O(members) and O(project_number) are not given) and
    C(artifactregistry.repositories.get/update/create). A denied call fails naming the permission and the resource.
  - The secret value is compared by reading the latest enabled version, so the caller also needs
    C(secretmanager.versions.access).
seealso:
  - name: Configure remote repository authentication to Docker Hub
    description: Google's guide this module automates.
    link: https://cloud.google.com/artifact-registry/docs/repositories/configure-remote-auth-dockerhub
  - module: google.cloud.gcp_secretmanager_secret
  - plugin: cloud_registry.auth.registry_token
    plugin_type: lookup
"""

EXAMPLES = r"""
---
- name: Store the Docker Hub token, let Artifact Registry read it and use it upstream
  cloud_registry.auth.gcp_secret_iam:
    project: my-project
    secret_id: dockerhub-token
    secret_value: "{{ vault_dockerhub_token }}"
    disable_previous: true
    remote_repository:
      location: europe
      repository: dockerhub
      username: my-dockerhub-user
    credentials_file: /etc/ansible/gcp/deployer.json

- name: Grant a CI service account access to an existing secret, impersonating an admin account
  cloud_registry.auth.gcp_secret_iam:
    project: my-project
    secret_id: dockerhub-token
    members:
      - serviceAccount:ci@my-project.iam.gserviceaccount.com
    impersonate_service_account: secret-admin@my-project.iam.gserviceaccount.com

- name: User-managed replication in a sovereign cloud
  cloud_registry.auth.gcp_secret_iam:
    project: my-project
    secret_id: dockerhub-token
    secret_value: "{{ vault_dockerhub_token }}"
    replication: user_managed
    locations: [u-france-east1]
    universe_domain: s3nsapis.fr
    project_number: "123456789012"

- name: Revoke the service agent's access (the secret stays)
  cloud_registry.auth.gcp_secret_iam:
    project: my-project
    secret_id: dockerhub-token
    state: absent
"""

RETURN = r"""
secret:
  description: Resource name of the secret (C(projects/NUMBER/secrets/ID) as Secret Manager names it).
  returned: always
  type: str
  sample: projects/123456789012/secrets/dockerhub-token
secret_created:
  description: Whether the secret was (or, in check mode, would be) created.
  returned: always
  type: bool
version:
  description:
    - Resource name of the version that holds O(secret_value) (or the latest enabled version when no value is
      given); C(null) in check mode when a version would be added.
  returned: always
  type: str
  sample: projects/123456789012/secrets/dockerhub-token/versions/3
version_added:
  description: Whether a new version was (or would be) added.
  returned: always
  type: bool
versions_disabled:
  description: Versions disabled because of O(disable_previous).
  returned: always
  type: list
  elements: str
policy_changed:
  description: Whether the secret's IAM policy was (or would be) changed.
  returned: always
  type: bool
members:
  description: The members granted (or revoked), after defaults.
  returned: always
  type: list
  elements: str
  sample: [serviceAccount:service-123456789012@gcp-sa-artifactregistry.iam.gserviceaccount.com]
repository:
  description: Resource name of the remote repository, when O(remote_repository) is given.
  returned: always
  type: str
  sample: projects/my-project/locations/europe/repositories/dockerhub
repository_changed:
  description: Whether the repository was (or would be) created or its upstream credentials updated.
  returned: always
  type: bool
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloud_registry.auth.plugins.module_utils._gcp_auth import (
    AUTH_ARGSPEC,
    AUTH_MUTUALLY_EXCLUSIVE,
)
from ansible_collections.cloud_registry.auth.plugins.module_utils.gcp_api import GcpApiError, GcpClient, ensure_secret_iam
from ansible_collections.cloud_registry.auth.plugins.module_utils.secrets_transfer import (
    SECRETS_ARGSPEC,
    receive_secrets,
)


def main():
    argument_spec = dict(
        project=dict(type="str", required=True),
        secret_id=dict(type="str", required=True),
        secret_value=dict(type="str", no_log=True),
        secret_file=dict(type="path"),
        replication=dict(type="str", choices=["automatic", "user_managed"], default="automatic"),
        locations=dict(type="list", elements="str"),
        labels=dict(type="dict"),
        purge_labels=dict(type="bool", default=False),
        disable_previous=dict(type="bool", default=False),
        members=dict(type="list", elements="str"),
        role=dict(type="str", default="roles/secretmanager.secretAccessor"),
        project_number=dict(type="str"),
        remote_repository=dict(
            type="dict",
            options=dict(
                location=dict(type="str", required=True),
                repository=dict(type="str", required=True),
                username=dict(type="str", required=True),
                create=dict(type="bool", default=False),
                description=dict(type="str"),
            ),
        ),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        delete_secret=dict(type="bool", default=False),
        iam_retries=dict(type="int", default=5),
        secretmanager_endpoint=dict(type="str", no_log=False),
        resourcemanager_endpoint=dict(type="str"),
        artifactregistry_endpoint=dict(type="str"),
    )
    argument_spec.update(AUTH_ARGSPEC)
    argument_spec.update(SECRETS_ARGSPEC)
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=[("secret_value", "secret_file")] + AUTH_MUTUALLY_EXCLUSIVE,
        required_if=[("replication", "user_managed", ["locations"])],
        supports_check_mode=True,
    )
    params = dict(receive_secrets(module))
    try:
        if params.get("secret_file"):
            try:
                with open(params["secret_file"], "rb") as fh:
                    params["secret_value"] = fh.read()
            except (IOError, OSError) as exc:
                raise GcpApiError("cannot read secret_file %s: %s" % (params["secret_file"], exc.strerror)) from None
        client = GcpClient(
            params,
            endpoints={
                "secretmanager": params.get("secretmanager_endpoint"),
                "cloudresourcemanager": params.get("resourcemanager_endpoint"),
                "artifactregistry": params.get("artifactregistry_endpoint"),
            },
        )
        result = ensure_secret_iam(client, params, check_mode=module.check_mode)
    except GcpApiError as exc:
        module.fail_json(msg=str(exc))
    if not module._diff:
        result.pop("diff", None)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
