"""Real clients reading what the collection wrote (skopeo, the docker CLI)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def skopeo_inspect(registry, authfile: Path, image: str | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    """``skopeo inspect`` of ``image`` (default: the image the registry fixtures push) with ``authfile``."""
    image = image or f"{registry.host}/demo/tiny:1"
    return subprocess.run(
        ["skopeo", "inspect", "--authfile", str(authfile), "--cert-dir", str(registry.cert_dir), f"docker://{image}"],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
