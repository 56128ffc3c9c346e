#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: credhelper_config
short_description: Point registries at Docker credential helpers (credHelpers / credsStore)
version_added: 1.0.0
description:
  - Writes C(credHelpers) and C(credsStore) in Docker's C(config.json), or C(credHelpers) in the containers
    C(auth.json) used by podman, skopeo, buildah and CRI-O.
  - The task form of C(gcloud auth configure-docker), C(docker-credential-gcr configure-docker) and the
    Alibaba Cloud acr-helper setup, for any registry domain (for example C(us-docker.pkg.dev),
    C(u-france-east1-docker.s3nsregistry.fr), C(123456789012.dkr.ecr.eu-west-1.amazonaws.com),
    C(registry.cn-beijing.aliyuncs.com)).
  - Registry names are normalised like the docker CLI does (scheme, path and trailing slash dropped; Docker Hub
    is C(index.docker.io) in C(credHelpers)); entries under legacy spellings are replaced, every other key of the
    file (C(auths), C(proxies), C(psFormat), other registries' helpers, ...) is kept.
  - The write is locked, atomic, keeps the owner and mode of an existing file, and creates a new file C(0600)
    in a C(0700) directory. A file that cannot be parsed is an error and is left unchanged.
  - Standard library only on the managed host; no Docker daemon needed.
author:
  - cloud_registry.auth maintainers (@cloud-registry-auth)
options:
  helpers:
    description:
      - Map of registry to helper name (the part after C(docker-credential-)).
    type: dict
    version_added: 1.0.0
  registries:
    description:
      - Registries that all use O(helper).
      - With O(state=absent), O(helper) may be left out to remove these registries whatever helper they use.
    type: list
    elements: str
    version_added: 1.0.0
  helper:
    description:
      - Helper for O(registries) and O(preset) (for example V(gcloud), V(gcr), V(ecr-login), V(acr-helper)).
      - For O(preset=gcr) it defaults to V(gcloud).
    type: str
    version_added: 1.0.0
  preset:
    description:
      - A named set of registries.
      - V(gcr) is the list C(gcloud auth configure-docker) adds when given no registry
        (C(gcr.io), C(us.gcr.io), C(eu.gcr.io), C(asia.gcr.io), C(staging-k8s.gcr.io), C(marketplace.gcr.io)).
    type: str
    choices: [gcr]
    version_added: 1.0.0
  creds_store:
    description:
      - Sets C(credsStore), the default helper for every registry without a C(credHelpers) entry.
      - An empty string removes C(credsStore). Only for O(format=docker).
    type: str
    version_added: 1.0.0
  state:
    description:
      - V(present) adds or updates the entries; V(absent) removes them (only those pointing at the given helper
        when a helper is given).
    type: str
    choices: [present, absent]
    default: present
    version_added: 1.0.0
  exclusive:
    description:
      - With O(state=present), remove every C(credHelpers) entry that was not requested.
    type: bool
    default: false
    version_added: 1.0.0
  config_path:
    description:
      - The file to edit.
      - Default for O(format=docker) is C($DOCKER_CONFIG/config.json), else C(~/.docker/config.json) of the user the
        module runs as; for O(format=containers) C($REGISTRY_AUTH_FILE), else C(~/.config/containers/auth.json).
      - With O(user), the default is that user's C(~/.docker/config.json) (or C(~/.config/containers/auth.json)).
      - A symlink is followed and its target edited, like the docker CLI does.
    type: path
    version_added: 1.0.0
  user:
    description:
      - The local user (name or uid) whose file this is, typically with C(become) as root.
      - Their home gives the default O(config_path); the file and the directories created for it belong to them
        unless O(owner) / O(group) say otherwise. A user that does not exist is an error and nothing is written.
    type: str
    version_added: 1.0.0
  headless_fallback:
    description:
      - Keep C(docker-credential-secretservice) out of charge where it cannot work for the file's user (O(user), else
        the user the module runs as). It needs that user's D-Bus session bus (C(/run/user/UID/bus)); on a headless
        host there is none, and every pull of a registry it serves fails.
      - When it cannot work, C(credHelpers) entries naming it are not written, and a C(credsStore) naming it (asked
        for with O(creds_store) or already in the file) is replaced by this store; V(file) removes C(credsStore) so
        logins stay in the file. A warning says so. When it can work, nothing changes.
      - With a bus present, the helper is asked to C(list) as that user (as root this uses C(runuser)), so a locked
        or missing secret service is caught too.
      - With this option alone (no helpers, no O(creds_store)) the module only checks and repairs C(credsStore).
    type: str
    version_added: 1.0.0
  format:
    description:
      - V(docker) is Docker's C(config.json); V(containers) is the containers-auth.json format.
    type: str
    choices: [docker, containers]
    default: docker
    version_added: 1.0.0
  require_helper:
    description:
      - Fail (and change nothing) when a named C(docker-credential-<helper>) is not on the host's C(PATH).
        When false, the file is written and a warning names the missing helpers.
    type: bool
    default: false
    version_added: 1.0.0
  owner:
    description:
      - Owner of the file (and of directories this module creates). Default keeps the owner of an existing file;
        a new file belongs to the user the module runs as.
    type: str
    version_added: 1.0.0
  group:
    description:
      - Group of the file, like O(owner).
    type: str
    version_added: 1.0.0
  mode:
    description:
      - Octal mode of the file, for example V('0600'). Default keeps the mode of an existing file; a new file is C(0600).
    type: raw
    version_added: 1.0.0
attributes:
  check_mode:
    support: full
    description: Computes the same result and diff without writing.
  diff_mode:
    support: full
    description: Shows the file before and after, with every secret (C(auth), tokens) masked.
  idempotent:
    support: full
    description: A second run with the same options reports no change.
  platform:
    support: full
    platforms: posix
    description: Any POSIX host with Python; no Docker daemon or SDK is needed.
notes:
  - Helpers read credentials at pull time; this module does not check that the helper can log in. Use
    M(cloud_registry.auth.registry_login) for static credentials.
seealso:
  - module: cloud_registry.auth.registry_login
  - name: The credential_helpers role
    description: Installs the docker-credential-* helpers this module points at.
    link: https://example.invalid/cloud_registry/auth/roles/credential_helpers
  - name: gcloud auth configure-docker
    description: The Google Cloud CLI command this module replaces.
    link: https://cloud.google.com/sdk/gcloud/reference/auth/configure-docker
"""

EXAMPLES = r"""
---
- name: Use gcloud for the default GCR hosts (like gcloud auth configure-docker)
  cloud_registry.auth.credhelper_config:
    preset: gcr

- name: Use gcloud for Artifact Registry and a sovereign-cloud registry
  cloud_registry.auth.credhelper_config:
    helper: gcloud
    registries:
      - europe-west1-docker.pkg.dev
      - u-france-east1-docker.s3nsregistry.fr

- name: One helper per registry for user alice, owned by her
  cloud_registry.auth.credhelper_config:
    helpers:
      123456789012.dkr.ecr.eu-west-1.amazonaws.com: ecr-login
      registry.cn-beijing.aliyuncs.com: acr-helper
    user: alice
    require_helper: true
  become: true

- name: Store every other registry's login in secretservice, unless this is a headless server
  cloud_registry.auth.credhelper_config:
    creds_store: secretservice
    headless_fallback: file
    user: alice
  become: true

- name: Store every other registry's login in pass
  cloud_registry.auth.credhelper_config:
    creds_store: pass

- name: Stop using gcloud for gcr.io
  cloud_registry.auth.credhelper_config:
    registries: [gcr.io]
    state: absent
"""

RETURN = r"""
---
config_path:
  description: The file that was (or in check mode would be) written, symlinks resolved.
  returned: always
  type: str
  sample: /root/.docker/config.json
cred_helpers:
  description: The C(credHelpers) map after the change.
  returned: always
  type: dict
  sample: {"gcr.io": "gcloud", "us-docker.pkg.dev": "gcloud"}
creds_store:
  description: The C(credsStore) value after the change, or null.
  returned: always
  type: str
  sample: pass
added:
  description: Registry keys that were added.
  returned: always
  type: list
  elements: str
  sample: ["us-docker.pkg.dev"]
updated:
  description: Registry keys whose helper changed (or that were stored under a legacy spelling).
  returned: always
  type: list
  elements: str
  sample: []
removed:
  description: Registry keys that were removed.
  returned: always
  type: list
  elements: str
  sample: []
missing_helpers:
  description: Helper names whose C(docker-credential-<name>) binary is not on the host's PATH.
  returned: always
  type: list
  elements: str
  sample: ["gcloud"]
secretservice_usable:
  description:
    - With O(headless_fallback), whether C(docker-credential-secretservice) can work for the file's user; null when
      not checked, or when it could not be told (another user's session bus without root).
  returned: always
  type: bool
  sample: false
headless_fallback:
  description:
    - What was kept away from secretservice because it cannot work here (C(credsStore) and/or registry keys).
  returned: always
  type: list
  elements: str
  sample: ["credsStore"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.cloud_registry.auth.plugins.module_utils.credential_store import CredentialStoreError
from ansible_collections.cloud_registry.auth.plugins.module_utils.credhelpers import configure
from ansible_collections.cloud_registry.auth.plugins.module_utils.docker_config import (
    DockerConfigError,
    for_user,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            helpers=dict(type="dict"),
            registries=dict(type="list", elements="str"),
            helper=dict(type="str"),
            preset=dict(type="str", choices=["gcr"]),
            creds_store=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            exclusive=dict(type="bool", default=False),
            config_path=dict(type="path"),
            user=dict(type="str"),
            headless_fallback=dict(type="str"),
            format=dict(type="str", default="docker", choices=["docker", "containers"]),
            require_helper=dict(type="bool", default=False),
            owner=dict(type="str"),
            group=dict(type="str"),
            mode=dict(type="raw"),
        ),
        mutually_exclusive=[("helpers", "registries")],
        required_one_of=[("helpers", "registries", "preset", "creds_store", "headless_fallback")],
        supports_check_mode=True,
    )
    p = module.params
    try:
        path, owner, group, account = for_user(p["user"], p["config_path"], p["format"], p["owner"], p["group"])
        result = configure(
            path,
            helpers=p["helpers"],
            registries=p["registries"],
            helper=p["helper"],
            preset=p["preset"],
            creds_store=p["creds_store"],
            state=p["state"],
            exclusive=p["exclusive"],
            fmt=p["format"],
            require_helper=p["require_helper"],
            check_mode=module.check_mode,
            owner=owner,
            group=group,
            mode=p["mode"],
            headless_fallback=p["headless_fallback"],
            account=account,
            run_command=module.run_command,
        )
    except (DockerConfigError, CredentialStoreError) as e:
        module.fail_json(msg=str(e))
    diff = result.pop("diff")
    reason = result.pop("secretservice_reason")
    for key, name in result.pop("_shadowed"):
        module.warn(
            "%s: the inline login for %s stays in the file, but docker-credential-%s, which mints its own "
            "credentials, answers for %s%s and the docker CLI does not read the login then; remove it "
            "(cloud_registry.auth.registry_login state=absent store=file) or do not hand %s to %s"
            % (
                result["config_path"],
                key,
                name,
                key,
                " once it is installed" if name in result["missing_helpers"] else "",
                key,
                name,
            )
        )
    if result["missing_helpers"]:
        missing = ", ".join("docker-credential-" + name for name in result["missing_helpers"])
        module.warn(
            "%s: %s not on PATH; pulls from these registries fail until it is installed "
            "(cloud_registry.auth.credential_helpers role)" % (result["config_path"], missing)
        )
    if result["headless_fallback"]:
        who = account.name if account else "the user running this module"
        module.warn(
            "%s: docker-credential-secretservice cannot work for %s on this host (%s); %s instead of secretservice, "
            "so the docker CLI keeps working"
            % (
                result["config_path"],
                who,
                reason,
                "using %s" % p["headless_fallback"] if p["headless_fallback"] != "file" else "keeping logins in the file",
            )
            + " (%s)" % ", ".join(result["headless_fallback"])
        )
    if module._diff:
        result["diff"] = diff()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
