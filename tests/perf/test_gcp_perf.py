"""Benchmarks for the Google code (print figures; never timed assertions).

- CRC32C of a maximal Secret Manager payload (64 KiB): ``gcp_api.crc32c`` (which calls
  ``google-crc32c`` when installed) and its table-driven pure-Python fallback, each as a
  ratio to ``google-crc32c``, the C implementation Google's own client libraries use,
  measured in this run; the bitwise reference of the stand-in checks that all agree.
- ensure_secret_iam against the stand-ins: API calls and wall time of a converging run
  against an idempotent run (ratio), in process with google-auth + requests, the client
  warm; the first call of the process apart.

Run: .venv/bin/python -m pytest tests/perf/test_gcp_perf.py -q -s
"""

from __future__ import annotations

import os
import statistics
import time

import pytest

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


def test_crc32c_against_google_crc32c():
    google_crc32c = pytest.importorskip("google_crc32c", reason="google-crc32c is in requirements-test.txt")
    data = os.urandom(65536)
    t_pure, v_pure = _best(lambda: crc32c(data, fast=False), rounds=5)
    t_ours, v_ours = _best(lambda: crc32c(data), rounds=50)  # what gcp_api runs: google-crc32c when installed
    t_c, v_c = _best(lambda: google_crc32c.value(data), rounds=50)
    t_bit, v_bit = _best(lambda: bitwise_crc32c(data), rounds=1)
    assert v_pure == v_ours == v_c == v_bit
    print(
        "\ncrc32c of 64 KiB (best of runs): gcp_api.crc32c %.4f ms (%.2fx google-crc32c %s, %.4f ms); "
        "its pure-Python fallback %.2f ms (%.0fx google-crc32c); bitwise reference %.1f ms"
        % (t_ours * 1e3, t_ours / t_c, google_crc32c.implementation, t_c * 1e3, t_pure * 1e3, t_pure / t_c, t_bit * 1e3)
    )


def test_converge_vs_idempotent_run():
    """Warm figures side by side (the client has its token; google-auth is imported): a run
    that creates the secret, its version and the IAM binding, against a run with nothing to
    do. The first call of a process (imports, the token) is printed apart: mixing it into the
    converging run made it look 35 times slower than an idempotent one."""
    stub = GoogleCloudStub().start()
    try:
        stub.add_project("perf", 111)
        key = stub.add_service_account("perf@perf.iam.gserviceaccount.com")
        stub.add_service_account("other@perf.iam.gserviceaccount.com")
        endpoints = dict.fromkeys(("secretmanager", "cloudresourcemanager", "artifactregistry"), stub.url)
        params = {"project": "perf", "secret_id": "warmup", "secret_value": "tok", "credentials_json": key}
        client = GcpClient(params, endpoints=endpoints)
        t_cold, _ = _best(lambda: ensure_secret_iam(client, params), rounds=1)
        converge, idem = [], []
        for i in range(5):
            run = dict(params, secret_id=f"hub{i}")
            client.calls = 0
            took, first = _best(lambda run=run: ensure_secret_iam(client, run), rounds=1)
            converge.append((took, client.calls))
            client.calls = 0
            took, again = _best(lambda run=run: ensure_secret_iam(client, run), rounds=1)
            idem.append((took, client.calls))
            assert first["changed"] and not again["changed"]
        t_conv = statistics.median(c[0] for c in converge)
        t_idem = statistics.median(c[0] for c in idem)
        print(
            "\nensure_secret_iam, median of 5 (warm client): converge %.1f ms / %d API calls, idempotent %.1f ms / "
            "%d API calls, ratio %.2f; first call of the process (imports google-auth, mints the token) %.1f ms"
            % (t_conv * 1e3, converge[0][1], t_idem * 1e3, idem[0][1], t_conv / t_idem, t_cold * 1e3)
        )
    finally:
        stub.stop()
