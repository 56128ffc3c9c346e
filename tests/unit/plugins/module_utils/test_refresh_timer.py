"""Unit tests for module_utils/refresh_timer.py: the units' text, the fire time, idempotency, check mode,
bad input. The units are checked by the real ``systemd-analyze`` (it needs no running systemd)."""

from __future__ import annotations

import shlex
import shutil
import subprocess

import pytest

from ansible_collections.cloud_registry.auth.plugins.module_utils import refresh_timer as rt

NOW = 1_900_000_000.0  # 2030-03-17T17:46:40Z
AT = "2030-03-17T20:00:00Z"


def params(tmp_path, **kw):
    base = {
        "name": "cra-test-refresh",
        "state": "present",
        "at": AT,
        "before": 600,
        "command": ["/bin/echo", "a b", 'quote"d', "100%", "$HOME"],
        "unit_dir": str(tmp_path / "units"),
        "start": True,
    }
    base.update(kw)
    return base


def exec_start(text):
    """The argv systemd runs for this ExecStart= (its quoting, undone)."""
    line = [ln for ln in text.splitlines() if ln.startswith("ExecStart=")][0][len("ExecStart=") :]
    return [w.replace("%%", "%").replace("$$", "$") for w in shlex.split(line)]


def test_units_fire_time_and_idempotency(tmp_path):
    out = rt.apply(params(tmp_path), now=NOW)
    assert out["changed"] and out["fires_at"] == "2030-03-17T19:50:00Z"
    assert out["on_calendar"] == "2030-03-17 19:50:00 UTC"
    service = (tmp_path / "units" / "cra-test-refresh.service").read_text()
    timer = (tmp_path / "units" / "cra-test-refresh.timer").read_text()
    assert exec_start(service) == ["/bin/echo", "a b", 'quote"d', "100%", "$HOME"]
    assert "OnCalendar=2030-03-17 19:50:00 UTC\n" in timer and "Persistent=true\n" in timer
    assert (tmp_path / "units" / "cra-test-refresh.timer").stat().st_mode & 0o777 == 0o644
    again = rt.apply(params(tmp_path), now=NOW)
    assert not again["changed"] and again["diff"] == []
    moved = rt.apply(params(tmp_path, at="2030-03-17T21:00:00Z"), now=NOW, check_mode=True)
    assert moved["changed"] and [d["after_header"] for d in moved["diff"]] == [str(tmp_path / "units" / "cra-test-refresh.timer")]
    assert "OnCalendar=2030-03-17 19:50:00 UTC" in (tmp_path / "units" / "cra-test-refresh.timer").read_text()


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="needs systemd-analyze (Debian systemd)")
def test_systemd_analyze_accepts_the_units_and_their_calendar(tmp_path):
    out = rt.apply(params(tmp_path, user="daemon", working_directory="/tmp", environment_file="-/etc/nothing"), now=NOW)
    units = [out["service_path"], out["timer_path"]]
    verify = subprocess.run(["systemd-analyze", "verify", "--man=no"] + units, capture_output=True, text=True, check=False)
    assert verify.returncode == 0 and verify.stderr.strip() == "", verify.stderr
    cal = subprocess.run(["systemd-analyze", "calendar", out["on_calendar"]], capture_output=True, text=True, check=False)
    assert cal.returncode == 0 and "Normalized form: 2030-03-17 19:50:00 UTC" in cal.stdout, cal.stdout + cal.stderr


def test_a_time_already_past_runs_in_a_minute(tmp_path):
    out = rt.apply(params(tmp_path, at="2030-03-17T17:50:00Z"), now=NOW)
    assert out["fires_at"] == "2030-03-17T17:47:40Z"
    assert "already due" in out["warnings"][0]


def test_absent_removes_both_and_is_idempotent(tmp_path):
    rt.apply(params(tmp_path), now=NOW)
    gone = rt.apply(params(tmp_path, state="absent"), now=NOW)
    assert gone["changed"] and not list((tmp_path / "units").iterdir())
    assert not rt.apply(params(tmp_path, state="absent"), now=NOW)["changed"]


def test_systemctl_is_told_only_about_changes(tmp_path, monkeypatch):
    calls = []
    active = []

    def run_command(argv):
        calls.append(argv[1:])
        if argv[1] == "restart":
            active.append(True)
        return (0 if argv[1] != "is-active" or active else 3), "", ""

    monkeypatch.setattr(rt, "systemd_running", lambda scope, environ=None: True)
    rt.apply(params(tmp_path), now=NOW, run_command=run_command)
    assert calls == [
        ["is-active", "cra-test-refresh.timer"],
        ["daemon-reload"],
        ["enable", "cra-test-refresh.timer"],
        ["restart", "cra-test-refresh.timer"],
    ]
    calls.clear()
    assert not rt.apply(params(tmp_path), now=NOW, run_command=run_command)["changed"]
    assert calls == [["is-active", "cra-test-refresh.timer"]]
    calls.clear()
    rt.apply(params(tmp_path, state="absent"), now=NOW, run_command=run_command)
    assert calls == [["disable", "--now", "cra-test-refresh.timer"], ["daemon-reload"]]


def test_without_systemd_the_units_are_written_and_a_warning_says_how_to_start(tmp_path, monkeypatch):
    monkeypatch.setattr(rt, "systemd_running", lambda scope, environ=None: False)
    out = rt.apply(params(tmp_path), now=NOW, run_command=lambda argv: pytest.fail("systemctl called"))
    assert "systemctl enable --now cra-test-refresh.timer" in out["warnings"][0]


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"name": "bad/name"}, "not a systemd unit name"),
        ({"name": "x.timer"}, "without .service or .timer"),
        ({"at": None}, "at is required"),
        ({"at": "soon"}, "at must be an ISO 8601 time"),
        ({"before": -5}, "before must be 0 or more"),
        ({"command": ["ansible-playbook", "site.yml"]}, "not an absolute path"),
        ({"command": ["/bin/echo", "two\nlines"]}, "control character"),
        ({"command": []}, "command must be a list"),
    ],
)
def test_bad_input_names_the_option_and_writes_nothing(tmp_path, kw, message):
    with pytest.raises(rt.RefreshTimerError, match=message):
        rt.safe_apply(params(tmp_path, **kw), now=NOW)
    assert not (tmp_path / "units").exists()


def test_another_users_symlink_is_neither_read_nor_followed(tmp_path):
    """A unit name pointed, by another user, at a file elsewhere: the diff does not show that file and it is not
    overwritten."""
    import os

    units = tmp_path / "units"
    units.mkdir()
    os.chmod(units, 0o777)
    secret = tmp_path / "elsewhere"
    secret.write_text("root-only content\n")
    link = units / "cra-test-refresh.service"
    link.symlink_to(secret)
    os.lchown(link, 65534, 65534)
    with pytest.raises(rt.RefreshTimerError) as err:
        rt.safe_apply(params(tmp_path), now=NOW)
    assert "root-only" not in str(err.value)
    assert secret.read_text() == "root-only content\n"
