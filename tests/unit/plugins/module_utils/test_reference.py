"""module_utils/reference.py's Reference: one parse, then every key and the endpoint; and the clients that contact
a registry (verification, the OAuth2 minter, containerd's hosts.toml) agree with it because they use it."""

from __future__ import annotations

import pytest

from ansible_collections.cloud_registry.auth.plugins.module_utils import node_auth, registry
from ansible_collections.cloud_registry.auth.plugins.module_utils.errors import DockerConfigError
from ansible_collections.cloud_registry.auth.plugins.module_utils.reference import Reference, helper_key, normalize_registry
from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens import oauth2
from ansible_collections.cloud_registry.auth.plugins.plugin_utils.verification import endpoint_key


@pytest.mark.parametrize(
    "given, scheme, hostport, endpoint, hub, docker_key, containers_key, helper, verification",
    [
        (
            "docker.io",
            None,
            "docker.io",
            "registry-1.docker.io",
            True,
            "https://index.docker.io/v1/",
            "docker.io",
            "index.docker.io",
            "https://index.docker.io/v1/",
        ),
        (
            "https://Index.Docker.io/v1/",
            "https",
            "index.docker.io",
            "registry-1.docker.io",
            True,
            "https://index.docker.io/v1/",
            "docker.io",
            "index.docker.io",
            "https://index.docker.io/v1/",
        ),
        (
            "docker.io:443",
            None,
            "docker.io:443",
            "docker.io:443",
            False,
            "docker.io:443",
            "docker.io:443",
            "docker.io:443",
            "docker.io:443",
        ),
        (
            "http://REG.example:05000/team/app/",
            "http",
            "reg.example:5000",
            "reg.example:5000",
            False,
            "reg.example:5000",
            "reg.example:5000/team/app",
            "reg.example:5000",
            "http://reg.example:5000",
        ),
        ("[::1]:5000", None, "[::1]:5000", "[::1]:5000", False, "[::1]:5000", "[::1]:5000", "[::1]:5000", "[::1]:5000"),
    ],
)
def test_one_parse_answers_every_key(given, scheme, hostport, endpoint, hub, docker_key, containers_key, helper, verification):
    ref = Reference.parse(given)
    assert (ref.scheme, ref.hostport, ref.endpoint, ref.is_docker_hub) == (scheme, hostport, endpoint, hub)
    assert ref.config_key() == docker_key == normalize_registry(given)
    assert ref.config_key("containers") == containers_key == normalize_registry(given, "containers")
    assert ref.helper_key() == helper == helper_key(given)
    assert ref.verification_key == verification == endpoint_key(given)


@pytest.mark.parametrize(
    "bad, message",
    [
        ("", "registry is empty"),
        ("https://", "has no host name"),
        ("user@reg.example", "must not contain user information"),
        ("reg_example.com", "is not a valid host name"),
        ("reg.example:99999", "invalid port"),
        ("ftp://reg.example", "unsupported scheme"),
    ],
)
def test_bad_names_are_refused_with_what_to_give(bad, message):
    with pytest.raises(DockerConfigError, match=message):
        Reference.parse(bad)


def test_the_clients_contact_what_the_reference_says():
    for name in ("docker.io", "https://index.docker.io/v1/", "registry.hub.docker.com"):
        ref = Reference.parse(name)
        assert registry.endpoints(name) == ["https://" + ref.endpoint] == ["https://registry-1.docker.io"]
        assert oauth2.registry_base({"registry": name}) == ("https://registry-1.docker.io", "docker.io")
        assert node_auth.containerd_target(name) == ("docker.io", "registry-1.docker.io", "https")
    assert registry.endpoints("http://127.0.0.1:5000/v2/") == ["http://127.0.0.1:5000"]
    assert oauth2.registry_base({"registry": "http://127.0.0.1:5000/v2/"}) == ("http://127.0.0.1:5000", "127.0.0.1:5000")
    assert node_auth.containerd_target("http://127.0.0.1:5000") == ("127.0.0.1:5000", "127.0.0.1:5000", "http")


def test_a_bad_name_is_each_clients_own_clear_error():
    with pytest.raises(registry.RegistryError, match="has no host name"):
        registry.endpoints("https://")
    with pytest.raises(oauth2.TokenError, match="registry_token provider=oauth2: registry 'a b' contains white space"):
        oauth2.registry_base({"registry": "a b"})
