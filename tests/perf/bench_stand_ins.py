"""Benchmark: what one request on a reused connection costs at the HTTP stand-ins, against the real Go server of
the tests (the distribution registry's ``GET /v2/``) in the same run, with TCP_NODELAY on (what the stand-ins
do) and off (what http.server does by default: the body waits for the client's delayed ACK).

Prints, per server, the median / p95 / max milliseconds per request over N requests on one keep-alive
connection, and the ratio of each median to the Go registry's. Figures only: nothing here is a timed assertion
(tests/unit/test_stand_in_transport.py checks the socket option itself).

Run:  .venv/bin/python tests/perf/bench_stand_ins.py [--requests 200]
Needs docker-registry (Debian's package).
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))

from fixtures import http_stand_in  # noqa: E402
from fixtures.google_cloud import GoogleCloudStub  # noqa: E402
from fixtures.registry_env import start_registry  # noqa: E402


def per_request_ms(host, port, path, n):
    conn = http.client.HTTPConnection(host, port, timeout=30)
    times = []
    try:
        for _ in range(n + 5):
            start = time.perf_counter()
            conn.request("GET", path)
            resp = conn.getresponse()
            resp.read()
            times.append((time.perf_counter() - start) * 1000.0)
    finally:
        conn.close()
    times = sorted(times[5:])  # the first requests warm the connection
    return statistics.median(times), times[int(round(0.95 * (len(times) - 1)))], times[-1]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--requests", type=int, default=200)
    args, _unknown = ap.parse_known_args(argv)  # run-all.sh passes the same args to every bench
    print(f"inputs: {args.requests} GET requests per server on one keep-alive connection, plain HTTP, 127.0.0.1")
    rows = []
    with tempfile.TemporaryDirectory(prefix="cra-bench-stand-ins-") as work:
        reg = start_registry(Path(work) / "registry", "none", tls=False)
        try:
            host, port = reg.host.rsplit(":", 1)
            rows.append(("distribution registry (Go), GET /v2/", per_request_ms(host, int(port), "/v2/", args.requests)))
        finally:
            reg.stop()
        for label, nodelay in (
            ("Google stand-in, TCP_NODELAY on", True),
            ("Google stand-in, TCP_NODELAY off (http.server default)", False),
        ):
            http_stand_in.StandInHandler.disable_nagle_algorithm = nodelay
            stub = GoogleCloudStub().start()
            try:
                rows.append((label + ", GET /_stats", per_request_ms(stub.host, stub.port, "/_stats", args.requests)))
            finally:
                stub.stop()
        http_stand_in.StandInHandler.disable_nagle_algorithm = True
    base = rows[0][1][0]
    print(f"{'server':66}{'median ms':>10}{'p95 ms':>9}{'max ms':>9}{'median / Go':>13}")
    for label, (med, p95, mx) in rows:
        print(f"{label:66}{med:10.2f}{p95:9.2f}{mx:9.2f}{med / base:12.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
