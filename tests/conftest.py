"""Shared test harness for cloud_registry.auth.

- Makes ``ansible_collections.cloud_registry.auth`` importable (unit tests import
  module_utils and plugins through it, exactly as Ansible does).
- ``run_playbook`` runs the real ``ansible-playbook`` of the running venv with this
  collection on the collections path, and returns the parsed per-task results
  (``ansible.posix.json`` callback) plus the raw output for secret greps.
- ``free_port`` hands out loopback ports; tests never hard-code ports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
COLLECTIONS = REPO / ".tmp" / "collections"
VENV_BIN = Path(sys.executable).parent


def _link_collection() -> None:
    ns = COLLECTIONS / "ansible_collections" / "cloud_registry"
    ns.mkdir(parents=True, exist_ok=True)
    link = ns / "auth"
    if not link.is_symlink() or link.resolve() != REPO:
        tmp = ns / f".auth.{os.getpid()}"
        if tmp.is_symlink():
            tmp.unlink()
        tmp.symlink_to(REPO)
        os.replace(tmp, link)


_link_collection()
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))
# `from fixtures.registry_env import ...` (stand-ins, real registry) and
# `from support.pass_store import ...` (real-component setup) from any test.
if str(REPO / "tests") not in sys.path:
    sys.path.insert(0, str(REPO / "tests"))


from support.ports import free_port  # noqa: E402  (below the ephemeral range)

__all__ = ["free_port"]  # for the tests: from conftest import free_port


def ansible_env(extra: dict | None = None) -> dict:
    """Environment for a real ansible-playbook run with this collection."""
    env = dict(os.environ)
    env.update(
        {
            "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS),
            "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "true",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_HOST_KEY_CHECKING": "false",
            "ANSIBLE_RETRY_FILES_ENABLED": "false",
            "ANSIBLE_DEPRECATION_WARNINGS": "false",
            "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
        }
    )
    if extra:
        env.update({k: str(v) for k, v in extra.items()})
    return env


@dataclass
class PlaybookRun:
    rc: int
    stdout: str
    stderr: str
    data: dict | None = None
    tasks: dict = field(default_factory=dict)  # task name -> {host: result}

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def result(self, task: str, host: str = "localhost") -> dict:
        return self.tasks[task][host]

    def stats(self) -> dict:
        return (self.data or {}).get("stats", {})


def run_playbook(
    tmp_path: Path,
    playbook: str | Path,
    *,
    inventory: str | Path | None = None,
    extra_vars: dict | None = None,
    check: bool = False,
    diff: bool = False,
    verbosity: int = 0,
    forks: int | None = None,
    env: dict | None = None,
    json_output: bool = True,
    timeout: int = 600,
) -> PlaybookRun:
    """Run ansible-playbook; ``playbook`` is a path or YAML text.

    With ``json_output`` the ansible.posix.json callback is used and results are
    parsed into ``PlaybookRun.tasks``; otherwise the default callback (what a
    human sees, e.g. for ``-vvvv`` secret greps).
    """
    tmp_path.mkdir(parents=True, exist_ok=True)
    if isinstance(playbook, str) and "\n" in playbook:
        pb = tmp_path / f"play_{abs(hash(playbook))}.yml"
        pb.write_text(textwrap.dedent(playbook))
    else:
        pb = Path(playbook)
    if inventory is None:
        inventory = tmp_path / "inventory.ini"
        if not inventory.exists():
            inventory.write_text("localhost ansible_connection=local\n")
    elif isinstance(inventory, str) and "\n" in inventory:
        inv = tmp_path / "inventory_inline.ini"
        inv.write_text(textwrap.dedent(inventory))
        inventory = inv
    cmd = [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), str(pb)]
    if extra_vars:
        ev = tmp_path / f"extra_vars_{abs(hash(json.dumps(extra_vars, sort_keys=True, default=str)))}.json"
        ev.write_text(json.dumps(extra_vars, default=str))
        cmd += ["-e", f"@{ev}"]
    if check:
        cmd.append("--check")
    if diff:
        cmd.append("--diff")
    if verbosity:
        cmd.append("-" + "v" * verbosity)
    if forks:
        cmd += ["--forks", str(forks)]
    extra_env = dict(env or {})
    if json_output:
        extra_env.setdefault("ANSIBLE_STDOUT_CALLBACK", "ansible.posix.json")
    proc = subprocess.run(
        cmd,
        cwd=str(tmp_path),
        env=ansible_env(extra_env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    run = PlaybookRun(proc.returncode, proc.stdout, proc.stderr)
    if json_output and proc.stdout.strip().startswith("{"):
        run.data = json.loads(proc.stdout)
        for play in run.data.get("plays", []):
            for task in play.get("tasks", []):
                name = task["task"]["name"]
                run.tasks.setdefault(name, {}).update(task.get("hosts", {}))
    return run


@pytest.fixture
def playbook(tmp_path):
    """``playbook(text_or_path, **kw)`` -> PlaybookRun, in this test's tmp dir."""

    def _run(pb, **kw):
        return run_playbook(tmp_path, pb, **kw)

    return _run
