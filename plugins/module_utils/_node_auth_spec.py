# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""node_auth_apply's argument spec (private, not public API)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.cloud_registry.auth.plugins.module_utils._registry_login_spec import (
    MUTUALLY_EXCLUSIVE,
    credential_options,
)

LOGIN_OPTIONS = credential_options()
LOGIN_OPTIONS["_verified_scheme"] = dict(type="str")  # set by the action plugin once it verified the credential

ARGUMENT_SPEC = dict(
    logins=dict(type="list", elements="dict", default=[], options=LOGIN_OPTIONS, mutually_exclusive=MUTUALLY_EXCLUSIVE),
    files=dict(
        type="list",
        elements="dict",
        default=[],
        options=dict(
            path=dict(type="path", required=True),
            format=dict(type="str", default="docker", choices=["docker", "containers"]),
            identity_token=dict(type="bool", default=True),
        ),
    ),
    owner=dict(type="str", default="root"),
    group=dict(type="str", default="root"),
    mode=dict(type="raw", default="0600"),
    containerd=dict(
        type="dict",
        default={},
        options=dict(
            mode=dict(type="str", default="none", choices=["none", "hosts", "cri_auth"]),
            certs_dir=dict(type="path", default="/etc/containerd/certs.d"),
            ca_file=dict(type="path"),
            config_path=dict(type="path", default="/etc/containerd/config.toml"),
            dropin=dict(type="path"),
            config_version=dict(type="int", default=2, choices=[2, 3]),
        ),
    ),
    providers=dict(
        type="dict",
        default={},
        options=dict(
            entries=dict(type="list", elements="dict", default=[]),
            config_path=dict(type="path", default="/etc/kubernetes/image-credential-provider-config.yaml"),
            bin_dir=dict(type="path", default="/usr/libexec/kubernetes/kubelet-plugins/credential-provider/exec"),
            # set by the action plugin from the entries
            _config=dict(type="str"),
            _binaries=dict(type="list", elements="dict", default=[]),
            _downloads=dict(type="list", elements="dict", default=[]),
        ),
    ),
    verify=dict(type="bool", default=True),
    verify_from=dict(type="str", default="controller", choices=["controller", "host"]),
    validate_certs=dict(type="bool", default=True),
    ca_cert=dict(type="path"),
    timeout=dict(type="int", default=30),
)
# set by the action plugin
INTERNAL_ARGSPEC = dict(
    _bearer_hosts=dict(type="list", elements="str", default=[]),
    _binary_files=dict(type="dict", default={}),
)
