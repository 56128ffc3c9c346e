# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Kubernetes API access, same option names and environment variables as kubernetes.core.
    DOCUMENTATION = r"""
options:
  kubeconfig:
    description:
      - Path to a kubeconfig file, or the kubeconfig itself as a dictionary.
      - Several paths may be joined with C(:) as in E(KUBECONFIG).
      - When neither O(kubeconfig), O(context) nor O(host) is given, the module uses the in-cluster
        configuration if it runs in a pod (see O(in_cluster)), otherwise E(KUBECONFIG) or C(~/.kube/config).
      - Read from E(K8S_AUTH_KUBECONFIG) when not set.
    type: raw
    version_added: 0.1.0
  context:
    description:
      - The kubeconfig context to use; the kubeconfig's C(current-context) when not set.
      - Read from E(K8S_AUTH_CONTEXT) when not set.
    type: str
    version_added: 0.1.0
  host:
    description:
      - URL of the Kubernetes API server, for example C(https://10.0.0.1:6443).
      - Alone, it is used with O(api_key) and the TLS options; with a kubeconfig it overrides the cluster's server.
      - Read from E(K8S_AUTH_HOST) when not set.
    type: str
    version_added: 0.1.0
  api_key:
    description:
      - A bearer token (for example a service account token) sent to the API server.
      - Read from E(K8S_AUTH_API_KEY) when not set.
    type: str
    version_added: 0.1.0
  validate_certs:
    description:
      - Whether to verify the API server's TLS certificate. Defaults to the kubeconfig's setting (verify).
      - Read from E(K8S_AUTH_VERIFY_SSL) when not set.
    type: bool
    aliases: [verify_ssl]
    version_added: 0.1.0
  ca_cert:
    description:
      - Path to a CA bundle that signs the API server's certificate.
      - Read from E(K8S_AUTH_SSL_CA_CERT) when not set.
    type: path
    aliases: [ssl_ca_cert]
    version_added: 0.1.0
  client_cert:
    description:
      - Path to a client certificate for TLS client authentication.
      - Read from E(K8S_AUTH_CERT_FILE) when not set.
    type: path
    aliases: [cert_file]
    version_added: 0.1.0
  client_key:
    description:
      - Path to the key of O(client_cert).
      - Read from E(K8S_AUTH_KEY_FILE) when not set.
    type: path
    aliases: [key_file]
    version_added: 0.1.0
  proxy:
    description:
      - HTTP(S) proxy URL for the API server connection.
      - Read from E(K8S_AUTH_PROXY) when not set.
    type: str
    version_added: 0.1.0
  in_cluster:
    description:
      - Use the pod's service account (token and CA under C(/var/run/secrets/kubernetes.io/serviceaccount), server
        from E(KUBERNETES_SERVICE_HOST)).
      - When not set it is used automatically if the module runs in a pod and neither O(kubeconfig), O(context)
        nor O(host) is given, as in kubernetes.core; V(false) never uses it.
    type: bool
    version_added: 0.1.0
requirements:
  - kubernetes >= 24.2.0 (python package, on the host that runs the module)
notes:
  - The options and their environment variables have the same names as in the kubernetes.core collection, so
    C(module_defaults) for C(group/kubernetes.core.k8s) style variables carry over; this collection's modules are
    in the action group C(cloud_registry.auth.k8s).
"""
