"""Unit tests for module_utils/node_auth.py: containerd names, the config.toml block, the
checks that run before any write, and binaries sent only where a node's copy differs."""

from __future__ import annotations

import hashlib
import os

import pytest

from ansible_collections.cloud_registry.auth.plugins.module_utils import node_auth as na


@pytest.mark.parametrize(
    "registry, expected",
    [
        ("docker.io", ("docker.io", "registry-1.docker.io", "https")),
        ("https://index.docker.io/v1/", ("docker.io", "registry-1.docker.io", "https")),
        ("http://127.0.0.1:5000", ("127.0.0.1:5000", "127.0.0.1:5000", "http")),
        ("REG.example.com:443/v2/", ("reg.example.com:443", "reg.example.com:443", "https")),
    ],
)
def test_containerd_target(registry, expected):
    assert na.containerd_target(registry) == expected


def test_block_is_replaced_in_place_kept_around_and_removed_when_empty():
    text = "version = 2\n%s\nold = 1\n%s\n[other]\nx = 1\n" % (na.CRI_BEGIN, na.CRI_END)
    new = na.with_block(text, ["new = 2"])
    assert new == "version = 2\n%s\nnew = 2\n%s\n[other]\nx = 1\n" % (na.CRI_BEGIN, na.CRI_END)
    assert na.with_block(new, []) == "version = 2\n[other]\nx = 1\n"
    assert na.with_block("a = 1", ["b = 2"]).endswith("%s\nb = 2\n%s\n" % (na.CRI_BEGIN, na.CRI_END))


def _params(tmp_path, **kw):
    p = {
        "logins": [
            {
                "registry": "reg.example.com",
                "username": "u",
                "password": "pw-secret",
                "state": "present",
                "_verified_scheme": "basic",
                "verify": True,
            }
        ],
        "files": [],
        "owner": "root",
        "group": "root",
        "mode": "0600",
        "containerd": {"mode": "none"},
        "providers": {},
        "timeout": 5,
    }
    p.update(kw)
    return p


def test_config_toml_that_defines_the_tables_itself_changes_nothing(tmp_path):
    pytest.importorskip("tomllib")
    cfg = tmp_path / "config.toml"
    own = '[plugins."io.containerd.grpc.v1.cri".registry.configs."reg.example.com".auth]\nusername = "x"\n'
    cfg.write_text(own)
    kube = tmp_path / "kubelet" / "config.json"
    p = _params(
        tmp_path,
        files=[{"path": str(kube), "format": "docker", "identity_token": False}],
        containerd={"mode": "cri_auth", "config_path": str(cfg), "config_version": 2},
    )
    with pytest.raises(na.NodeAuthError, match="cannot take the CRI registry auth tables.*Nothing was changed"):
        na.safe_apply(p)
    assert cfg.read_text() == own and not kube.parent.exists()


def test_hosts_toml_basic_header_bearer_without_and_idempotent(tmp_path):
    certs = tmp_path / "certs.d"
    logins = [
        {
            "registry": "reg.example.com",
            "username": "u",
            "password": "pw-secret",
            "state": "present",
            "_verified_scheme": "basic",
        },
        {
            "registry": "tok.example.com",
            "username": "u",
            "password": "pw-secret",
            "state": "present",
            "_verified_scheme": "bearer",
        },
    ]
    p = _params(tmp_path, logins=logins, containerd={"mode": "hosts", "certs_dir": str(certs), "bearer_hosts": []})
    first = na.apply(p, want_diff=True)
    assert first["changed"] and first["bearer_hosts"] == ["tok.example.com"]
    basic = (certs / "reg.example.com" / "hosts.toml").read_text()
    assert 'Authorization = "Basic dTpwdy1zZWNyZXQ="' in basic
    assert "Authorization" not in (certs / "tok.example.com" / "hosts.toml").read_text()
    assert oct(os.stat(certs / "reg.example.com" / "hosts.toml").st_mode & 0o777) == "0o600"
    assert "pw-secret" not in repr(first) and "dTpwdy1zZWNyZXQ" not in repr(first)
    assert na.apply(p)["changed"] is False


def test_binaries_are_asked_for_only_where_the_copy_differs(tmp_path):
    src = tmp_path / "provider"
    src.write_bytes(b"#!/bin/sh\nexit 0\n")
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    bin_dir = tmp_path / "bin"
    providers = {
        "_config": "kind: CredentialProviderConfig\n",
        "config_path": str(tmp_path / "k" / "cpc.yaml"),
        "bin_dir": str(bin_dir),
        "_binaries": [{"name": "provider", "sha256": digest}],
    }
    p = _params(tmp_path, logins=[], providers=providers)
    asked = na.apply(dict(p, providers=dict(providers, _binaries=[dict(b) for b in providers["_binaries"]])))
    assert asked == {"changed": False, "need_binaries": ["provider"]}
    assert not bin_dir.exists() and not (tmp_path / "k").exists()  # nothing written before the binary came
    done = na.apply(
        dict(p, providers=dict(providers, _binaries=[dict(b) for b in providers["_binaries"]])),
        binary_files={"provider": str(src)},
    )
    assert done["changed"] and done["restart_kubelet"]
    assert (bin_dir / "provider").read_bytes() == src.read_bytes()
    assert oct((bin_dir / "provider").stat().st_mode & 0o777) == "0o755"
    again = na.apply(dict(p, providers=dict(providers, _binaries=[dict(b) for b in providers["_binaries"]])))
    assert again["changed"] is False and "need_binaries" not in again


def test_a_binary_that_arrives_altered_is_not_installed(tmp_path):
    src = tmp_path / "provider"
    src.write_bytes(b"tampered")
    providers = {
        "_config": "x: 1\n",
        "config_path": str(tmp_path / "cpc.yaml"),
        "bin_dir": str(tmp_path / "bin"),
        "_binaries": [{"name": "provider", "sha256": "0" * 64}],
    }
    with pytest.raises(na.NodeAuthError, match="arrived with sha256"):
        na.apply(_params(tmp_path, logins=[], providers=providers), binary_files={"provider": str(src)})
    assert not (tmp_path / "bin" / "provider").exists()


@pytest.mark.parametrize(
    "bad, words",
    [
        ({"match_images": []}, "match_images"),
        ({"default_cache_duration": "12 hours"}, "Go duration"),
        ({"api_version": "v2"}, "api_version"),
        ({"name": "../evil"}, "file name"),
        ({"src": "/x", "url": "https://example.invalid/p"}, "exactly one of src or url"),
        ({"token_attributes": {"audience": ""}}, "audience"),
    ],
)
def test_provider_entries_the_kubelet_rejects(bad, words):
    from ansible_collections.cloud_registry.auth.plugins.plugin_utils import credential_providers as cp

    entry = {"name": "p", "match_images": ["*.example.com"], "src": "/bin/true"}
    entry.update(bad)
    with pytest.raises(cp.ProviderError, match=words):
        cp.check(entry)


def test_provider_config_is_what_the_kubelet_reads():
    import yaml

    from ansible_collections.cloud_registry.auth.plugins.plugin_utils import credential_providers as cp

    entry = {
        "name": "p",
        "match_images": ["*.example.com"],
        "src": "/bin/true",
        "env": {"A": "1"},
        "token_attributes": {"audience": "aud", "required_annotation_keys": ["k"]},
    }
    cp.check(entry)
    text = cp.render([entry])
    assert text.startswith(cp.HEADER)
    doc = yaml.safe_load(text)
    assert doc["kind"] == "CredentialProviderConfig" and doc["apiVersion"] == "kubelet.config.k8s.io/v1"
    assert doc["providers"] == [
        {
            "name": "p",
            "matchImages": ["*.example.com"],
            "defaultCacheDuration": "10m",
            "apiVersion": "credentialprovider.kubelet.k8s.io/v1",
            "env": [{"name": "A", "value": "1"}],
            "tokenAttributes": {
                "serviceAccountTokenAudience": "aud",
                "cacheType": "Token",
                "requireServiceAccount": True,
                "requiredServiceAccountAnnotationKeys": ["k"],
            },
        }
    ]
