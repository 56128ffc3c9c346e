"""k8s_pull_secret through real ansible-playbook runs against the REAL kube-apiserver
(tests/setup/kube-cluster.sh, with its controllers); every result is read back with the
REAL kubectl, and what the server saw is read from its audit log."""

from __future__ import annotations

import base64
import calendar
import json
import subprocess
import time

import pytest

from support.kube import wait_for
from support.ports import free_port


PASSWORD = 'Pa55-w0rd<&>"ünïcode"'
PASSWORD2 = "S3cond-Rotat3d-T0ken-9f8e7d"
HUB_TOKEN = "dckr_pat_SuperSecretHubToken42"
REGISTRIES = [
    {"server": "registry.example.com:5000", "username": "ci-bot", "password": PASSWORD, "email": "ci@example.com"},
    {"server": "docker.io", "username": "acme", "password": HUB_TOKEN},
]
SECRETS = [PASSWORD, PASSWORD2, HUB_TOKEN]


def play(*tasks, check_failed=False) -> str:
    """Playbook text with one k8s_pull_secret task per (name, args)."""
    lines = ["- hosts: localhost", "  gather_facts: false", "  tasks:"]
    for name, args in tasks:
        lines += [f"    - name: {name}", f"      cloud_registry.auth.k8s_pull_secret: {json.dumps(args)}"]
    return "\n".join(lines) + "\n"


def args(kubeconfig, **kw):
    base = {"name": "regcred", "kubeconfig": str(kubeconfig), "registries": REGISTRIES}
    base.update(kw)
    return base


def secret_strings(*passwords):
    """Every encoding of the secrets that must never appear in output."""
    out = set()
    for p in passwords:
        out.add(p)
        out.add(json.dumps(p)[1:-1])
        for user in ("ci-bot", "acme"):
            out.add(base64.b64encode(f"{user}:{p}".encode()).decode())
    return out


def assert_no_secret(text, *passwords):
    for s in secret_strings(*(passwords or SECRETS)):
        assert s not in text, "a secret value leaked into the output"


def make_namespaces(kubectl, *names, labels=None):
    kubectl.create_namespaces(*names, labels=labels)


def four_runs(playbook, text, task="pull secret", **kw):
    """check (changed), run (changed), check (unchanged), run (unchanged): the four results."""
    results = []
    for check, expect in ((True, True), (False, True), (True, False), (False, False)):
        run = playbook(text, check=check, diff=True, **kw)
        assert run.rc == 0, run.output
        res = run.result(task)
        assert res["changed"] is expect, (check, res)
        assert_no_secret(run.output)
        results.append(res)
    return results


@pytest.mark.matrix
def test_create_four_runs_verified_with_kubectl(kube_api, kubeconfig, kubectl, playbook):
    make_namespaces(kubectl, "team-a", "team-b", "team-c")
    text = play(
        (
            "pull secret",
            args(
                kubeconfig,
                namespaces=["team-a", "team-b", "team-c"],
                service_accounts=["default"],
                labels={"app.kubernetes.io/managed-by": "ansible"},
            ),
        )
    )
    check1 = playbook(text, check=True, diff=True)
    assert check1.rc == 0, check1.output
    res = check1.result("pull secret")
    assert res["changed"] and res["totals"]["created"] == 3 and res["totals"]["service_accounts_patched"] == 3
    assert kubectl("get", "secrets", "-A", "-o", "name").stdout.strip() == ""  # check mode stored nothing
    assert kubectl.pull_secret_names("team-a") == []
    assert kube_api.stats()["dry_run"] >= 6  # the writes were validated by the server (dryRun=All)
    results = four_runs(playbook, text)
    assert [r["totals"]["created"] for r in results] == [3, 3, 0, 0]
    assert [r["totals"]["unchanged"] for r in results] == [0, 0, 3, 3]
    assert results[3]["namespaces"][0] == {
        "namespace": "team-a",
        "status": "ok",
        "secret": "unchanged",
        "service_accounts": {"default": "unchanged"},
        "changed": False,
        "expires_at": None,
    }
    for ns in ("team-a", "team-b", "team-c"):
        payload = kubectl.pull_secret(ns, "regcred")
        assert sorted(payload["auths"]) == ["https://index.docker.io/v1/", "registry.example.com:5000"]
        entry = payload["auths"]["registry.example.com:5000"]
        assert (entry["username"], entry["password"], entry["email"]) == ("ci-bot", PASSWORD, "ci@example.com")
        assert base64.b64decode(entry["auth"]).decode() == f"ci-bot:{PASSWORD}"
        assert payload["auths"]["https://index.docker.io/v1/"]["password"] == HUB_TOKEN
        assert kubectl.pull_secret_names(ns) == ["regcred"]
        labels = kubectl.json("get", "secret", "regcred", "-n", ns)["metadata"]["labels"]
        assert labels == {"app.kubernetes.io/managed-by": "ansible"}
    # a re-run reads only
    kube_api.reset_stats()
    again = playbook(text)
    assert again.rc == 0 and not again.result("pull secret")["changed"]
    assert kube_api.stats()["writes"] == 0


@pytest.mark.parametrize("server", ["registry.example.com", "https://index.docker.io/v1/", "localhost:5000"])
def test_payload_is_byte_identical_to_kubectl(kube_api, kubeconfig, kubectl, playbook, server):
    make_namespaces(kubectl, "same")
    reg = {"server": server, "username": "janedoe", "password": PASSWORD, "email": "jdoe@example.com"}
    run = playbook(play(("pull secret", args(kubeconfig, namespaces=["same"], registries=[reg]))))
    assert run.rc == 0, run.output
    ours = kubectl.json("get", "secret", "regcred", "-n", "same")["data"][".dockerconfigjson"]
    theirs = json.loads(
        kubectl(
            "create",
            "secret",
            "docker-registry",
            "regcred",
            "--docker-server",
            server,
            "--docker-username",
            "janedoe",
            "--docker-password",
            PASSWORD,
            "--docker-email",
            "jdoe@example.com",
            "--dry-run=client",
            "-o",
            "json",
        ).stdout
    )
    assert ours == theirs["data"][".dockerconfigjson"]


def test_docker_hub_alias_is_kubectls_default_key(kube_api, kubeconfig, kubectl, playbook):
    make_namespaces(kubectl, "hub")
    reg = {"server": "index.docker.io", "username": "acme", "password": HUB_TOKEN}
    run = playbook(play(("pull secret", args(kubeconfig, namespaces=["hub"], registries=[reg]))))
    assert run.rc == 0, run.output
    ours = kubectl.json("get", "secret", "regcred", "-n", "hub")["data"][".dockerconfigjson"]
    # kubectl's --docker-server defaults to https://index.docker.io/v1/
    theirs = json.loads(
        kubectl(
            "create",
            "secret",
            "docker-registry",
            "regcred",
            "--docker-username",
            "acme",
            "--docker-password",
            HUB_TOKEN,
            "--dry-run=client",
            "-o",
            "json",
        ).stdout
    )
    assert ours == theirs["data"][".dockerconfigjson"]


def test_rotated_password_four_runs_with_masked_diff(kube_api, kubeconfig, kubectl, playbook):
    make_namespaces(kubectl, "rot")
    first = playbook(play(("pull secret", args(kubeconfig, namespaces=["rot"]))))
    assert first.rc == 0, first.output
    rotated = [dict(REGISTRIES[0], password=PASSWORD2), REGISTRIES[1]]
    text = play(("pull secret", args(kubeconfig, namespaces=["rot"], registries=rotated)))
    check = playbook(text, check=True, diff=True, json_output=False)
    assert check.rc == 0 and "changed: [localhost]" in check.output
    assert "******** (changed)" in check.output  # the diff says a hidden value changed, without showing it
    assert_no_secret(check.output)
    assert kubectl.pull_secret("rot", "regcred")["auths"]["registry.example.com:5000"]["password"] == PASSWORD
    results = four_runs(playbook, text)
    assert [r["totals"]["updated"] for r in results] == [1, 1, 0, 0]
    assert kubectl.pull_secret("rot", "regcred")["auths"]["registry.example.com:5000"]["password"] == PASSWORD2


def test_merge_keeps_other_registries(kube_api, kubeconfig, kubectl, playbook):
    make_namespaces(kubectl, "m")
    kubectl(
        "create",
        "secret",
        "docker-registry",
        "regcred",
        "-n",
        "m",
        "--docker-server=ghcr.io",
        "--docker-username=someone",
        "--docker-password=theirs-123",
    )
    text = play(("pull secret", args(kubeconfig, namespaces=["m"], merge=True)))
    four_runs(playbook, text)
    auths = kubectl.pull_secret("m", "regcred")["auths"]
    assert sorted(auths) == ["ghcr.io", "https://index.docker.io/v1/", "registry.example.com:5000"]
    assert auths["ghcr.io"]["password"] == "theirs-123"
    # merge: false (the default) makes the secret hold exactly the given registries
    run = playbook(play(("pull secret", args(kubeconfig, namespaces=["m"]))))
    assert run.rc == 0 and run.result("pull secret")["totals"]["updated"] == 1
    assert sorted(kubectl.pull_secret("m", "regcred")["auths"]) == ["https://index.docker.io/v1/", "registry.example.com:5000"]


def test_service_accounts_keep_their_other_pull_secrets(kube_api, kubeconfig, kubectl, playbook):
    make_namespaces(kubectl, "sa1", "sa2")
    kubectl("create", "serviceaccount", "builder", "-n", "sa1")
    kubectl(
        "patch",
        "sa",
        "default",
        "-n",
        "sa1",
        "--type=merge",
        "-p",
        '{"imagePullSecrets":[{"name":"other-1"},{"name":"regcred"},{"name":"other-2"},{"name":"regcred"}]}',
    )
    kubectl("patch", "sa", "builder", "-n", "sa1", "--type=merge", "-p", '{"imagePullSecrets":[{"name":"mine"}]}')
    text = play(("pull secret", args(kubeconfig, namespaces=["sa1", "sa2"], service_accounts=["default", "builder"])))
    results = four_runs(playbook, text)
    assert results[1]["namespaces"][0]["service_accounts"] == {"default": "patched", "builder": "patched"}
    assert results[1]["namespaces"][1]["service_accounts"] == {"default": "patched", "builder": "missing"}
    assert kubectl.pull_secret_names("sa1", "default") == ["other-1", "regcred", "other-2"]  # one entry, order kept
    assert kubectl.pull_secret_names("sa1", "builder") == ["mine", "regcred"]
    assert kubectl.pull_secret_names("sa2", "default") == ["regcred"]
    assert kubectl("get", "sa", "builder", "-n", "sa2", check=False).returncode == 1  # not created

    absent = play(
        (
            "pull secret",
            {
                "name": "regcred",
                "kubeconfig": str(kubeconfig),
                "namespaces": ["sa1", "sa2"],
                "service_accounts": ["default", "builder"],
                "state": "absent",
            },
        )
    )
    results = four_runs(playbook, absent)
    assert [r["totals"]["deleted"] for r in results] == [2, 2, 0, 0]
    assert [r["totals"]["absent"] for r in results] == [0, 0, 2, 2]
    assert kubectl.pull_secret_names("sa1", "default") == ["other-1", "other-2"]
    assert kubectl.pull_secret_names("sa1", "builder") == ["mine"]
    assert kubectl.pull_secret_names("sa2", "default") == []
    assert kubectl("get", "secrets", "-A", "-o", "name").stdout.strip() == ""


def test_all_service_accounts_and_label_selector(kube_api, kubeconfig, kubectl, playbook, kube_cluster):
    """The imagepullsecret-patcher selections: every service account of a namespace, or those with a label,
    beside named ones; one list request per namespace reads them (no read per service account)."""
    make_namespaces(kubectl, "sel1", "sel2")
    for ns, sa, labels in (
        ("sel1", "builder", ""),
        ("sel1", "web", "pull-secrets=inject"),
        ("sel2", "api", "pull-secrets=inject"),
        ("sel2", "batch", ""),
    ):
        kubectl("create", "serviceaccount", sa, "-n", ns)
        if labels:
            kubectl("label", "serviceaccount", sa, "-n", ns, labels)

    selected = play(
        (
            "pull secret",
            args(
                kubeconfig,
                namespaces=["sel1", "sel2"],
                service_accounts=["batch"],
                service_account_selector="pull-secrets=inject",
            ),
        )
    )
    results = four_runs(playbook, selected)
    assert results[1]["namespaces"][0]["service_accounts"] == {"batch": "missing", "web": "patched"}
    assert results[1]["namespaces"][1]["service_accounts"] == {"api": "patched", "batch": "patched"}
    assert kubectl.pull_secret_names("sel1", "builder") == [] and kubectl.pull_secret_names("sel1", "default") == []
    assert kubectl.pull_secret_names("sel2", "api") == ["regcred"]

    everyone = play(("pull secret", args(kubeconfig, namespaces=["sel1", "sel2"], all_service_accounts=True)))
    results = four_runs(playbook, everyone)
    assert results[1]["totals"]["service_accounts_patched"] == 3  # default x2, builder; web, api, batch were done
    assert results[3]["totals"]["service_accounts_unchanged"] == 6
    # the unchanged re-run: per namespace one secret read and one service account list, nothing else
    assert results[3]["api_requests"] == 4
    for ns, sa in (
        ("sel1", "default"),
        ("sel1", "builder"),
        ("sel1", "web"),
        ("sel2", "default"),
        ("sel2", "api"),
        ("sel2", "batch"),
    ):
        assert kubectl.pull_secret_names(ns, sa) == ["regcred"], (ns, sa)

    absent = play(
        (
            "pull secret",
            {
                "name": "regcred",
                "kubeconfig": str(kubeconfig),
                "namespaces": ["sel1", "sel2"],
                "all_service_accounts": True,
                "state": "absent",
            },
        )
    )
    results = four_runs(playbook, absent)
    assert results[1]["totals"]["service_accounts_patched"] == 6
    assert all(kubectl.pull_secret_names(ns, sa) == [] for ns, sa in (("sel1", "web"), ("sel2", "batch")))


def test_concurrent_writer_between_read_and_write_is_survived(kube_api, kubeconfig, kubectl, playbook):
    make_namespaces(kubectl, "race")
    kubectl(
        "create",
        "secret",
        "docker-registry",
        "regcred",
        "-n",
        "race",
        "--docker-server=ghcr.io",
        "--docker-username=someone",
        "--docker-password=theirs-123",
    )
    # right after the module reads the service account / the secret, another writer changes them
    sa_hook = kube_api.add_hook(
        {"verb": "get", "resource": "serviceaccounts", "namespace": "race", "name": "default"},
        "merge_patch",
        patch={"imagePullSecrets": [{"name": "added-by-controller"}]},
    )
    secret_hook = kube_api.add_hook(
        {"verb": "get", "resource": "secrets", "namespace": "race", "name": "regcred"},
        "merge_patch",
        patch={"metadata": {"labels": {"touched": "yes"}}},
    )
    run = playbook(play(("pull secret", args(kubeconfig, namespaces=["race"], merge=True, service_accounts=["default"]))))
    assert run.rc == 0, run.output
    assert sa_hook["fired"] == 1 and secret_hook["fired"] == 1
    res = run.result("pull secret")
    assert res["namespaces"][0]["secret"] == "updated" and res["namespaces"][0]["service_accounts"] == {"default": "patched"}
    stats = kube_api.stats()["by_resource"]
    assert stats["patch serviceaccounts"] == 2 and stats["patch secrets"] == 2  # 409 Conflict, then success
    assert kubectl.pull_secret_names("race") == ["added-by-controller", "regcred"]
    secret = kubectl.json("get", "secret", "regcred", "-n", "race")
    assert secret["metadata"]["labels"] == {"touched": "yes"}
    assert sorted(kubectl.pull_secret("race", "regcred")["auths"]) == [
        "ghcr.io",
        "https://index.docker.io/v1/",
        "registry.example.com:5000",
    ]


def test_namespace_that_disappears_mid_run_is_reported(kube_api, kubeconfig, kubectl, playbook):
    make_namespaces(kubectl, "n1", "n2", "n3", "n4")
    hook = kube_api.add_hook({"verb": "get", "resource": "secrets", "namespace": "n2"}, "delete_namespace")
    run = playbook(
        play(
            (
                "pull secret",
                args(
                    kubeconfig,
                    all_namespaces=True,
                    service_accounts=["default"],
                    exclude_namespaces=["kube-*", "default", "crauth-*"],
                    parallel=2,
                ),
            )
        )
    )
    assert run.rc == 0, run.output
    assert hook["fired"] == 1 and hook["status"] == 200  # the real delete: n2 is Terminating now
    res = run.result("pull secret")
    assert res["missing_namespaces"] == ["n2"] and res["failed_namespaces"] == []
    assert res["totals"]["created"] == 3 and res["totals"]["missing"] == 1
    assert any("namespace n2 does not exist any more (it is being deleted)" in w for w in res.get("warnings", []))
    for ns in ("n1", "n3", "n4"):
        assert "https://index.docker.io/v1/" in kubectl.pull_secret(ns, "regcred")["auths"]
    # the real namespace controller finishes the deletion
    wait_for(lambda: kubectl("get", "ns", "n2", check=False).returncode == 1, "namespace n2 deleted", timeout=90)


def test_forbidden_namespace_fails_clearly_after_the_others(kube_cluster, kube_api, kubectl, playbook, tmp_path):
    make_namespaces(kubectl, "ok1", "denied", "ok2")
    # a deployer RBAC lets manage secrets in ok1 and ok2 only (real RBAC: the 403 is the server's)
    deployer = kube_cluster.identity(tmp_path / "deployer", role=None)
    try:
        deployer.grant([{"apiGroups": [""], "resources": ["namespaces", "serviceaccounts", "secrets"], "verbs": ["get", "list"]}])
        for ns in ("ok1", "ok2"):
            deployer.grant(
                [
                    {
                        "apiGroups": [""],
                        "resources": ["secrets", "serviceaccounts"],
                        "verbs": ["get", "list", "create", "update", "patch"],
                    }
                ],
                namespace=ns,
            )
        _forbidden_namespace_run(deployer.kubeconfig, kubectl, playbook)
    finally:
        deployer.close()


def _forbidden_namespace_run(kubeconfig, kubectl, playbook):
    text = play(("pull secret", args(kubeconfig, namespaces=["ok1", "denied", "ok2"])))
    check = playbook(text, check=True)  # check mode hits the same RBAC check (server-side dry run)
    assert check.rc != 0 and check.result("pull secret")["failed_namespaces"] == ["denied"]
    run = playbook(text)
    assert run.rc != 0
    res = run.result("pull secret")
    assert res["failed"] and res["failed_namespaces"] == ["denied"]
    assert "failed in 1 of 3 namespaces" in res["msg"] and "namespace denied" in res["msg"]
    assert 'cannot create resource "secrets"' in res["msg"] and "RBAC" in res["msg"]
    assert_no_secret(run.output)
    assert kubectl("get", "secret", "regcred", "-n", "ok1", "-o", "name").stdout.strip() == "secret/regcred"
    assert kubectl("get", "secret", "regcred", "-n", "ok2", "-o", "name").stdout.strip() == "secret/regcred"


def test_selector_all_namespaces_and_exclude(kube_api, kubeconfig, kubectl, playbook):
    make_namespaces(
        kubectl, "p1", "p2", "d1", labels={"p1": {"env": "prod"}, "p2": {"env": "prod", "pull": "off"}, "d1": {"env": "dev"}}
    )
    sel = playbook(play(("pull secret", args(kubeconfig, namespace_selector="env in (prod),pull!=off"))))
    assert sel.rc == 0, sel.output
    assert [n["namespace"] for n in sel.result("pull secret")["namespaces"]] == ["p1"]
    everywhere = args(kubeconfig, all_namespaces=True, exclude_namespaces=["kube-*", "default", "crauth-*"])
    both = playbook(play(("pull secret", everywhere)))
    assert both.rc == 0, both.output
    assert [n["namespace"] for n in both.result("pull secret")["namespaces"]] == ["d1", "p1", "p2"]
    assert kubectl("get", "secret", "regcred", "-n", "kube-system", check=False).returncode == 1


def test_type_clash_is_reported_and_nothing_replaced(kube_api, kubeconfig, kubectl, playbook):
    make_namespaces(kubectl, "clash")
    kubectl("create", "secret", "generic", "regcred", "-n", "clash", "--from-literal=token=abc")
    run = playbook(play(("pull secret", args(kubeconfig, namespaces=["clash"]))))
    assert run.rc != 0
    msg = run.result("pull secret")["msg"]
    assert "exists with type Opaque" in msg and "delete it or choose another name" in msg
    assert kubectl.json("get", "secret", "regcred", "-n", "clash")["type"] == "Opaque"


@pytest.mark.parametrize(
    "bad, expect",
    [
        ({"name": "Bad_Name"}, "is not a valid Secret name"),
        ({"namespaces": ["UPPER"]}, "is not a valid namespace name"),
        ({"registries": [{"server": "https://exa mple.com", "username": "u", "password": PASSWORD}]}, "registries"),
    ],
)
def test_bad_input_fails_and_changes_nothing(kube_api, kubeconfig, kubectl, playbook, bad, expect):
    make_namespaces(kubectl, "bad")
    kube_api.reset_stats()
    a = args(kubeconfig, namespaces=["bad"])
    a.update(bad)
    run = playbook(play(("pull secret", a)))
    assert run.rc != 0 and expect in run.result("pull secret")["msg"]
    assert kube_api.stats()["writes"] == 0
    assert_no_secret(run.output)


def test_unreachable_api(tmp_path, playbook):
    run = playbook(
        play(
            (
                "pull secret",
                {"name": "regcred", "host": f"http://127.0.0.1:{free_port()}", "namespaces": ["a"], "registries": REGISTRIES},
            )
        )
    )
    assert run.rc != 0
    msg = run.result("pull secret")["msg"]
    assert "cannot reach the Kubernetes API at http://127.0.0.1:" in msg and "connection refused" in msg


def test_bad_kubeconfig_is_named_without_its_content(tmp_path, playbook):
    broken = tmp_path / "broken-kubeconfig"
    broken.write_text("apiVersion: v1\nusers:\n- name: u\n  user:\n    token: leaked-token-123\n   bad: [indent\n")
    run = playbook(
        play(("pull secret", {"name": "regcred", "kubeconfig": str(broken), "namespaces": ["a"], "registries": REGISTRIES})),
        verbosity=4,
        json_output=False,
    )
    assert run.rc != 0
    assert f"cannot use the kubeconfig {broken}: not valid YAML" in run.output
    assert "leaked-token-123" not in run.output
    missing = playbook(
        play(
            (
                "pull secret",
                {"name": "regcred", "kubeconfig": str(tmp_path / "nope"), "namespaces": ["a"], "registries": REGISTRIES},
            )
        )
    )
    assert "does not exist" in missing.result("pull secret")["msg"]


def test_unknown_context(kubeconfig, playbook):
    run = playbook(play(("pull secret", args(kubeconfig, namespaces=["a"], context="prod"))))
    assert run.rc != 0
    msg = run.result("pull secret")["msg"]
    assert str(kubeconfig) in msg and "prod" in msg


def test_host_and_api_key_reach_the_server(kube_api, kubectl, tmp_path, playbook):
    make_namespaces(kubectl, "tok")
    good = {
        "name": "regcred",
        "host": kube_api.url,
        "api_key": kube_api.token,
        "ca_cert": str(kube_api.ca_cert),
        "namespaces": ["tok"],
        "registries": REGISTRIES,
    }
    run = playbook(play(("pull secret", good)), verbosity=4, json_output=False)
    assert run.rc == 0, run.output
    assert kube_api.token not in run.output
    assert_no_secret(run.output)
    assert kube_api.get("secrets", "tok", "regcred")["type"] == "kubernetes.io/dockerconfigjson"
    assert kube_api.stats()["by_resource"].get("create secrets") == 1  # as this identity
    bad = dict(good, api_key="wrong-token")
    run = playbook(play(("pull secret", bad)))
    assert run.rc != 0
    msg = run.result("pull secret")["msg"]
    assert "401" in msg and "rejected the credentials" in msg


def test_vvvv_output_has_no_secret(kube_api, kubeconfig, kubectl, playbook):
    make_namespaces(kubectl, "loud")
    text = play(("pull secret", args(kubeconfig, namespaces=["loud"], service_accounts=["default"])))
    for check in (True, False):
        run = playbook(text, check=check, diff=True, verbosity=4, json_output=False)
        assert run.rc == 0, run.output
        assert "<ESTABLISH LOCAL CONNECTION" in run.output or "ESTABLISH" in run.output
        assert_no_secret(run.output)
        encoded = kubectl.json("get", "secret", "regcred", "-n", "loud")["data"][".dockerconfigjson"] if not check else None
        if encoded:
            assert encoded not in run.output


# ---------------------------------------------------------------- config_file
def _docker(config_dir, *argv, env=None, input=None):
    return subprocess.run(
        ["docker", "--config", str(config_dir), *argv],
        capture_output=True,
        text=True,
        input=input,
        env=env,
        timeout=60,
        check=False,
    )


def test_config_file_inline_auths(kube_api, kubeconfig, kubectl, playbook, tmp_path):
    make_namespaces(kubectl, "cf")
    cfg = tmp_path / "docker" / "config.json"
    cfg.parent.mkdir()
    auth = base64.b64encode(f"ci-bot:{PASSWORD}".encode()).decode()
    cfg.write_text(json.dumps({"auths": {"https://registry.example.com:5000/v2/": {"auth": auth}}}))
    a = {"name": "regcred", "kubeconfig": str(kubeconfig), "namespaces": ["cf"], "config_file": str(cfg)}
    four_runs(playbook, play(("pull secret", a)))
    auths = kubectl.pull_secret("cf", "regcred")["auths"]
    assert list(auths) == ["registry.example.com:5000"]
    assert (auths["registry.example.com:5000"]["username"], auths["registry.example.com:5000"]["password"]) == (
        "ci-bot",
        PASSWORD,
    )


def test_config_file_with_creds_store_needs_resolve_helpers(kube_api, kubeconfig, kubectl, playbook, tmp_path):
    make_namespaces(kubectl, "desk")
    cfg = tmp_path / "config.json"
    cfg.write_text(
        json.dumps({"auths": {"https://index.docker.io/v1/": {}, "registry.example.com": {}}, "credsStore": "desktop"})
    )
    a = {"name": "regcred", "kubeconfig": str(kubeconfig), "namespaces": ["desk"], "config_file": str(cfg)}
    run = playbook(play(("pull secret", a)))
    assert run.rc != 0
    msg = run.result("pull secret")["msg"]
    assert "docker-credential-desktop" in msg and "resolve_helpers: true" in msg
    assert kubectl("get", "secrets", "-n", "desk", "-o", "name").stdout.strip() == ""
    # an empty auths entry without any helper is an error too, never an empty credential
    cfg.write_text(json.dumps({"auths": {"registry.example.com": {}}}))
    run = playbook(play(("pull secret", a)))
    assert run.rc != 0 and "has no stored credentials" in run.result("pull secret")["msg"]
    assert kubectl("get", "secrets", "-n", "desk", "-o", "name").stdout.strip() == ""


def test_config_file_resolved_through_real_pass_helper(kube_api, kubeconfig, kubectl, playbook, tmp_path):
    from support.pass_store import make_pass_store, stop_agent

    make_namespaces(kubectl, "pass")
    env = make_pass_store(tmp_path / "pass")
    try:
        full_env = dict(__import__("os").environ, **env)
        stored = subprocess.run(
            ["docker-credential-pass", "store"],
            input=json.dumps({"ServerURL": "registry.example.com:5000", "Username": "ci-bot", "Secret": PASSWORD}),
            env=full_env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert stored.returncode == 0, stored.stderr
        cfg = tmp_path / "config.json"
        cfg.write_text(json.dumps({"auths": {"registry.example.com:5000": {}}, "credsStore": "pass", "credHelpers": {}}))
        a = {
            "name": "regcred",
            "kubeconfig": str(kubeconfig),
            "namespaces": ["pass"],
            "config_file": str(cfg),
            "resolve_helpers": True,
        }
        results = four_runs(playbook, play(("pull secret", a)), env=env)
        assert results[1]["registries"] == ["registry.example.com:5000"]
        entry = kubectl.pull_secret("pass", "regcred")["auths"]["registry.example.com:5000"]
        assert (entry["username"], entry["password"]) == ("ci-bot", PASSWORD)
        # a registry the helper does not know is named, and nothing changes
        cfg.write_text(json.dumps({"auths": {"registry.example.com:5000": {}, "other.example.com": {}}, "credsStore": "pass"}))
        run = playbook(play(("pull secret", a)), env=env)
        assert run.rc != 0
        assert "docker-credential-pass has no credentials for registry other.example.com" in run.result("pull secret")["msg"]
        assert_no_secret(run.output)
    finally:
        stop_agent(env)


def test_expiry_annotation_and_refresh_before(kube_api, kubeconfig, kubectl, playbook):
    """Minted credentials (with expires_at): the earliest expiry goes into the annotation; with refresh_before a
    still-valid one is kept, so a frequent scheduled run writes only when a refresh is due or a static credential
    changed. Namespaces picked by a label and a field selector together."""
    make_namespaces(kubectl, "exp1", "exp2", "exp3", labels={n: {"expiry-test": "on"} for n in ("exp1", "exp2", "exp3")})
    ann_key = "cloud-registry.auth/expires-at"

    def at(seconds):
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + seconds))

    def run_with(token, expires_at, static=PASSWORD, **kw):
        regs = [
            {"server": "registry.example.com:5000", "username": "ci-bot", "password": static},
            {"registry": "minted.example.com", "username": "oauth2accesstoken", "password": token, "expires_at": expires_at},
        ]
        spec = args(
            kubeconfig, registries=regs, namespace_selector="expiry-test=on", namespace_field_selector="metadata.name!=exp3", **kw
        )
        run = playbook(play(("pull secret", spec)), diff=True)
        assert run.rc == 0, run.output
        for secret in (token, "tok-one-VALUE", "tok-two-VALUE"):
            assert secret not in run.output
        return run.result("pull secret")

    def state(ns):
        obj = kubectl.json("get", "secret", "regcred", "-n", ns)
        return (
            obj["metadata"]["resourceVersion"],
            obj["metadata"].get("annotations", {}).get(ann_key),
            kubectl.pull_secret(ns, "regcred")["auths"]["minted.example.com"]["password"]
            if "minted.example.com" in kubectl.pull_secret(ns, "regcred")["auths"]
            else None,
        )

    first_expiry = at(3600)
    res = run_with("tok-one-VALUE", first_expiry, refresh_before=600)
    assert [r["namespace"] for r in res["namespaces"]] == ["exp1", "exp2"]  # exp3 left out by the field selector
    assert res["expires_at"] == first_expiry and res["namespaces"][0]["expires_at"] == first_expiry
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    assert res["refresh_at"] == time.strftime(fmt, time.gmtime(calendar.timegm(time.strptime(first_expiry, fmt)) - 600))
    assert kubectl("get", "secret", "regcred", "-n", "exp3", check=False).returncode != 0
    written = {ns: state(ns) for ns in ("exp1", "exp2")}
    assert written["exp1"][1:] == (first_expiry, "tok-one-VALUE")

    # a new mint, valid for longer than refresh_before: nothing is written, the cluster keeps the first token
    res = run_with("tok-two-VALUE", at(7200), refresh_before=600)
    assert res["changed"] is False and res["totals"]["unchanged"] == 2, res["totals"]
    assert {ns: state(ns) for ns in written} == written

    # a changed static password is written at once; the valid minted token and its expiry stay
    res = run_with("tok-two-VALUE", at(7200), static=PASSWORD2, refresh_before=600)
    assert res["totals"]["updated"] == 2
    assert state("exp1")[1:] == (first_expiry, "tok-one-VALUE")
    assert kubectl.pull_secret("exp1", "regcred")["auths"]["registry.example.com:5000"]["password"] == PASSWORD2

    # the refresh is due (the first token expires within refresh_before): the new one and its expiry are written
    second_expiry = at(7200)
    res = run_with("tok-two-VALUE", second_expiry, static=PASSWORD2, refresh_before=3700)
    assert res["totals"]["updated"] == 2 and res["expires_at"] == second_expiry
    assert state("exp2")[1:] == (second_expiry, "tok-two-VALUE")

    # without refresh_before every run writes what it is given; with no minted credential the annotation goes
    only_static = args(kubeconfig, registries=[REGISTRIES[0]], namespace_field_selector="metadata.name=exp1")
    run = playbook(play(("pull secret", only_static)))
    assert run.rc == 0, run.output
    res = run.result("pull secret")
    assert [r["namespace"] for r in res["namespaces"]] == ["exp1"] and res["expires_at"] is None
    assert ann_key not in kubectl.json("get", "secret", "regcred", "-n", "exp1")["metadata"].get("annotations", {})
