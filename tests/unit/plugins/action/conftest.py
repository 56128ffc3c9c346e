"""Run the collection's action plugins as ansible-playbook's worker does, in-process: the real
plugin loader, Task, PlayContext, the ``local`` connection and the real module run through it
(AnsiballZ, the secrets file, the host-side module). What a test observes: the result, the files
the module wrote, what a loopback registry was asked, and the arguments the module was given."""

from __future__ import annotations

import base64
import os
import sys
from pathlib import Path

import pytest

from fixtures.http_stand_in import HttpStandIn, StandInHandler
from support.ansible_plugins import collection_plugins
from support.ports import free_port


@pytest.fixture(scope="module")
def _plugins():
    with collection_plugins():
        yield


@pytest.fixture(autouse=True)
def _private_run(monkeypatch, tmp_path):
    """Each test is its own playbook run: its own run cache and code cache root, no ambient credentials."""
    root = tmp_path / "run-root"
    root.mkdir(mode=0o700)
    monkeypatch.setenv("TMPDIR", str(root))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("DOCKER_CONFIG", "REGISTRY_AUTH_FILE", "XDG_RUNTIME_DIR", "GOOGLE_APPLICATION_CREDENTIALS"):
        monkeypatch.delenv(name, raising=False)
    # no cloud SDK probes a metadata server: it would leave loopback
    monkeypatch.setenv("GCE_METADATA_HOST", "127.0.0.1:%d" % free_port())
    monkeypatch.setenv("GCE_METADATA_IP", "127.0.0.1:%d" % free_port())
    monkeypatch.setenv("CLOUDSDK_CORE_CHECK_GCE_METADATA", "false")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


class ActionRun:
    """One task of one host: ``result``; ``module_args`` (what the module was sent, None when it never ran);
    ``secrets`` (the secrets file's text), ``secrets_dir`` (the stat of its directory) and ``secrets_left``
    (the file still there after the module ran)."""

    def __init__(self, result, seen):
        self.result = result
        self.module_args = seen.get("args")
        self.secrets = seen.get("secrets")
        self.secrets_dir = seen.get("secrets_dir")
        self.secrets_left = seen.get("secrets_left")


@pytest.fixture
def run_action(_plugins):
    """``run_action(name, args, check=False, diff=False, **task_vars)`` -> ActionRun."""
    from ansible.errors import AnsibleActionFail
    from ansible.parsing.dataloader import DataLoader
    from ansible.playbook.play_context import PlayContext
    from ansible.playbook.task import Task
    from ansible.plugins import loader as plugin_loader
    from ansible.template import Templar

    def _run(name, args, check=False, diff=False, **task_vars):
        loader = DataLoader()
        task = Task.load({name: args, "check_mode": check, "diff": diff}, loader=loader)
        play_context = PlayContext()
        play_context.remote_addr = "localhost"
        play_context.check_mode = check
        play_context.diff = diff
        connection = plugin_loader.connection_loader.get("local", play_context, os.devnull)
        variables = {
            "inventory_hostname": "localhost",
            "ansible_python_interpreter": sys.executable,
            "ansible_playbook_python": sys.executable,
        }
        variables.update(task_vars)
        templar = Templar(loader=loader, variables=variables)
        action = plugin_loader.action_loader.get(
            task.action,
            task=task,
            connection=connection,
            play_context=play_context,
            loader=loader,
            templar=templar,
            shared_loader_obj=plugin_loader,
        )
        seen = {}
        execute = action._execute_module

        def observed(module_name=None, module_args=None, **kw):  # records, then runs the real module
            seen["args"] = dict(module_args or {})
            path = seen["args"].get("_secrets_file")
            if path:
                seen["secrets"] = Path(path).read_text()
                seen["secrets_dir"] = os.stat(os.path.dirname(path))
            answer = execute(module_name=module_name, module_args=module_args, **kw)
            seen["secrets_left"] = bool(path) and os.path.exists(path)  # the module deletes it once read
            return answer

        action._execute_module = observed
        try:
            result = action.run(task_vars=variables)
        except AnsibleActionFail as exc:  # what the worker reports for it (TaskExecutor), on every ansible-core
            result = dict(exc.result, failed=True, msg=exc.message)
        finally:
            action.cleanup(force=True)
            connection.close()
        return ActionRun(result, seen)

    return _run


class BasicRegistry(HttpStandIn):
    """The ``/v2/`` endpoint of a registry with Basic auth, enough for a login: 401 with a Basic
    challenge without credentials or with wrong ones, 200 with the right ones. ``stats()`` counts
    ``logins`` (requests that carried credentials)."""

    counter_names = ("logins",)

    def __init__(self, users):
        super().__init__()
        self.users = dict(users)

    def handler_class(self):
        registry = self

        class Handler(StandInHandler):
            def do_GET(self):  # noqa: N802 - http.server API
                if not self.path.startswith("/v2/"):
                    return self.send_json(404, {"errors": [{"code": "NOT_FOUND", "message": "unknown"}]})
                auth = self.headers.get("Authorization", "")
                if auth.lower().startswith("basic "):
                    registry.bump("logins")
                    user, _colon, password = base64.b64decode(auth[6:]).decode().partition(":")
                    if registry.users.get(user) == password:
                        return self.send_json(200, {})
                return self.send_json(
                    401,
                    {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
                    {"WWW-Authenticate": 'Basic realm="registry"'},
                )

        return Handler


@pytest.fixture
def basic_registry():
    with BasicRegistry({"ci-bot": "registry-Passw0rd-unit"}) as registry:
        yield registry
