"""node_auth role on this host (local connection) with every path under the test's tmp
dir: the 4-run pattern (check, run, check, run) over the kubelet config.json, the
containers auth.json, containerd's deprecated CRI auth drop-in and the kubelet
credential provider config; files read back by skopeo, tomllib and PyYAML; bad input
changes nothing. (The Molecule scenario `nodes` covers handlers and hosts.toml on
containers.)"""

from __future__ import annotations

import json
import secrets
import stat
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from fixtures.registry_env import make_ca, push_image, start_registry
from support.clients import skopeo_inspect

pytestmark = [pytest.mark.slow]
PASSWORD = "node-" + secrets.token_hex(8)

PLAY = """
- name: Node auth
  hosts: localhost
  gather_facts: false
  roles:
    - role: cloud_registry.auth.node_auth
"""


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    work = tmp_path_factory.mktemp("registry")
    reg = start_registry(work, auth="htpasswd", users={"puller": PASSWORD}, ca=make_ca(work))
    try:
        push_image(reg, "demo/tiny", "1", "puller", PASSWORD, work)
        yield reg
    finally:
        reg.stop()


def _vars(tmp_path: Path, reg, **kw) -> dict:
    provider = tmp_path / "provider.sh"
    provider.write_text("#!/bin/sh\nexit 1\n")
    v = {
        "node_auth_logins": [{"registry": reg.host, "username": "puller", "password": PASSWORD}],
        "node_auth_ca_cert": str(reg.ca_path),
        "node_auth_kubelet_config_path": str(tmp_path / "kubelet" / "config.json"),
        "node_auth_containers_auth_path": str(tmp_path / "containers" / "auth.json"),
        "node_auth_containerd": "cri_auth",
        "node_auth_containerd_config_path": str(tmp_path / "containerd" / "config.toml"),
        "node_auth_containerd_dropin": str(tmp_path / "containerd" / "conf.d" / "cra.toml"),
        "node_auth_credential_providers": [
            {"name": "my-provider", "match_images": ["*.registry.example.com"], "src": str(provider)}
        ],
        "node_auth_credential_provider_config_path": str(tmp_path / "kubernetes" / "provider.yaml"),
        "node_auth_credential_provider_bin_dir": str(tmp_path / "bin"),
        "node_auth_restart_services": False,
    }
    v.update(kw)
    return v


def _changed(run) -> bool:
    return any(s.get("changed", 0) for s in run.stats().values())


def test_four_runs_and_real_readers(tmp_path, playbook, registry):
    kubelet = tmp_path / "kubelet" / "config.json"
    kubelet.parent.mkdir()
    kubelet.write_text(json.dumps({"auths": {"other.example.com": {"auth": "dTpw"}}}))
    ctd = tmp_path / "containerd" / "config.toml"
    ctd.parent.mkdir()
    ctd.write_text('version = 2\n[plugins."io.containerd.grpc.v1.cri"]\n  sandbox_image = "pause:3.9"\n')
    ev = _vars(tmp_path, registry)
    runs = [playbook(PLAY, extra_vars=ev, check=c, diff=True) for c in (True, False, True, False)]
    for r in runs:
        assert r.rc == 0, r.output
        assert PASSWORD not in r.output
    assert [_changed(r) for r in runs] == [True, True, False, False]

    for authfile in (kubelet, tmp_path / "containers" / "auth.json"):
        assert stat.S_IMODE(authfile.stat().st_mode) == 0o600
        res = skopeo_inspect(registry, authfile)
        assert res.returncode == 0, res.stderr
    assert "other.example.com" in json.loads(kubelet.read_text())["auths"]  # merged, not replaced

    # the auth is a block of config.toml itself (containerd replaces a whole plugin section with
    # an imported one), the rest of the file kept, the file private now
    main = tomllib.loads(ctd.read_text())
    cri = main["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["sandbox_image"] == "pause:3.9" and "imports" not in main
    auth = cri["registry"]["configs"][registry.host]["auth"]
    assert (auth["username"], auth["password"]) == ("puller", PASSWORD)
    assert stat.S_IMODE(ctd.stat().st_mode) == 0o600
    assert not Path(ev["node_auth_containerd_dropin"]).exists()

    cpc = yaml.safe_load((tmp_path / "kubernetes" / "provider.yaml").read_text())
    assert cpc == {
        "apiVersion": "kubelet.config.k8s.io/v1",
        "kind": "CredentialProviderConfig",
        "providers": [
            {
                "name": "my-provider",
                "matchImages": ["*.registry.example.com"],
                "defaultCacheDuration": "10m",
                "apiVersion": "credentialprovider.kubelet.k8s.io/v1",
            }
        ],
    }
    assert stat.S_IMODE((tmp_path / "bin" / "my-provider").stat().st_mode) == 0o755


@pytest.mark.parametrize(
    "bad, words",
    [
        ({"match_images": []}, "match_images"),
        ({"default_cache_duration": "12 hours"}, "Go duration"),
        ({"api_version": "v2"}, "api_version"),
        ({"name": "../evil"}, "file name"),
    ],
)
def test_bad_provider_changes_nothing(tmp_path, playbook, registry, bad, words):
    ev = _vars(tmp_path, registry)
    ev["node_auth_credential_providers"][0].update(bad)
    r = playbook(PLAY, extra_vars=ev)
    assert r.rc != 0
    assert words in r.output
    assert not (tmp_path / "kubernetes").exists()
    assert not (tmp_path / "bin").exists()
    assert not (tmp_path / "kubelet").exists()


def test_config_toml_that_defines_the_auth_itself_changes_nothing(tmp_path, playbook, registry):
    ctd = tmp_path / "containerd" / "config.toml"
    ctd.parent.mkdir()
    ctd.write_text(
        'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry.configs."%s".auth]\n  username = "someone"\n' % registry.host
    )
    before = ctd.read_bytes()
    r = playbook(PLAY, extra_vars=_vars(tmp_path, registry, node_auth_credential_providers=[]))
    assert r.rc != 0
    assert f"{ctd} cannot take the CRI registry auth tables" in r.output and "Nothing was changed" in r.output
    assert ctd.read_bytes() == before
    assert not (tmp_path / "kubelet").exists() and not (tmp_path / "containers").exists()
    assert PASSWORD not in r.output


def test_an_imports_line_is_kept_and_an_old_dropin_is_emptied(tmp_path, playbook, registry):
    ctd = tmp_path / "containerd" / "config.toml"
    dropin = tmp_path / "containerd" / "conf.d" / "cra.toml"
    dropin.parent.mkdir(parents=True)
    # what earlier versions wrote: a CRI section of its own, which replaced the main one's
    dropin.write_text(
        'version = 2\n[plugins."io.containerd.grpc.v1.cri".registry.configs."x".auth]\n  username = "u"\n  password = "old"\n'
    )
    ctd.write_text(
        'imports = ["%s"]\nversion = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n'
        '  config_path = "/etc/containerd/certs.d"\n' % dropin
    )
    r = playbook(PLAY, extra_vars=_vars(tmp_path, registry, node_auth_credential_providers=[]))
    assert r.rc == 0, r.output
    main = tomllib.loads(ctd.read_text())
    assert main["imports"] == [str(dropin)]
    registry_section = main["plugins"]["io.containerd.grpc.v1.cri"]["registry"]
    assert registry_section["config_path"] == "/etc/containerd/certs.d"
    assert registry_section["configs"][registry.host]["auth"]["password"] == PASSWORD
    assert tomllib.loads(dropin.read_text()) == {}  # emptied: defines nothing any more
    again = playbook(PLAY, extra_vars=_vars(tmp_path, registry, node_auth_credential_providers=[]))
    assert again.rc == 0 and not _changed(again), again.output


def _module_runs(run) -> int:
    """node_auth_apply module runs of a -vvv run (ansible-core prints the module file it packs for each)."""
    return sum(1 for line in run.output.splitlines() if "Using module file" in line and "node_auth_apply" in line)


def _node_without_sha256sum(tmp_path: Path) -> Path:
    """A shell for the node whose PATH has every command of /usr/bin and /bin except sha256sum."""
    farm = tmp_path / "no-sha256sum"
    farm.mkdir()
    for directory in (Path("/usr/bin"), Path("/bin")):
        for tool in directory.iterdir():
            if tool.name != "sha256sum" and not (farm / tool.name).exists():
                (farm / tool.name).symlink_to(tool)
    shell = tmp_path / "sh-no-sha256sum"
    shell.write_text(f'#!/bin/sh\nPATH="{farm}:{Path(sys.executable).parent}"\nexport PATH\nexec /bin/sh "$@"\n')
    shell.chmod(0o755)
    return shell


def test_provider_binary_goes_with_the_first_module_run(tmp_path, playbook, registry):
    """The node says which binaries differ before the module runs: installing or replacing one costs one
    module run per node, not two; a node that cannot say (no sha256sum) still gets it, in two."""
    ev = _vars(tmp_path, registry, node_auth_containerd="none")
    source = Path(ev["node_auth_credential_providers"][0]["src"])
    installed = tmp_path / "bin" / "my-provider"

    first = playbook(PLAY, extra_vars=ev, verbosity=3, json_output=False)
    assert first.rc == 0, first.output
    assert installed.read_bytes() == source.read_bytes()
    assert _module_runs(first) == 1, first.output

    installed.write_text("#!/bin/sh\n# replaced by hand\nexit 0\n")
    replaced = playbook(PLAY, extra_vars=ev, verbosity=3, json_output=False)
    assert replaced.rc == 0, replaced.output
    assert installed.read_bytes() == source.read_bytes()
    assert "changed: [localhost]" in replaced.output
    assert _module_runs(replaced) == 1, replaced.output

    again = playbook(PLAY, extra_vars=ev, verbosity=3, json_output=False)
    assert again.rc == 0 and "changed: [localhost]" not in again.output, again.output
    assert _module_runs(again) == 1

    installed.unlink()
    inventory = tmp_path / "no-sha256sum.ini"
    inventory.write_text(f"localhost ansible_connection=local ansible_shell_executable={_node_without_sha256sum(tmp_path)}\n")
    fallback = playbook(PLAY, inventory=inventory, extra_vars=ev, verbosity=3, json_output=False)
    assert fallback.rc == 0, fallback.output
    assert installed.read_bytes() == source.read_bytes()
    assert _module_runs(fallback) == 2, fallback.output
    for run in (first, replaced, again, fallback):
        assert PASSWORD not in run.output
