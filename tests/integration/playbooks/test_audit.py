"""ansible-playbook cloud_registry.auth.audit, as users run it: a local fleet written by the
docker_auth role (configure_hosts) against a real registry, then changed by hand, one host
that cannot be reached, and the pull secrets of the REAL API server. The report is read as
JSON and Markdown, and the HTML is opened in headless Chromium (its DOM and a screenshot)."""

from __future__ import annotations

import base64
import json
import secrets
import sys
import time
from pathlib import Path

import pytest

from support.browser import CHROMIUM, chromium
from support.png import colours, hex_rgb
from support.ports import free_port

pytestmark = [pytest.mark.slow]


def jwt(claims: dict) -> str:
    def part(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2ln"


@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is installed by tests/setup/system-deps.sh")
def test_audit_report_of_a_fleet_and_a_cluster(tmp_path, playbook, htpasswd_registry, kube_api):
    reg = htpasswd_registry
    kubectl = kube_api.kubectl
    configs = [tmp_path / f"h{i}" / "config.json" for i in range(3)]
    lines = ["[docker_hosts]"]
    for i, cfg in enumerate(configs):
        users = json.dumps([{"name": "root", "config_path": str(cfg)}]).replace(" ", "")
        lines.append(f"h{i} ansible_connection=local ansible_python_interpreter={sys.executable} docker_auth_users='{users}'")
    lines.append(
        f"gone ansible_host=127.0.0.1 ansible_port={free_port()} ansible_connection=ssh "
        "ansible_ssh_common_args='-o ConnectTimeout=5 -o BatchMode=yes'"
    )
    inventory = tmp_path / "inventory.ini"
    inventory.write_text("\n".join(lines) + "\n")
    fleet = dict(
        cloud_registry_become=False,
        docker_auth_ca_cert=str(reg.ca_path),
        docker_auth_logins=[{"registry": reg.host, "username": reg.username, "password": reg.password}],
        docker_auth_cred_helpers={"123456789012.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login"},
    )
    written = playbook(
        "cloud_registry.auth.configure_hosts", inventory=inventory, extra_vars=dict(fleet, target_hosts="h0,h1,h2")
    )
    assert written.rc == 0, written.output

    # by hand, after the role: h1 logged in as someone else, h2 got a token that has expired
    data = json.loads(configs[1].read_text())
    data["auths"][reg.host]["auth"] = base64.b64encode(f"intruder:{reg.password}".encode()).decode()
    configs[1].write_text(json.dumps(data))
    expired = jwt({"exp": int(time.time()) - 60})
    data = json.loads(configs[2].read_text())
    data["auths"]["expired.example.com"] = {"auth": base64.b64encode(b"ci:").decode(), "identitytoken": expired}
    configs[2].write_text(json.dumps(data))

    label = "crauth-audit-" + secrets.token_hex(3)
    spaces = [f"{label}-a", f"{label}-b"]
    kubectl.create_namespaces(*spaces, labels=dict((n, {label: "on"}) for n in spaces))
    made = playbook(
        json.dumps(
            [
                {
                    "hosts": "localhost",
                    "gather_facts": False,
                    "tasks": [
                        {
                            "cloud_registry.auth.k8s_pull_secret": {
                                "name": "regcred",
                                "kubeconfig": str(kube_api.kubeconfig),
                                "namespaces": spaces[:1],
                                "service_accounts": ["default"],
                                "registries": [{"server": reg.host, "username": reg.username, "password": reg.password}],
                            }
                        }
                    ],
                }
            ]
        )
        + "\n"
    )
    assert made.rc == 0, made.output

    report_dir = tmp_path / "report"
    report_dir.mkdir()
    before = [c.read_bytes() for c in configs]
    run = playbook(
        "cloud_registry.auth.audit",
        inventory=inventory,
        json_output=False,
        extra_vars=dict(
            fleet,
            audit_report_dir=str(report_dir),
            audit_verify=True,
            audit_hosts="docker_hosts",
            k8s_pull_secrets_clusters=[{"name": "main", "kubeconfig": str(kube_api.kubeconfig)}],
            k8s_pull_secrets_namespace_selector=f"{label}=on",
        ),
    )
    assert run.rc == 0, run.output[-4000:]
    assert [c.read_bytes() for c in configs] == before  # an audit changes nothing

    model = json.loads((report_dir / "registry-audit.json").read_text())
    assert model["hosts"] == 4 and model["cluster_errors"] == [], model["cluster_errors"]
    assert [u["host"] for u in model["unreachable"]] == ["gone"]
    rows = {r["host"]: r["cells"] for r in model["rows"]}
    assert sorted(rows) == ["h0", "h1", "h2"]
    assert rows["h0"][reg.host]["state"] == "valid"
    assert rows["h1"][reg.host]["state"] == "invalid"  # the registry refused intruder
    assert rows["h2"]["expired.example.com"]["state"] == "expired"
    helper = rows["h0"]["123456789012.dkr.ecr.eu-west-1.amazonaws.com"]
    assert helper["state"] == "unverifiable" and helper["entries"][0]["helper"] == "ecr-login"
    assert [d["host"] for d in model["drift"]] == ["h1"]
    assert f"logged in as intruder, wants {reg.username}" in model["drift"][0]["problem"]
    k8s = {n["namespace"]: n for n in model["k8s"]}
    assert k8s[spaces[0]]["state"] == "present" and k8s[spaces[0]]["secrets"][0]["used_by"] == ["default"]
    assert k8s[spaces[1]]["state"] == "missing"

    markdown = (report_dir / "registry-audit.md").read_text()
    assert "| h2 |" in markdown and "expired" in markdown and "## Drift from the desired state" in markdown
    for path in report_dir.iterdir():
        assert reg.password not in path.read_text() and expired not in path.read_text()
    assert reg.password not in run.output and expired not in run.output

    page = (report_dir / "registry-audit.html").as_uri()
    dom = chromium("--dump-dom", page, profile=tmp_path / "chromium-profile")
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert all(f"<tr><th>h{i}</th>" in dom.stdout for i in range(3)) and "<tr><th>gone<" not in dom.stdout
    assert 'data-state="expired"' in dom.stdout and 'data-state="missing"' in dom.stdout
    assert "Hosts without a result" in dom.stdout and "gone" in dom.stdout
    shot = tmp_path / "report.png"
    taken = chromium(f"--screenshot={shot}", "--window-size=1400,900", page, profile=tmp_path / "chromium-profile")
    assert shot.exists(), taken.stderr[-2000:]
    seen = colours(shot)
    for state in ("#1a7f37", "#cf222e", "#82071e", "#b6e3ff"):  # valid, expired/missing, invalid, kept by a helper
        assert seen[hex_rgb(state)] > 200, (state, seen.most_common(8))
