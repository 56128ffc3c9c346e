# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Kubernetes access and the pull-secret reconciler (private, not public API).

Two layers:

* ``KubeClient``: a thin client over the ``kubernetes`` package. The package
  loads kubeconfig / in-cluster configuration and builds the TLS/proxy-aware
  connection pool; requests are plain JSON over that pool, so the code works the
  same with every client release (the generated API classes changed shape
  between releases). Errors become ``KubeError`` with the API server's
  ``Status`` (code, reason, message) and a message that names the object and the fix.
* ``reconcile_pull_secret(client, spec, check_mode)``: the logic of
  ``k8s_pull_secret``: one ``kubernetes.io/dockerconfigjson`` Secret per
  namespace, service accounts' ``imagePullSecrets`` updated by read-modify-write
  with the resourceVersion (retried on 409 Conflict), namespaces in parallel.

Nothing here returns, logs or raises a secret value.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import copy
import fnmatch
import json
import os
import re
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from urllib.parse import quote, unquote, urlencode, urlsplit, urlunsplit

from ansible_collections.cloud_registry.auth.plugins.module_utils import dockerconfigjson, redact
from ansible_collections.cloud_registry.auth.plugins.module_utils.docker_config import (
    MASK,
    DockerConfigError,
    normalize_registry,
)
from ansible_collections.cloud_registry.auth.plugins.module_utils.distribution import reason_text
from ansible_collections.cloud_registry.auth.plugins.module_utils.errors import CloudRegistryError
from ansible_collections.cloud_registry.auth.plugins.module_utils.expiry import format_time, parse_time  # noqa: F401
from ansible_collections.cloud_registry.auth.plugins.module_utils.retry import TryAgain, retrying

KUBERNETES_IMPORT_ERROR = None
try:
    import urllib3
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.client import rest as k8s_rest
    from kubernetes.config.config_exception import ConfigException
except ImportError as _exc:  # the module reports it with missing_required_lib
    KUBERNETES_IMPORT_ERROR = _exc
    ConfigException = Exception

KUBERNETES_MIN_VERSION = "24.2.0"
PULL_SECRET_TYPE = "kubernetes.io/dockerconfigjson"
DATA_KEY = ".dockerconfigjson"
MAX_ATTEMPTS = 6
DEFAULT_TIMEOUT = (10, 60)

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


class KubeError(CloudRegistryError):
    """A Kubernetes operation failed. The message is safe to show (never a secret).

    ``code`` / ``reason`` come from the API server's Status when there was one.
    """

    def __init__(self, message, code=None, reason=None, fatal=False):
        super(KubeError, self).__init__(message)
        self.code = code
        self.reason = reason
        # fatal: concerns the whole cluster (unreachable, credentials rejected), not one namespace
        self.fatal = fatal


# --------------------------------------------------------------------------
# option spec (documented once in doc_fragments/k8s_auth.py)
# --------------------------------------------------------------------------


def _env(*names):
    from ansible.module_utils.basic import env_fallback

    return (env_fallback, list(names))


AUTH_ARG_SPEC = dict(
    kubeconfig=dict(type="raw", fallback=_env("K8S_AUTH_KUBECONFIG")),
    context=dict(type="str", fallback=_env("K8S_AUTH_CONTEXT")),
    host=dict(type="str", fallback=_env("K8S_AUTH_HOST")),
    api_key=dict(type="str", no_log=True, fallback=_env("K8S_AUTH_API_KEY")),
    validate_certs=dict(type="bool", aliases=["verify_ssl"], fallback=_env("K8S_AUTH_VERIFY_SSL")),
    ca_cert=dict(type="path", aliases=["ssl_ca_cert"], fallback=_env("K8S_AUTH_SSL_CA_CERT")),
    client_cert=dict(type="path", aliases=["cert_file"], fallback=_env("K8S_AUTH_CERT_FILE")),
    client_key=dict(type="path", aliases=["key_file"], fallback=_env("K8S_AUTH_KEY_FILE")),
    tls_server_name=dict(type="str", fallback=_env("K8S_AUTH_TLS_SERVER_NAME")),
    proxy=dict(type="str", fallback=_env("K8S_AUTH_PROXY")),
    no_proxy=dict(type="str", fallback=_env("K8S_AUTH_NO_PROXY")),
    proxy_headers=dict(
        type="dict",
        options=dict(
            # K8S_AUTH_PROXY_HEADERS_* are read in _configure_proxy (a sub-option fallback would only
            # apply when proxy_headers itself is given)
            proxy_basic_auth=dict(type="str", no_log=True),
            user_agent=dict(type="str"),
        ),
    ),
    in_cluster=dict(type="bool"),
)
AUTH_KEYS = tuple(AUTH_ARG_SPEC)
PROXY_HEADER_KEYS = ("proxy_basic_auth", "user_agent")

IN_CLUSTER_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"  # noqa: S105 - a path, not a secret


# --------------------------------------------------------------------------
# client
# --------------------------------------------------------------------------


def _require_library():
    if KUBERNETES_IMPORT_ERROR is not None:
        raise KubeError(
            "the python 'kubernetes' package (>= %s) is required on the host that runs this module "
            "(usually the controller): pip install 'kubernetes>=%s' (import error: %s)"
            % (KUBERNETES_MIN_VERSION, KUBERNETES_MIN_VERSION, KUBERNETES_IMPORT_ERROR)
        )


def _kubeconfig_error(where, exc):
    """A message for a kubeconfig that cannot be used; never echoes file content."""
    detail = exc.__class__.__name__
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        detail = "not valid YAML (line %d, column %d)" % (mark.line + 1, mark.column + 1)
    elif isinstance(exc, ConfigException):
        text = str(exc)
        # kubeconfig loader messages name contexts/users/fields, not their values
        detail = text if len(text) < 300 else text[:300] + "..."
    elif isinstance(exc, (IOError, OSError)):
        detail = exc.strerror or detail
    return KubeError(
        "cannot use the kubeconfig %s: %s. Point kubeconfig (or K8S_AUTH_KUBECONFIG / KUBECONFIG) at a valid "
        "kubeconfig file and check context" % (where, detail)
    )


def build_configuration(auth, environ=None):
    """A ``kubernetes.client.Configuration`` from the auth options (kubernetes.core semantics).

    Order: an explicit ``kubeconfig`` (path or dict) or ``context`` loads the kubeconfig;
    else ``host`` alone is used as given; else in-cluster configuration when running
    in a pod (or ``in_cluster: true``); else the default kubeconfig (``KUBECONFIG`` or
    ``~/.kube/config``). ``host``, ``api_key``, TLS and proxy options override.
    """
    _require_library()
    environ = os.environ if environ is None else environ
    auth = dict((k, v) for k, v in (auth or {}).items() if v is not None)
    cfg = k8s_client.Configuration()
    context_name = None
    kubeconfig = auth.get("kubeconfig")
    in_cluster = auth.get("in_cluster")
    use_kubeconfig = bool(kubeconfig or auth.get("context"))
    if not use_kubeconfig and not auth.get("host"):
        if in_cluster is None:
            in_cluster = bool(environ.get("KUBERNETES_SERVICE_HOST")) and os.path.exists(IN_CLUSTER_TOKEN)
        use_kubeconfig = not in_cluster
    if in_cluster and not use_kubeconfig:
        try:
            k8s_config.load_incluster_config(client_configuration=cfg)
        except ConfigException as exc:
            raise KubeError(
                "in-cluster configuration is not available (%s): run in a pod with a service account token, "
                "or give kubeconfig / host" % exc
            ) from None
    elif use_kubeconfig:
        if isinstance(kubeconfig, dict):
            try:
                k8s_config.load_kube_config_from_dict(
                    kubeconfig, context=auth.get("context"), client_configuration=cfg, persist_config=False
                )
            except Exception as exc:  # noqa: BLE001 - any loader failure is a bad kubeconfig
                raise _kubeconfig_error("given as a dictionary", exc) from None
            context_name = auth.get("context") or kubeconfig.get("current-context")
        else:
            if kubeconfig and not isinstance(kubeconfig, str):
                raise KubeError("kubeconfig must be a path or a dictionary, got %s" % type(kubeconfig).__name__)
            paths = kubeconfig or environ.get("KUBECONFIG") or "~/.kube/config"
            paths = os.pathsep.join(os.path.expanduser(p) for p in paths.split(os.pathsep) if p)
            existing = [p for p in paths.split(os.pathsep) if os.path.isfile(p)]
            if not existing:
                raise KubeError(
                    "kubeconfig %s does not exist. Give kubeconfig (a path or a dictionary), host, or set "
                    "KUBECONFIG / K8S_AUTH_KUBECONFIG" % paths
                )
            try:
                k8s_config.load_kube_config(
                    config_file=paths, context=auth.get("context"), client_configuration=cfg, persist_config=False
                )
            except Exception as exc:  # noqa: BLE001 - any loader failure is a bad kubeconfig
                raise _kubeconfig_error(paths, exc) from None
            context_name = auth.get("context") or _current_context(paths)
    if auth.get("host"):
        cfg.host = auth["host"].rstrip("/")
    if auth.get("api_key"):
        cfg.api_key = {"authorization": "Bearer " + auth["api_key"]}
        cfg.api_key_prefix = {}
        cfg.refresh_api_key_hook = None  # else the kubeconfig's token would come back on refresh
    if "validate_certs" in auth:
        cfg.verify_ssl = bool(auth["validate_certs"])
    for opt, attr in (("ca_cert", "ssl_ca_cert"), ("client_cert", "cert_file"), ("client_key", "key_file")):
        if auth.get(opt):
            if not os.path.isfile(auth[opt]):
                raise KubeError("%s %s does not exist or is not a file" % (opt, auth[opt]))
            setattr(cfg, attr, auth[opt])
    if auth.get("tls_server_name"):
        if "tls_server_name" not in vars(cfg):
            raise KubeError(
                "tls_server_name needs a newer python 'kubernetes' package than the one installed (pip install -U kubernetes)"
            )
        cfg.tls_server_name = auth["tls_server_name"]
    _check_client_cert(cfg, auth)
    _configure_proxy(cfg, auth, environ)
    if not cfg.host or cfg.host == "http://localhost":
        if not (use_kubeconfig or in_cluster or auth.get("host")):
            raise KubeError("no Kubernetes API server: give kubeconfig, context or host")
    # how messages name the cluster: its URL, and the kubeconfig context when there is one
    cfg.cloud_registry_cluster = cfg.host.rstrip("/") + (" (context %s)" % context_name if context_name else "")
    return cfg


def _current_context(paths):
    try:
        return k8s_config.list_kube_config_contexts(config_file=paths)[1]["name"]
    except Exception:  # noqa: BLE001 - only used to name the cluster in messages
        return None


def _check_client_cert(cfg, auth):
    """Load the client certificate/key once now, so a bad pair fails before any request, naming
    where it came from (the options or the kubeconfig user) and never showing key material."""
    if not cfg.cert_file and not cfg.key_file:
        return
    if auth.get("client_cert") or auth.get("client_key"):
        what = "client_cert %s / client_key %s" % (
            auth.get("client_cert") or "(from the kubeconfig)",
            auth.get("client_key") or "(from the kubeconfig)",
        )
    else:
        what = "the kubeconfig user's client-certificate / client-key"
    if not cfg.cert_file:
        raise KubeError("%s: a client key without a client certificate; give client_cert as well" % what)

    def no_password():
        return b""  # an encrypted key fails here instead of prompting on a terminal

    try:
        ssl.create_default_context().load_cert_chain(cfg.cert_file, cfg.key_file or None, password=no_password)
    except ssl.SSLError as exc:
        text = str(exc)
        if "KEY_VALUES_MISMATCH" in text or "key values mismatch" in text:
            why = "the key does not belong to the certificate"
        elif "bad decrypt" in text or "BAD_DECRYPT" in text or "PASSWORD" in text.upper():
            why = "the key is encrypted with a passphrase (give an unencrypted key)"
        else:
            why = "not a PEM certificate and matching PEM private key (%s)" % (exc.reason or str(exc)[:120])
        raise KubeError(
            "cannot use %s: %s. Give a client certificate and its own key, issued by the cluster's client CA" % (what, why)
        ) from None
    except (IOError, OSError) as exc:
        raise KubeError("cannot read %s: %s" % (what, exc.strerror or exc.__class__.__name__)) from None


def _split_proxy_userinfo(url):
    """(url without user:password@, "user:password" or None)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    netloc = parts.hostname or ""
    if ":" in netloc:
        netloc = "[%s]" % netloc
    if parts.port:
        netloc += ":%d" % parts.port
    userinfo = "%s:%s" % (unquote(parts.username or ""), unquote(parts.password or ""))
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)), userinfo


def _proxy_header_options(auth, environ):
    """proxy_headers with K8S_AUTH_PROXY_HEADERS_* filling what is not given."""
    given = dict((k, v) for k, v in ((auth or {}).get("proxy_headers") or {}).items() if v)
    for key in PROXY_HEADER_KEYS:
        if key not in given and environ.get("K8S_AUTH_PROXY_HEADERS_" + key.upper()):
            given[key] = environ["K8S_AUTH_PROXY_HEADERS_" + key.upper()]
    return given


def proxy_secrets(auth, environ=None):
    """Secret strings of the proxy options, for the module's no_log values."""
    environ = os.environ if environ is None else environ
    userinfos = [_proxy_header_options(auth, environ).get("proxy_basic_auth")]
    url = (auth or {}).get("proxy")
    if url:
        try:
            userinfos.append(_split_proxy_userinfo(url)[1])
            userinfos.append((urlsplit(url).password or "") and ":" + urlsplit(url).password)
        except ValueError:
            pass
    out = set()
    for userinfo in filter(None, userinfos):
        password = userinfo.split(":", 1)[-1]
        out.update([userinfo, password, unquote(password)])
        out.add(base64.b64encode(userinfo.encode("utf-8")).decode("ascii"))
    return sorted(s for s in out if s)


def kubeconfig_secrets(auth):
    """Secret strings of a kubeconfig given as a dictionary (token, password, client-key-data,
    auth-provider tokens), for the module's no_log values: the dictionary is a module argument
    and would otherwise show in -vvv output."""
    return sorted(set(v for _path, v in redact.kubeconfig_secret_items((auth or {}).get("kubeconfig")) if v))


def _configure_proxy(cfg, auth, environ):
    """proxy / no_proxy / proxy_headers as kubectl and kubernetes.core use them.

    A proxy given explicitly (the option or the kubeconfig cluster's ``proxy-url``) is used for the
    API server even when E(NO_PROXY) names it (as kubectl does); only O(no_proxy) exempts hosts.
    ``user:password@`` in the proxy URL becomes the ``Proxy-Authorization`` header (urllib3 does
    not send it by itself).
    """
    from_env = bool(getattr(cfg, "_proxy_from_env", False)) and not auth.get("proxy")
    if auth.get("proxy"):
        cfg.proxy = auth["proxy"]
    if not cfg.proxy:
        return
    try:
        parsed = urlsplit(cfg.proxy)
        url, userinfo = _split_proxy_userinfo(cfg.proxy)
    except ValueError:
        parsed = url = userinfo = None
    if parsed is None or parsed.scheme not in ("http", "https", "socks5", "socks5h") or not parsed.hostname:
        raise KubeError("proxy must be a URL such as http://proxy.example.com:3128, got %s" % _redact_url(cfg.proxy))
    headers = dict(getattr(cfg, "proxy_headers", None) or {})
    wanted = _proxy_header_options(auth, environ)
    if userinfo and not parsed.scheme.startswith("socks"):  # SOCKS proxies take user:password from the URL
        wanted.setdefault("proxy_basic_auth", userinfo)  # proxy_headers.proxy_basic_auth wins
        cfg.proxy = url
    if wanted:
        headers.update(urllib3.make_headers(**wanted))
    cfg.proxy_headers = headers or None
    if auth.get("no_proxy") is not None:
        cfg.no_proxy = auth["no_proxy"]
    elif not from_env:
        cfg.no_proxy = None


def _redact_url(url):
    try:
        return _split_proxy_userinfo(url)[0]
    except ValueError:
        return "(an unparsable URL)"


class KubeClient:
    """JSON requests to the API server over the kubernetes package's connection pool."""

    def __init__(self, configuration, pool_size=10, timeout=DEFAULT_TIMEOUT):
        _require_library()
        self.cfg = configuration
        self.host = configuration.host.rstrip("/")
        self.cluster = getattr(configuration, "cloud_registry_cluster", None) or self.host
        self.insecure = not configuration.verify_ssl and self.host.startswith("https:")
        if self.insecure:
            # the caller warns once (validate_certs: false was asked for); not once per request on stderr
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        configuration.connection_pool_maxsize = max(int(pool_size), 1)
        configuration.retries = False
        try:
            self.pool = k8s_rest.RESTClientObject(configuration).pool_manager
        except TypeError:  # older kubernetes releases take pool sizes as arguments
            self.pool = k8s_rest.RESTClientObject(configuration, pools_size=1, maxsize=pool_size).pool_manager
        self.timeout = urllib3.Timeout(connect=timeout[0], read=timeout[1])
        self.lock = threading.Lock()
        self.requests = 0

    @classmethod
    def from_auth(cls, auth, pool_size=10):
        return cls(build_configuration(auth), pool_size=pool_size)

    def _headers(self, content_type=None, accept=None):
        headers = {"Accept": accept or "application/json", "User-Agent": "cloud_registry.auth/k8s_pull_secret"}
        if content_type:
            headers["Content-Type"] = content_type
        # calls the kubeconfig's token refresh hook (exec / oidc / in-cluster) when there is one
        auth = self.cfg.auth_settings().get("BearerToken")
        if auth and auth.get("value"):
            headers["Authorization"] = auth["value"]
        if getattr(self.cfg, "username", None) and getattr(self.cfg, "password", None):
            headers["Authorization"] = urllib3.make_headers(basic_auth="%s:%s" % (self.cfg.username, self.cfg.password))[
                "authorization"
            ]
        return headers

    def request(self, method, path, query=None, body=None, content_type="application/json", accept=None):
        """Send one request; return the decoded JSON body, raise KubeError with the Status."""
        url = self.host + path
        if query:
            url += "?" + urlencode([(k, v) for k, v in query.items() if v is not None])
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
        with self.lock:
            self.requests += 1
        try:
            resp = self.pool.request(
                method,
                url,
                body=data,
                headers=self._headers(content_type if data is not None else None, accept),
                timeout=self.timeout,
                retries=False,
                preload_content=True,
            )
        except urllib3.exceptions.HTTPError as exc:
            raise connection_error(exc, self.cluster, self.cfg) from None
        text = resp.data.decode("utf-8", "replace") if resp.data else ""
        if 200 <= resp.status < 300:
            try:
                return json.loads(text) if text else {}
            except ValueError:
                raise KubeError(
                    "the API server at %s answered %s %s with something that is not JSON" % (self.host, method, path)
                ) from None
        raise status_error(resp.status, text, self.cluster)

    def watch(self, path, query, accept=None, read_timeout=330):
        """The events of a watch request (``watch=1`` is added), one decoded JSON object each, as they arrive.

        Ends when the API server closes the stream (its ``timeoutSeconds``); raises KubeError for an HTTP error
        answer (410 Gone included) and for a dropped connection, which the caller resumes from its last
        resourceVersion.
        """
        url = self.host + path + "?" + urlencode([(k, v) for k, v in dict(query, watch="1").items() if v is not None])
        with self.lock:
            self.requests += 1
        try:
            resp = self.pool.request(
                "GET",
                url,
                headers=self._headers(accept=accept),
                retries=False,
                preload_content=False,
                timeout=urllib3.Timeout(connect=self.timeout.connect_timeout, read=read_timeout),
            )
        except urllib3.exceptions.HTTPError as exc:
            raise connection_error(exc, self.cluster, self.cfg) from None
        finished = False
        try:
            if not 200 <= resp.status < 300:
                raise status_error(resp.status, resp.data.decode("utf-8", "replace"), self.cluster)
            pending = b""
            chunks = resp.read_chunked() if resp.chunked else resp.stream(65536)
            for chunk in chunks:
                pending += chunk
                while b"\n" in pending:
                    line, pending = pending.split(b"\n", 1)
                    if line.strip():
                        yield json.loads(line.decode("utf-8"))
            finished = True
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise connection_error(exc, self.cluster, self.cfg) from None
        finally:
            if not finished:  # left mid-stream: the connection holds unread chunks, it must not be reused
                resp.close()
            resp.release_conn()

    # -- verbs on paths
    def get(self, path, query=None):
        return self.request("GET", path, query)

    def list_all(self, path, query=None, page=500, accept=None, with_version=False):
        """Every item of a list, following ``continue`` tokens; with ``with_version`` also the list's
        resourceVersion (where a watch of the same selection starts)."""
        query = dict(query or {})
        query["limit"] = page
        items = []
        while True:
            data = self.request("GET", path, query, accept=accept)
            items.extend(data.get("items") or [])
            meta = data.get("metadata") or {}
            token = meta.get("continue")
            if not token:
                return (items, meta.get("resourceVersion")) if with_version else items
            query["continue"] = token


def _chain(exc):
    """exc and its reasons / causes, outermost first."""
    seen = []
    while exc is not None and exc not in seen and len(seen) < 8:
        seen.append(exc)
        exc = (
            getattr(exc, "reason", None)
            if isinstance(getattr(exc, "reason", None), BaseException)
            else (exc.__cause__ or exc.__context__)
        )
    return seen


def connection_error(exc, host, cfg=None):
    """KubeError for a request that got no HTTP answer: TLS, proxy or network, each with its fix."""
    chain = _chain(exc)
    text = " ".join(str(e) for e in chain)
    proxy = _redact_url(cfg.proxy) if cfg is not None and getattr(cfg, "proxy", None) else None
    via = " through the proxy %s" % proxy if proxy else ""
    if any(isinstance(e, urllib3.exceptions.ProxyError) for e in chain) or "Tunnel connection failed" in text:
        match = re.search(r"Tunnel connection failed: (\d{3}[^'\\\)]*)", text)
        if match and match.group(1)[:3] in ("407", "401"):
            fix = (
                "the proxy wants (other) credentials: give proxy_headers.proxy_basic_auth (user:password) or "
                "user:password@ in proxy"
            )
        elif match:
            fix = "allow CONNECT to the API server's host and port on the proxy, or set no_proxy for it"
        else:
            fix = "check proxy (scheme, host, port) and that the proxy is running"
        return KubeError(
            "cannot reach the Kubernetes API at %s through the proxy %s: %s. Fix: %s"
            % (host, proxy or "(from the environment)", match.group(1).strip() if match else _reason(exc), fix),
            fatal=True,
        )
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        detail = re.search(r"certificate verify failed: (.+?)\s*\(_ssl", text)
        detail = detail.group(1).strip().rstrip(".") if detail else "certificate verify failed"
        if "Hostname mismatch" in detail or "IP address mismatch" in detail:
            fix = (
                "connect with a name the certificate is valid for (host / the kubeconfig's server), or give "
                "tls_server_name (the kubeconfig's tls-server-name)"
            )
        else:
            fix = (
                "give ca_cert (the CA bundle that signed the API server's certificate; in a kubeconfig "
                "certificate-authority or certificate-authority-data), or set validate_certs: false to skip "
                "the check (insecure)"
            )
        return KubeError(
            "the TLS certificate of the Kubernetes API server at %s%s could not be verified (%s). "
            "Fix: %s" % (host, via, detail, fix),
            fatal=True,
        )
    if any(
        m in text
        for m in (
            "alert unknown ca",
            "alert bad certificate",
            "alert certificate required",
            "alert certificate unknown",
            "alert access denied",
        )
    ):
        return KubeError(
            "the Kubernetes API server at %s rejected the TLS client certificate (%s). Fix: give client_cert / "
            "client_key (or the kubeconfig user's client-certificate / client-key) issued by the cluster's "
            "client CA" % (host, _reason(exc)),
            fatal=True,
        )
    if "WRONG_VERSION_NUMBER" in text or "wrong version number" in text:
        return KubeError(
            "cannot speak TLS with the Kubernetes API at %s%s: the server does not answer TLS (plain HTTP?). "
            "Fix: check the scheme of host / the kubeconfig's server (http:// or https://)" % (host, via),
            fatal=True,
        )
    return KubeError(
        "cannot reach the Kubernetes API at %s%s: %s. Check host / the kubeconfig's cluster server, proxy "
        "and TLS options, and that the API server is running" % (host, via, _reason(exc)),
        fatal=True,
    )


def _reason(exc):
    """The cause at the bottom of a failed request: the OS, socket or TLS error under urllib3's wrappers, worded
    by ``distribution.reason_text`` as the collection's other clients word it (lower case inside a sentence)."""
    for err in reversed(_chain(exc)):
        if isinstance(err, OSError):  # ConnectionRefusedError, socket.gaierror, socket.timeout, ssl.SSLError
            return reason_text(err).lower()[:300]
    return str(exc).split(": ", 1)[-1][:300]


def status_error(code, text, host):
    """KubeError from an error response (a metav1.Status when the server sent one)."""
    status = {}
    try:
        status = json.loads(text) if text else {}
    except ValueError:
        status = {}
    if not isinstance(status, dict):
        status = {}
    message = status.get("message") or text.strip()[:300] or "HTTP %s" % code
    reason = status.get("reason") or ""
    causes = (status.get("details") or {}).get("causes") or []
    hint = ""
    if code == 403 and any(isinstance(c, dict) and c.get("reason", c.get("type")) == "NamespaceTerminating" for c in causes):
        # NamespaceLifecycle admission: the namespace is being deleted (not an RBAC problem)
        return KubeError("%s (%s NamespaceTerminating)" % (message, code), code=code, reason="NamespaceTerminating")
    if code == 401:
        hint = (
            ": the API server at %s rejected the credentials (none of a valid bearer token or a client "
            "certificate signed by its client CA). Fix: check api_key, the kubeconfig user (token, "
            "client-certificate / client-key) or client_cert / client_key" % host
        )
    elif code == 403:
        hint = (
            ": the identity lacks RBAC permission for this on %s; grant it (Role/ClusterRole) or choose other namespaces" % host
        )
    return KubeError("%s (%s %s)%s" % (message, code, reason or "error", hint), code=code, reason=reason, fatal=code == 401)


# --------------------------------------------------------------------------
# pull secret payload
# --------------------------------------------------------------------------


def payload_from_registries(registries):
    """``{"auths": ...}`` from ``[{server, username, password, email}]`` (Docker Hub aliases normalised)."""
    if not registries:
        raise KubeError("registries is empty: give at least one {server, username, password}")
    entries = []
    for item in registries:
        server = item.get("server") or item.get("registry")
        if not server:
            raise KubeError("a registries entry has no server")
        if not item.get("username") or item.get("password") in (None, ""):
            raise KubeError("registries entry %s needs username and password" % server)
        entries.append({"server": server, "username": item["username"], "password": item["password"], "email": item.get("email")})
    try:
        return dockerconfigjson.build(entries)
    except DockerConfigError as exc:
        raise KubeError("registries: %s" % exc) from None


def payload_from_config_file(path, resolve_helpers=False, store_module=None, config_module=None, run_command=None):
    """``{"auths": ...}`` from a docker config.json, credentials from helpers when allowed.

    Every registry the file knows (``auths`` keys and ``credHelpers`` keys) ends up with a
    username and password, or this fails naming the registry: a Docker Desktop style file
    (``credsStore`` + empty ``auths`` entries) never yields a secret with empty credentials.
    """
    from ansible_collections.cloud_registry.auth.plugins.module_utils import credential_store
    from ansible_collections.cloud_registry.auth.plugins.module_utils import docker_config

    store_module = store_module or credential_store
    config_module = config_module or docker_config
    path = os.path.expanduser(path)
    if not os.path.isfile(path):
        raise KubeError("config_file %s does not exist" % path)
    try:
        data = config_module.load(path)
    except DockerConfigError as exc:
        raise KubeError("config_file %s: %s" % (path, exc)) from None
    servers = list((data.get("auths") or {}).keys())
    for key in data.get("credHelpers") or {}:
        if key not in servers:
            servers.append(key)
    if not servers:
        raise KubeError("config_file %s has no registries (no auths and no credHelpers entries)" % path)
    entries = []
    for server in servers:
        try:
            kind, helper = config_module.credential_source(data, server)
        except DockerConfigError as exc:
            raise KubeError("config_file %s: registry %s: %s" % (path, server, exc)) from None
        entry = (data.get("auths") or {}).get(server) or {}
        if kind in ("helper", "store"):
            if not resolve_helpers:
                raise KubeError(
                    "config_file %s: the credentials for registry %s live in the credential helper "
                    "docker-credential-%s (%s), not in the file; set resolve_helpers: true to read them through "
                    "the helper on this host, or give registries instead"
                    % (path, server, helper, "credHelpers" if kind == "helper" else "credsStore")
                )
            try:
                found = store_module.get(helper, server, run_command=run_command)
            except Exception as exc:  # noqa: BLE001 - CredentialStoreError and helper-missing errors
                raise KubeError("config_file %s: registry %s: %s" % (path, server, exc)) from None
            if not found or not found[0] or not found[1]:
                raise KubeError(
                    "config_file %s: docker-credential-%s has no credentials for registry %s; log in to it "
                    "(docker login %s) or remove it from the file" % (path, helper, server, server)
                )
            username, password = found
            if username == "<token>":
                raise KubeError(
                    "config_file %s: docker-credential-%s holds an identity token for %s, which the kubelet "
                    "cannot use in a pull secret; give registries with a username and password or access token"
                    % (path, helper, server)
                )
        else:
            username, password, identity = config_module.entry_credentials(entry)
            if identity:
                raise KubeError(
                    "config_file %s: registry %s has an identity token, which the kubelet cannot use in a pull "
                    "secret; give registries with a username and password or access token" % (path, server)
                )
            if not username or not password:
                raise KubeError(
                    "config_file %s: registry %s has no stored credentials (empty auths entry); log in again "
                    "(docker login %s), use resolve_helpers with a credential helper, or remove it" % (path, server, server)
                )
        entries.append({"server": server, "username": username, "password": password, "email": entry.get("email")})
    try:
        return dockerconfigjson.build(entries)
    except DockerConfigError as exc:
        raise KubeError("config_file %s: %s" % (path, exc)) from None


def registry_keys(payload):
    return sorted((payload or {}).get("auths", {}).keys())


def expiring_registries(registries):
    """{normalised registry key: expiry epoch} of the ``registries`` entries that carry an ``expires_at``."""
    out = {}
    for item in registries or []:
        at = parse_time(item.get("expires_at"))
        server = item.get("server") or item.get("registry")
        if at is not None and server:
            try:
                out[normalize_registry(server)] = at
            except DockerConfigError:
                continue  # payload_from_registries reports the bad name
    return out


# --------------------------------------------------------------------------
# reconciler
# --------------------------------------------------------------------------


def _validate_spec(spec):
    name = spec["name"]
    if not name or len(name) > 253 or not _DNS_SUBDOMAIN.match(name):
        raise KubeError("name %r is not a valid Secret name (lowercase RFC 1123 subdomain: a-z, 0-9, '-', '.')" % name)
    for ns in spec.get("namespaces") or []:
        if not isinstance(ns, str) or len(ns) > 63 or not _DNS_LABEL.match(ns):
            raise KubeError("namespace %r is not a valid namespace name (lowercase RFC 1123 label)" % (ns,))
    for sa in spec.get("service_accounts") or []:
        if not isinstance(sa, str) or len(sa) > 253 or not _DNS_SUBDOMAIN.match(sa):
            raise KubeError("service account %r is not a valid name (lowercase RFC 1123 subdomain)" % (sa,))
    for field in ("labels", "annotations"):
        for k, v in (spec.get(field) or {}).items():
            if not isinstance(v, str):
                raise KubeError("%s %s: values must be strings (quote %r)" % (field, k, v))


def _selector(value):
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value if v)
    return str(value)


def resolve_namespaces(client, spec):
    """[(name, reason_skipped or None)] in a stable order."""
    exclude = list(spec.get("exclude_namespaces") or [])

    def excluded(ns):
        return any(fnmatch.fnmatchcase(ns, pat) for pat in exclude)

    if spec.get("namespaces"):
        seen = []
        for ns in spec["namespaces"]:
            if ns not in seen and not excluded(ns):
                seen.append(ns)
        return [(ns, None) for ns in seen]
    query = {}
    selector = _selector(spec.get("namespace_selector"))
    fields = _selector(spec.get("namespace_field_selector"))
    if selector:
        query["labelSelector"] = selector
    if fields:
        query["fieldSelector"] = fields
    try:
        items = client.list_all("/api/v1/namespaces", query)
    except KubeError as exc:
        if exc.fatal:
            raise
        which = " and ".join(
            w for w in ("selector %r" % selector if selector else "", "field selector %r" % fields if fields else "") if w
        )
        hint = " (namespaces support the fields metadata.name and status.phase)" if fields and exc.code == 400 else ""
        raise KubeError(
            "cannot list namespaces%s: %s%s" % (" with " + which if which else "", exc, hint), exc.code, exc.reason
        ) from None
    out = []
    for item in items:
        ns = item["metadata"]["name"]
        if excluded(ns):
            continue
        phase = (item.get("status") or {}).get("phase")
        out.append((ns, "terminating" if phase == "Terminating" else None))
    return sorted(out)


def _secret_path(ns, name=None):
    base = "/api/v1/namespaces/%s/secrets" % quote(ns, safe="")
    return base if name is None else base + "/" + quote(name, safe="")


def _sa_path(ns, name):
    return "/api/v1/namespaces/%s/serviceaccounts/%s" % (quote(ns, safe=""), quote(name, safe=""))


def _write_query(check_mode):
    q = {"fieldManager": "cloud_registry.auth"}
    if check_mode:
        q["dryRun"] = "All"
    return q


def _masked_view(payload, other=None):
    """Diff view of a payload: passwords/auth masked; a changed hidden value is marked."""
    if payload is None:
        return None
    view = dockerconfigjson.masked(payload)
    if other is not None:
        for key, entry in (payload.get("auths") or {}).items():
            before = (other.get("auths") or {}).get(key)
            if isinstance(before, dict) and isinstance(entry, dict) and view["auths"].get(key):
                for field in ("password", "auth", "identitytoken", "registrytoken"):
                    if field in entry and before.get(field) != entry.get(field):
                        view["auths"][key][field] = MASK + " (changed)"
    return view


def _secret_view(obj, payload):
    if obj is None:
        return None
    meta = obj.get("metadata") or {}
    return {
        "type": obj.get("type"),
        "labels": dict(meta.get("labels") or {}),
        "annotations": dict(meta.get("annotations") or {}),
        DATA_KEY: payload,
    }


def _decode_existing(obj):
    raw = (obj.get("data") or {}).get(DATA_KEY)
    if raw is None:
        return None
    try:
        return dockerconfigjson.decode(raw)
    except DockerConfigError:
        return None


class _NamespaceGone(Exception):
    pass


def _gone_message(exc, ns):
    if exc.reason == "NamespaceTerminating":
        return "namespace %s does not exist any more (it is being deleted)" % ns
    return "namespace %s does not exist (deleted or never created)" % ns


def _is_ns_not_found(exc, ns):
    if exc.reason == "NamespaceTerminating":
        return True
    return exc.code == 404 and ('namespaces "%s" not found' % ns) in str(exc)


def _drop_none(mapping):
    return dict((k, v) for k, v in mapping.items() if v is not None)


def _expiry_plan(spec, target, existing, cur_ann):
    """``(payload, {annotation: value})`` for the short-lived (minted) registries of ``spec``.

    The expiry annotation gets the earliest expiry of the minted credentials the secret will hold (None: the
    annotation is removed; ``{}``: not managed). With ``refresh_before``, a minted credential of an existing secret
    that is valid for longer than that is kept instead of replaced, so a frequent run writes only when a
    refresh is due (or the username changed, or the registry is new to the secret).
    """
    key = spec.get("expiry_annotation")
    if not key or key in (spec.get("annotations") or {}):
        return target, {}
    expiring = spec.get("_expiring") or {}
    if not expiring:
        return target, ({key: None} if key in cur_ann else {})
    expiries = dict((reg, at) for reg, at in expiring.items() if reg in (target.get("auths") or {}))
    refresh_before = spec.get("refresh_before")
    current = parse_time(cur_ann.get(key))
    if existing is not None and refresh_before is not None and current is not None and current > time.time() + refresh_before:
        old_auths = existing.get("auths") or {}
        auths = dict(target.get("auths") or {})
        for reg in expiries:
            old, new = old_auths.get(reg), auths.get(reg)
            if isinstance(old, dict) and old != new and old.get("username") == new.get("username"):
                auths[reg] = old  # still valid: the next refresh replaces it
                expiries[reg] = current
        target = dict(target, auths=auths)
    if not expiries:
        return target, ({key: None} if key in cur_ann else {})
    return target, {key: format_time(min(expiries.values()))}


def _ensure_secret(client, ns, spec, desired, check_mode):
    """Returns (action, before_view, after_view)."""
    name = spec["name"]
    labels = spec.get("labels") or {}
    annotations = spec.get("annotations") or {}
    gave_up = KubeError(
        "secret %s in namespace %s kept changing while it was updated (%d attempts); run again" % (name, ns, MAX_ATTEMPTS)
    )

    def attempt(_n):
        try:
            current = client.get(_secret_path(ns, name))
        except KubeError as exc:
            if exc.code != 404:
                raise
            current = None
        if current is None:
            body = {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": name, "namespace": ns},
                "type": PULL_SECRET_TYPE,
                "data": {DATA_KEY: dockerconfigjson.encode(desired)},
            }
            if labels:
                body["metadata"]["labels"] = dict(labels)
            desired_now, expiry_ann = _expiry_plan(spec, desired, None, {})
            body["data"][DATA_KEY] = dockerconfigjson.encode(desired_now)
            created_ann = _drop_none(dict(annotations, **expiry_ann))
            if created_ann:
                body["metadata"]["annotations"] = created_ann
            try:
                client.request("POST", _secret_path(ns), _write_query(check_mode), body)
            except KubeError as exc:
                if exc.code == 409 and exc.reason == "AlreadyExists":
                    raise TryAgain(gave_up, wait=False) from None  # created by someone else meanwhile: read it
                if _is_ns_not_found(exc, ns):
                    raise _NamespaceGone(_gone_message(exc, ns)) from None
                raise
            return "created", None, _secret_view(body, _masked_view(desired_now))
        if current.get("type") != PULL_SECRET_TYPE:
            raise KubeError(
                "secret %s in namespace %s exists with type %s, not %s (the type of a Secret cannot change): "
                "delete it or choose another name" % (name, ns, current.get("type"), PULL_SECRET_TYPE)
            )
        existing = _decode_existing(current)
        target = desired
        if spec.get("merge") and existing is not None:
            target = dockerconfigjson.merge(existing, desired)
        meta = current.get("metadata") or {}
        cur_labels = meta.get("labels") or {}
        cur_ann = meta.get("annotations") or {}
        target, expiry_ann = _expiry_plan(spec, target, existing, cur_ann)
        want_labels = dict(cur_labels, **labels)
        want_ann = _drop_none(dict(cur_ann, **dict(annotations, **expiry_ann)))
        if existing == target and want_labels == cur_labels and want_ann == cur_ann:
            view = _secret_view(current, _masked_view(existing))
            return "unchanged", view, view
        patch = {"metadata": {"resourceVersion": meta.get("resourceVersion")}}
        if want_labels != cur_labels:
            patch["metadata"]["labels"] = labels
        if want_ann != cur_ann:
            patch["metadata"]["annotations"] = dict(annotations, **expiry_ann)  # None removes (merge patch)
        if existing != target:
            patch["data"] = {DATA_KEY: dockerconfigjson.encode(target)}
        try:
            client.request(
                "PATCH", _secret_path(ns, name), _write_query(check_mode), patch, content_type="application/merge-patch+json"
            )
        except KubeError as exc:
            if exc.code == 409 or exc.code == 404:
                raise TryAgain(gave_up, wait=False) from None  # changed or deleted meanwhile: read again
            raise
        before = _secret_view(current, _masked_view(existing))
        after_obj = copy.deepcopy(current)
        after_obj["metadata"]["labels"] = want_labels
        after_obj["metadata"]["annotations"] = want_ann
        return "updated", before, _secret_view(after_obj, _masked_view(target, existing))

    return retrying(attempt, MAX_ATTEMPTS)


def _remove_secret(client, ns, spec, check_mode):
    name = spec["name"]
    try:
        current = client.get(_secret_path(ns, name))
    except KubeError as exc:
        if exc.code == 404:
            return "absent", None, None
        raise
    query = _write_query(check_mode)
    query.pop("fieldManager")
    body = {"kind": "DeleteOptions", "apiVersion": "v1", "preconditions": {"uid": current["metadata"].get("uid")}}
    if check_mode:
        # kube-apiserver reads DeleteOptions from the body when there is one, and then
        # ignores the query string: dryRun must be in the body too
        body["dryRun"] = ["All"]
    try:
        client.request("DELETE", _secret_path(ns, name), query, body)
    except KubeError as exc:
        if exc.code == 404:
            return "absent", None, None
        raise
    return "deleted", _secret_view(current, _masked_view(_decode_existing(current))), None


def updated_pull_secret_refs(refs, secret, present=True):
    """``imagePullSecrets`` with ``secret`` exactly once (present) or not at all (absent).

    Every other entry is kept, in its order; duplicates of ``secret`` collapse into its first place.
    """
    new, seen = [], False
    for ref in refs:
        if isinstance(ref, dict) and ref.get("name") == secret:
            if seen or not present:
                continue
            seen = True
        new.append(ref)
    if present and not seen:
        new.append({"name": secret})
    return new


def _sa_list_path(ns):
    return "/api/v1/namespaces/%s/serviceaccounts" % quote(ns, safe="")


def selected_service_accounts(client, ns, spec):
    """{name: object or None}: the named service accounts plus those the selection lists.

    Objects come from one list request (``all_service_accounts`` or ``service_account_selector``) and spare the
    read of each; named ones not listed are read when they are patched (None here).
    """
    chosen = dict((sa, None) for sa in spec.get("service_accounts") or [])
    selector = _selector(spec.get("service_account_selector"))
    if spec.get("all_service_accounts") or selector:
        query = {"labelSelector": selector} if selector and not spec.get("all_service_accounts") else None
        for item in client.list_all(_sa_list_path(ns), query):
            chosen[item["metadata"]["name"]] = item
    return chosen


def _ensure_sa(client, ns, sa, secret, present, check_mode, current=None):
    """Returns (action, before_list, after_list). ``current`` is the object when a list just read it."""
    gave_up = KubeError(
        "service account %s in namespace %s kept changing while it was patched (%d attempts); run again" % (sa, ns, MAX_ATTEMPTS)
    )
    read = [current]  # what the list gave, for the first attempt only

    def attempt(_n):
        current = read.pop() if read else None
        if current is None:
            try:
                current = client.get(_sa_path(ns, sa))
            except KubeError as exc:
                if exc.code == 404:
                    return "missing", None, None
                raise
        refs = list(current.get("imagePullSecrets") or [])
        new = updated_pull_secret_refs(refs, secret, present)
        before = [r.get("name") for r in refs if isinstance(r, dict)]
        after = [r.get("name") for r in new if isinstance(r, dict)]
        if new == refs:
            return "unchanged", before, after
        # imagePullSecrets is an atomic list: send the whole list, guarded by the resourceVersion
        patch = {"metadata": {"resourceVersion": current["metadata"].get("resourceVersion")}, "imagePullSecrets": new or None}
        try:
            client.request(
                "PATCH", _sa_path(ns, sa), _write_query(check_mode), patch, content_type="application/merge-patch+json"
            )
        except KubeError as exc:
            if exc.code == 409:
                raise TryAgain(gave_up, wait=False) from None  # someone else wrote it in between: read again
            if exc.code == 404:
                return "missing", before, None
            raise
        return "patched", before, after

    return retrying(attempt, MAX_ATTEMPTS)


def reconcile_namespace(client, ns, spec, desired, check_mode):
    """The per-namespace result; never raises (errors are reported in the result)."""
    result = {"namespace": ns, "status": "ok", "secret": None, "service_accounts": {}, "changed": False, "expires_at": None}
    diff = {"before": {}, "after": {}}
    present = spec.get("state", "present") == "present"
    try:
        if present:
            action, before, after = _ensure_secret(client, ns, spec, desired, check_mode)
        else:
            action, before, after = "unchanged", None, None
        if before is not None or after is not None:
            diff["before"]["secret"], diff["after"]["secret"] = before, after
        result["secret"] = action
        if present and spec.get("expiry_annotation"):
            result["expires_at"] = ((after or {}).get("annotations") or {}).get(spec["expiry_annotation"])
        for sa, obj in sorted(selected_service_accounts(client, ns, spec).items()):
            sa_action, b, a = _ensure_sa(client, ns, sa, spec["name"], present, check_mode, obj)
            result["service_accounts"][sa] = sa_action
            if b is not None or a is not None:
                diff["before"].setdefault("service_accounts", {})[sa] = {"imagePullSecrets": b}
                diff["after"].setdefault("service_accounts", {})[sa] = {"imagePullSecrets": a}
        if not present:
            action, before, after = _remove_secret(client, ns, spec, check_mode)
            result["secret"] = action
            if before is not None:
                diff["before"]["secret"], diff["after"]["secret"] = before, None
    except _NamespaceGone as gone:
        result.update(status="missing", msg=str(gone))
    except KubeError as exc:
        if exc.fatal:
            raise
        if _is_ns_not_found(exc, ns):
            result.update(status="missing", msg=_gone_message(exc, ns))
        else:
            result.update(status="failed", msg="namespace %s: %s" % (ns, exc))
    result["changed"] = result["secret"] in ("created", "updated", "deleted") or any(
        v == "patched" for v in result["service_accounts"].values()
    )
    if result["status"] == "missing" and present:
        # a secret that could not be created in a missing namespace: nothing changed there
        result["changed"] = False
    result["diff"] = {
        "before_header": "namespace %s" % ns,
        "after_header": "namespace %s" % ns,
        "before": diff["before"],
        "after": diff["after"],
    }
    return result


def reconcile_pull_secret(client, spec, check_mode=False, desired=None, run_command=None):
    """Reconcile a pull secret across namespaces. ``spec`` holds the module options.

    Returns a dict with ``changed``, ``namespaces`` (per-namespace results), ``totals``,
    ``failed_namespaces``, ``missing_namespaces``, ``registries`` and ``diff`` (a list).
    Raises KubeError for errors that concern the whole run (bad input, namespaces that
    cannot be listed, unreachable API).
    """
    _validate_spec(spec)
    present = spec.get("state", "present") == "present"
    refresh_before = spec.get("refresh_before")
    if refresh_before is not None and refresh_before < 0:
        raise KubeError("refresh_before must be 0 or more seconds, got %s" % refresh_before)
    spec = dict(spec, _expiring=expiring_registries(spec.get("registries")) if present else {})
    if present and desired is None:
        if spec.get("config_file"):
            desired = payload_from_config_file(spec["config_file"], spec.get("resolve_helpers"), run_command=run_command)
        else:
            desired = payload_from_registries(spec.get("registries"))
    targets = resolve_namespaces(client, spec)
    workers = max(1, min(int(spec.get("parallel") or 1), max(len(targets), 1)))
    results = [None] * len(targets)

    def work(idx_ns):
        idx, (ns, skip) = idx_ns
        if skip:
            results[idx] = {
                "namespace": ns,
                "status": "skipped",
                "msg": "namespace %s is %s" % (ns, skip),
                "secret": None,
                "service_accounts": {},
                "changed": False,
                "diff": None,
            }
        else:
            results[idx] = reconcile_namespace(client, ns, spec, desired, check_mode)

    started = time.time()
    if workers == 1:
        for item in enumerate(targets):
            work(item)
    else:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(work, enumerate(targets)))
    totals = {
        "namespaces": len(results),
        "created": 0,
        "updated": 0,
        "unchanged": 0,
        "deleted": 0,
        "absent": 0,
        "service_accounts_patched": 0,
        "service_accounts_unchanged": 0,
        "service_accounts_missing": 0,
        "missing": 0,
        "skipped": 0,
        "failed": 0,
    }
    diffs = []
    for res in results:
        if res["status"] in ("missing", "skipped", "failed"):
            totals[res["status"]] += 1
        if res.get("secret") in totals:
            totals[res["secret"]] += 1
        for action in res["service_accounts"].values():
            totals["service_accounts_" + action] += 1
        d = res.pop("diff", None)
        if d and (d["before"] or d["after"]) and d["before"] != d["after"]:
            diffs.append(d)
    expiries = [parse_time(r.get("expires_at")) for r in results if r["status"] == "ok"]
    earliest = min([at for at in expiries if at is not None], default=None)
    return {
        "changed": any(r["changed"] for r in results),
        "name": spec["name"],
        "expires_at": format_time(earliest) if earliest is not None else None,
        "refresh_at": format_time(earliest - (refresh_before or 0)) if earliest is not None else None,
        "state": "present" if present else "absent",
        "registries": registry_keys(desired) if present else [],
        "namespaces": results,
        "totals": totals,
        "failed_namespaces": [r["namespace"] for r in results if r["status"] == "failed"],
        "missing_namespaces": [r["namespace"] for r in results if r["status"] == "missing"],
        "api_requests": client.requests,
        "elapsed": round(time.time() - started, 3),
        "diff": diffs,
    }
