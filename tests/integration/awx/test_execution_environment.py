"""The execution environment definition, as a user runs it: the collection tarball built
with ansible-galaxy next to execution-environment.yml, ansible-builder 3 making the
build context, and the collection's meta/execution-environment.yml bringing its own
Python and system dependencies to any EE that installs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
GALAXY = yaml.safe_load((REPO / "galaxy.yml").read_text())
TARBALL = f"{GALAXY['namespace']}-{GALAXY['name']}-{GALAXY['version']}.tar.gz"


def _run(cmd, cwd, env=None):
    res = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, timeout=300, check=False, env=env)
    assert res.returncode == 0, f"{cmd}: {res.stdout}{res.stderr}"
    return res.stdout


def _build_tarball(dest: Path) -> Path:
    _run([BIN / "ansible-galaxy", "collection", "build", REPO, "--output-path", dest, "--force"], cwd=dest)
    tarball = dest / TARBALL
    assert tarball.is_file(), sorted(p.name for p in dest.iterdir())
    return tarball


def test_documented_build_context_from_the_tarball(tmp_path):
    """`ansible-galaxy collection build .` then ansible-builder on the shipped definition,
    as its header says: the tarball it names is the one galaxy.yml's version builds."""
    shutil.copy(REPO / "execution-environment.yml", tmp_path / "execution-environment.yml")
    _build_tarball(tmp_path)
    _run(
        [
            BIN / "ansible-builder",
            "create",
            "-f",
            "execution-environment.yml",
            "--context",
            tmp_path / "context",
            "--output-filename",
            "Containerfile",
        ],
        cwd=tmp_path,
    )
    ctx = tmp_path / "context"
    containerfile = (ctx / "Containerfile").read_text()
    assert "quay.io/ansible/awx-ee:24.6.1" in containerfile and "FROM $EE_BASE_IMAGE" in containerfile
    assert "ansible-galaxy" in containerfile
    assert (ctx / "_build" / "collections" / TARBALL).is_file()
    galaxy = yaml.safe_load((ctx / "_build" / "requirements.yml").read_text())
    assert {"name": f"/build/collections/{TARBALL}", "type": "file"} in galaxy["collections"]
    # the collection's dependencies are not repeated in the EE definition: they come from
    # the installed collection (below)
    assert not (ctx / "_build" / "requirements.txt").exists()


def test_installed_collection_declares_its_runtime_dependencies(tmp_path):
    """ansible-builder's introspection of the installed tarball (what runs inside every
    EE build) finds the collection's Python packages, boto3 for ECR included, and its
    system packages, with the test-only tools kept to the `test` bindep profile."""
    tarball = _build_tarball(tmp_path)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(tmp_path / "colls"))
    _run(
        [BIN / "ansible-galaxy", "collection", "install", "--offline", "--force", "-p", tmp_path / "colls", tarball],
        cwd=tmp_path,
        env=env,
    )
    out = _run([BIN / "ansible-builder", "introspect", "--sanitize", tmp_path / "colls"], cwd=tmp_path)
    data = yaml.safe_load(out)
    python = {line.split("#")[0].split(">=")[0].strip() for line in data["python"]}
    assert {"google-auth", "requests", "kubernetes", "boto3"} <= python
    system = [line.split("#")[0].strip() for line in data["system"]]
    by_name = {line.split()[0]: line for line in system}
    assert "test" not in by_name["openssh-client"] and "test" not in by_name["ca-certificates"]
    for tool in ("skopeo", "gnupg"):
        profiles = by_name[tool].split("[", 1)[1].rstrip("]").split()
        assert "test" in profiles, by_name[tool]


def test_ee_definition_names_this_release():
    ee = yaml.safe_load((REPO / "execution-environment.yml").read_text())
    assert ee["version"] == 3
    assert "python" not in ee["dependencies"] and "system" not in ee["dependencies"]
    assert {"src": TARBALL, "dest": "collections"} in ee["additional_build_files"]
    meta = yaml.safe_load((REPO / "meta" / "execution-environment.yml").read_text())
    assert meta["dependencies"] == {"python": "requirements.txt", "system": "bindep.txt"}


def test_decision_environment_for_the_rulebook(tmp_path):
    """extensions/eda/decision-environment.yml through ansible-builder: ansible-rulebook, a Java 17 runtime
    and this release's tarball, whose meta/execution-environment.yml adds the collection's Python needs."""
    shutil.copy(REPO / "extensions" / "eda" / "decision-environment.yml", tmp_path / "decision-environment.yml")
    _build_tarball(tmp_path)
    _run(
        [
            BIN / "ansible-builder",
            "create",
            "-f",
            "decision-environment.yml",
            "--context",
            tmp_path / "context",
            "--output-filename",
            "Containerfile",
        ],
        cwd=tmp_path,
    )
    ctx = tmp_path / "context"
    assert (ctx / "_build" / "collections" / TARBALL).is_file()
    galaxy = yaml.safe_load((ctx / "_build" / "requirements.yml").read_text())
    assert {"name": f"/build/collections/{TARBALL}", "type": "file"} in galaxy["collections"]
    python = (ctx / "_build" / "requirements.txt").read_text()
    bindep = (ctx / "_build" / "bindep.txt").read_text()
    assert "ansible-rulebook" in python and "java-17-openjdk-headless" in bindep
    assert "ansible-rulebook --version" in (ctx / "Containerfile").read_text()
