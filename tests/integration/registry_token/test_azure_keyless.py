"""Keyless Azure logins through the registry_token lookup in a playbook: workload identity
with a service account token issued by the REAL kube-apiserver (TokenRequest, audience
api://AzureADTokenExchange, as the AKS webhook projects it), checked by the Entra ID
stand-in against the cluster's real signing key; and a managed identity (IMDS shape).
Minted once per run for many hosts; no token in the output."""

from __future__ import annotations

import textwrap

import pytest

from fixtures.azure_stand_in import AzureStandIn

pytestmark = [pytest.mark.slow]
REGISTRY, TENANT, APP = "myreg.azurecr.io", "tenant-1", "wi-app-1"
ISSUER = "https://kubernetes.default.svc"  # the API server's --service-account-issuer


def inventory(tmp_path, n):
    path = tmp_path / "hosts.ini"
    path.write_text("".join(f"h{i} ansible_connection=local\n" for i in range(n)))
    return path


PLAY = textwrap.dedent("""
    - hosts: all
      gather_facts: false
      tasks:
        - name: mint
          ansible.builtin.set_fact:
            tok: "{{ lookup('cloud_registry.auth.registry_token', provider='azure', registry='%s', %s,
                            endpoint_url=az_url, allow_http=true) }}"
          no_log: true
        - name: one credential for every host
          ansible.builtin.assert:
            that:
              - tok.password == hostvars['h0'].tok.password
              - tok.username == '00000000-0000-0000-0000-000000000000'
          no_log: true
""")


def test_workload_identity_with_a_real_service_account_token(tmp_path, playbook, kube_cluster, kube_api):
    kubectl = kube_api.kubectl
    kubectl.create_namespaces("crauth-wi")
    kubectl("create", "serviceaccount", "puller", "-n", "crauth-wi")
    token = kubectl(
        "create", "token", "puller", "-n", "crauth-wi", "--audience", "api://AzureADTokenExchange", "--duration", "10m"
    ).stdout.strip()
    projected = tmp_path / "azure-identity-token"
    projected.write_text(token)
    az = AzureStandIn(REGISTRY, TENANT, {}).start()
    try:
        az.federated[APP] = {
            "issuer": ISSUER,
            "subject": "system:serviceaccount:crauth-wi:puller",
            "audiences": ["api://AzureADTokenExchange"],
            "public_key": (kube_cluster.pki / "sa.pub").read_bytes(),
        }
        run = playbook(
            PLAY % (REGISTRY, "tenant_id='%s', client_id='%s', authority_host=az_url" % (TENANT, APP)),
            inventory=inventory(tmp_path, 5),
            forks=5,
            extra_vars={"az_url": az.url},
            env={"AZURE_FEDERATED_TOKEN_FILE": str(projected), "CLOUD_REGISTRY_TOKEN_RUN_CACHE_DIR": str(tmp_path / "runcache")},
        )
        assert run.rc == 0, run.output[-3000:]
        assert az.stats() == {"aad": 1, "exchange": 1, "managed": 0, "failures": 0}  # once for five hosts
        assert token not in run.output and az.issued_refresh_tokens[0] not in run.output

        # a token of another service account is refused by name, with the fix
        kubectl("create", "serviceaccount", "other", "-n", "crauth-wi")
        projected.write_text(
            kubectl("create", "token", "other", "-n", "crauth-wi", "--audience", "api://AzureADTokenExchange").stdout.strip()
        )
        loud = PLAY.replace("no_log: true", "no_log: false")
        refused = playbook(
            loud % (REGISTRY, "tenant_id='%s', client_id='%s', authority_host=az_url" % (TENANT, APP)),
            inventory=inventory(tmp_path, 1),
            extra_vars={"az_url": az.url},
            env={"AZURE_FEDERATED_TOKEN_FILE": str(projected), "CLOUD_REGISTRY_TOKEN_RUN_CACHE_DIR": str(tmp_path / "runcache2")},
        )
        assert refused.rc != 0
        assert "AADSTS70021" in refused.output and f"federated identity credential of {APP}" in refused.output
    finally:
        az.stop()


def test_managed_identity(tmp_path, playbook):
    az = AzureStandIn(REGISTRY, TENANT, {}).start()
    try:
        az.managed["system"] = "vm-identity"
        run = playbook(
            PLAY % (REGISTRY, "managed_identity=true, identity_endpoint=az_url ~ '/metadata/identity/oauth2/token'"),
            inventory=inventory(tmp_path, 3),
            forks=3,
            extra_vars={"az_url": az.url},
            env={"CLOUD_REGISTRY_TOKEN_RUN_CACHE_DIR": str(tmp_path / "runcache")},
        )
        assert run.rc == 0, run.output[-3000:]
        assert az.stats() == {"aad": 0, "exchange": 1, "managed": 1, "failures": 0}
        assert az.issued_refresh_tokens[0] not in run.output
    finally:
        az.stop()
