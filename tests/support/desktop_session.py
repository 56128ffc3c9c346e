"""Real users with and without a desktop-like session, for the secretservice helper.

``make_user()`` creates a local account (home under /home, removed by ``drop_user``).
``start_session(user)`` gives it what a logged-in desktop user has and a headless
server user lacks: a D-Bus session bus at ``/run/user/UID/bus`` (a real
``dbus-daemon``) with a real secret service on it (``gnome-keyring-daemon``, its
login keyring created and unlocked). ``docker-credential-secretservice`` then works
for that user, as it does on a workstation. ``as_user(user, *cmd)`` runs a command as
the user inside that session.
"""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import subprocess
import time
from pathlib import Path


def make_user(prefix: str = "cra") -> pwd.struct_passwd:
    name = f"{prefix}{secrets.token_hex(3)}"
    subprocess.run(["useradd", "-m", "-s", "/bin/sh", name], check=True)
    return pwd.getpwnam(name)


def runtime_dir(user: pwd.struct_passwd) -> Path:
    return Path("/run/user") / str(user.pw_uid)


def session_env(user: pwd.struct_passwd) -> dict:
    return {
        "HOME": user.pw_dir,
        "XDG_RUNTIME_DIR": str(runtime_dir(user)),
        "DBUS_SESSION_BUS_ADDRESS": f"unix:path={runtime_dir(user) / 'bus'}",
    }


def as_user(user: pwd.struct_passwd, *cmd: str, stdin: str | None = None, session: bool = True):
    env = session_env(user) if session else {"HOME": user.pw_dir}
    argv = ["runuser", "-u", user.pw_name, "--", "env", "-u", "DISPLAY"]
    argv += [f"{k}={v}" for k, v in env.items()] + list(cmd)
    return subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=60, check=False)


def start_session(user: pwd.struct_passwd) -> None:
    run = runtime_dir(user)
    run.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chown(run, user.pw_uid, user.pw_gid)
    bus = run / "bus"
    res = as_user(user, "dbus-daemon", "--session", f"--address=unix:path={bus}", "--fork", "--print-pid", session=False)
    if res.returncode != 0:
        raise RuntimeError(f"dbus-daemon did not start for {user.pw_name}: {res.stderr}")
    for _unused in range(50):
        if bus.is_socket():
            break
        time.sleep(0.1)
    # --unlock reads the keyring password on stdin and creates the login keyring if missing
    res = as_user(user, "gnome-keyring-daemon", "--unlock", "--components=secrets", stdin="keyring-" + secrets.token_hex(4))
    if res.returncode != 0:
        raise RuntimeError(f"gnome-keyring-daemon did not start for {user.pw_name}: {res.stderr}")


def drop_user(user: pwd.struct_passwd) -> None:
    subprocess.run(["pkill", "-KILL", "-u", user.pw_name], capture_output=True, check=False)
    time.sleep(0.2)
    shutil.rmtree(runtime_dir(user), ignore_errors=True)
    subprocess.run(["userdel", "-r", user.pw_name], capture_output=True, check=False)
