"""The REAL ansible-rulebook (.venv-eda, make venv-eda) running the collection's rulebook."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
EDA_BIN = REPO / ".venv-eda" / "bin"


def settings_file(path: Path, **role_vars) -> Path:
    """The k8s_pull_secrets variables file the event source and the playbook read (CLOUD_REGISTRY_EDA_SETTINGS)."""
    path.write_text(yaml.safe_dump(role_vars))
    return path


class Rulebook:
    """ansible-rulebook -r cloud_registry.auth.pull_secrets, its output in a file."""

    def __init__(self, workdir: Path, settings: Path):
        self.workdir, self.settings = workdir, settings
        self.proc = None
        self.runs = 0
        (workdir / "inventory.yml").write_text("all:\n  hosts:\n    localhost:\n      ansible_connection: local\n")

    def start(self):
        self.runs += 1
        self.log = self.workdir / f"rulebook-{self.runs}.log"
        env = dict(os.environ)
        env.update(
            {
                "CLOUD_REGISTRY_EDA_SETTINGS": str(self.settings),
                "PATH": f"{EDA_BIN}{os.pathsep}{env.get('PATH', '')}",
                "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".tmp" / "collections"),
                "ANSIBLE_PYTHON_INTERPRETER": str(EDA_BIN / "python"),  # the playbook's modules: the EDA venv
                "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_LOCALHOST_WARNING": "false",
                "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
            }
        )
        assert (EDA_BIN / "ansible-rulebook").exists(), "no .venv-eda: run make venv-eda (make test does)"
        self.proc = subprocess.Popen(
            [
                str(EDA_BIN / "ansible-rulebook"),
                "-r",
                "cloud_registry.auth.pull_secrets",
                "-i",
                "inventory.yml",
                "--env-vars",
                "CLOUD_REGISTRY_EDA_SETTINGS",
                "--print-events",
                "-v",
            ],
            cwd=self.workdir,
            env=env,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)

    def alive(self):
        assert self.proc.poll() is None, f"ansible-rulebook exited {self.proc.returncode}: {self.output()[-3000:]}"
        return True

    def output(self):
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.workdir.glob("rulebook-*.log")))


def has_secret(kubectl, secret: str, ns: str, sas=("default",)) -> bool:
    """The pull secret exists in ``ns`` and each of ``sas`` lists it in imagePullSecrets (the real kubectl)."""
    if kubectl("get", "secret", secret, "-n", ns, "-o", "name", check=False).returncode != 0:
        return False
    for sa in sas:
        obj = kubectl("get", "serviceaccount", sa, "-n", ns, "-o", "json", check=False)
        if obj.returncode != 0:
            return False
        if secret not in [r["name"] for r in json.loads(obj.stdout).get("imagePullSecrets") or []]:
            return False
    return True
