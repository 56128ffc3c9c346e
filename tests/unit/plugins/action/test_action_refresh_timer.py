"""plugins/action/refresh_timer.py: ``playbook`` becomes the command that runs this playbook again, with this
controller's ansible-playbook, this run's inventory sources and limit; the module writes the units from it."""

from __future__ import annotations

import sys
from pathlib import Path

MODULE = "cloud_registry.auth.refresh_timer"
AT = "2030-01-01T00:00:00Z"


def _timer(tmp_path, **kw):
    args = {"name": "regcred-refresh", "at": AT, "unit_dir": str(tmp_path / "units"), "scope": "user", "start": False}
    args.update(kw)
    return args


def _exec_start(tmp_path):
    service = (tmp_path / "units" / "regcred-refresh.service").read_text()
    return [line for line in service.splitlines() if line.startswith("ExecStart=")][0]


def test_the_run_is_repeated_with_its_own_inventory_and_limit(run_action, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where ansible-playbook was started
    (tmp_path / "site.yml").write_text("- hosts: all\n")
    (tmp_path / "hosts.ini").write_text("web1\n")
    run = run_action(
        MODULE,
        _timer(tmp_path, playbook="site.yml"),
        playbook_dir=str(tmp_path),
        ansible_inventory_sources=["hosts.ini", "tag_web"],
        ansible_limit="web",
    )
    assert run.result["changed"] is True, run.result
    ansible_playbook = str(Path(sys.executable).parent / "ansible-playbook")  # beside the controller's Python
    # a relative inventory file becomes absolute (the timer runs elsewhere); a source that is not a file is kept
    expected = [
        ansible_playbook,
        "-i",
        str(tmp_path / "hosts.ini"),
        "-i",
        "tag_web",
        "--limit",
        "web",
        str(tmp_path / "site.yml"),
    ]
    assert run.module_args["command"] == expected and run.module_args["working_directory"] == str(tmp_path)
    assert "playbook" not in run.module_args  # an action-plugin option: the module gets the command
    assert _exec_start(tmp_path) == "ExecStart=" + " ".join('"%s"' % part for part in expected)


def test_given_inventory_limit_and_arguments_win(run_action, tmp_path):
    playbook = tmp_path / "rotate.yml"
    playbook.write_text("- hosts: all\n")
    run = run_action(
        MODULE,
        _timer(tmp_path, playbook=str(playbook), inventory=["/etc/ansible/hosts"], limit="db", playbook_args=["-e", "@vars.yml"]),
        ansible_inventory_sources=["/ignored"],
        ansible_limit="web",
    )
    assert run.module_args["command"][1:] == ["-i", "/etc/ansible/hosts", "--limit", "db", "-e", "@vars.yml", str(playbook)]


def test_a_missing_playbook_is_named_and_nothing_is_written(run_action, tmp_path):
    run = run_action(MODULE, _timer(tmp_path, playbook="nope.yml"), playbook_dir=str(tmp_path))
    assert run.result["failed"] is True and run.module_args is None
    assert "playbook %s does not exist on the controller" % (tmp_path / "nope.yml") in run.result["msg"]
    assert not (tmp_path / "units").exists()


def test_check_mode_shows_the_units_and_writes_none(run_action, tmp_path):
    (tmp_path / "site.yml").write_text("- hosts: all\n")
    run = run_action(MODULE, _timer(tmp_path, playbook="site.yml"), check=True, diff=True, playbook_dir=str(tmp_path))
    assert run.result["changed"] is True and not (tmp_path / "units").exists()
    after = "".join(d["after"] for d in run.result["diff"])
    assert str(tmp_path / "site.yml") in after and "OnCalendar=2029-12-31 23:50:00 UTC" in after
