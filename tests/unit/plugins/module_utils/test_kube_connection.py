"""kube.py connection options: proxy, TLS and secret masking (no network)."""

from __future__ import annotations

import base64

import pytest
import urllib3

from ansible_collections.cloud_registry.auth.plugins.module_utils.kube import (
    KubeError,
    build_configuration,
    connection_error,
    kubeconfig_secrets,
    proxy_secrets,
)
from support.kube import KubePKI

HOST = "https://10.0.0.1:6443"


def cfg_for(environ=None, **auth):
    return build_configuration(dict({"host": HOST}, **auth), environ=environ or {})


def test_explicit_proxy_is_not_bypassed_by_no_proxy_environment(monkeypatch):
    monkeypatch.setenv("NO_PROXY", "10.0.0.1")
    monkeypatch.setenv("no_proxy", "10.0.0.1")
    cfg = cfg_for(proxy="http://proxy.example:3128")
    assert cfg.proxy == "http://proxy.example:3128" and not cfg.no_proxy
    cfg = cfg_for(proxy="http://proxy.example:3128", no_proxy="10.0.0.0/8")
    assert cfg.no_proxy == "10.0.0.0/8"


@pytest.mark.parametrize(
    "auth, header",
    [
        ({"proxy": "http://u%40x:p%3Aw@proxy.example:3128"}, "u@x:p:w"),
        ({"proxy": "http://proxy.example:3128", "proxy_headers": {"proxy_basic_auth": "a:b"}}, "a:b"),
        ({"proxy": "http://u:url@proxy.example:3128", "proxy_headers": {"proxy_basic_auth": "a:b"}}, "a:b"),
    ],
)
def test_proxy_credentials_become_proxy_authorization(auth, header):
    cfg = cfg_for(**auth)
    assert cfg.proxy == "http://proxy.example:3128"  # no userinfo left in the URL
    assert cfg.proxy_headers["proxy-authorization"] == "Basic " + base64.b64encode(header.encode()).decode()


def test_proxy_headers_from_environment_and_user_agent():
    cfg = cfg_for(
        environ={"K8S_AUTH_PROXY_HEADERS_PROXY_BASIC_AUTH": "e:f"},
        proxy="http://proxy.example:3128",
        proxy_headers={"user_agent": "fleet/1.0"},
    )
    assert cfg.proxy_headers["user-agent"] == "fleet/1.0"
    assert cfg.proxy_headers["proxy-authorization"] == "Basic " + base64.b64encode(b"e:f").decode()


@pytest.mark.parametrize("proxy", ["proxy.example:3128", "ftp://proxy.example", "http://u:s3cr3t@proxy:notaport"])
def test_bad_proxy_url_is_named_without_credentials(proxy):
    with pytest.raises(KubeError, match="proxy must be a URL") as err:
        cfg_for(proxy=proxy)
    assert "s3cr3t" not in str(err.value)


def test_proxy_secrets_cover_every_form():
    secrets = proxy_secrets({"proxy": "http://u:p%40ss@proxy:3128", "proxy_headers": {"proxy_basic_auth": "a:bb"}}, environ={})
    for value in ("u:p@ss", "p@ss", "p%40ss", "a:bb", "bb", base64.b64encode(b"a:bb").decode()):
        assert value in secrets
    assert proxy_secrets({"proxy": "http://proxy:3128"}, environ={}) == []


def test_kubeconfig_secrets_from_a_dictionary():
    kc = {
        "users": [
            {"name": "a", "user": {"token": "tok-123", "client-certificate-data": "Y2VydA=="}},
            {
                "name": "b",
                "user": {"client-key-data": "a2V5", "auth-provider": {"config": {"id-token": "idt", "client-id": "public"}}},
            },
        ]
    }
    assert kubeconfig_secrets({"kubeconfig": kc}) == ["a2V5", "idt", "tok-123"]
    assert kubeconfig_secrets({"kubeconfig": "/path/to/kubeconfig"}) == []


def test_tls_server_name_and_client_pair(tmp_path):
    pki = KubePKI(tmp_path)
    cert, key = pki.issue_client("someone")
    cfg = cfg_for(tls_server_name="api.internal", ca_cert=str(pki.ca_cert), client_cert=str(cert), client_key=str(key))
    assert (cfg.tls_server_name, cfg.cert_file, cfg.key_file) == ("api.internal", str(cert), str(key))
    other_key = pki.issue_client("other")[1]
    with pytest.raises(KubeError, match="the key does not belong to the certificate"):
        cfg_for(client_cert=str(cert), client_key=str(other_key))
    with pytest.raises(KubeError, match="a client key without a client certificate"):
        cfg_for(client_key=str(key))


@pytest.mark.parametrize(
    "exc, expect",
    [
        (
            urllib3.exceptions.SSLError(
                "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed "
                "certificate in certificate chain (_ssl.c:1006)"
            ),
            ["could not be verified (self-signed certificate in certificate chain)", "ca_cert", "validate_certs: false"],
        ),
        (
            urllib3.exceptions.SSLError(
                "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: IP address "
                "mismatch, certificate is not valid for '10.0.0.1'. (_ssl.c:1006)"
            ),
            ["IP address mismatch", "tls_server_name"],
        ),
        (
            urllib3.exceptions.SSLError("[SSL: TLSV1_ALERT_UNKNOWN_CA] tlsv1 alert unknown ca (_ssl.c:2580)"),
            ["rejected the TLS client certificate", "client CA"],
        ),
        (
            urllib3.exceptions.SSLError("[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)"),
            ["does not answer TLS", "http:// or https://"],
        ),
    ],
)
def test_connection_errors_name_the_server_and_the_fix(exc, expect):
    err = connection_error(exc, HOST + " (context prod)")
    assert HOST + " (context prod)" in str(err) and err.fatal
    for text in expect:
        assert text in str(err)


def test_proxy_tunnel_refusal_message():
    cfg = cfg_for(proxy="http://u:s3cr3t@proxy.example:3128")
    exc = urllib3.exceptions.ProxyError(
        "Unable to connect to proxy", OSError("Tunnel connection failed: 407 Proxy Authentication Required")
    )
    err = connection_error(exc, HOST, cfg)
    assert "http://proxy.example:3128" in str(err) and "407" in str(err) and "proxy_basic_auth" in str(err)
    assert "s3cr3t" not in str(err)
