"""Benchmarks for the registry_token lookup (print figures; never timed assertions).

- In process: a run-cache hit (flock + read of one 0600 file) against a real mint over
  HTTP from the Azure stand-in (client-credentials grant + ACR exchange), as a ratio.

The lookup in forked workers, the way Ansible runs it, against a static credential and a
builtin lookup: ``tests/perf/bench_registry_token.py``. One mint for 200 hosts is a test:
``tests/integration/registry_token/test_registry_token_playbooks.py``.

Run: .venv/bin/python -m pytest tests/perf/test_registry_token_perf.py -q -s
"""

from __future__ import annotations

import time

from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens import azure
from ansible_collections.cloud_registry.auth.plugins.plugin_utils import token_cache as _cache

from fixtures.azure_stand_in import AzureStandIn

REGISTRY, TENANT, CLIENT, SECRET = "myreg.azurecr.io", "tenant-1", "app-1", "perf-client-secret-value"


def _opts(az):
    return {
        "registry": REGISTRY,
        "tenant_id": TENANT,
        "client_id": CLIENT,
        "client_secret": SECRET,
        "authority_host": az.url,
        "endpoint_url": az.url,
        "allow_http": True,
    }


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
        print(
            "\nregistry_token: mint %.2f ms, run-cache hit %.3f ms, mint/hit ratio %.1f" % (mint * 1000, hit * 1000, mint / hit)
        )
    finally:
        az.stop()
