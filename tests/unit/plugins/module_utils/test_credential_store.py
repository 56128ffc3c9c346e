"""module_utils/credential_store: the docker-credential-<name> protocol client.

The helpers here are small executables written into the test's directory that speak the
protocol (``store`` reads a JSON record on stdin, ``get`` / ``erase`` read a server URL,
``list`` prints a JSON map); the real helpers (pass, secretservice, ecr-login, gcloud)
are exercised in tests/integration. ``run_command`` has the shape of
``AnsibleModule.run_command`` (argv, data, binary_data, environ_update).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from ansible_collections.cloud_registry.auth.plugins.module_utils import credential_store as cs

SECRET = "s3cr3t-" + "x" * 12

FILE_STORE = textwrap.dedent("""\
    #!{python}
    # a docker-credential helper keeping its records in a JSON file beside it
    import json, os, sys
    db = os.path.join(os.path.dirname(os.path.abspath(__file__)), "store.json")
    data = json.load(open(db)) if os.path.exists(db) else {{}}
    action, stdin = sys.argv[1], sys.stdin.read()
    if action == "store":
        rec = json.loads(stdin)
        data[rec["ServerURL"]] = [rec["Username"], rec["Secret"]]
    elif action == "get":
        if stdin.strip() not in data:
            print("credentials not found in native keychain"); sys.exit(1)
        user, secret = data[stdin.strip()]
        print(json.dumps({{"ServerURL": stdin.strip(), "Username": user, "Secret": secret}}))
    elif action == "erase":
        if data.pop(stdin.strip(), None) is None:
            print("credentials not found in native keychain"); sys.exit(1)
    elif action == "list":
        print(json.dumps({{k: v[0] for k, v in data.items()}}))
    json.dump(data, open(db, "w"))
""")


def run_command(argv, data=None, binary_data=False, environ_update=None):
    """What AnsibleModule.run_command does with these arguments, minus the module."""
    env = dict(os.environ)
    env.update(environ_update or {})
    proc = subprocess.run(argv, input=(data or "").encode(), capture_output=True, env=env, check=False, timeout=60)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def helper(tmp_path, name, body):
    path = tmp_path / f"docker-credential-{name}"
    path.write_text(body.format(python=sys.executable) if "{python}" in body else body)
    path.chmod(0o755)
    return path


@pytest.fixture
def env(tmp_path):
    helper(tmp_path, "file", FILE_STORE)
    return {"PATH": f"{tmp_path}{os.pathsep}/usr/bin:/bin"}


def test_store_get_list_erase_round_trip(env):
    kw = {"run_command": run_command, "environ": env}
    assert cs.get("file", "reg.example:5000", **kw) is None
    cs.store("file", "reg.example:5000", "alice", SECRET, **kw)
    assert cs.get("file", "reg.example:5000", **kw) == ("alice", SECRET)
    assert cs.list_("file", **kw) == {"reg.example:5000": "alice"}
    assert cs.erase("file", "reg.example:5000", **kw) is True
    assert cs.erase("file", "reg.example:5000", **kw) is False  # nothing stored: not an error
    assert cs.get("file", "reg.example:5000", **kw) is None


@pytest.mark.parametrize("name", ["", "../pass", "pass word", "-rf", None])
def test_invalid_helper_names_are_refused(name):
    with pytest.raises(cs.CredentialStoreError, match="invalid: use the part after 'docker-credential-'"):
        cs.helper_path(name)


def test_missing_helper_names_the_fix(env):
    with pytest.raises(cs.CredentialStoreError, match="docker-credential-nope is not installed.*credential_helpers role"):
        cs.get("nope", "reg.example", run_command=run_command, environ=env)


def test_a_failing_store_never_shows_the_secret(tmp_path):
    helper(tmp_path, "echoes", "#!/bin/sh\ncat >&2\nexit 3\n")  # prints the record it was given, as some do
    env = {"PATH": str(tmp_path)}
    with pytest.raises(cs.CredentialStoreError) as err:
        cs.store("echoes", "reg.example", "alice", SECRET, run_command=run_command, environ=env)
    assert "could not store credentials for reg.example" in str(err.value)
    assert SECRET not in str(err.value)


def test_an_error_that_carries_a_record_is_not_shown(tmp_path):
    helper(tmp_path, "leaky", '#!/bin/sh\necho \'failed: {"Username":"alice","Secret":"abc"}\'\nexit 1\n')
    with pytest.raises(cs.CredentialStoreError, match="carries a credential record and is not shown") as err:
        cs.get("leaky", "reg.example", run_command=run_command, environ={"PATH": str(tmp_path)})
    assert "abc" not in str(err.value)


@pytest.mark.parametrize(
    "output, match",
    [
        ("not json", "printed something that is not JSON"),
        ('["a list"]', "printed an unexpected JSON value"),
    ],
)
def test_get_refuses_what_is_not_a_record(tmp_path, output, match):
    helper(tmp_path, "odd", f"#!/bin/sh\necho '{output}'\n")
    with pytest.raises(cs.CredentialStoreError, match=match):
        cs.get("odd", "reg.example", run_command=run_command, environ={"PATH": str(tmp_path)})


def test_an_empty_record_counts_as_not_found(tmp_path):
    helper(tmp_path, "empty", '#!/bin/sh\necho \'{"ServerURL":"reg.example","Username":"","Secret":""}\'\n')
    assert cs.get("empty", "reg.example", run_command=run_command, environ={"PATH": str(tmp_path)}) is None


def test_a_helper_that_hangs_is_stopped(tmp_path):
    helper(tmp_path, "stuck", "#!/bin/sh\nexec sleep 30\n")
    env = {"PATH": f"{tmp_path}{os.pathsep}/usr/bin:/bin"}  # timeout(1) from coreutils
    with pytest.raises(cs.CredentialStoreError, match="did not answer within 1s"):
        cs.get("stuck", "reg.example", run_command=run_command, timeout=1, environ=env)


def test_helpers_get_the_user_session_bus_when_the_module_has_none(tmp_path, monkeypatch):
    helper(tmp_path, "env", '#!/bin/sh\nprintf \'{"Username":"u","Secret":"%s"}\' "$DBUS_SESSION_BUS_ADDRESS"\n')
    monkeypatch.setattr(cs, "session_bus", lambda uid: "/run/user/%d/bus" % uid)
    got = cs.get("env", "reg.example", run_command=run_command, environ={"PATH": str(tmp_path)})
    assert got == ("u", "unix:path=/run/user/%d/bus" % os.geteuid())
    # a bus the caller already has is kept
    got = cs.get(
        "env",
        "reg.example",
        run_command=run_command,
        environ={"PATH": str(tmp_path), "DBUS_SESSION_BUS_ADDRESS": "unix:path=/mine"},
    )
    assert got == ("u", "unix:path=/mine")


def test_list_of_a_failing_helper_names_it(tmp_path):
    helper(tmp_path, "broken", "#!/bin/sh\necho 'no keyring' >&2\nexit 1\n")
    with pytest.raises(cs.CredentialStoreError, match="docker-credential-broken list failed: no keyring"):
        cs.list_("broken", run_command=run_command, environ={"PATH": str(tmp_path)})


def test_the_protocol_record_is_what_docker_sends(tmp_path):
    helper(tmp_path, "rec", '#!/bin/sh\ncat > "$(dirname "$0")/record.json"\n')
    cs.store(
        "rec",
        "https://index.docker.io/v1/",
        "alice",
        SECRET,
        run_command=run_command,
        environ={"PATH": f"{tmp_path}{os.pathsep}/usr/bin:/bin"},
    )
    assert json.loads((tmp_path / "record.json").read_text()) == {
        "ServerURL": "https://index.docker.io/v1/",
        "Username": "alice",
        "Secret": SECRET,
    }
