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
    version_added: 1.0.0
  context:
    description:
      - The kubeconfig context to use; the kubeconfig's C(current-context) when not set.
      - Read from E(K8S_AUTH_CONTEXT) when not set.
    type: str
    version_added: 1.0.0
  host:
    description:
      - URL of the Kubernetes API server, for example C(https://10.0.0.1:6443).
      - Alone, it is used with O(api_key) and the TLS options; with a kubeconfig it overrides the cluster's server.
      - Read from E(K8S_AUTH_HOST) when not set.
    type: str
    version_added: 1.0.0
  api_key:
    description:
      - A bearer token (for example a service account token) sent to the API server.
      - Read from E(K8S_AUTH_API_KEY) when not set.
    type: str
    version_added: 1.0.0
  validate_certs:
    description:
      - Whether to verify the API server's TLS certificate. Defaults to the kubeconfig's setting (verify unless
        C(insecure-skip-tls-verify)); without a kubeconfig, verify.
      - Without O(ca_cert) (or the kubeconfig's C(certificate-authority) / C(certificate-authority-data)) the
        certificate must chain to the system's CA store; a cluster CA is almost never there, so the task fails
        naming the server and these two options.
      - V(false) is insecure (anyone on the path can read the credentials); the task warns when it is used.
      - Read from E(K8S_AUTH_VERIFY_SSL) when not set.
    type: bool
    aliases: [verify_ssl]
    version_added: 1.0.0
  ca_cert:
    description:
      - Path to a PEM CA bundle that signs the API server's certificate (the cluster CA). Overrides the
        kubeconfig's C(certificate-authority) / C(certificate-authority-data).
      - Read from E(K8S_AUTH_SSL_CA_CERT) when not set.
    type: path
    aliases: [ssl_ca_cert]
    version_added: 1.0.0
  client_cert:
    description:
      - Path to a PEM client certificate for TLS client authentication (signed by the cluster's client CA; the
        API server takes its CN as the user name and its O as groups). Overrides the kubeconfig user's
        C(client-certificate) / C(client-certificate-data).
      - The certificate and key are checked before any request; a key that does not match, is not PEM or is
        encrypted fails the task naming the files.
      - Read from E(K8S_AUTH_CERT_FILE) when not set.
    type: path
    aliases: [cert_file]
    version_added: 1.0.0
  client_key:
    description:
      - Path to the unencrypted PEM private key of O(client_cert).
      - Read from E(K8S_AUTH_KEY_FILE) when not set.
    type: path
    aliases: [key_file]
    version_added: 1.0.0
  tls_server_name:
    description:
      - The name to expect in the API server's certificate (and to send as SNI) when it differs from the host in
        O(host) / the kubeconfig's server, for example when connecting by IP address or through a tunnel.
        Overrides the kubeconfig cluster's C(tls-server-name).
      - Read from E(K8S_AUTH_TLS_SERVER_NAME) when not set.
    type: str
    version_added: 1.0.0
  proxy:
    description:
      - URL of an HTTP proxy for the API server connection, for example C(http://proxy.example.com:3128); HTTPS
        API servers are reached through a C(CONNECT) tunnel, so TLS stays end to end. Overrides the kubeconfig
        cluster's C(proxy-url).
      - C(user:password@) in the URL is sent as C(Proxy-Authorization) (basic) and masked in all output.
      - A proxy given here or as C(proxy-url) is used even when E(NO_PROXY) names the API server (as kubectl
        does); use O(no_proxy) to exempt hosts. Without either, the C(kubernetes) client may use E(HTTPS_PROXY) /
        E(HTTP_PROXY) and E(NO_PROXY) (recent releases of the client do).
      - Read from E(K8S_AUTH_PROXY) when not set.
    type: str
    version_added: 1.0.0
  no_proxy:
    description:
      - Comma-separated hosts, domains, IP addresses or CIDR ranges reached without O(proxy), for example
        C(localhost,127.0.0.1,.svc,10.0.0.0/8).
      - Read from E(K8S_AUTH_NO_PROXY) when not set.
    type: str
    version_added: 1.0.0
  proxy_headers:
    description:
      - Headers for the proxy (same names as in kubernetes.core).
    type: dict
    version_added: 1.0.0
    suboptions:
      proxy_basic_auth:
        description:
          - C(user:password) for the proxy's basic authentication (C(Proxy-Authorization)).
          - Read from E(K8S_AUTH_PROXY_HEADERS_PROXY_BASIC_AUTH) when not set.
        type: str
        version_added: 1.0.0
      user_agent:
        description:
          - C(User-Agent) sent to the proxy with C(CONNECT).
          - Read from E(K8S_AUTH_PROXY_HEADERS_USER_AGENT) when not set.
        type: str
        version_added: 1.0.0
  in_cluster:
    description:
      - Use the pod's service account (token and CA under C(/var/run/secrets/kubernetes.io/serviceaccount), server
        from E(KUBERNETES_SERVICE_HOST)).
      - When not set it is used automatically if the module runs in a pod and neither O(kubeconfig), O(context)
        nor O(host) is given, as in kubernetes.core; V(false) never uses it.
    type: bool
    version_added: 1.0.0
requirements:
  - kubernetes >= 24.2.0 (python package, on the host that runs the module)
notes:
  - Errors name the API server (and the kubeconfig context) and the fix; an untrusted server certificate, a
    rejected client certificate or token (HTTP 401) and a proxy that refuses the tunnel fail the task before
    anything is written.
  - The options and their environment variables have the same names as in the kubernetes.core collection, so
    C(module_defaults) for C(group/kubernetes.core.k8s) style variables carry over; this collection's modules are
    in the action group C(cloud_registry.auth.k8s).
"""
