"""Unit tests for the config.json engine (pure functions + local files, no network)."""

import json
import os
import stat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.cloud_registry.auth.plugins.module_utils import docker_config as dc
from ansible_collections.cloud_registry.auth.plugins.module_utils.reference import DOCKER_HUB_KEY
from ansible_collections.cloud_registry.auth.plugins.module_utils.docker_config import DockerConfigError


@pytest.mark.parametrize(
    "server, key",
    [
        ("docker.io", DOCKER_HUB_KEY),
        ("index.docker.io", DOCKER_HUB_KEY),
        ("registry-1.docker.io", DOCKER_HUB_KEY),
        ("https://index.docker.io/v1/", DOCKER_HUB_KEY),
        ("https://index.docker.io/v1", DOCKER_HUB_KEY),
        ("Docker.IO", DOCKER_HUB_KEY),
        ("gcr.io", "gcr.io"),
        ("https://gcr.io", "gcr.io"),
        ("https://gcr.io/", "gcr.io"),
        ("http://registry.local:5000/v2/", "registry.local:5000"),
        ("us-docker.pkg.dev/my-project/repo", "us-docker.pkg.dev"),
        ("u-france-east1-docker.s3nsregistry.fr", "u-france-east1-docker.s3nsregistry.fr"),
        ("registry.cn-beijing.aliyuncs.com", "registry.cn-beijing.aliyuncs.com"),
        ("127.0.0.1:05000", "127.0.0.1:5000"),
        ("[::1]:5000", "[::1]:5000"),
        ("https://[::1]:5000/v2/", "[::1]:5000"),
        ("docker.io:443", "docker.io:443"),  # an explicit port is not the Hub alias
    ],
)
def test_normalize_docker(server, key):
    assert dc.normalize_registry(server) == key


@pytest.mark.parametrize(
    "server, key",
    [
        ("docker.io", "docker.io"),
        ("https://index.docker.io/v1/", "docker.io"),
        ("quay.io/org/team", "quay.io/org/team"),
        ("https://registry.local:5000/", "registry.local:5000"),
    ],
)
def test_normalize_containers(server, key):
    assert dc.normalize_registry(server, "containers") == key


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "   ",
        "reg istry.io",
        "ftp://x.io",
        "user@host.io",
        "host.io:0",
        "host.io:70000",
        "host.io:abc",
        "-bad.io",
        "a..b",
        "[::1",
        "[zz::1]:5000",
        "https://",
        "quay.io/UPPER",
    ],
)
def test_normalize_rejects(bad):
    with pytest.raises(DockerConfigError) as e:
        dc.normalize_registry(bad, "containers" if "UPPER" in bad else "docker")
    assert "registry" in str(e.value) or "namespace" in str(e.value)


def test_helper_key_hub_is_host_form():
    assert dc.helper_key("docker.io") == "index.docker.io"
    assert dc.helper_key("https://gcr.io/") == "gcr.io"


def legacy_spellings(host):
    """The keys docker clients have written for a registry over the years."""
    return [
        host,
        "https://" + host,
        "http://" + host,
        "https://" + host + "/",
        "https://" + host + "/v1/",
        "https://" + host + "/v2/",
        "http://" + host + "/v1/",
    ]


def test_matching_keys_finds_every_legacy_spelling():
    mapping = {k: {} for k in legacy_spellings("registry.local:5000")}
    mapping["other.io"] = {}
    found = dc.matching_keys(mapping, "http://registry.local:5000")
    assert found[0] == "registry.local:5000" and sorted(found) == sorted(legacy_spellings("registry.local:5000"))
    mapping = {"https://registry.local:5000/v1/": {}, "other.io": {}, "registry.local:5000": {}}
    assert dc.matching_keys(mapping, "http://registry.local:5000") == ["registry.local:5000", "https://registry.local:5000/v1/"]
    hub = {"https://index.docker.io/v1/": {}, "docker.io": {}, "quay.io": {}}
    assert sorted(dc.matching_keys(hub, "index.docker.io")) == sorted(["https://index.docker.io/v1/", "docker.io"])


_label = st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
_host = st.lists(_label, min_size=1, max_size=4).map(".".join)
_port = st.one_of(st.none(), st.integers(1, 65535))
_scheme = st.sampled_from(["", "http://", "https://", "HTTPS://"])
_suffix = st.sampled_from(["", "/", "/v1/", "/v2/", "/some/path"])


@settings(max_examples=300, deadline=None)
@given(_scheme, _host, _port, _suffix)
def test_normalisation_is_idempotent_and_ignores_spelling(scheme, host, port, suffix):
    server = scheme + host + ("" if port is None else ":%d" % port) + suffix
    key = dc.normalize_registry(server)
    assert dc.normalize_registry(key) == key
    if key != DOCKER_HUB_KEY:
        assert key == host + ("" if port is None else ":%d" % port)
    # every legacy spelling of the key names the same registry
    for variant in legacy_spellings(key if key != DOCKER_HUB_KEY else "index.docker.io"):
        assert dc.normalize_registry(variant) == key


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40).filter(lambda s: ":" not in s), st.text(max_size=60))
def test_auth_round_trip(username, password):
    assert dc.decode_auth(dc.encode_auth(username, password)) == (username, password)


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["psFormat", "proxies", "currentContext", "plugins", "aliases", "x"]),
        st.one_of(st.text(max_size=10), st.dictionaries(st.text(max_size=5), st.text(max_size=5))),
    )
)
def test_unknown_keys_survive_a_round_trip(tmp_path_factory, extra):
    path = tmp_path_factory.mktemp("rt") / "config.json"
    path.write_text(json.dumps(extra))
    dc.update_config(str(path), lambda d: dc.set_auth(d, "reg.io", dc.auth_entry("u", "p")))
    data = json.loads(path.read_text())
    for k, v in extra.items():
        assert data[k] == v
    assert dc.entry_credentials(data["auths"]["reg.io"])[:2] == ("u", "p")


def test_decode_auth_errors_hide_the_value():
    with pytest.raises(DockerConfigError) as e:
        dc.decode_auth("!!!not-base64-secretvalue")
    assert "secretvalue" not in str(e.value)


def test_credential_source_precedence():
    data = {"credsStore": "desktop", "credHelpers": {"gcr.io": "gcloud"}, "auths": {"gcr.io": {"auth": "eDp5"}}}
    assert dc.credential_source(data, "https://gcr.io") == ("helper", "gcloud")
    assert dc.credential_source(data, "quay.io") == ("store", "desktop")
    assert dc.credential_source({"auths": {}}, "quay.io") == ("file", None)
    assert dc.credential_source({"credHelpers": {"index.docker.io": "pass"}}, "docker.io") == ("helper", "pass")


def test_masked_hides_secrets_and_marks_changes():
    before = {"auths": {"r.io": {"auth": dc.encode_auth("alice", "old"), "identitytoken": "tok1"}}}
    after = {"auths": {"r.io": {"auth": dc.encode_auth("alice", "new"), "identitytoken": "tok1"}}}
    m = dc.masked(after, before)
    text = json.dumps(m)
    assert "new" not in text and "tok1" not in text and dc.encode_auth("alice", "new") not in text
    assert m["auths"]["r.io"]["auth"] == "alice:" + dc.CHANGED_MASK
    assert m["auths"]["r.io"]["identitytoken"] == dc.MASK


def test_default_paths():
    assert dc.default_config_path("docker", {"DOCKER_CONFIG": "/x"}) == "/x/config.json"
    assert dc.default_config_path("docker", {}, home="/h") == "/h/.docker/config.json"
    assert dc.default_config_path("containers", {"REGISTRY_AUTH_FILE": "/a.json"}) == "/a.json"
    assert dc.default_config_path("containers", {}, home="/h") == "/h/.config/containers/auth.json"
    assert dc.default_config_path("containers", {"XDG_CONFIG_HOME": "/c"}, home="/h") == "/c/containers/auth.json"


def _mode(p):
    return stat.S_IMODE(os.stat(p).st_mode)


def test_new_file_and_dir_modes(tmp_path):
    path = tmp_path / "new" / "dir" / "config.json"
    res = dc.update_config(str(path), lambda d: dc.set_helper(d, "gcr.io", "gcloud"))
    assert res.changed and res.created
    assert _mode(path) == 0o600
    assert _mode(path.parent) == 0o700 and _mode(path.parent.parent) == 0o700
    assert json.loads(path.read_text()) == {"credHelpers": {"gcr.io": "gcloud"}}


def test_check_mode_writes_nothing(tmp_path):
    path = tmp_path / "d" / "config.json"
    res = dc.update_config(str(path), lambda d: dc.set_helper(d, "gcr.io", "gcloud"), check_mode=True)
    assert res.changed
    assert not path.parent.exists()


def test_existing_mode_kept_and_no_change_no_write(tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{"credHelpers": {"gcr.io": "gcloud"}}')
    os.chmod(path, 0o640)
    before_ino = os.stat(path).st_ino
    res = dc.update_config(str(path), lambda d: dc.set_helper(d, "https://gcr.io/", "gcloud"))
    assert not res.changed
    assert os.stat(path).st_ino == before_ino  # not rewritten
    res = dc.update_config(str(path), lambda d: dc.set_helper(d, "us.gcr.io", "gcloud"))
    assert res.changed
    assert _mode(path) == 0o640


def test_mode_option_changes_attrs_only(tmp_path):
    path = tmp_path / "config.json"
    path.write_text("{}")
    os.chmod(path, 0o644)
    res = dc.update_config(str(path), lambda d: None, mode="0600")
    assert res.changed and res.attrs_changed and not res.content_changed
    assert _mode(path) == 0o600
    assert not dc.update_config(str(path), lambda d: None, mode="0600").changed


def test_symlink_is_followed(tmp_path):
    target = tmp_path / "real.json"
    target.write_text('{"psFormat": "x"}')
    link = tmp_path / "config.json"
    link.symlink_to(target)
    dc.update_config(str(link), lambda d: dc.set_helper(d, "gcr.io", "gcloud"))
    assert link.is_symlink()
    assert json.loads(target.read_text())["credHelpers"] == {"gcr.io": "gcloud"}


@pytest.mark.parametrize("content", ["{not json", "[]", '{"auths": []}', '{"credHelpers": {"a": 1}}', '{"auths": {"a": "x"}}'])
def test_broken_file_is_error_and_untouched(tmp_path, content):
    path = tmp_path / "config.json"
    path.write_text(content)
    with pytest.raises(DockerConfigError) as e:
        dc.update_config(str(path), lambda d: dc.set_helper(d, "gcr.io", "gcloud"))
    assert str(path) in str(e.value)
    assert path.read_text() == content


def test_directory_instead_of_file(tmp_path):
    path = tmp_path / "config.json"
    path.mkdir()
    with pytest.raises(DockerConfigError) as e:
        dc.update_config(str(path), lambda d: None)
    assert "is a directory" in str(e.value)


def test_set_auth_replaces_legacy_spellings(tmp_path):
    data = {"auths": {"https://registry.local:5000/v1/": {"auth": dc.encode_auth("a", "b"), "email": "x"}, "q.io": {}}}
    dc.set_auth(data, "registry.local:5000", dc.auth_entry("u", "p"))
    assert list(data["auths"]) == ["q.io", "registry.local:5000"]
    assert dc.remove_auth(data, "https://registry.local:5000") == ["registry.local:5000"]
    assert data["auths"] == {"q.io": {}}


def test_identity_token_entry_like_docker_login():
    entry = dc.auth_entry("alice", "pw", identity_token="refresh")
    assert dc.entry_credentials(entry) == ("alice", "", "refresh")


def test_mutate_error_changes_nothing(tmp_path):
    path = tmp_path / "config.json"
    path.write_text('{"credHelpers": {}}')

    def boom(data):
        data["credHelpers"]["x.io"] = "y"
        raise DockerConfigError("stop")

    with pytest.raises(DockerConfigError):
        dc.update_config(str(path), boom)
    assert path.read_text() == '{"credHelpers": {}}'


def test_unknown_owner_is_clear(tmp_path):
    with pytest.raises(DockerConfigError) as e:
        dc.update_config(str(tmp_path / "c.json"), lambda d: None, owner="no-such-user-xyz")
    assert "no-such-user-xyz" in str(e.value)


@pytest.mark.parametrize("mode, expected", [(0o600, 0o600), ("0640", 0o640), ("600", 0o600), (None, None)])
def test_parse_mode(mode, expected):
    assert dc.parse_mode(mode) == expected


def test_parse_mode_rejects_symbolic():
    with pytest.raises(DockerConfigError):
        dc.parse_mode("u=rw")


def test_for_user_resolves_home_and_owner():
    import pwd

    nobody = pwd.getpwnam("nobody")
    path, owner, group, account = dc.for_user("nobody")
    assert path == os.path.join(nobody.pw_dir, ".docker", "config.json")
    assert (owner, group) == (str(nobody.pw_uid), str(nobody.pw_gid))
    assert account.name == "nobody" and dc.for_user(str(nobody.pw_uid))[3].name == "nobody"
    # the module process's own $DOCKER_CONFIG is not the user's
    path, owner, group, dummy = dc.for_user("nobody", fmt="containers", owner="root")
    assert path == os.path.join(nobody.pw_dir, ".config", "containers", "auth.json")
    assert (owner, group) == ("root", str(nobody.pw_gid))
    # an explicit path wins; no user: everything passes through
    assert dc.for_user("nobody", "/x/c.json")[0] == "/x/c.json"
    assert dc.for_user(None, "/x/c.json", owner="7") == ("/x/c.json", "7", None, None)


def test_for_user_unknown_user_names_it():
    with pytest.raises(DockerConfigError, match="user no-such-user-x does not exist on this host: create it first"):
        dc.for_user("no-such-user-x")


def test_update_with_nothing_to_write_creates_no_directory(tmp_path):
    path = tmp_path / "home" / ".docker" / "config.json"
    upd = dc.update_config(str(path), lambda data: None)
    assert not upd.changed and not (tmp_path / "home").exists()
    upd = dc.update_config(str(path), lambda data: data.update(psFormat="x"))
    assert upd.changed and json.loads(path.read_text()) == {"psFormat": "x"}
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
