"""The HTTP stand-ins add no artificial latency: every accepted connection has TCP_NODELAY (as Go servers set it),
so the body that http.server writes after the headers does not wait for the client's delayed ACK. Checked on the
socket option the kernel reports for each connection, for requests on one reused keep-alive connection, over
plain HTTP and TLS (the time per request is a benchmark: tests/perf/bench_stand_ins.py)."""

from __future__ import annotations

import http.client
import ssl

import pytest

from fixtures.azure_stand_in import AzureStandIn
from fixtures.ecr_public_stand_in import EcrPublicStandIn
from fixtures.google_cloud import GoogleCloudStub


def _reused(stand_in, method="GET", context=None):
    """Five requests on one connection; the stand-in's answers and the number of connections it accepted."""
    host, port = stand_in.host, stand_in.port
    conn = (
        http.client.HTTPSConnection(host, port, context=context, timeout=10)
        if context
        else http.client.HTTPConnection(host, port, timeout=10)
    )
    answers = []
    try:
        for _attempt in range(5):
            conn.request(method, "/_stats", body=b"" if method == "POST" else None)
            resp = conn.getresponse()
            answers.append((resp.status, resp.read()))
    finally:
        conn.close()
    return answers, list(stand_in.connections)


@pytest.mark.parametrize(
    "make, method",
    [
        (GoogleCloudStub, "GET"),
        (lambda: AzureStandIn("r.azurecr.io", "t", {"c": "s"}), "GET"),
        (lambda: EcrPublicStandIn({"AKID": "secret"}), "POST"),
    ],
)
def test_a_reused_connection_has_tcp_nodelay(make, method):
    stand_in = make().start()
    try:
        answers, connections = _reused(stand_in, method)
    finally:
        stand_in.stop()
    assert len(answers) == 5 and all(status in (200, 401, 403) for status, _body in answers)  # answered, whatever
    assert connections == [True]  # one connection, kept alive for all five, with the option on


def test_tls_stand_in_has_tcp_nodelay(tmp_path):
    from fixtures.registry_env import make_ca

    ca = make_ca(tmp_path / "ca")
    cert, key = ca.issue("stand-in")
    stand_in = GoogleCloudStub(tls=(str(cert), str(key))).start()
    try:
        answers, connections = _reused(stand_in, context=ssl.create_default_context(cafile=str(ca.cert_path)))
    finally:
        stand_in.stop()
    assert len(answers) == 5 and connections == [True]
