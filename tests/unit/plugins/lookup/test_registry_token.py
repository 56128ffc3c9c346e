"""The registry_token lookup plugin, loaded through Ansible's plugin loader: option
sources (keywords, variables, environment), provider dispatch, cache use, errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleError

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "fixtures"))
from azure_stand_in import AzureStandIn  # noqa: E402

REGISTRY, TENANT, CLIENT, SECRET = "myreg.azurecr.io", "tenant-1", "app-1", "client-secret-value-LOOKUP"
COLLECTIONS = Path(__file__).resolve().parents[4] / ".tmp" / "collections"


def _collection_modules():
    return {k: v for k, v in sys.modules.items() if k == "ansible_collections" or k.startswith("ansible_collections.")}


@pytest.fixture(scope="module")
def lookup_plugin():
    """The plugin as Ansible loads it (collection finder, doc fragments, option config).

    The harness imported ``ansible_collections`` as a plain namespace package, which the
    collection finder cannot take over: those modules are set aside while this module's
    tests run and put back afterwards, so other test modules keep their own imports.
    """
    from ansible.plugins.loader import init_plugin_loader, lookup_loader
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    saved = _collection_modules()
    for name in saved:
        del sys.modules[name]
    try:
        init_plugin_loader([str(COLLECTIONS)])
        plugin = lookup_loader.get("cloud_registry.auth.registry_token")
        assert plugin is not None
        yield plugin
    finally:
        _AnsibleCollectionFinder._remove()
        for name in _collection_modules():
            del sys.modules[name]
        sys.modules.update(saved)


@pytest.fixture
def az():
    svc = AzureStandIn(REGISTRY, TENANT, {CLIENT: SECRET}).start()
    yield svc
    svc.stop()


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    for var in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET", "AZURE_AUTHORITY_HOST",
                "CLOUD_REGISTRY_TOKEN_MIN_TTL", "CLOUD_REGISTRY_TOKEN_CACHE_DIR", "CLOUD_REGISTRY_TOKEN_PROVIDER"):
        monkeypatch.delenv(var, raising=False)
    # each test gets its own run cache (a test is "one run")
    monkeypatch.setenv("CLOUD_REGISTRY_TOKEN_RUN_CACHE_DIR", str(tmp_path / "run"))


def kw(az, **extra):
    opts = {"registry": REGISTRY, "tenant_id": TENANT, "client_id": CLIENT, "client_secret": SECRET,
            "authority_host": az.url, "endpoint_url": az.url, "allow_http": True}
    opts.update(extra)
    return opts


def test_returns_one_dict_and_mints_once(lookup_plugin, az):
    first = lookup_plugin.run([], {}, provider="azure", **kw(az))
    assert isinstance(first, list) and len(first) == 1
    assert set(first[0]) == {"registry", "username", "password", "expires_at"}
    assert first[0]["username"] == "00000000-0000-0000-0000-000000000000" and first[0]["registry"] == REGISTRY
    second = lookup_plugin.run(["acr"], {}, **kw(az))  # provider as a term, through the alias
    third = lookup_plugin.run([], {}, provider="azure", **kw(az))
    assert second == first and third == first
    assert az.stats()["exchange"] == 1


def test_options_from_variables_and_environment(lookup_plugin, az, monkeypatch):
    az.refresh_lifetime = 1000
    with pytest.raises(AnsibleError, match=r"valid for only \d+s, not more than min_ttl=5000s"):
        lookup_plugin.run([], {"cloud_registry_token_min_ttl": 5000}, provider="azure", **kw(az))
    monkeypatch.setenv("CLOUD_REGISTRY_TOKEN_MIN_TTL", "4000")
    with pytest.raises(AnsibleError, match="min_ttl=4000s"):
        lookup_plugin.run([], {}, provider="azure", **kw(az))
    monkeypatch.setenv("AZURE_CLIENT_SECRET", SECRET)
    opts = kw(az, min_ttl=10)
    del opts["client_secret"]
    assert lookup_plugin.run([], {"cloud_registry_token_provider": "azure"}, **opts)[0]["registry"] == REGISTRY


def test_provider_errors(lookup_plugin):
    with pytest.raises(AnsibleError, match=r"unknown provider 'nope'; use one of: acr, alibaba, azure, ecr, gcp"):
        lookup_plugin.run(["nope"], {})
    with pytest.raises(AnsibleError, match="provider is required"):
        lookup_plugin.run([], {}, registry="x")
    with pytest.raises(AnsibleError, match="give one provider"):
        lookup_plugin.run(["ecr"], {}, provider="azure")
    with pytest.raises(AnsibleError, match=r"unknown option\(s\) regoin"):
        lookup_plugin.run([], {}, provider="ecr", regoin="eu-west-1")


def test_unexpected_provider_failure_never_shows_the_secret(lookup_plugin, az, monkeypatch):
    from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens import azure

    def broken(options):
        raise RuntimeError("boom while using %s" % options["client_secret"])

    monkeypatch.setattr(azure, "mint", broken)
    with pytest.raises(AnsibleError) as err:
        lookup_plugin.run([], {}, provider="azure", **kw(az))
    assert "provider=azure: unexpected RuntimeError: boom while using ********" in str(err.value)
    assert SECRET not in str(err.value)


def test_gcp_is_dispatched_to_the_gcp_provider(lookup_plugin, tmp_path):
    missing = tmp_path / "no-such-key.json"
    with pytest.raises(AnsibleError) as err:
        lookup_plugin.run(["gcp"], {}, credentials_file=str(missing))
    assert "gcp" in str(err.value) and "no-such-key.json" in str(err.value)


def test_cache_dir_option(lookup_plugin, az, tmp_path):
    cache_dir = tmp_path / "cache"
    lookup_plugin.run([], {}, provider="azure", cache_dir=str(cache_dir), **kw(az))
    files = sorted(p.suffix for p in cache_dir.iterdir() if p.name != ".key")
    assert files == [".json", ".lock"]
    assert (cache_dir / ".key").stat().st_mode & 0o777 == 0o600  # the directory's naming key


def test_secrets_from_the_environment_are_scrubbed_too(lookup_plugin, az, monkeypatch):
    from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens import azure

    env_secret = "env-only-secret-VALUE-0042"
    monkeypatch.setenv("AZURE_CLIENT_SECRET", env_secret)

    def broken(options):
        raise RuntimeError("boom with %s" % env_secret)

    monkeypatch.setattr(azure, "mint", broken)
    opts = kw(az)
    del opts["client_secret"]
    with pytest.raises(AnsibleError) as err:
        lookup_plugin.run([], {}, provider="azure", **opts)
    assert env_secret not in str(err.value) and "boom with ********" in str(err.value)
