# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # TLS and timeout options for talking to a registry (registry_login and friends).
    DOCUMENTATION = r"""
options:
  validate_certs:
    description:
      - Verify the registry's TLS certificate (and the token service's).
      - V(false) also allows a plain-HTTP fallback, like a Docker "insecure registry".
    type: bool
    default: true
    version_added: 1.0.0
  ca_cert:
    description:
      - PEM file with the CA certificate(s) that signed the registry's and the token service's certificates, used
        instead of the system CA store.
      - Read where the verification runs (see O(verify_from) where the plugin has it).
    type: path
    version_added: 1.0.0
  timeout:
    description:
      - Seconds to wait for each answer from the registry or its token service.
    type: int
    default: 30
    version_added: 1.0.0
"""
