"""credential_helpers role against a local release mirror on 127.0.0.1.

The mirror serves real tar.gz archives built here (the helper inside is a small
program speaking the docker-credential protocol's ``get``/``version``) and a
goreleaser-style checksums.txt, laid out as ``<mirror>/<helper>/<version>/<file>``.
The role runs for real on this host (local connection) with its install and cache
directories under the test's tmp dir.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile

import pytest

from fixtures.file_mirror import FileMirror

GCR_VERSION = "9.9.1"
ACR_VERSION = "9.9.2"

HELPER_SCRIPT = """#!/bin/sh
# test build of {name} {version}
case "$1" in
  version) echo "{name} {version}" ;;
  get)
    read -r server
    user=$(sed -n 's/^access_key_id *= *//p' "${{ALIBABA_CLOUD_CREDENTIALS_FILE:-/nonexistent}}" 2>/dev/null)
    printf '{{"ServerURL":"%s","Username":"%s","Secret":"x"}}\\n' "$server" "${{user:-none}}" ;;
  *) echo "unsupported" >&2; exit 1 ;;
esac
"""


def _targz(members: dict[str, str]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in members.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def mirror(tmp_path):
    root = tmp_path / "mirror"
    gcr_dir = root / "gcr" / GCR_VERSION
    acr_dir = root / "acr-helper" / ACR_VERSION
    gcr_dir.mkdir(parents=True)
    acr_dir.mkdir(parents=True)
    gcr = _targz({"docker-credential-gcr": HELPER_SCRIPT.format(name="docker-credential-gcr", version=GCR_VERSION)})
    gcr_name = f"docker-credential-gcr_linux_amd64-{GCR_VERSION}.tar.gz"
    (gcr_dir / gcr_name).write_bytes(gcr)
    acr = _targz(
        {
            "docker-credential-acr-helper": HELPER_SCRIPT.format(name="docker-credential-acr-helper", version=ACR_VERSION),
            "README.md": "acr helper\n",
        }
    )
    acr_name = f"docker-credential-acr-helper_{ACR_VERSION}_Linux_x86_64.tar.gz"
    (acr_dir / acr_name).write_bytes(acr)
    other = _targz({"docker-credential-acr-helper": "#!/bin/sh\necho arm\n"})
    (acr_dir / "checksums.txt").write_text(
        f"{_sha(other)}  docker-credential-acr-helper_{ACR_VERSION}_Linux_arm64.tar.gz\n{_sha(acr)}  {acr_name}\n"
    )
    with FileMirror(root) as m:
        m.gcr = (gcr_dir / gcr_name, _sha(gcr))
        m.acr = (acr_dir / acr_name, _sha(acr))
        m.sums = acr_dir / "checksums.txt"
        yield m


def _releases(gcr_sha="", acr_sha=""):
    return {
        "gcr": {
            "version": GCR_VERSION,
            "url": "https://github.invalid/gcr/v{version}/docker-credential-gcr_linux_{arch}-{version}.tar.gz",
            "arch_names": {"amd64": "amd64", "arm64": "arm64"},
            "binary": "docker-credential-gcr",
            "sha256": {"amd64": gcr_sha} if gcr_sha else {},
            "checksums_url": "",
        },
        "acr-helper": {
            "version": ACR_VERSION,
            "url": "https://github.invalid/acr/v{version}/docker-credential-acr-helper_{version}_Linux_{arch}.tar.gz",
            "arch_names": {"amd64": "x86_64", "arm64": "arm64"},
            "binary": "docker-credential-acr-helper",
            "sha256": {"amd64": acr_sha} if acr_sha else {},
            "checksums_url": "https://github.invalid/acr/v{version}/checksums.txt",
        },
    }


PLAY = """
- name: Install helpers
  hosts: localhost
  gather_facts: false
  roles:
    - role: cloud_registry.auth.credential_helpers
"""


def _vars(tmp_path, mirror, **kw):
    v = {
        "credential_helpers_install": ["gcr", "acr-helper"],
        "credential_helpers_mirror_url": mirror.url + "/",
        "credential_helpers_install_dir": str(tmp_path / "bin"),
        "credential_helpers_cache_dir": str(tmp_path / "cache"),
        "credential_helpers_releases": _releases(gcr_sha=mirror.gcr[1]),
    }
    v.update(kw)
    (tmp_path / "bin").mkdir(exist_ok=True)
    return v


def _changed(run) -> bool:
    return any(s.get("changed", 0) for s in run.stats().values())


def _failed_msg(run) -> str:
    for task in run.tasks.values():
        for res in task.values():
            if res.get("failed"):
                return res.get("msg", "")
    return run.output


def test_install_from_mirror_four_runs(tmp_path, playbook, mirror):
    ev = _vars(tmp_path, mirror)
    runs = [playbook(PLAY, extra_vars=ev, check=c) for c in (True, False, True, False)]
    for r in runs:
        assert r.rc == 0, r.output
    assert [_changed(r) for r in runs] == [True, True, False, False]
    for name, version in (("gcr", GCR_VERSION), ("acr-helper", ACR_VERSION)):
        binary = tmp_path / "bin" / f"docker-credential-{name}"
        assert os.access(binary, os.X_OK)
        out = subprocess.run([str(binary), "version"], capture_output=True, text=True, check=True).stdout
        assert out.strip() == f"docker-credential-{name} {version}"
    # one download per archive for two real runs and two check runs
    assert mirror.hits[f"/gcr/{GCR_VERSION}/{mirror.gcr[0].name}"] == 1
    assert mirror.hits[f"/acr-helper/{ACR_VERSION}/{mirror.acr[0].name}"] == 1


def test_replaced_binary_is_reinstalled(tmp_path, playbook, mirror):
    ev = _vars(tmp_path, mirror, credential_helpers_install=["gcr"])
    assert playbook(PLAY, extra_vars=ev).rc == 0
    binary = tmp_path / "bin" / "docker-credential-gcr"
    binary.write_text("#!/bin/sh\necho tampered\n")
    r = playbook(PLAY, extra_vars=ev)
    assert r.rc == 0 and _changed(r), r.output
    assert "tampered" not in binary.read_text()


def test_tampered_archive_installs_nothing(tmp_path, playbook, mirror):
    path, good = mirror.gcr
    path.write_bytes(_targz({"docker-credential-gcr": "#!/bin/sh\necho evil\n"}))
    r = playbook(PLAY, extra_vars=_vars(tmp_path, mirror, credential_helpers_install=["gcr"]))
    assert r.rc != 0
    assert "checksum" in r.output.lower() or good in r.output
    assert not (tmp_path / "bin" / "docker-credential-gcr").exists()
    assert not list((tmp_path / "cache").glob("*.tar.gz"))


def test_tampered_archive_keeps_installed_version(tmp_path, playbook, mirror):
    ev = _vars(tmp_path, mirror, credential_helpers_install=["acr-helper"])
    assert playbook(PLAY, extra_vars=ev).rc == 0
    binary = tmp_path / "bin" / "docker-credential-acr-helper"
    before = binary.read_bytes()
    # an upgrade whose archive on the mirror was swapped: checksums.txt no longer matches
    new_dir = mirror.acr[0].parent.parent / "9.9.3"
    new_dir.mkdir()
    name = "docker-credential-acr-helper_9.9.3_Linux_x86_64.tar.gz"
    (new_dir / name).write_bytes(_targz({"docker-credential-acr-helper": "#!/bin/sh\necho evil\n"}))
    (new_dir / "checksums.txt").write_text(f"{'0' * 64}  {name}\n")
    rel = _releases(gcr_sha=mirror.gcr[1])
    rel["acr-helper"]["version"] = "9.9.3"
    r = playbook(PLAY, extra_vars=dict(ev, credential_helpers_releases=rel))
    assert r.rc != 0
    assert binary.read_bytes() == before


def test_pinned_sha_disagrees_with_checksums_txt(tmp_path, playbook, mirror):
    rel = _releases(gcr_sha=mirror.gcr[1], acr_sha="a" * 64)
    r = playbook(
        PLAY,
        extra_vars=_vars(tmp_path, mirror, credential_helpers_install=["acr-helper"], credential_helpers_releases=rel),
    )
    assert r.rc != 0
    msg = _failed_msg(r)
    assert "checksum mismatch" in msg and "nothing was installed" in msg, msg
    assert not (tmp_path / "bin" / "docker-credential-acr-helper").exists()


def test_missing_pin_is_a_clear_error(tmp_path, playbook, mirror):
    r = playbook(
        PLAY,
        extra_vars=_vars(tmp_path, mirror, credential_helpers_install=["gcr"], credential_helpers_releases=_releases()),
    )
    assert r.rc != 0
    msg = _failed_msg(r)
    assert "no sha256 pinned for docker-credential-gcr" in msg and "sha256.amd64" in msg, msg
    assert mirror.hits[f"/gcr/{GCR_VERSION}/{mirror.gcr[0].name}"] == 0


def test_unknown_helper_is_a_clear_error(tmp_path, playbook, mirror):
    r = playbook(PLAY, extra_vars=_vars(tmp_path, mirror, credential_helpers_install=["gcr", "nope"]))
    assert r.rc != 0
    assert "unknown helper(s) nope" in _failed_msg(r)
    assert not (tmp_path / "bin" / "docker-credential-gcr").exists()


def test_acr_profiles_wrappers(tmp_path, playbook, mirror):
    secret = "acr-secret-value-7f3e"
    profiles = [
        {
            "name": "hz",
            "registries": ["registry.cn-hangzhou.aliyuncs.com"],
            "credentials_file": str(tmp_path / "creds" / "hz.ini"),
            "credentials": {"type": "access_key", "access_key_id": "hz-key", "access_key_secret": secret},
        },
        {
            "name": "sz",
            "registries": ["registry.cn-shenzhen.aliyuncs.com", "registry-vpc.cn-shenzhen.aliyuncs.com"],
            "credentials_file": str(tmp_path / "creds" / "sz.ini"),
            "credentials": {"type": "access_key", "access_key_id": "sz-key", "access_key_secret": secret},
        },
    ]
    pb = (
        PLAY
        + """
  post_tasks:
    - name: Show the map
      ansible.builtin.debug:
        var: credential_helpers_cred_helpers
"""
    )
    ev = _vars(tmp_path, mirror, credential_helpers_install=["acr-helper"], credential_helpers_acr_profiles=profiles)
    runs = [playbook(pb, extra_vars=ev, check=c, diff=True) for c in (True, False, True, False)]
    for r in runs:
        assert r.rc == 0, r.output
        assert secret not in r.output
    assert [_changed(r) for r in runs] == [True, True, False, False]
    mapping = runs[-1].result("Show the map")["credential_helpers_cred_helpers"]
    assert mapping == {
        "registry.cn-hangzhou.aliyuncs.com": "acr-helper-hz",
        "registry.cn-shenzhen.aliyuncs.com": "acr-helper-sz",
        "registry-vpc.cn-shenzhen.aliyuncs.com": "acr-helper-sz",
    }
    assert oct((tmp_path / "creds" / "hz.ini").stat().st_mode & 0o777) == "0o600"
    # the wrapper runs the real installed helper with its own credentials file
    for name, user in (("hz", "hz-key"), ("sz", "sz-key")):
        out = subprocess.run(
            [str(tmp_path / "bin" / f"docker-credential-acr-helper-{name}"), "get"],
            input="registry.cn-hangzhou.aliyuncs.com\n",
            capture_output=True,
            text=True,
            check=True,
            env={"PATH": os.environ["PATH"], "ALIBABA_CLOUD_ACCESS_KEY_ID": "from-env"},
        ).stdout
        assert json.loads(out)["Username"] == user


def test_duplicate_acr_registry_is_rejected(tmp_path, playbook, mirror):
    profiles = [
        {"name": "a", "registries": ["registry.cn-beijing.aliyuncs.com"]},
        {"name": "b", "registries": ["registry.cn-beijing.aliyuncs.com"]},
    ]
    r = playbook(
        PLAY,
        extra_vars=_vars(tmp_path, mirror, credential_helpers_install=[], credential_helpers_acr_profiles=profiles),
    )
    assert r.rc != 0
    assert "registry.cn-beijing.aliyuncs.com" in _failed_msg(r)
    assert not list((tmp_path / "bin").iterdir())


def test_distribution_package_is_used(tmp_path, playbook, mirror):
    """ecr-login comes from Debian's amazon-ecr-credential-helper (installed on this host)."""
    if subprocess.run(["dpkg-query", "-W", "amazon-ecr-credential-helper"], capture_output=True, check=False).returncode:
        pytest.skip("amazon-ecr-credential-helper is not installed (tests/setup/system-deps.sh)")
    r = playbook(PLAY, extra_vars=_vars(tmp_path, mirror, credential_helpers_install=["ecr-login"]), check=True)
    assert r.rc == 0, r.output
    assert not _changed(r)
    assert not list((tmp_path / "bin").iterdir())


def test_gcloud_helper_is_checked_not_installed(tmp_path, playbook, mirror):
    """'gcloud' only checks that the Google Cloud CLI's helper is on PATH (it is on this host)."""
    if not shutil.which("docker-credential-gcloud"):
        pytest.skip("the Google Cloud CLI is not installed here")
    r = playbook(PLAY, extra_vars=_vars(tmp_path, mirror, credential_helpers_install=["gcloud"]))
    assert r.rc == 0, r.output
    assert not _changed(r)
    assert not list((tmp_path / "bin").iterdir())


BUILTIN_GCR = "2.1.30"


def test_builtin_gcr_pin_is_enforced(tmp_path, playbook, mirror):
    """With no release override the built-in gcr pin applies: an archive that is not the real
    2.1.30 release fails its checksum and nothing is installed."""
    fake_dir = tmp_path / "mirror" / "gcr" / BUILTIN_GCR
    fake_dir.mkdir(parents=True)
    name = f"docker-credential-gcr_linux_amd64-{BUILTIN_GCR}.tar.gz"
    (fake_dir / name).write_bytes(_targz({"docker-credential-gcr": "#!/bin/sh\necho not the release\n"}))
    ev = _vars(tmp_path, mirror, credential_helpers_install=["gcr"])
    del ev["credential_helpers_releases"]
    r = playbook(PLAY, extra_vars=ev)
    assert r.rc != 0
    assert mirror.hits[f"/gcr/{BUILTIN_GCR}/{name}"] == 1
    assert "d5c90c03d90271873a8619b1f73023a0266ae3fc91965ce9c81d7903e4b54eb6" in r.output
    assert not (tmp_path / "bin" / "docker-credential-gcr").exists()


def test_release_override_replaces_builtin_keys(tmp_path, playbook, mirror):
    """An override that gives only version and sha256 keeps the built-in url, arch names and
    binary, and its sha256 map replaces the built-in one."""
    rel = {"gcr": {"version": GCR_VERSION, "sha256": {"amd64": mirror.gcr[1]}}}
    ev = _vars(tmp_path, mirror, credential_helpers_install=["gcr"], credential_helpers_releases=rel)
    r = playbook(PLAY, extra_vars=ev)
    assert r.rc == 0, r.output
    out = subprocess.run(
        [str(tmp_path / "bin" / "docker-credential-gcr"), "version"], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == f"docker-credential-gcr {GCR_VERSION}"
    # a version given without its own pin does not inherit the built-in 2.1.30 pins
    rel = {"gcr": {"version": "9.9.9", "sha256": {}}}
    r = playbook(PLAY, extra_vars=dict(ev, credential_helpers_releases=rel))
    assert r.rc != 0
    assert "no sha256 pinned for docker-credential-gcr 9.9.9" in _failed_msg(r)
