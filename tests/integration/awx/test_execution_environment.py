"""The execution environment definition builds a context with ansible-builder 3, and
the generated Containerfile installs what requirements.txt and bindep.txt list."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[3]
BUILDER = Path(sys.executable).parent / "ansible-builder"


def test_ansible_builder_create(tmp_path):
    for name in ("execution-environment.yml", "requirements.txt", "bindep.txt"):
        shutil.copy(REPO / name, tmp_path / name)
    res = subprocess.run(
        [
            str(BUILDER),
            "create",
            "-f",
            "execution-environment.yml",
            "--context",
            str(tmp_path / "context"),
            "--output-filename",
            "Containerfile",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300, check=False,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    ctx = tmp_path / "context"
    containerfile = (ctx / "Containerfile").read_text()
    assert "quay.io/ansible/awx-ee:24.6.1" in containerfile and "FROM $EE_BASE_IMAGE" in containerfile
    assert "ansible-galaxy" in containerfile
    build = ctx / "_build"
    assert "google-auth" in (build / "requirements.txt").read_text()
    assert "skopeo" in (build / "bindep.txt").read_text()
    galaxy = yaml.safe_load((build / "requirements.yml").read_text())
    assert "cloud_registry.auth" in {c["name"] for c in galaxy["collections"]}


def test_ee_lists_every_controller_requirement():
    """Every controller-side package of requirements.txt reaches the EE unchanged."""
    ee = yaml.safe_load((REPO / "execution-environment.yml").read_text())
    assert ee["version"] == 3
    assert ee["dependencies"]["python"] == "requirements.txt"
    assert ee["dependencies"]["system"] == "bindep.txt"
    bindep = [line for line in (REPO / "bindep.txt").read_text().splitlines() if line and not line.startswith("#")]
    assert any(line.startswith("skopeo") for line in bindep)
