"""Benchmark: registry_login on a fleet of local-connection hosts against the real registry.

Two ansible-playbook processes per repetition (100 hosts, forks 10 by default, 3
repetitions) against docker-registry with token auth (tests/fixtures), each measured task
between two pings (the machine's speed drifts; each ratio uses the mean of the pings right
before and after it, in the same process):

    first:  ping (warm-up), ping, registry_login, ping, docker_login, ping
    again:  ping (warm-up), ping, registry_login, ping, docker_login, ping   (a new process:
            already logged in, and a new run cache, so registry_login verifies once again)

Prints the command, then min / median / max of each task's ratio over the repetitions, with
the median run's wall time (ansible.posix.json callback), hosts changed, and the credential
verifications the token service received during the task. Figures only: nothing here is a
timed assertion.

Run:  .venv/bin/python tests/perf/bench_registry_login.py [--hosts 100] [--forks 10] [--repeats 3]
Needs docker-registry, skopeo and the Docker Engine (community.docker.docker_login
logs in through the daemon).
"""

from __future__ import annotations

import argparse
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
from support.perf import link_collection, task_span  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--hosts", type=int, default=100)
    ap.add_argument("--forks", type=int, default=10)
    ap.add_argument(
        "--repeats", "--repeat", dest="repeat", type=int, default=3, help="repetitions (min / median / max of the ratios)"
    )
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args, _unknown = ap.parse_known_args(argv)  # run-all.sh passes the same args to every bench
    collections = link_collection()
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
        first = [
            ("registry_login", "cloud_registry.auth.registry_login", login),
            ("docker_login", "community.docker.docker_login", dlogin),
        ]
        # a re-run is a new ansible-playbook process, as a user runs it: a new run cache, so registry_login
        # verifies again (once per credential), and both find the login already in place
        again = [
            ("registry_login again", "cloud_registry.auth.registry_login", login),
            ("docker_login again", "community.docker.docker_login", dlogin),
        ]
        vars_file = work / "vars.json"
        vars_file.write_text(json.dumps({"bench_password": password}))
        vars_file.chmod(0o600)
        env = dict(
            os.environ,
            ANSIBLE_COLLECTIONS_PATH=str(collections),
            ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
            ANSIBLE_HOST_KEY_CHECKING="false",
            ANSIBLE_DEPRECATION_WARNINGS="false",
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        )

        def run(measured, tag):
            """One ansible-playbook process: each measured task between two pings; {task: figures}."""
            tasks = [("warm-up ping", "ansible.builtin.ping", {}), ("ping 0", "ansible.builtin.ping", {})]
            for i, task in enumerate(measured, 1):
                tasks += [task, (f"ping {i}", "ansible.builtin.ping", {})]
            pb = [{"hosts": "fleet", "gather_facts": False, "tasks": [{"name": n, m: a} for n, m, a in tasks]}]
            path = work / f"bench-{tag}.yml"
            path.write_text(json.dumps(pb))
            cmd = [
                str(Path(sys.executable).parent / "ansible-playbook"),
                "-i",
                str(inv),
                str(path),
                "-e",
                f"@{vars_file}",
                "--forks",
                str(args.forks),
            ]
            if tag == "0-first":
                print("command:", " ".join(cmd))
            proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=1800)
            data = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else {}
            if proc.returncode != 0 or not data:
                print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
                raise SystemExit("ansible-playbook failed (%s)" % tag)
            out = {}
            for t in data["plays"][0]["tasks"]:
                start, end = task_span(t)
                out[t["task"]["name"]] = {
                    "seconds": end - start,
                    "changed": sum(1 for r in t["hosts"].values() if r.get("changed")),
                    "verifications": reg.token_service.count_between("verifications", start, end),
                }
            for i, (name, _m, _a) in enumerate(measured, 1):
                out[name]["ratio"] = out[name]["seconds"] / ((out[f"ping {i - 1}"]["seconds"] + out[f"ping {i}"]["seconds"]) / 2)
            return out

        print(
            f"\nregistry_login benchmark: {args.hosts} local hosts, forks {args.forks}, {args.repeat} repetitions, "
            f"docker-registry (token auth, TLS) at {reg.host}; each task's ratio is its wall time over the mean of "
            "the pings just before and after it, in the same process"
        )
        rows = {}
        for rep in range(args.repeat):
            for d in (work / "fleet").iterdir():  # every repetition starts logged out
                shutil.rmtree(d / "rl", ignore_errors=True)
                shutil.rmtree(d / "dl", ignore_errors=True)
            for tag, measured in ((f"{rep}-first", first), (f"{rep}-again", again)):
                for name, r in run(measured, tag).items():
                    if name in dict((n, 1) for n, _m, _a in first + again):
                        rows.setdefault(name, []).append(r)
        print(f"{'task':22}{'ratio min':>11}{'median':>8}{'max':>7}{'seconds (median)':>18}{'changed':>9}{'verifications':>15}")
        for name, runs in rows.items():
            ratios = sorted(r["ratio"] for r in runs)
            mid = sorted(runs, key=lambda r: r["ratio"])[len(runs) // 2]
            print(
                f"{name:22}{ratios[0]:10.2f}x{ratios[len(ratios) // 2]:7.2f}x{ratios[-1]:6.2f}x"
                f"{mid['seconds']:18.2f}{mid['changed']:9d}{mid['verifications']:15d}"
            )
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
