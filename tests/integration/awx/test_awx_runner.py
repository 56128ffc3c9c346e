"""A job run the way AWX/AAP runs it: ansible-runner (Python API) with the credentials
of extensions/awx/credential_types/*.yml injected as AWX injects them (env/envvars,
env/extravars with !unsafe values, private credential files), against a real
registry (Debian's docker-registry, htpasswd + TLS).

Checks the job's result (status, the config.json it wrote, read back by skopeo) and
that no secret of any injected credential reached any job event.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import sys
import textwrap
from pathlib import Path

import ansible_runner
import pytest
import yaml

from fixtures.awx_injectors import Injection
from fixtures.registry_env import make_ca, push_image, start_registry
from support.clients import skopeo_inspect  # noqa: E402

REPO = Path(__file__).resolve().parents[3]
TYPES = REPO / "extensions" / "awx" / "credential_types"
VENV_BIN = Path(sys.executable).parent

pytestmark = [pytest.mark.slow]


def _type(name: str) -> dict:
    return yaml.safe_load((TYPES / f"{name}.yml").read_text())


def test_credential_types_are_well_formed():
    names = set()
    for path in sorted(TYPES.glob("*.yml")):
        ct = yaml.safe_load(path.read_text())
        assert ct["kind"] in {"cloud", "net"}, path
        names.add(ct["name"])
        fields = {f["id"]: f for f in ct["inputs"]["fields"]}
        assert set(ct["inputs"].get("required", [])) <= set(fields), path
        secret_ids = {i for i, f in fields.items() if f.get("secret")}
        assert secret_ids, f"{path.name}: a credential type without a secret field"
        # a secret may go to env or a private file, never to extra vars
        for name, template in (ct["injectors"].get("extra_vars") or {}).items():
            assert not any(f"{{{{ {s} }}}}" in template for s in secret_ids), f"{path.name}: {name} injects a secret"
    assert len(names) == 5


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    work = tmp_path_factory.mktemp("registry")
    password = "awx-" + secrets.token_hex(10)
    reg = start_registry(work, auth="htpasswd", users={"fleet": password}, ca=make_ca(work))
    try:
        push_image(reg, "demo/tiny", "1", "fleet", password, work)
        reg.password = password
        yield reg
    finally:
        reg.stop()


def test_job_through_ansible_runner(tmp_path, registry):
    pdd = tmp_path / "job"
    (pdd / "project").mkdir(parents=True)
    (pdd / "inventory").mkdir()
    config = tmp_path / "home" / ".docker" / "config.json"
    (pdd / "inventory" / "hosts.yml").write_text(
        yaml.safe_dump(
            {
                "all": {
                    "children": {
                        "docker_hosts": {
                            "hosts": {"fleet-host": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}}
                        }
                    },
                    "vars": {
                        "cloud_registry_become": False,
                        "docker_auth_users": [{"name": "root", "config_path": str(config)}],
                        "docker_auth_ca_cert": str(registry.ca_path),
                    },
                }
            }
        )
    )
    # the job template's playbook: credentials come only from the injected credential
    (pdd / "project" / "site.yml").write_text(
        textwrap.dedent(
            """\
            - name: Check the other injected credentials
              hosts: all
              gather_facts: false
              tasks:
                - name: The Google credential file is private to the job
                  ansible.builtin.stat:
                    path: "{{ lookup('ansible.builtin.env', 'GOOGLE_APPLICATION_CREDENTIALS') }}"
                  register: gcp_file
                  delegate_to: localhost
                - name: Check it
                  ansible.builtin.assert:
                    that:
                      - gcp_file.stat.exists and gcp_file.stat.mode == '0600'
                      - lookup('ansible.builtin.env', 'AWS_DEFAULT_REGION') == cloud_registry_aws_region
                      - lookup('ansible.builtin.env', 'ALIBABA_CLOUD_REGION_ID') == cloud_registry_alibaba_region

            - name: Configure hosts
              ansible.builtin.import_playbook: cloud_registry.auth.configure_hosts
            """
        )
    )
    gcp_key = "-----BEGIN PRIVATE KEY-----\\nMIIE" + secrets.token_hex(24) + "\\n-----END PRIVATE KEY-----\\n"
    secrets_in = {
        "registry": registry.password,
        "gcp": gcp_key.split("MIIE")[1][:40],
        "aws": "aws/" + secrets.token_hex(16),
        "aws_token": "tok" + secrets.token_hex(16),
        "azure": "az~" + secrets.token_hex(16),
        "alibaba": "ali" + secrets.token_hex(16),
    }
    inj = Injection(pdd)
    inj.add(_type("registry_login"), {"registry": registry.host, "username": "fleet", "password": registry.password})
    inj.add(
        _type("google"),
        {
            "credentials_json": json.dumps(
                {"type": "service_account", "client_email": "ci@p.iam.gserviceaccount.com", "private_key": gcp_key}
            ),
            "project": "p",
        },
    )
    inj.add(
        _type("aws"),
        {
            "access_key_id": "AKIATEST",
            "secret_access_key": secrets_in["aws"],
            "session_token": secrets_in["aws_token"],
            "region": "eu-west-1",
        },
    )
    inj.add(_type("azure"), {"tenant_id": "t", "client_id": "c", "client_secret": secrets_in["azure"]})
    inj.add(_type("alibaba"), {"access_key_id": "LTAI", "access_key_secret": secrets_in["alibaba"], "region": "cn-hangzhou"})
    inj.write(
        extra_env={
            "ANSIBLE_COLLECTIONS_PATH": str(REPO / ".tmp" / "collections"),
            "ANSIBLE_NOCOLOR": "1",
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
        }
    )
    # job template extra vars (what a user types in AWX) carry no secret
    assert not any(s in (pdd / "env" / "extravars").read_text() for s in secrets_in.values())

    r = ansible_runner.run(private_data_dir=str(pdd), playbook="site.yml", verbosity=3, quiet=True)
    events = list(r.events)
    assert r.status == "successful", r.stdout.read()
    assert r.rc == 0

    cfg = json.loads(config.read_text())
    user, pw = base64.b64decode(cfg["auths"][registry.host]["auth"]).decode().split(":", 1)
    assert (user, pw) == ("fleet", registry.password)
    res = skopeo_inspect(registry, config)
    assert res.returncode == 0, res.stderr

    assert len(events) > 10
    text = "\n".join(json.dumps(e) for e in events)
    text += (pdd / "artifacts").joinpath(r.config.ident, "stdout").read_text()
    for name, secret in secrets_in.items():
        assert secret not in text, f"the {name} secret reached the job events"
