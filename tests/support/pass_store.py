"""A real ``pass`` password store for ``docker-credential-pass``, in a temp dir.

``make_pass_store(tmp)`` generates a passphrase-less gpg key in a private
GNUPGHOME, runs ``pass init`` with it, and returns the environment variables
(GNUPGHOME, PASSWORD_STORE_DIR, HOME) under which the real helper (and the docker
CLI that calls it) stores and reads credentials. Call ``stop_agent(env)`` at the end.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def make_pass_store(tmp: Path) -> dict:
    tmp = Path(tmp)
    gnupg = tmp / "gnupg"
    gnupg.mkdir(mode=0o700, parents=True, exist_ok=True)
    store = tmp / "password-store"
    env = dict(os.environ)
    env.update({"GNUPGHOME": str(gnupg), "PASSWORD_STORE_DIR": str(store), "HOME": str(tmp)})
    subprocess.run(
        [
            "gpg",
            "--batch",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
            "--quick-gen-key",
            "cloud-registry-test@example.invalid",
            "rsa2048",
            "encrypt,sign",
            "never",
        ],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    subprocess.run(["pass", "init", "cloud-registry-test@example.invalid"], env=env, check=True, capture_output=True, timeout=60)
    return {k: env[k] for k in ("GNUPGHOME", "PASSWORD_STORE_DIR", "HOME")}


def stop_agent(env: dict) -> None:
    subprocess.run(["gpgconf", "--kill", "gpg-agent"], env={**os.environ, **env}, check=False, capture_output=True, timeout=30)
