"""AWX's execution plane, as far as it can run here: jobs streamed from a control node to
execution nodes and back, the way AWX runs every job.

AWX runs a job in three processes. On the control node, ``ansible-runner transmit``
packs the job's private data directory and its runner settings into a stream. Receptor
carries that stream to an execution node, whose ``ansible-runner`` work type runs
``ansible-runner worker``: it unpacks the job and runs it inside the execution
environment image by process isolation, then streams back events, status and
artifacts. Back on the control node, ``ansible-runner process`` turns the stream into the
job's events and artifacts.

Here the same three processes run with AWX's settings:
- process isolation through ``docker run`` of the EE image that
  ``tests/setup/ee-build.sh`` built, with the collection installed from its tarball;
- ``suppress_env_files``;
- the credentials injected as the credential types of ``extensions/awx`` say, with the
  paths of file injectors mapped into the container as AWX maps them.

Each execution node is its own ``ansible-runner worker`` process with its own private
data directory.

Receptor, the mesh that carries these streams between nodes, is not here. The Go module
proxy refuses github.com/ansible/receptor (403 at every version), Debian does not package
it, and PyPI has only its 2021 Python prototype, whose protocol receptorctl 1.x does not
speak. So the streams go through OS pipes: the same bytes a receptor work unit reads on
its stdin and writes on its stdout.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import ansible_runner
import pytest
import yaml

from fixtures.awx_injectors import Injection
from support.clients import skopeo_inspect

REPO = Path(__file__).resolve().parents[3]
TYPES = REPO / "extensions" / "awx" / "credential_types"
RUNNER = str(Path(sys.executable).parent / "ansible-runner")
RUNNER_ENV_RECORDS = {"env.list", "command"}  # ansible-runner's own records of a containerized job's environment

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _type(name: str) -> dict:
    return yaml.safe_load((TYPES / f"{name}.yml").read_text())


class Job:
    """A job template run: its private data dir on the control node, AWX's runner settings."""

    def __init__(self, root: Path, ee_image: str, playbook: str, inventory: dict):
        self.pdd = root / "control" / "job"
        (self.pdd / "project").mkdir(parents=True)
        (self.pdd / "inventory").mkdir()
        (self.pdd / "inventory" / "hosts.yml").write_text(yaml.safe_dump(inventory))
        (self.pdd / "project" / "site.yml").write_text(textwrap.dedent(playbook))
        self.ident = "job-" + secrets.token_hex(4)
        self.container = f"ansible_runner_{self.ident}"  # the name process isolation gives it
        self.settings = dict(
            private_data_dir=str(self.pdd),
            playbook="site.yml",
            ident=self.ident,
            verbosity=3,
            process_isolation=True,
            process_isolation_executable="docker",
            container_image=ee_image,
            container_options=["--network=host"],
            suppress_env_files=True,
        )

    def transmit(self, sink) -> None:
        """Control node: the job as one stream (ansible-runner's transmit, AWX's Python API call)."""
        r = ansible_runner.run(streamer="transmit", _output=sink, **self.settings)
        assert r.status == "unstarted" and r.rc is None

    def worker(self, node: Path) -> subprocess.Popen:
        """An execution node: ``ansible-runner worker`` reading the job from its stdin."""
        node.mkdir(parents=True)
        return subprocess.Popen(
            [RUNNER, "worker", "--private-data-dir", str(node)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            start_new_session=True,
        )

    def process(self, stream, on_event=None, on_status=None):
        """Control node: read the node's stream back into events and artifacts (every event is
        kept: runner drops an event from the artifacts when its handler returns a false value)."""

        def keep(event):
            if on_event is not None:
                on_event(event)
            return True

        return ansible_runner.run(
            streamer="process",
            _input=stream,
            private_data_dir=str(self.pdd),
            ident=self.ident,
            event_handler=keep,
            status_handler=(lambda data, runner_config: on_status(data)) if on_status else None,
            quiet=True,
        )

    def holding(self, events, secret: str) -> set[str]:
        """Where on the control node a secret is: "events", or artifact file names."""
        found = {"events"} if any(secret in json.dumps(e) for e in events) else set()
        for path in (self.pdd / "artifacts").rglob("*"):
            if path.is_file() and secret.encode() in path.read_bytes():
                found.add(path.name)
        return found


def _run_on_node(job: Job, node: Path, on_event=None, during=None, on_status=None):
    worker = job.worker(node)
    feeder = threading.Thread(target=lambda: (job.transmit(worker.stdin), worker.stdin.close()))
    feeder.start()
    if during is not None:
        threading.Thread(target=during, args=(worker,), daemon=True).start()
    try:
        result = job.process(worker.stdout, on_event, on_status)
    finally:
        feeder.join(60)
        try:
            worker.wait(120)
        finally:
            subprocess.run(["docker", "rm", "-f", job.container], capture_output=True, check=False)
    return result, worker


@pytest.fixture
def job_secrets():
    return {
        "gcp": secrets.token_hex(20),
        "azure": "az~" + secrets.token_hex(16),
    }


def test_job_runs_on_an_execution_node_inside_the_ee(ee_image, tmp_path, htpasswd_registry, job_secrets):
    reg = htpasswd_registry
    inventory = {
        "all": {
            "children": {
                "docker_hosts": {
                    "hosts": {"fleet-host": {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3"}}
                }
            },
            "vars": {
                "cloud_registry_become": False,
                "docker_auth_users": [{"name": "root", "config_path": "/runner/project/docker/config.json"}],
                "docker_auth_ca_cert": "/runner/project/ca.crt",
                "docker_auth_logins": [],
                "docker_auth_cred_helpers": {},
            },
        }
    }
    job = Job(
        tmp_path,
        ee_image,
        """\
        - name: Check what AWX injected, inside the execution environment
          hosts: all
          gather_facts: false
          tasks:
            - name: The Google credential file is private to the job, at its container path
              ansible.builtin.stat:
                path: "{{ lookup('ansible.builtin.env', 'GOOGLE_APPLICATION_CREDENTIALS') }}"
              register: gcp_file
            - name: Check it
              ansible.builtin.assert:
                that:
                  - lookup('ansible.builtin.env', 'GOOGLE_APPLICATION_CREDENTIALS') is match('/runner/env/')
                  - gcp_file.stat.exists and gcp_file.stat.mode == '0600'
                  - lookup('ansible.builtin.env', 'AZURE_TENANT_ID') == 't'

        - name: Configure hosts (the docker_auth role, with the injected registry credential)
          ansible.builtin.import_playbook: cloud_registry.auth.configure_hosts
        """,
        inventory,
    )
    (job.pdd / "project" / "ca.crt").write_bytes(Path(reg.ca_path).read_bytes())
    inj = Injection(job.pdd, container_root="/runner")
    inj.add(_type("registry_login"), {"registry": reg.host, "username": reg.username, "password": reg.password})
    key = "-----BEGIN PRIVATE KEY-----\\nMIIE" + job_secrets["gcp"] + "\\n-----END PRIVATE KEY-----\\n"
    inj.add(
        _type("google"),
        {
            "credentials_json": json.dumps(
                {"type": "service_account", "client_email": "ci@p.iam.gserviceaccount.com", "private_key": key}
            ),
            "project": "p",
        },
    )
    inj.add(_type("azure"), {"tenant_id": "t", "client_id": "c", "client_secret": job_secrets["azure"]})
    inj.write(extra_env={"ANSIBLE_NOCOLOR": "1"})

    node = tmp_path / "exec-1"
    events = []
    result, worker = _run_on_node(job, node, events.append)

    stdout = (job.pdd / "artifacts" / job.ident / "stdout").read_text()
    assert result.status == "successful", stdout[-4000:]
    assert (job.pdd / "artifacts" / job.ident / "rc").read_text().strip() == "0" and worker.returncode == 0
    # the job ran in the EE: the collection the image installed from its tarball, not this checkout
    starts = [e for e in events if e.get("event") == "playbook_on_task_start"]
    assert any("cloud_registry.auth" in json.dumps(e) for e in events)
    assert len(starts) >= 3
    changed = [e for e in events if e.get("event") == "runner_on_ok" and e["event_data"]["res"].get("changed")]
    assert changed, "the login changed nothing"

    # what the job wrote on the execution node is a working docker login, read by skopeo
    cfg_path = node / "project" / "docker" / "config.json"
    cfg = json.loads(cfg_path.read_text())
    user, pw = base64.b64decode(cfg["auths"][reg.host]["auth"]).decode().split(":", 1)
    assert (user, pw) == (reg.username, reg.password)
    assert skopeo_inspect(reg, cfg_path).returncode == 0

    # No secret of any injected credential in any event, in stdout or in the job events on
    # disk. ansible-runner's process isolation records the job environment (what the env
    # injectors put there) in artifacts/<ident>/env.list (for `docker run --env-file`) and
    # artifacts/<ident>/command, and the worker streams them back with the artifacts: the
    # only places allowed (AWX deletes a job's private data dir when the job ends;
    # docs/docsite/rst/awx.rst says so).
    for name, secret in {"registry": reg.password, **job_secrets}.items():
        assert job.holding(events, secret) <= RUNNER_ENV_RECORDS, f"the {name} secret reached {job.holding(events, secret)}"
    assert not (job.pdd / "artifacts" / job.ident / "env").exists()  # suppress_env_files, as AWX sets it


def test_an_execution_node_killed_mid_job_fails_the_job_cleanly(ee_image, tmp_path, job_secrets):
    inventory = {
        "all": {"hosts": {"fleet-host": {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3"}}}
    }
    job = Job(
        tmp_path,
        ee_image,
        """\
        - name: A long job
          hosts: all
          gather_facts: false
          tasks:
            - name: Started
              ansible.builtin.debug:
                msg: started
            - name: Long step
              ansible.builtin.wait_for:
                timeout: 600
        """,
        inventory,
    )
    inj = Injection(job.pdd, container_root="/runner")
    inj.add(_type("azure"), {"tenant_id": "t", "client_id": "c", "client_secret": job_secrets["azure"]})
    inj.write(extra_env={"ANSIBLE_NOCOLOR": "1"})

    long_step = threading.Event()
    events = []

    def on_event(event):
        events.append(event)
        if event.get("event") == "playbook_on_task_start" and "Long step" in json.dumps(event):
            long_step.set()

    def kill_node(worker):
        if long_step.wait(300):
            # the node dies: its worker and the job container it runs, at once (SIGKILL)
            os.killpg(worker.pid, signal.SIGKILL)
            subprocess.run(["docker", "kill", job.container], capture_output=True, check=False)

    done, statuses = {}, []

    def run():
        done["result"], done["worker"] = _run_on_node(job, tmp_path / "exec-2", on_event, kill_node, statuses.append)

    runner = threading.Thread(target=run, daemon=True)
    runner.start()
    runner.join(420)  # a guard against a hang, not a speed check: the job takes 600 s if nothing is killed
    assert not runner.is_alive(), "ansible-runner process hung after the execution node died"
    assert long_step.is_set(), "the job never reached its long step"
    # what AWX shows for a lost node: the job errored, and why
    assert done["result"].status == "error"
    assert statuses[-1]["status"] == "error"
    assert "check execution node health" in statuses[-1].get("job_explanation", ""), statuses[-1]
    assert done["worker"].returncode == -signal.SIGKILL
    assert any(e.get("event") == "runner_on_ok" for e in events)  # what ran before the kill was kept
    assert job.holding(events, job_secrets["azure"]) <= RUNNER_ENV_RECORDS
