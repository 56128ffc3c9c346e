"""Benchmark: the registry_token lookup in forked workers, the way Ansible runs it, against a builtin lookup.

Two ansible-playbook processes per repetition (200 local hosts, forks 10 by default, 3 repetitions),
one with the collection's bytecode cache (plugin_utils/code_cache.py) and one with it turned off
(``CLOUD_REGISTRY_AUTH_CODE_CACHE=off``: every worker compiles and parses as ansible-core does),
each running
``set_fact`` tasks whose value is a static dict, ``lookup('ansible.builtin.env', ...)`` (the builtin
peer: also a lookup plugin loaded in every worker), or ``lookup('cloud_registry.auth.registry_token',
provider='azure', ...)`` against the Azure stand-in (tests/fixtures; real HTTP on 127.0.0.1):

    static (warm-up), static, env, static, registry_token (first: one mint, then run-cache hits),
    static, registry_token (all hits), static, env, static

Each measured task's ratio is its wall time over the mean of the static tasks just before and after
it, in the same process (the machine's speed drifts). Prints the command, the inputs, then min /
median / max of each ratio over the repetitions with the median run's seconds, and the requests
the token endpoints received (one AAD grant and one ACR exchange per run: every other host is a
cache hit). Figures only: nothing here is a timed assertion.

Run:  .venv/bin/python tests/perf/bench_registry_token.py [--hosts 200] [--forks 10] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))

from fixtures.azure_stand_in import AzureStandIn  # noqa: E402
from support.perf import link_collection, task_span  # noqa: E402

REGISTRY, TENANT, CLIENT = "myreg.azurecr.io", "tenant-1", "app-1"


STATIC = "{{ {'username': '00000000-0000-0000-0000-000000000000', 'password': bench_secret, 'expires_at': None} }}"
ENV = "{{ lookup('ansible.builtin.env', 'HOME') }}"
OURS = (
    "{{ lookup('cloud_registry.auth.registry_token', provider='azure', registry='%s', tenant_id='%s', "
    "client_id='%s', client_secret=bench_secret, authority_host=bench_url, endpoint_url=bench_url, "
    "allow_http=true) }}" % (REGISTRY, TENANT, CLIENT)
)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--hosts", type=int, default=200)
    ap.add_argument("--forks", type=int, default=10)
    ap.add_argument(
        "--repeats",
        "--repeat",
        dest="repeat",
        type=int,
        default=3,
        help="repetitions, each a new ansible-playbook process (min / median / max of the ratios)",
    )
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args, _unknown = ap.parse_known_args(argv)  # run-all.sh passes the same args to every bench
    collections = link_collection()
    work = Path(tempfile.mkdtemp(prefix="bench-registry-token-"))
    secret = "bench-client-secret-" + os.urandom(8).hex()
    az = AzureStandIn(REGISTRY, TENANT, {CLIENT: secret}).start()
    try:
        inv = work / "inventory.ini"
        inv.write_text(
            "[fleet]\n"
            + "".join(f"h{i:03d}\n" for i in range(args.hosts))
            + f"[fleet:vars]\nansible_connection=local\nansible_python_interpreter={sys.executable}\n"
        )
        vars_file = work / "vars.json"
        vars_file.write_text(json.dumps({"bench_secret": secret, "bench_url": az.url}))
        vars_file.chmod(0o600)
        plan = [
            ("static warm-up", STATIC),
            ("static 0", STATIC),
            ("env", ENV),
            ("static 1", STATIC),
            ("registry_token first", OURS),
            ("static 2", STATIC),
            ("registry_token hits", OURS),
            ("static 3", STATIC),
            ("env again", ENV),
            ("static 4", STATIC),
        ]
        measured = [name for name, _v in plan if not name.startswith("static")]
        tasks = [{"name": name, "ansible.builtin.set_fact": {"value": value}, "no_log": True} for name, value in plan]
        path = work / "bench.yml"
        path.write_text(json.dumps([{"hosts": "fleet", "gather_facts": False, "tasks": tasks}]))
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
        env = dict(
            os.environ,
            ANSIBLE_COLLECTIONS_PATH=str(collections),
            ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
            ANSIBLE_DEPRECATION_WARNINGS="false",
            AZURE_AUTHORITY_HOST=az.url,
            PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        )
        print(
            f"\nregistry_token benchmark: {args.hosts} local hosts, forks {args.forks}, {args.repeat} repetitions "
            f"(each a new ansible-playbook process); Azure stand-in at {az.url}"
        )
        print("command:", " ".join(cmd))
        print("tasks: " + ", ".join(name for name, _v in plan))
        rows, requests = {}, []
        for rep, cache in [(r, c) for r in range(args.repeat) for c in ("on", "off")]:
            before = az.stats()
            run_env = dict(
                env, CLOUD_REGISTRY_TOKEN_RUN_CACHE_DIR=str(work / f"run-{rep}-{cache}"), CLOUD_REGISTRY_AUTH_CODE_CACHE=cache
            )
            proc = subprocess.run(cmd, env=run_env, capture_output=True, text=True, timeout=1800)
            data = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else {}
            if proc.returncode != 0 or not data:
                print(proc.stdout[-3000:], proc.stderr[-3000:], file=sys.stderr)
                raise SystemExit("ansible-playbook failed (repetition %d)" % rep)
            after = az.stats()
            requests.append({k: after[k] - before[k] for k in ("aad", "exchange")})
            secs = {}
            for t in data["plays"][0]["tasks"]:
                start, end = task_span(t)
                secs[t["task"]["name"]] = end - start
            names = [name for name, _v in plan]
            for i, name in enumerate(names):
                if name in measured:
                    rows.setdefault((name, cache), []).append(
                        (secs[name] / ((secs[names[i - 1]] + secs[names[i + 1]]) / 2), secs[name])
                    )
        print(f"{'task':22}{'code cache':>11}{'ratio min':>11}{'median':>8}{'max':>7}{'seconds (median)':>18}")
        for name in measured:
            for cache in ("on", "off"):
                runs = sorted(rows[(name, cache)])
                mid = runs[len(runs) // 2]
                print(f"{name:22}{cache:>11}{runs[0][0]:10.2f}x{mid[0]:7.2f}x{runs[-1][0]:6.2f}x{mid[1]:18.2f}")
        print("  ratio: the task's wall time over the mean of the static set_fact tasks just before and after it")
        print("  token endpoint requests per run (AAD grant, ACR exchange): %s" % requests)
        print(
            "  PYTHONDONTWRITEBYTECODE=%s (when set, Python writes no .pyc for the plugin files themselves either)"
            % os.environ.get("PYTHONDONTWRITEBYTECODE", "")
        )
        return 0
    finally:
        az.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print("kept", work)


if __name__ == "__main__":
    raise SystemExit(main())
