"""Benchmarks for the Google code (print figures; never timed assertions).

- CRC32C of a maximal Secret Manager payload (64 KiB): the collection's table-driven pure
  Python implementation against the bitwise reference, as a ratio measured in this run.
- ensure_secret_iam against the stand-ins: API calls and wall time of a converging run
  against an idempotent run (ratio), in process with google-auth + requests.

Run: .venv/bin/python -m pytest tests/perf/test_gcp_perf.py -q -s
"""

from __future__ import annotations

import os
import time

from ansible_collections.cloud_registry.auth.plugins.module_utils.gcp_api import GcpClient, crc32c, ensure_secret_iam

from fixtures.google_cloud import GoogleCloudStub
from fixtures.google_cloud import crc32c as bitwise_crc32c


def _best(fn, rounds=3):
    best = None
    for _ in range(rounds):
        start = time.perf_counter()
        value = fn()
        took = time.perf_counter() - start
        best = took if best is None else min(best, took)
    return best, value


def test_crc32c_table_vs_bitwise():
    data = os.urandom(65536)
    t_table, v_table = _best(lambda: crc32c(data))
    t_bit, v_bit = _best(lambda: bitwise_crc32c(data), rounds=1)
    assert v_table == v_bit
    print("\ncrc32c 64 KiB: table %.1f ms, bitwise %.1f ms, speed-up x%.1f" % (t_table * 1e3, t_bit * 1e3, t_bit / t_table))


def test_converge_vs_idempotent_run():
    stub = GoogleCloudStub().start()
    try:
        stub.add_project("perf", 111)
        key = stub.add_service_account("perf@perf.iam.gserviceaccount.com")
        stub.add_service_account("other@perf.iam.gserviceaccount.com")
        endpoints = dict.fromkeys(("secretmanager", "cloudresourcemanager", "artifactregistry"), stub.url)
        params = {"project": "perf", "secret_id": "hub", "secret_value": "tok", "credentials_json": key}
        client = GcpClient(params, endpoints=endpoints)
        t_first, first = _best(lambda: ensure_secret_iam(client, params), rounds=1)
        calls_first = client.calls
        client.calls = 0
        t_idem, again = _best(lambda: ensure_secret_iam(client, params), rounds=3)
        calls_idem = client.calls / 3
        assert first["changed"] and not again["changed"]
        print(
            "\nensure_secret_iam: converge %.1f ms / %d API calls, idempotent %.1f ms / %.0f API calls, ratio %.2f"
            % (t_first * 1e3, calls_first, t_idem * 1e3, calls_idem, t_first / t_idem)
        )
    finally:
        stub.stop()
