"""Unit tests for the audit report filters (model, HTML, Markdown, targets, expected)."""

import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.cloud_registry.auth.plugins.filter import audit


def entry(registry, state, **kw):
    base = {
        "registry": registry,
        "state": state,
        "user": "root",
        "path": "/root/.docker/config.json",
        "stored": "inline",
        "username": "u",
        "kind": "password",
        "expires_at": None,
        "reason": None,
    }
    base.update(kw)
    return base


HOSTS = {
    "web<1>": {
        "entries": [entry("r.example.com", "valid"), entry("r.example.com", "expired", user="app")],
        "files": [{"problems": ["/x has mode 0644"], "error": None}],
        "drift": [],
    },
    "db": {
        "entries": [entry("q.example.com", "present")],
        "files": [],
        "drift": [{"problem": "q.example.com of root: logged in as a|b, wants c"}],
    },
    "down": {"unreachable": True, "msg": "ssh refused"},
}
CLUSTERS = [
    {
        "item": {"name": "prod"},
        "namespaces": [
            {
                "namespace": "a",
                "secrets": [
                    {"name": "regcred", "state": "expiring", "expires_at": "2027-01-01T00:00:00Z", "used_by": ["default"]}
                ],
                "missing": False,
                "service_accounts_without": [],
            },
            {"namespace": "b", "secrets": [], "missing": True, "service_accounts_without": ["default"]},
        ],
    },
    {"item": {"context": "stage"}, "failed": True, "msg": "cannot reach"},
]


def test_model_worst_state_per_cell_and_sections():
    m = audit.audit_model(HOSTS, CLUSTERS, "now")
    assert m["registries"] == ["q.example.com", "r.example.com"]
    cells = {r["host"]: r["cells"] for r in m["rows"]}
    assert cells["web<1>"]["r.example.com"]["state"] == "expired"  # the worst of valid and expired
    assert len(cells["web<1>"]["r.example.com"]["entries"]) == 2
    assert m["unreachable"] == [{"host": "down", "msg": "ssh refused"}]
    assert m["cluster_errors"] == [{"host": "cluster stage", "msg": "cannot reach"}]
    got = [(n["cluster"], n["namespace"], n["state"]) for n in m["k8s"]]
    assert got == [("prod", "a", "expiring"), ("prod", "b", "missing")]
    assert m["totals"]["expired"] == 1 and m["hosts"] == 3
    assert json.loads(audit.audit_json(m)) == m
    with pytest.raises(AnsibleFilterError):
        audit.audit_model(["not", "a", "mapping"])


def test_html_is_escaped_and_coloured():
    page = audit.audit_html(audit.audit_model(HOSTS, CLUSTERS, "now"))
    assert "web&lt;1&gt;" in page and "web<1>" not in page
    assert 'data-state="expired" style="background:#cf222e' in page
    assert "<script" not in page and "src=" not in page and "href=" not in page  # self-contained
    assert "Clusters without a result" in page and "Drift from the desired state" in page


def test_markdown_escapes_pipes():
    text = audit.audit_markdown(audit.audit_model(HOSTS, CLUSTERS, "now"))
    assert "logged in as a\\|b, wants c" in text
    assert "| db | present, not verified |  |" in text


def test_targets_and_expected():
    t = audit.audit_targets([{"name": "root"}, {"name": "ci", "config_path": "/srv/ci/config.json"}, "app"])
    assert t["users"] == ["root", "app"]
    assert t["files"] == [{"path": "/srv/ci/config.json", "format": "docker", "owner": "ci"}]
    expected = audit.audit_expected(
        t["where"][:2],
        [
            {"registry": "r.example.com", "username": "u"},
            {"registry": "s.example.com", "username": "v", "store": "pass"},
            {"registry": "t.example.com", "username": "w", "state": "absent"},
        ],
        {"gcr.io": "gcloud"},
    )
    assert expected == [
        {"user": "root", "registry": "r.example.com", "username": "u"},
        {"user": "root", "registry": "gcr.io", "helper": "gcloud"},
        {"path": "/srv/ci/config.json", "registry": "r.example.com", "username": "u"},
        {"path": "/srv/ci/config.json", "registry": "gcr.io", "helper": "gcloud"},
    ]
