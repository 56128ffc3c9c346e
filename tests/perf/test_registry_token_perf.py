"""Benchmarks for the registry_token lookup (print figures; never timed assertions).

- In process: a run-cache hit (flock + read of one 0600 file) against a real mint over
  HTTP from the Azure stand-in (client-credentials grant + ACR exchange), as a ratio.
- Real ansible-playbook over 100 local hosts, forks 20: the play that mints with the
  lookup against the same play with a static credential (ratio of wall times), and
  the number of requests the token endpoints received (asserted: exactly one each,
  a count, not a time).

Run: .venv/bin/python -m pytest tests/perf/test_registry_token_perf.py -q -s
"""

from __future__ import annotations

import os
import time

from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens import azure
from ansible_collections.cloud_registry.auth.plugins.plugin_utils import token_cache as _cache

from fixtures.azure_stand_in import AzureStandIn

REGISTRY, TENANT, CLIENT, SECRET = "myreg.azurecr.io", "tenant-1", "app-1", "perf-client-secret-value"


def _opts(az):
    return {"registry": REGISTRY, "tenant_id": TENANT, "client_id": CLIENT, "client_secret": SECRET,
            "authority_host": az.url, "endpoint_url": az.url, "allow_http": True}


def test_cache_hit_against_mint(tmp_path):
    az = AzureStandIn(REGISTRY, TENANT, {CLIENT: SECRET}).start()
    try:
        opts = _opts(az)
        n = 50
        start = time.perf_counter()
        for _ in range(n):
            azure.mint(opts)
        mint = (time.perf_counter() - start) / n
        cache = _cache.TokenCache(run_base=str(tmp_path), run_id="1-1")
        cache.get_or_mint("azure", azure.identity(opts), lambda: azure.mint(opts), 300)
        before = az.stats()["exchange"]
        start = time.perf_counter()
        for _ in range(n * 10):
            cache.get_or_mint("azure", azure.identity(opts), lambda: azure.mint(opts), 300)
        hit = (time.perf_counter() - start) / (n * 10)
        assert az.stats()["exchange"] == before  # every call above was a hit
        print("\nregistry_token: mint %.2f ms, run-cache hit %.3f ms, mint/hit ratio %.1f" % (
            mint * 1000, hit * 1000, mint / hit))
    finally:
        az.stop()


def test_fleet_play_lookup_against_static(playbook, tmp_path):
    az = AzureStandIn(REGISTRY, TENANT, {CLIENT: SECRET}).start()
    try:
        inv = tmp_path / "fleet.ini"
        inv.write_text("[fleet]\n" + "".join("h%03d\n" % i for i in range(100))
                       + "[fleet:vars]\nansible_connection=local\n")
        task = """
        - hosts: fleet
          gather_facts: false
          tasks:
            - name: credential
              ansible.builtin.set_fact:
                tok: "{{ %s }}"
              no_log: true
        """
        lookup = ("lookup('cloud_registry.auth.registry_token', provider='azure', registry='%s', tenant_id='%s', "
                  "client_id='%s', client_secret=sec, authority_host=url, endpoint_url=url, allow_http=true)"
                  % (REGISTRY, TENANT, CLIENT))
        static = "{'username': 'u', 'password': sec, 'registry': '%s', 'expires_at': None}" % REGISTRY
        env = {"CLOUD_REGISTRY_TOKEN_RUN_CACHE_DIR": str(tmp_path / "run")}
        ev = {"url": az.url, "sec": SECRET}
        start = time.perf_counter()
        run = playbook(task % static, inventory=inv, forks=20, extra_vars=ev, env=env)
        static_s = time.perf_counter() - start
        assert run.rc == 0, run.output[-2000:]
        start = time.perf_counter()
        run = playbook(task % lookup, inventory=inv, forks=20, extra_vars=ev, env=env)
        lookup_s = time.perf_counter() - start
        assert run.rc == 0, run.output[-2000:]
        assert az.stats() == {"aad": 1, "exchange": 1, "managed": 0, "failures": 0}
        print("\nregistry_token: 100 hosts / forks 20: static %.1fs, lookup %.1fs, ratio %.2f; token endpoint "
              "requests: %s (cpu count %s)" % (static_s, lookup_s, lookup_s / static_s, az.stats(), os.cpu_count()))
    finally:
        az.stop()
