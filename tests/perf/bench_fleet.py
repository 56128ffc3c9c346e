#!/usr/bin/env python3
"""Fleet benchmark: the docker_auth role next to ansible.builtin.ping on the same hosts.

Two fleets, each run in this process, baseline first:
  * 100 local-connection hosts (forks 10), each writing its own config.json;
  * 10 containers from the local base image (tests/setup/base-image.sh) reached with the
    community.docker.docker connection, writing /root/.docker/config.json inside.
The role logs in to a real registry (Debian's docker-registry, htpasswd + TLS) with
verification on the controller. Printed: wall time of ping, of docker_auth's first
run (writes) and second run (idempotent), their ratios to ping, and the number of
verification requests the registry received (one expected per credential per run).

Usage: .venv/bin/python tests/perf/bench_fleet.py [--hosts 100] [--containers 10] [--forks 10]
No timed assertion: it reports.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "fixtures"))
from conftest import ansible_env  # noqa: E402
from registry_env import make_ca, push_image, start_registry  # noqa: E402

VENV_BIN = Path(sys.executable).parent

PING = """
- name: Ping
  hosts: fleet
  gather_facts: false
  tasks:
    - name: Ping
      ansible.builtin.ping:
"""

ROLE = """
- name: Docker auth
  hosts: fleet
  gather_facts: false
  roles:
    - role: cloud_registry.auth.docker_auth
"""


def run(work: Path, inventory: Path, playbook: str, forks: int, extra: dict | None = None) -> tuple[float, dict]:
    pb = work / f"pb_{abs(hash(playbook))}.yml"
    pb.write_text(playbook)
    cmd = [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), str(pb), "--forks", str(forks)]
    if extra:
        ev = work / "extra.json"
        ev.write_text(json.dumps(extra))
        cmd += ["-e", f"@{ev}"]
    env = ansible_env({"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json"})
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=str(work))
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(f"playbook failed (rc {proc.returncode})")
    stats = json.loads(proc.stdout)["stats"]
    return elapsed, stats


def bench(label: str, work: Path, inventory: Path, forks: int, extra: dict, reg) -> None:
    t_ping, _ = run(work, inventory, PING, forks)
    before = reg.verifications()
    t_first, s_first = run(work, inventory, ROLE, forks, extra)
    v_first = reg.verifications() - before
    before = reg.verifications()
    t_second, s_second = run(work, inventory, ROLE, forks, extra)
    v_second = reg.verifications() - before
    changed_first = sum(1 for s in s_first.values() if s.get("changed"))
    changed_second = sum(1 for s in s_second.values() if s.get("changed"))
    print(f"\n== {label}: {len(s_first)} hosts, forks {forks}")
    print(f"ansible.builtin.ping          {t_ping:7.2f}s  1.00x")
    print(f"docker_auth (first, writes)   {t_first:7.2f}s  {t_first / t_ping:5.2f}x   hosts changed {changed_first}")
    print(f"docker_auth (second, no-op)   {t_second:7.2f}s  {t_second / t_ping:5.2f}x   hosts changed {changed_second}")
    print(f"registry verifications: first run {v_first}, second run {v_second} (1 credential)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hosts", type=int, default=100)
    ap.add_argument("--containers", type=int, default=10)
    ap.add_argument("--forks", type=int, default=10)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="cra-bench-fleet-"))
    password = "bench-" + secrets.token_hex(8)
    reg = start_registry(work / "registry", auth="htpasswd", users={"fleet": password}, ca=make_ca(work / "registry"))
    names: list[str] = []
    try:
        push_image(reg, "demo/tiny", "1", "fleet", password, work)
        login = {"registry": reg.host, "username": "fleet", "password": password, "store": "file"}
        common = {
            "cloud_registry_become": False,
            "docker_auth_logins": [login],
            "docker_auth_cred_helpers": {"europe-west1-docker.pkg.dev": "gcloud"},
            "docker_auth_ca_cert": str(reg.ca_path),
            "docker_auth_headless_safe": True,
        }
        if args.hosts:
            inv = work / "local.ini"
            lines = ["[fleet]"]
            for i in range(args.hosts):
                cfg = work / "hosts" / f"h{i:03d}" / "config.json"
                cfg.parent.mkdir(parents=True)
                users = json.dumps([{"name": "root", "config_path": str(cfg)}]).replace(" ", "")
                lines.append(
                    f"h{i:03d} ansible_connection=local ansible_python_interpreter={sys.executable} docker_auth_users='{users}'"
                )
            inv.write_text("\n".join(lines) + "\n")
            bench("local-connection hosts", work, inv, args.forks, common, reg)
        if args.containers:
            image = subprocess.run(
                [str(REPO / "tests/setup/base-image.sh"), "--print-name"], capture_output=True, text=True, check=True
            ).stdout.strip()
            subprocess.run([str(REPO / "tests/setup/base-image.sh")], check=True)
            tag = secrets.token_hex(3)
            for i in range(args.containers):
                name = f"cra-bench-{tag}-{i}"
                subprocess.run(
                    ["docker", "run", "-d", "--name", name, "--network", "host", image], check=True, capture_output=True
                )
                names.append(name)
            inv = work / "containers.ini"
            inv.write_text(
                "[fleet]\n"
                + "".join(
                    f"{n} ansible_connection=community.docker.docker ansible_python_interpreter=/usr/bin/python3\n"
                    for n in names
                )
            )
            bench(
                "containers (community.docker.docker)",
                work,
                inv,
                args.forks,
                dict(common, docker_auth_users=[{"name": "root"}]),
                reg,
            )
    finally:
        for n in names:
            subprocess.run(["docker", "rm", "-f", n], capture_output=True)
        reg.stop()
        subprocess.run(["rm", "-rf", str(work)])
    return 0


if __name__ == "__main__":
    os.environ.setdefault("ANSIBLE_HOST_PATTERN_MISMATCH", "ignore")
    raise SystemExit(main())
