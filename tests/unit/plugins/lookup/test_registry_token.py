"""The registry_token lookup plugin, loaded through Ansible's plugin loader: option
sources (keywords, variables, environment), provider dispatch, cache use, errors."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from ansible.errors import AnsibleError

from fixtures.azure_stand_in import AzureStandIn
from support.ansible_plugins import collection_plugins  # noqa: E402

REGISTRY, TENANT, CLIENT, SECRET = "myreg.azurecr.io", "tenant-1", "app-1", "client-secret-value-LOOKUP"


@pytest.fixture(scope="module")
def lookup_plugin():
    """The plugin as Ansible loads it (collection finder, doc fragments, option config)."""
    from ansible.plugins.loader import lookup_loader

    with collection_plugins():
        plugin = lookup_loader.get("cloud_registry.auth.registry_token")
        assert plugin is not None
        yield plugin


@pytest.fixture
def az():
    svc = AzureStandIn(REGISTRY, TENANT, {CLIENT: SECRET}).start()
    yield svc
    svc.stop()


@pytest.fixture(autouse=True)
def _isolated(monkeypatch, tmp_path):
    for var in (
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_AUTHORITY_HOST",
        "CLOUD_REGISTRY_TOKEN_MIN_TTL",
        "CLOUD_REGISTRY_TOKEN_CACHE_DIR",
        "CLOUD_REGISTRY_TOKEN_PROVIDER",
    ):
        monkeypatch.delenv(var, raising=False)
    # each test gets its own run cache (a test is "one run")
    monkeypatch.setenv("CLOUD_REGISTRY_TOKEN_RUN_CACHE_DIR", str(tmp_path / "run"))


def kw(az, **extra):
    opts = {
        "registry": REGISTRY,
        "tenant_id": TENANT,
        "client_id": CLIENT,
        "client_secret": SECRET,
        "authority_host": az.url,
        "endpoint_url": az.url,
        "allow_http": True,
    }
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


CREDENTIAL_TYPES = {"azure": "azure", "alibaba": "alibaba", "aws": "ecr", "google": "gcp"}
REQUIRED_ONLY = {
    "azure": {"tenant_id": TENANT, "client_id": CLIENT, "client_secret": SECRET},
    "alibaba": {"access_key_id": "LTAI", "access_key_secret": "ali-secret", "region": "cn-hangzhou"},
    "aws": {"access_key_id": "AKIATEST", "secret_access_key": "aws-secret", "region": "eu-west-1"},
    "google": {"credentials_json": '{"type": "service_account"}'},
}


@pytest.mark.parametrize("type_name", sorted(CREDENTIAL_TYPES))
def test_optional_credential_fields_awx_injects_as_empty_strings_are_unset(lookup_plugin, type_name, tmp_path, monkeypatch):
    """AWX renders an optional field left empty as "" into its environment variable (the credential types of
    extensions/awx): every lookup option that reads such a variable reaches the provider unset (None), never
    as "", so the provider's default (authority host, region, no STS token...) applies."""
    import yaml
    from ansible import constants as C

    from fixtures.awx_injectors import Injection

    root = Path(__file__).resolve().parents[4]
    ctype = yaml.safe_load((root / "extensions" / "awx" / "credential_types" / (type_name + ".yml")).read_text())
    inj = Injection(tmp_path / "pdd")
    inj.add(ctype, REQUIRED_ONLY[type_name])
    empty = sorted(k for k, v in inj.env.items() if v == "")
    for name, value in inj.env.items():
        monkeypatch.setenv(name, value)
    defs = C.config.get_configuration_definitions("lookup", lookup_plugin._load_name)
    reads_empty = sorted(o for o, d in defs.items() if any(e.get("name") in empty for e in d.get("env") or []))

    provider = CREDENTIAL_TYPES[type_name]
    module = sys.modules["ansible_collections.cloud_registry.auth.plugins.lookup.registry_token"].load_provider(provider)
    seen = {}

    def mint(options):
        seen.update(options)
        from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens.base import Credential

        return Credential(REGISTRY, "u", "minted-" + type_name, None)

    monkeypatch.setattr(module, "mint", mint)
    monkeypatch.setattr(module, "identity", lambda options: "awx-empty-%s" % type_name)
    out = lookup_plugin.run([provider], {}, registry=REGISTRY)
    assert out[0]["password"] == "minted-" + type_name
    if type_name == "azure":
        assert reads_empty == ["authority_host"]  # the case is exercised
    for option in reads_empty:
        assert seen[option] is None, (option, seen[option])
    assert not [k for k, v in seen.items() if v == ""]
    # the variables the providers read themselves (ALIBABA_CLOUD_SECURITY_TOKEN, AWS_SESSION_TOKEN...) count as unset
    from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens._options import from_env

    assert type_name not in ("alibaba", "aws") or empty
    for var in empty:
        assert from_env({}, "unused", var, default=None) is None
