"""Fixtures of the AWX / execution environment tests.

``ee_image``: the execution environment image, built for real by
``tests/setup/ee-build.sh`` (or reused when none of its inputs changed); every test that
uses it runs in the ``ee_image`` xdist group (tests/integration/conftest.py).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
EE_BUILD = REPO / "tests" / "setup" / "ee-build.sh"


@pytest.fixture(scope="session")  # xdist interleaves modules on a worker: module scope would rebuild
def ee_image():
    """Build the EE image (cached by an input-hash label); a failed build fails the tests."""
    proc = subprocess.run([str(EE_BUILD)], cwd=REPO, capture_output=True, text=True, timeout=1200, check=False)
    if proc.returncode != 0:
        pytest.fail(f"tests/setup/ee-build.sh failed (rc {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    name = subprocess.run([str(EE_BUILD), "--print-name"], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
    labels = json.loads(
        subprocess.run(
            ["docker", "image", "inspect", "-f", "{{ json .Config.Labels }}", name],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    assert labels.get("ansible-execution-environment") == "true"
    assert labels.get("io.cloud-registry-auth.ee-inputs")
    return name
