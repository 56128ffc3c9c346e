# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A systemd timer that runs a command once, at a time taken from an expiry (private, not public API):
the logic of the refresh_timer module.

Two units, ``NAME.service`` (``Type=oneshot``, the command) and ``NAME.timer`` (``OnCalendar=`` one
absolute UTC time, ``Persistent=true`` so a runner that was off catches up when it boots). The
command is usually the playbook that minted the short-lived tokens: each run writes the timer
again with the next expiry, so the schedule follows the tokens instead of a fixed interval.

Standard library only (runs on targets). Unit files are written like the credentials files:
locked, atomic, only when their text changes; systemd is told (``daemon-reload``, ``enable
--now``) only when something changed or the timer is not active.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import time

from ansible_collections.cloud_registry.auth.plugins.module_utils import expiry, safe_path
from ansible_collections.cloud_registry.auth.plugins.module_utils.errors import CloudRegistryError, run_domain

HEADER = "# Written by cloud_registry.auth.refresh_timer; rewritten on every run, do not edit.\n"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:_.\\-]{0,200}$")
MIN_DELAY = 60  # a time already past (or within a minute) is moved to a minute from now
SYSTEM_DIR = "/etc/systemd/system"


class RefreshTimerError(CloudRegistryError):
    """Bad input for the timer; the message is safe to show."""


def check_name(name):
    if not isinstance(name, str) or not _NAME.match(name) or name.endswith((".service", ".timer")):
        raise RefreshTimerError(
            "name %r is not a systemd unit name: use letters, digits and - _ . : (for example "
            "cloud-registry-auth-refresh), without .service or .timer" % (name,)
        )
    return name


def _quote(arg):
    """One ExecStart= word: double-quoted, with systemd's specifier (%) and variable ($) characters escaped."""
    if any(ord(c) < 32 for c in arg):
        raise RefreshTimerError(
            "command: %r holds a control character (a newline?); give each argument as one list item" % arg[:40]
        )
    return '"%s"' % arg.replace("\\", "\\\\").replace('"', '\\"').replace("%", "%%").replace("$", "$$")


def _value(what, text):
    if any(ord(c) < 32 for c in text):
        raise RefreshTimerError("%s: %r holds a control character" % (what, text[:40]))
    return text.replace("%", "%%")


def on_calendar(epoch):
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))


def fire_time(at, before, now=None):
    """``(epoch the timer fires, moved)``: ``at`` minus ``before`` seconds, no earlier than a minute from now."""
    now = time.time() if now is None else now
    when = expiry.to_epoch(at, "at")
    if when is None:
        raise RefreshTimerError(
            "at is required with state=present: give the expiry (for example the expires_at of "
            "the registry_token lookup, or the k8s_pull_secrets role's k8s_pull_secrets_expires_at)"
        )
    if before is not None and before < 0:
        raise RefreshTimerError("before must be 0 or more seconds, got %s" % before)
    when = int(when - (before or 0))
    if when < now + MIN_DELAY:
        return int(now + MIN_DELAY), True
    return when, False


def render(name, command, fires_at, description=None, working_directory=None, environment_file=None, user=None, scope="system"):
    """``(service text, timer text)``."""
    if not command or not all(isinstance(a, str) and a for a in command):
        raise RefreshTimerError("command must be a list of non-empty strings (the program first), got %r" % (command,))
    if not os.path.isabs(command[0]):
        raise RefreshTimerError(
            "command: %s is not an absolute path: systemd runs the program by its full path "
            "(for example %s)" % (command[0], "/usr/bin/ansible-playbook")
        )
    what = description or "Refresh short-lived registry credentials (%s)" % name
    service = [
        HEADER,
        "[Unit]\n",
        "Description=%s\n" % _value("description", what),
        "Wants=network-online.target\n",
        "After=network-online.target\n",
        "\n",
        "[Service]\n",
        "Type=oneshot\n",
        "ExecStart=%s\n" % " ".join(_quote(a) for a in command),
    ]
    if working_directory:
        service.append("WorkingDirectory=%s\n" % _value("working_directory", working_directory))
    if environment_file:
        service.append("EnvironmentFile=%s\n" % _value("environment_file", environment_file))
    if user and scope == "system":
        service.append("User=%s\n" % _value("user", user))
    timer = [
        HEADER,
        "[Unit]\n",
        "Description=When %s.service runs next (%s)\n" % (name, expiry.format_time(fires_at)),
        "\n",
        "[Timer]\n",
        "OnCalendar=%s\n" % on_calendar(fires_at),
        "Persistent=true\n",
        "AccuracySec=1s\n",
        "Unit=%s.service\n" % name,
        "\n",
        "[Install]\n",
        "WantedBy=%s\n" % ("timers.target" if scope == "system" else "default.target"),
    ]
    return "".join(service), "".join(timer)


def unit_dir(scope, home=None):
    if scope == "system":
        return SYSTEM_DIR
    return os.path.join(home or os.path.expanduser("~"), ".config", "systemd", "user")


def _read(path):
    """The unit's text, read as the writer resolves it (no other user's symlink is followed: a diff never shows a
    file the unit name was pointed at); None when there is none."""
    try:
        res = safe_path.resolve(path)
    except safe_path.UnsafePathError as e:
        raise RefreshTimerError(str(e)) from None
    except OSError:
        return None
    try:
        raw = safe_path.read_bytes(res, 1 << 20)
    except OSError as e:
        raise RefreshTimerError("cannot read %s: %s" % (path, e.strerror)) from None
    finally:
        res.close()
    return None if raw is None else raw.decode("utf-8", "replace")


def _write(path, text):
    res = safe_path.resolve(path)
    try:
        if not res.dir_exists:
            safe_path.make_dirs(res)
            os.fchmod(res.dir_fd, 0o755)
        with safe_path.DirLock(res.dir_fd):
            safe_path.replace_file(res, text.encode("utf-8"), mode=0o644)
    except (OSError, safe_path.UnsafePathError) as e:
        raise RefreshTimerError("cannot write %s: %s" % (path, getattr(e, "strerror", None) or e)) from None
    finally:
        res.close()


def systemd_running(scope, environ=None):
    environ = os.environ if environ is None else environ
    if scope == "system":
        return os.path.isdir("/run/systemd/system")
    runtime = environ.get("XDG_RUNTIME_DIR")
    return bool(runtime) and os.path.exists(os.path.join(runtime, "systemd", "private"))


def apply(params, check_mode=False, run_command=None, now=None, environ=None):
    """The module's whole job. Returns the result (``diff`` as a list of before/after pairs)."""
    name = check_name(params["name"])
    scope = params.get("scope") or "system"
    directory = params.get("unit_dir") or unit_dir(scope)
    paths = {"service": os.path.join(directory, name + ".service"), "timer": os.path.join(directory, name + ".timer")}
    state = params.get("state") or "present"
    result = {
        "changed": False,
        "service_path": paths["service"],
        "timer_path": paths["timer"],
        "on_calendar": None,
        "fires_at": None,
        "systemd": systemd_running(scope, environ),
        "warnings": [],
    }
    current = dict((k, _read(p)) for k, p in paths.items())
    if state == "present":
        fires, moved = fire_time(params.get("at"), params.get("before") or 0, now)
        texts = dict(
            zip(
                ("service", "timer"),
                render(
                    name,
                    params.get("command"),
                    fires,
                    params.get("description"),
                    params.get("working_directory"),
                    params.get("environment_file"),
                    params.get("user"),
                    scope,
                ),
            )
        )
        result.update(on_calendar=on_calendar(fires), fires_at=expiry.format_time(fires))
        if moved:
            result["warnings"].append(
                "%s: the refresh is already due (at %s minus %ss); it runs in a minute, at %s"
                % (name, params.get("at"), params.get("before") or 0, result["fires_at"])
            )
    else:
        texts = {"service": None, "timer": None}
    result["diff"] = [
        {"before_header": paths[k], "after_header": paths[k], "before": current[k] or "", "after": texts[k] or ""}
        for k in ("service", "timer")
        if current[k] != texts[k]
    ]
    result["changed"] = bool(result["diff"])
    if check_mode:
        return result
    ctl = _systemctl(scope, run_command) if result["systemd"] and run_command is not None else None
    if state == "absent":
        if result["changed"] and ctl:
            ctl("disable", "--now", name + ".timer", check=False)
        for key in ("timer", "service"):
            if current[key] is not None:
                try:
                    os.unlink(paths[key])
                except OSError as e:
                    raise RefreshTimerError("cannot remove %s: %s" % (paths[key], e.strerror)) from None
        if result["changed"] and ctl:
            ctl("daemon-reload")
        return result
    for key in ("service", "timer"):
        if current[key] != texts[key]:
            _write(paths[key], texts[key])
    if ctl is None:
        if params.get("start", True) and not result["systemd"]:
            result["warnings"].append(
                "systemd is not running here (%s scope), so %s.timer was written to %s but not started: run "
                "'systemctl%s enable --now %s.timer' where systemd runs"
                % (scope, name, directory, "" if scope == "system" else " --user", name)
            )
        return result
    if not params.get("start", True):
        if result["changed"]:
            ctl("daemon-reload")
        return result
    active = ctl("is-active", name + ".timer", check=False) == 0
    if result["changed"] or not active:
        ctl("daemon-reload")
        ctl("enable", name + ".timer")
        ctl("restart", name + ".timer")
        result["changed"] = True
    return result


def _systemctl(scope, run_command):
    def ctl(*args, **kw):
        argv = ["systemctl"] + ([] if scope == "system" else ["--user"]) + list(args)
        rc, out, err = run_command(argv)
        if rc != 0 and kw.get("check", True):
            raise RefreshTimerError("%s failed (rc %s): %s" % (" ".join(argv), rc, (err or out or "").strip()[-300:]))
        return rc

    return ctl


def safe_apply(params, **kwargs):
    """``apply()`` with every domain error turned into RefreshTimerError (what the module catches)."""
    return run_domain(RefreshTimerError, apply, params, **kwargs)
