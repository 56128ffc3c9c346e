"""refresh_timer through ansible-playbook: the action plugin's command (this run's ansible-playbook, inventory and
--limit), check mode and diff, idempotency, removal, and bad input that names the option and writes nothing.
The units are checked by the real systemd-analyze."""

from __future__ import annotations

import shlex
import subprocess

PLAY = """\
- hosts: all
  gather_facts: false
  tasks:
    - name: timer
      cloud_registry.auth.refresh_timer:
        name: cra-refresh
        at: "{at}"
        before: 300
        playbook: "{playbook}"
        playbook_args: ["-e", "@vars.json"]
        unit_dir: "{units}"
        state: "{state}"
      run_once: true
      delegate_to: localhost
"""


def play(tmp_path, state="present", at="2030-03-17T20:00:00Z", playbook="site.yml"):
    return PLAY.format(at=at, playbook=playbook, units=tmp_path / "units", state=state)


def exec_start(service):
    line = [ln for ln in service.read_text().splitlines() if ln.startswith("ExecStart=")][0]
    return [w.replace("%%", "%").replace("$$", "$") for w in shlex.split(line[len("ExecStart=") :])]


def test_playbook_command_check_diff_idempotent_and_absent(playbook, tmp_path):
    (tmp_path / "site.yml").write_text("- hosts: all\n  tasks: []\n")
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("localhost ansible_connection=local\nother ansible_connection=local\n")
    units = tmp_path / "units"

    checked = playbook(play(tmp_path), inventory=inventory, check=True, diff=True)
    assert checked.rc == 0, checked.output
    assert checked.result("timer")["changed"] and not units.exists()
    assert "OnCalendar=2030-03-17 19:55:00 UTC" in str(checked.result("timer")["diff"])

    first = playbook(play(tmp_path), inventory=inventory)
    assert first.rc == 0, first.output
    res = first.result("timer")
    assert res["changed"] and res["fires_at"] == "2030-03-17T19:55:00Z" and res["systemd"] is False
    argv = exec_start(units / "cra-refresh.service")
    assert argv[0].endswith("/ansible-playbook") and argv[1:] == [
        "-i",
        str(inventory),
        "-e",
        "@vars.json",
        str(tmp_path / "site.yml"),
    ]
    service = (units / "cra-refresh.service").read_text()
    assert "WorkingDirectory=%s\n" % tmp_path in service
    verify = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(units / "cra-refresh.service"), str(units / "cra-refresh.timer")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert verify.returncode == 0 and not verify.stderr.strip(), verify.stderr

    again = playbook(play(tmp_path), inventory=inventory)
    assert again.rc == 0 and not again.result("timer")["changed"], again.output

    gone = playbook(play(tmp_path, state="absent"), inventory=inventory)
    assert gone.rc == 0 and gone.result("timer")["changed"], gone.output
    assert not list(units.iterdir())


def test_bad_input_names_the_option_and_changes_nothing(playbook, tmp_path):
    (tmp_path / "site.yml").write_text("- hosts: all\n  tasks: []\n")
    for text, message in [
        (play(tmp_path, at="whenever"), "at must be an ISO 8601 time"),
        (play(tmp_path, playbook="missing.yml"), "playbook %s does not exist" % (tmp_path / "missing.yml")),
        (play(tmp_path).replace("cra-refresh", "cra/refresh"), "not a systemd unit name"),
    ]:
        run = playbook(text)
        assert run.rc != 0 and message in run.output, run.output
    assert not (tmp_path / "units").exists()
