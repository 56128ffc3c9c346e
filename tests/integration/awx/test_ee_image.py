"""The execution environment image, built for real and used the way AWX uses it.

``tests/setup/ee-build.sh`` builds (or reuses, when no input changed) the image with
``ansible-builder build --container-runtime docker`` from a definition derived from the
shipped ``execution-environment.yml`` (local Debian base image, collections from local
tarballs; no Galaxy, no image pulls). Then, inside containers of that image (its own
entrypoint and user, ``--network host``):

* ``ansible-playbook`` logs in to a real registry (Debian's docker-registry, htpasswd
  + TLS with a test CA) with ``cloud_registry.auth.registry_login``: changed, then
  not changed; the password never appears in the output, even at ``-vvvv``;
* skopeo inside the EE inspects and pulls the test image with the config.json the
  job wrote, and is refused without it;
* ansible-runner, the controller-side Python libraries and the collection (at the
  version of galaxy.yml, with its peer collections) are there.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
EE_UID = 1000  # options.user of ansible-builder 3 (the image's USER)

pytestmark = [pytest.mark.docker, pytest.mark.slow]


class EE:
    """``docker run --rm --network host`` of the EE image with a job directory mounted."""

    def __init__(self, image: str, job: Path):
        self.image = image
        self.job = job

    def run(self, *cmd: str, docker_config: Path | None = None, env: dict | None = None, timeout: int = 300):
        args = ["docker", "run", "--rm", "--network", "host", "-v", f"{self.job}:/job:ro"]
        if docker_config is not None:
            args += ["-v", f"{docker_config}:/runner/.docker"]
        for key in env or {}:
            args += ["-e", key]  # the value comes from our environment, never the command line
        args.append(self.image)
        args += list(cmd)
        return subprocess.run(
            args, capture_output=True, text=True, timeout=timeout, check=False, env={**os.environ, **(env or {})}
        )


@pytest.fixture
def ee(ee_image, tmp_path, htpasswd_registry):
    job = tmp_path / "job"
    job.mkdir()
    shutil.copy(htpasswd_registry.ca_path, job / "ca.crt")
    (job / "certs").mkdir()
    shutil.copy(htpasswd_registry.ca_path, job / "certs" / "ca.crt")
    for path in [job, *job.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)  # the EE runs as uid 1000
    return EE(ee_image, job)


def _docker_config_dir(tmp_path: Path) -> Path:
    """A writable ~/.docker for the EE's user; it outlives the container, like a job's
    mounted private data directory."""
    d = tmp_path / "docker-config"
    d.mkdir(mode=0o700)
    os.chown(d, EE_UID, 0)
    return d


def test_registry_login_job_inside_the_ee(ee, tmp_path, htpasswd_registry):
    reg = htpasswd_registry
    (ee.job / "login.yml").write_text(
        textwrap.dedent(
            f"""\
            ---
            - name: Log in to the registry from inside the execution environment
              hosts: localhost
              gather_facts: false
              tasks:
                - name: Log in
                  cloud_registry.auth.registry_login:
                    registry: "{reg.host}"
                    username: "{reg.username}"
                    password: "{{{{ lookup('ansible.builtin.env', 'REGISTRY_PASSWORD') }}}}"
                    ca_cert: /job/ca.crt
            """
        )
    )
    (ee.job / "login.yml").chmod(0o644)
    config_dir = _docker_config_dir(tmp_path)
    secret_env = {"REGISTRY_PASSWORD": reg.password}
    playbook = ["ansible-playbook", "-i", "localhost,", "-c", "local", "/job/login.yml"]

    first = ee.run(*playbook, docker_config=config_dir, env={**secret_env, "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"})
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
    result = json.loads(first.stdout)["plays"][0]["tasks"][0]["hosts"]["localhost"]
    assert result["changed"] is True
    assert reg.password not in first.stdout + first.stderr

    again = ee.run(*playbook, "-vvvv", docker_config=config_dir, env=secret_env)
    assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-4000:]
    assert "changed=0" in again.stdout and "ok=1" in again.stdout
    assert reg.password not in again.stdout + again.stderr

    config_file = config_dir / "config.json"
    assert config_file.stat().st_mode & 0o777 == 0o600
    assert reg.host in json.loads(config_file.read_text())["auths"]

    # skopeo inside the EE finds ~/.docker/config.json by itself and uses it
    image = f"docker://{reg.host}/demo/tiny:1"
    inspect = ee.run("skopeo", "inspect", "--cert-dir", "/job/certs", image, docker_config=config_dir)
    assert inspect.returncode == 0, inspect.stderr
    assert json.loads(inspect.stdout)["Digest"].startswith("sha256:")
    pull = ee.run(
        "sh",
        "-c",
        f"skopeo copy --quiet --src-cert-dir /job/certs {image} oci:/tmp/pulled:1 && cat /tmp/pulled/index.json",
        docker_config=config_dir,
    )
    assert pull.returncode == 0, pull.stderr
    assert json.loads(pull.stdout)["manifests"][0]["digest"].startswith("sha256:")

    # ... and is refused without it: the credentials come from what the job wrote
    denied = ee.run("skopeo", "inspect", "--cert-dir", "/job/certs", image)
    assert denied.returncode != 0
    assert "unauthorized" in denied.stderr.lower() or "authentication required" in denied.stderr.lower(), denied.stderr


def test_ee_has_runner_libraries_and_collections(ee):
    runner = ee.run("ansible-runner", "--version")
    assert runner.returncode == 0, runner.stderr
    assert runner.stdout.strip()

    libs = ee.run("python3", "-c", "import google.auth, kubernetes, requests")
    assert libs.returncode == 0, libs.stderr

    # pip installs were pinned by CI leg 1's constraints (tests/setup/ee-build.sh)
    pins = dict(
        line.split("==", 1) for line in (REPO / "tests/setup/constraints-py311.txt").read_text().splitlines() if "==" in line
    )
    core = ee.run("python3", "-c", "import ansible.release; print(ansible.release.__version__)")
    assert core.stdout.strip() == pins["ansible-core"], core.stdout + core.stderr

    # the build-time CA and build files are gone from the image
    leftovers = ee.run("sh", "-c", "ls -d /usr/local/share/ca-certificates/ee-build-ca.crt /opt/ee-build /output 2>/dev/null")
    assert leftovers.stdout.strip() == ""

    listed = ee.run("ansible-galaxy", "collection", "list", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    installed = {}
    for collections in json.loads(listed.stdout).values():
        installed.update({name: meta["version"] for name, meta in collections.items()})
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    assert installed.get(f"{galaxy['namespace']}.{galaxy['name']}") == galaxy["version"]
    shipped = yaml.safe_load((REPO / "execution-environment.yml").read_text())
    for wanted in shipped["dependencies"]["galaxy"]["collections"]:
        # a `type: file` entry is a NAMESPACE-NAME-VERSION.tar.gz: that collection at that version
        base = Path(wanted["name"]).name
        if wanted.get("type") == "file":
            namespace, name, version = base[: -len(".tar.gz")].split("-")
            assert installed.get(f"{namespace}.{name}") == version, f"{base} is not what the EE holds"
            continue
        assert wanted["name"] in installed, f"{wanted['name']} missing from the EE"
