"""Benchmark: registry_login on a fleet of local-connection hosts against the real registry.

One ansible-playbook run (100 hosts, forks 10 by default) against docker-registry with
token auth (tests/fixtures); the tasks, on the same hosts in the same run, each measured
task between two pings (the machine's speed drifts; each ratio uses the mean of the
pings right before and after it):

    ping (warm-up), ping, registry_login, ping, docker_login, ping,
    registry_login (again: already logged in), ping, docker_login (again), ping

Prints each task's wall time (from the ansible.posix.json callback), the ratios, and
how many credential verifications the token service received during each task.
Figures only: nothing here is a timed assertion.

Run:  .venv/bin/python tests/perf/bench_registry_login.py [--hosts 100] [--forks 10]
Needs docker-registry, skopeo and the Docker Engine (community.docker.docker_login
logs in through the daemon).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))

from fixtures.registry_env import make_ca, push_image, start_registry  # noqa: E402

COLLECTIONS = REPO / ".tmp" / "collections"


def _link_collection() -> None:
    ns = COLLECTIONS / "ansible_collections" / "cloud_registry"
    ns.mkdir(parents=True, exist_ok=True)
    link = ns / "auth"
    if not link.is_symlink():
        link.symlink_to(REPO)


def _ts(value: str) -> float:
    return datetime.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc
    ).timestamp()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--hosts", type=int, default=100)
    ap.add_argument("--forks", type=int, default=10)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args, _unknown = ap.parse_known_args(argv)  # run-all.sh passes the same args to every bench
    _link_collection()
    work = Path(tempfile.mkdtemp(prefix="bench-registry-login-"))
    password = "bench-" + secrets.token_urlsafe(12)
    reg = start_registry(work / "registry", "token", users={"bench": password}, ca=make_ca(work / "ca"))
    try:
        reg.trust_docker()
        push_image(reg, "bench/tiny", "1", "bench", password, work)
        inv = work / "inventory.ini"
        lines = ["[fleet]"]
        for i in range(args.hosts):
            d = work / "fleet" / f"h{i}"
            d.mkdir(parents=True)
            lines.append(f"h{i} cfg_dir={d}")
        lines += ["[fleet:vars]", "ansible_connection=local", f"ansible_python_interpreter={sys.executable}"]
        inv.write_text("\n".join(lines) + "\n")
        cred = {"registry": reg.host, "username": "bench", "password": "{{ bench_password }}"}
        login = dict(cred, config_path="{{ cfg_dir }}/rl/config.json", ca_cert=str(reg.ca_path))
        dlogin = dict(cred, registry_url=reg.host, config_path="{{ cfg_dir }}/dl/config.json")
        del dlogin["registry"]
        measured = [
            ("registry_login", "cloud_registry.auth.registry_login", login),
            ("docker_login", "community.docker.docker_login", dlogin),
            ("registry_login again", "cloud_registry.auth.registry_login", login),
            ("docker_login again", "community.docker.docker_login", dlogin),
        ]
        tasks = [("warm-up ping", "ansible.builtin.ping", {}), ("ping 0", "ansible.builtin.ping", {})]
        for i, task in enumerate(measured, 1):
            tasks += [task, (f"ping {i}", "ansible.builtin.ping", {})]
        pb = [{"hosts": "fleet", "gather_facts": False,
               "tasks": [{"name": n, m: a} for n, m, a in tasks]}]
        (work / "bench.yml").write_text(json.dumps(pb))
        vars_file = work / "vars.json"
        vars_file.write_text(json.dumps({"bench_password": password}))
        vars_file.chmod(0o600)
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS), ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
                   ANSIBLE_HOST_KEY_CHECKING="false", ANSIBLE_DEPRECATION_WARNINGS="false",
                   PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
        cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inv), str(work / "bench.yml"),
               "-e", f"@{vars_file}", "--forks", str(args.forks)]
        proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
        data = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else {}
        if proc.returncode != 0 or not data:
            print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
            failed = {t["task"]["name"]: [h for h, r in t["hosts"].items() if r.get("failed")]
                      for t in data.get("plays", [{}])[0].get("tasks", [])} if data else {}
            print("ansible-playbook failed:", {k: v[:3] for k, v in failed.items() if v}, file=sys.stderr)
            return 1
        out = {}
        for t in data["plays"][0]["tasks"]:
            start, end = _ts(t["task"]["duration"]["start"]), _ts(t["task"]["duration"]["end"])
            changed = sum(1 for r in t["hosts"].values() if r.get("changed"))
            out[t["task"]["name"]] = {
                "seconds": end - start,
                "changed": changed,
                "verifications": reg.token_service.count_between("verifications", start, end),
                "refreshes": reg.token_service.count_between("refreshes", start, end),
            }
        print(f"\nregistry_login benchmark: {args.hosts} local hosts, forks {args.forks}, docker-registry "
              f"(token auth, TLS) at {reg.host}")
        print(f"{'task':24} {'seconds':>8} {'changed':>8} {'verifications':>14} {'refreshes':>10}")
        for name, r in out.items():
            print(f"{name:24} {r['seconds']:8.2f} {r['changed']:8d} {r['verifications']:14d} {r['refreshes']:10d}")
        print("\nratios (task wall time / mean of the pings just before and after it):")
        for i, (name, _m, _a) in enumerate(measured, 1):
            base = (out[f"ping {i - 1}"]["seconds"] + out[f"ping {i}"]["seconds"]) / 2
            print(f"  {name:22} {out[name]['seconds'] / base:5.2f}x ping")
        pings = [out[f"ping {i}"]["seconds"] for i in range(len(measured) + 1)]
        rl = out["registry_login"]["seconds"] + out["registry_login again"]["seconds"]
        dl = out["docker_login"]["seconds"] + out["docker_login again"]["seconds"]
        mean_ping = sum(pings) / len(pings)
        print(f"  overall: registry_login {rl / 2 / mean_ping:.2f}x ping, docker_login {dl / 2 / mean_ping:.2f}x ping")
        print("  target: registry_login <= 1.15x ping, one verification per credential per run")
        return 0
    finally:
        reg.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("kept", work)


if __name__ == "__main__":
    raise SystemExit(main())
