#!/usr/bin/env python3
"""Fleet benchmark: the docker_auth and node_auth roles next to ansible.builtin.ping on the same hosts.

What is measured, each figure the min / median / max of --repeats runs, every run a new
ansible-playbook process, all of them in this one invocation (baseline included). Every
measured run stands between two ping runs, and its ratio is to their mean:

  * ping: ``ansible.builtin.ping`` on the fleet, the floor Ansible allows (one module run
    per host);
  * docker_auth, writing: the role on hosts whose files were just removed;
  * docker_auth, no-op: the same role again (nothing to write);
  * per-task (the design the role replaced, and what users write by hand): one
    credhelper_config run per user and one registry_login run per user and login,
    writing and no-op, on the sizes up to --per-task-max;
  * node_auth, writing and no-op: the kubelet config.json and containers auth.json logins,
    containerd hosts.toml and one credential provider (binary sent from the controller);
  * docker_auth-nocache, node_auth-nocache (only when named in --roles): the same roles with
    the collection's bytecode cache off (CLOUD_REGISTRY_AUTH_CODE_CACHE=off), every worker
    compiling the controller-side code as ansible-core does;
  * docker_auth-novalidate, node_auth-novalidate (only when named in --roles): the roles
    through import_role with rolespec_validate: false, without the argument validation task
    ansible-core puts before a role's tasks (one more worker per host).

Fleets: --sizes local-connection hosts (each host writes its own files) and
--containers containers from the local base image (tests/setup/base-image.sh) reached
with the community.docker.docker connection. Each host has 2 users (root and a nologin
account), 2 logins (two real registries, Debian's docker-registry with htpasswd + TLS,
one credential each, stored in the file) and 3 credential helpers in credHelpers.

Printed per run kind: wall seconds, ratio to ping, CPU seconds of ansible-playbook and
everything it ran (user + sys, from wait4: on local hosts that includes the modules),
the peak RSS of the biggest of those processes, hosts changed and the verification
requests the registries received (one per credential per run expected). With
--pipelining both, every figure is measured with pipelining off and on. The per-host
slope of each tool is the least-squares fit of its median wall time over the sizes.
A JSON report goes to --report.

Usage: .venv/bin/python tests/perf/bench_fleet.py [--sizes 10,100,300] [--containers 10]
       [--forks 10] [--repeats 3] [--pipelining both|on|off] [--per-task-max 100] [--report FILE]
No timed assertion: it reports.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import pwd
import secrets
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
from conftest import ansible_env  # noqa: E402
from fixtures.registry_env import make_ca, start_registry  # noqa: E402

VENV_BIN = Path(sys.executable).parent
BENCH_USER = "crabench"
HELPERS = {
    "europe-west1-docker.pkg.dev": "gcloud",
    "123456789012.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login",
    "registry.example.com": "pass",
}

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

# The role without ansible-core's role argument validation task (one worker per host before the role's
# own task); the module still validates every argument it is given, on the controller.
ROLE_NOVALIDATE = """
- name: Docker auth, rolespec_validate false
  hosts: fleet
  gather_facts: false
  tasks:
    - name: Docker auth
      ansible.builtin.import_role:
        name: cloud_registry.auth.docker_auth
        rolespec_validate: false
"""

NODE_NOVALIDATE = """
- name: Node auth, rolespec_validate false
  hosts: fleet
  gather_facts: false
  tasks:
    - name: Node auth
      ansible.builtin.import_role:
        name: cloud_registry.auth.node_auth
        rolespec_validate: false
"""

NODE = """
- name: Node auth
  hosts: fleet
  gather_facts: false
  roles:
    - role: cloud_registry.auth.node_auth
"""

# The same desired state written task by task, one module run per user and per login.
PER_TASK = """
- name: Docker auth, one module run per user and per login
  hosts: fleet
  gather_facts: false
  tasks:
    - name: Credential helpers, per user
      cloud_registry.auth.credhelper_config:
        user: "{{ item.name }}"
        config_path: "{{ item.config_path | default(omit) }}"
        helpers: "{{ docker_auth_cred_helpers }}"
        headless_fallback: file
      loop: "{{ docker_auth_users }}"
    - name: Logins, per user and login
      cloud_registry.auth.registry_login:
        registry: "{{ item.1.registry }}"
        username: "{{ item.1.username }}"
        password: "{{ item.1.password }}"
        store: file
        user: "{{ item.0.name }}"
        config_path: "{{ item.0.config_path | default(omit) }}"
        ca_cert: "{{ docker_auth_ca_cert }}"
      loop: "{{ docker_auth_users | product(docker_auth_logins) | list }}"
      loop_control:
        label: "{{ item.0.name }} -> {{ item.1.registry }}"
"""


NO_CODE_CACHE = {"CLOUD_REGISTRY_AUTH_CODE_CACHE": "off"}


def run(
    work: Path,
    inventory: Path,
    playbook: str,
    forks: int,
    pipelining: bool,
    extra: dict | None = None,
    env_extra: dict | None = None,
) -> dict:
    """One ansible-playbook process; its wall time, CPU and peak RSS (wait4 of it and all it waited for)."""
    pb = work / f"pb_{abs(hash(playbook))}.yml"
    pb.write_text(playbook)
    cmd = [str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), str(pb), "--forks", str(forks)]
    if extra:
        ev = work / "extra.json"
        ev.write_text(json.dumps(extra))
        cmd += ["-e", f"@{ev}"]
    env = ansible_env(
        {"ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_PIPELINING": str(pipelining), **(env_extra or {})}
    )
    out_path, err_path = work / "out.json", work / "err.txt"
    with open(out_path, "w") as out, open(err_path, "w") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=err, cwd=str(work))
        _pid, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    stdout = out_path.read_text()
    if proc.returncode != 0:
        sys.stderr.write(stdout[-4000:] + err_path.read_text()[-4000:])
        raise SystemExit(f"playbook failed (rc {proc.returncode})")
    stats = json.loads(stdout)["stats"]
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "rss_mb": usage.ru_maxrss / 1024.0,
        "changed": sum(1 for s in stats.values() if s.get("changed")),
        "hosts": len(stats),
    }


class Fleet:
    """A set of hosts: an inventory, and per tool its playbook, variables and how to empty its files."""

    def __init__(self, label, inventory, tools):
        self.label, self.inventory, self.tools = label, inventory, tools


def summary(values):
    return {"min": min(values), "median": statistics.median(values), "max": max(values)}


def bench(fleet: Fleet, work: Path, args, pipelining: bool, registries, with_per_task: bool) -> dict:
    tools = [t for t in fleet.tools if with_per_task or t[0] != "per-task"]
    kinds = ["ping"] + [f"{name} {phase}" for name, *_rest in tools for phase in ("writing", "no-op")]
    runs = {k: [] for k in kinds}
    for _repeat in range(args.repeats):
        # ping brackets every measured run: its ratio is to the mean of the ping just before
        # and just after it (ping drifts within a run; one sample per block misled)
        last_ping = run(work, fleet.inventory, PING, args.forks, pipelining)
        runs["ping"].append(last_ping)
        for name, playbook, extra, reset in tools:
            reset()
            for phase in ("writing", "no-op"):
                before = sum(r.verifications() for r in registries)
                res = run(
                    work,
                    fleet.inventory,
                    playbook,
                    args.forks,
                    pipelining,
                    extra,
                    NO_CODE_CACHE if name.endswith("-nocache") else None,
                )
                res["verifications"] = sum(r.verifications() for r in registries) - before
                next_ping = run(work, fleet.inventory, PING, args.forks, pipelining)
                runs["ping"].append(next_ping)
                res["ratio"] = res["wall"] / ((last_ping["wall"] + next_ping["wall"]) / 2)
                last_ping = next_ping
                runs[f"{name} {phase}"].append(res)
    hosts = runs["ping"][0]["hosts"]
    print(
        f"\n== {fleet.label}: {hosts} hosts, forks {args.forks}, pipelining {'on' if pipelining else 'off'}, "
        f"{args.repeats} runs each, every run between two pings (min / median / max)"
    )
    print(
        f"{'':28} {'wall s':>22} {'x ping (bracketed)':>22} {'CPU s (median)':>15} {'peak RSS MB':>12} "
        f"{'changed':>8} {'verif.':>7}"
    )
    report = {"hosts": hosts, "pipelining": pipelining, "kinds": {}}
    for kind in kinds:
        rs = runs[kind]
        wall = summary([r["wall"] for r in rs])
        cpu = summary([r["cpu"] for r in rs])
        rss = max(r["rss_mb"] for r in rs)
        ratio = summary([r["ratio"] for r in rs]) if kind != "ping" else None
        shown = f"{ratio['min']:5.2f} {ratio['median']:5.2f} {ratio['max']:5.2f}x" if ratio else f"{'(baseline)':>19}"
        changed = "/".join(str(r["changed"]) for r in rs) if kind != "ping" else str(sum(r["changed"] for r in rs))
        verif = "/".join(str(r.get("verifications", "-")) for r in rs) if kind != "ping" else "-"
        print(
            f"{kind:28} {wall['min']:6.2f} {wall['median']:6.2f} {wall['max']:6.2f}   {shown:>19} "
            f"{cpu['median']:15.2f} {rss:12.0f} {changed:>8} {verif:>7}"
        )
        report["kinds"][kind] = {
            "wall": wall,
            "ratio_to_ping": ratio,
            "cpu": cpu,
            "peak_rss_mb": rss,
            "changed": [r["changed"] for r in rs],
            "verifications": [r.get("verifications") for r in rs],
        }
    return report


def slopes(reports: list[dict]) -> dict:
    """Per tool: least-squares seconds per host over the sizes, and wall/host at each size."""
    out = {}
    for kind in reports[0]["kinds"]:
        pts = [(r["hosts"], r["kinds"][kind]["wall"]["median"]) for r in reports if kind in r["kinds"]]
        if len(pts) < 2:
            continue
        n = len(pts)
        mx, my = sum(x for x, _ in pts) / n, sum(y for _, y in pts) / n
        sxx = sum((x - mx) ** 2 for x, _ in pts)
        slope = sum((x - mx) * (y - my) for x, y in pts) / sxx
        intercept = my - slope * mx
        ss_tot = sum((y - my) ** 2 for _, y in pts)
        ss_res = sum((y - (intercept + slope * x)) ** 2 for x, y in pts)
        out[kind] = {
            "seconds_per_host": slope,
            "intercept": intercept,
            "r2": 1 - ss_res / ss_tot if ss_tot else 1.0,
            "points": pts,
        }
    return out


def ensure_bench_user() -> tuple[pwd.struct_passwd, bool]:
    try:
        return pwd.getpwnam(BENCH_USER), False
    except KeyError:
        subprocess.run(["useradd", "-M", "-s", "/usr/sbin/nologin", BENCH_USER], check=True)
        return pwd.getpwnam(BENCH_USER), True


def local_fleet(work: Path, size: int, common: dict, node: dict, bench_user, roles) -> Fleet:
    inv = work / f"local{size}.ini"
    lines = ["[fleet]"]
    files, node_dirs = [], []
    for i in range(size):
        base = work / "hosts" / f"h{i:03d}"
        users = []
        for name in ("root", bench_user.pw_name):
            cfg = base / name / ".docker" / "config.json"
            cfg.parent.parent.mkdir(parents=True, exist_ok=True)
            owner = pwd.getpwnam(name)
            os.chown(cfg.parent.parent, owner.pw_uid, owner.pw_gid)
            users.append({"name": name, "config_path": str(cfg)})
            files.append(cfg.parent)
        nd = base / "node"
        node_dirs.append(nd)
        lines.append(
            f"h{i:03d} ansible_connection=local ansible_python_interpreter={sys.executable} "
            f"docker_auth_users='{json.dumps(users, separators=(',', ':'))}' "
            f"node_auth_kubelet_config_path={nd}/kubelet/config.json "
            f"node_auth_containers_auth_path={nd}/containers/auth.json "
            f"node_auth_containerd_certs_dir={nd}/certs.d "
            f"node_auth_credential_provider_config_path={nd}/kubernetes/provider.yaml "
            f"node_auth_credential_provider_bin_dir={nd}/bin"
        )
    inv.write_text("\n".join(lines) + "\n")

    def reset():
        for d in files:
            shutil.rmtree(d, ignore_errors=True)

    def reset_node():
        for d in node_dirs:
            shutil.rmtree(d, ignore_errors=True)

    tools = [
        ("docker_auth", ROLE, common, reset),
        ("docker_auth-nocache", ROLE, common, reset),
        ("docker_auth-novalidate", ROLE_NOVALIDATE, common, reset),
        ("per-task", PER_TASK, common, reset),
        ("node_auth", NODE, node, reset_node),
        ("node_auth-nocache", NODE, node, reset_node),
        ("node_auth-novalidate", NODE_NOVALIDATE, node, reset_node),
    ]
    return Fleet(f"local-connection hosts ({size})", inv, [t for t in tools if t[0] in roles])


def container_fleet(work: Path, count: int, common: dict, names: list, roles) -> Fleet:
    image = subprocess.run(
        [str(REPO / "tests/setup/base-image.sh"), "--print-name"], capture_output=True, text=True, check=True
    ).stdout.strip()
    subprocess.run([str(REPO / "tests/setup/base-image.sh")], check=True)
    tag = secrets.token_hex(3)
    for i in range(count):
        name = f"cra-bench-{tag}-{i}"
        subprocess.run(["docker", "run", "-d", "--name", name, "--network", "host", image], check=True, capture_output=True)
        names.append(name)
        subprocess.run(
            ["docker", "exec", name, "useradd", "-m", "-s", "/usr/sbin/nologin", BENCH_USER], check=True, capture_output=True
        )
    inv = work / "containers.ini"
    inv.write_text(
        "[fleet]\n"
        + "".join(f"{n} ansible_connection=community.docker.docker ansible_python_interpreter=/usr/bin/python3\n" for n in names)
    )

    def reset():
        for n in names:
            subprocess.run(
                ["docker", "exec", n, "rm", "-rf", "/root/.docker", f"/home/{BENCH_USER}/.docker"],
                check=True,
                capture_output=True,
            )

    extra = dict(common, docker_auth_users=[{"name": "root"}, {"name": BENCH_USER}])
    tools = [
        ("docker_auth", ROLE, extra, reset),
        ("docker_auth-nocache", ROLE, extra, reset),
        ("docker_auth-novalidate", ROLE_NOVALIDATE, extra, reset),
        ("per-task", PER_TASK, extra, reset),
    ]
    return Fleet(f"containers ({count}, community.docker.docker)", inv, [t for t in tools if t[0] in roles])


def versions() -> dict:
    core = subprocess.run(
        [str(VENV_BIN / "ansible"), "--version"], capture_output=True, text=True, check=False
    ).stdout.splitlines()
    return {"ansible": core[0] if core else "?", "python": platform.python_version(), "cpus": os.cpu_count()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10,100,300", help="local-connection fleet sizes (comma-separated, 0: none)")
    ap.add_argument("--hosts", type=int, help="one local fleet size (same as --sizes N)")
    ap.add_argument("--containers", type=int, default=10)
    ap.add_argument("--forks", type=int, default=10)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--pipelining", choices=["both", "on", "off"], default="both")
    ap.add_argument(
        "--roles",
        default="docker_auth,per-task,node_auth",
        help="tools to measure next to ping: docker_auth, per-task (its hand-written equivalent), node_auth, "
        "docker_auth-nocache and node_auth-nocache (the roles with the bytecode cache off), "
        "docker_auth-novalidate and node_auth-novalidate (rolespec_validate: false)",
    )
    ap.add_argument("--per-task-max", type=int, default=100, help="largest size the per-task baseline runs on")
    ap.add_argument("--report", default=str(REPO / "tests" / "output" / "perf" / "fleet.json"))
    args, _unknown = ap.parse_known_args()  # tests/perf/run-all.sh passes the same args to every bench
    sizes = [args.hosts] if args.hosts is not None else [int(s) for s in args.sizes.split(",") if s.strip()]
    sizes = [s for s in sizes if s > 0]
    roles = [r.strip() for r in args.roles.split(",") if r.strip()]
    modes = {"both": [False, True], "on": [True], "off": [False]}[args.pipelining]

    work = Path(tempfile.mkdtemp(prefix="cra-bench-fleet-"))
    work.chmod(0o755)
    bench_user, created = ensure_bench_user()
    passwords = ["bench-" + secrets.token_hex(8) for _unused in range(2)]
    registries = []
    names: list[str] = []
    try:
        for i, pw in enumerate(passwords):
            d = work / f"registry{i}"
            registries.append(start_registry(d, auth="htpasswd", users={f"fleet{i}": pw}, ca=make_ca(d)))
        bundle = work / "ca-bundle.pem"
        bundle.write_text("".join(Path(r.ca_path).read_text() for r in registries))
        logins = [
            {"registry": r.host, "username": f"fleet{i}", "password": pw, "store": "file"}
            for i, (r, pw) in enumerate(zip(registries, passwords))
        ]
        common = {
            "cloud_registry_become": False,
            "docker_auth_logins": logins,
            "docker_auth_cred_helpers": HELPERS,
            "docker_auth_ca_cert": str(bundle),
            "docker_auth_headless_safe": True,
        }
        provider = work / "provider-bin"
        provider.write_bytes(b"#!/bin/sh\n# a kubelet credential provider stand-in binary\nexit 1\n" + b"#" * 65536)
        provider.chmod(0o755)
        import hashlib

        node = {
            "cloud_registry_become": False,
            "node_auth_logins": [dict(lg) for lg in logins],
            "node_auth_ca_cert": str(bundle),
            "node_auth_containerd": "hosts",
            "node_auth_restart_services": False,
            "node_auth_credential_providers": [
                {
                    "name": "bench-provider",
                    "match_images": ["*.registry.example.com"],
                    "src": str(provider),
                    "sha256": hashlib.sha256(provider.read_bytes()).hexdigest(),
                }
            ],
        }
        for lg in node["node_auth_logins"]:
            lg.pop("store", None)
        print("command:", shlex.join([Path(sys.executable).name, *sys.argv]))
        print(
            "inputs:",
            json.dumps(
                {
                    "sizes": sizes,
                    "containers": args.containers,
                    "forks": args.forks,
                    "repeats": args.repeats,
                    "pipelining": args.pipelining,
                    "per_task_max": args.per_task_max,
                    "users_per_host": ["root", BENCH_USER + " (nologin)"],
                    "logins": [lg["registry"] for lg in logins],
                    "credentials": len(logins),
                    "cred_helpers": HELPERS,
                    "roles": roles,
                    "node_auth": "kubelet config.json + containers auth.json, containerd hosts.toml, 1 credential provider "
                    "(64 kB binary from the controller)",
                    **versions(),
                }
            ),
        )
        print("baseline: ansible.builtin.ping on the same hosts, run before and after every measured run")
        report = {"inputs": vars(args), "local": [], "containers": [], "slopes": {}}
        for pipelining in modes:
            per_mode = []
            for size in sizes:
                fleet = local_fleet(work, size, common, node, bench_user, roles)
                per_mode.append(bench(fleet, work, args, pipelining, registries, size <= args.per_task_max))
            report["local"].extend(per_mode)
            if len(per_mode) >= 2:
                fit = slopes(per_mode)
                report["slopes"]["pipelining " + ("on" if pipelining else "off")] = fit
                print(
                    f"\n-- growth, pipelining {'on' if pipelining else 'off'}: least-squares seconds per host over "
                    f"{[r['hosts'] for r in per_mode]} hosts (median wall)"
                )
                for kind, f in fit.items():
                    per_host = ", ".join(f"{x}: {y / x * 1000:.0f} ms/host" for x, y in f["points"])
                    print(
                        f"{kind:22} {f['seconds_per_host'] * 1000:7.1f} ms/host  + {f['intercept']:5.2f}s  "
                        f"R^2 {f['r2']:.4f}   ({per_host})"
                    )
        if args.containers:
            fleet = container_fleet(work, args.containers, common, names, roles)
            for pipelining in modes:
                report["containers"].append(bench(fleet, work, args, pipelining, registries, True))
        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        Path(args.report).write_text(json.dumps(report, indent=1, default=str))
        print(f"\nreport: {args.report}")
    finally:
        for n in names:
            subprocess.run(["docker", "rm", "-f", n], capture_output=True, check=False)
        for r in registries:
            r.stop()
        shutil.rmtree(work, ignore_errors=True)
        if created:
            subprocess.run(["userdel", BENCH_USER], capture_output=True, check=False)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("ANSIBLE_HOST_PATTERN_MISMATCH", "ignore")
    raise SystemExit(main())
