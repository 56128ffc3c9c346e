"""Hardening of every file the collection writes for a user, through real ansible-playbook runs.

Attacked as a hostile user would: ``become: true`` + ``user: app`` (what docker_auth
does) must never let ``app`` turn a planted symlink or hard link into "root writes a
file outside app's territory and chowns it to app". The user's own links inside their
own directories keep working like the docker CLI's. Read back with real clients
(skopeo reads config.json and auth.json like containers/image; the docker CLI loads
config.json on every command).

Also: concurrent writers into a directory that does not exist yet (no lost entry, no
failed task), stale temp files of a killed writer, and keys we do not own kept with
the same meaning the docker CLI reads.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from support.desktop_session import drop_user, make_user

SECRET = "Tr0ub4dor-&-hardening-s3cret"


def play(module: str, args: dict, name: str = "write") -> str:
    return (
        json.dumps([{"hosts": "all", "gather_facts": False, "tasks": [{"name": name, f"cloud_registry.auth.{module}": args}]}])
        + "\n"
    )


def login_args(user=None, **kw):
    args = {"registry": "registry.example.com:5000", "username": "ci-bot", "password": SECRET, "verify": False}
    if user is not None:
        args["user"] = user.pw_name
    args.update(kw)
    return args


def helper_args(user=None, **kw):
    args = {"helper": "ecr-login", "registries": ["123456789012.dkr.ecr.eu-west-1.amazonaws.com"]}
    if user is not None:
        args["user"] = user.pw_name
    args.update(kw)
    return args


WRITERS = {
    "registry_login": login_args,
    "credhelper_config": helper_args,
}


@pytest.fixture
def app():
    user = make_user("crx")
    try:
        yield user
    finally:
        drop_user(user)


@pytest.fixture
def victim(tmp_path):
    """A root-owned tree the user must never get root to write into."""
    root = Path("/etc") / f"crauth-victim-{os.getpid()}-{tmp_path.name[-12:]}"
    root.mkdir(mode=0o755)
    target = root / "config.json"
    target.write_text('{"root-only": "keep me"}\n')
    target.chmod(0o600)
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _as(user, path: Path, symlink_to: str | None = None, mkdir: bool = False):
    """Make ``path`` as the user would (owned by them)."""
    if mkdir:
        path.mkdir(mode=0o700, exist_ok=True)
    elif symlink_to is not None:
        path.symlink_to(symlink_to)
    os.chown(path, user.pw_uid, user.pw_gid, follow_symlinks=False)


def snapshot(root: Path) -> dict:
    out = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        out[str(p)] = (st.st_uid, st.st_gid, st.st_mode, p.read_bytes() if p.is_file() and not p.is_symlink() else None)
    return out


def plant(kind: str, user, victim: Path, fmt: str) -> Path:
    """The attack of one class; returns the path the module writes (the user's default file)."""
    home = Path(user.pw_dir)
    if fmt == "docker":
        base, name = home / ".docker", "config.json"
    else:
        _as(user, home / ".config", mkdir=True)
        base, name = home / ".config" / "containers", "auth.json"
    if kind == "file-link":  # ~/.docker/config.json -> /etc/victim/config.json
        _as(user, base, mkdir=True)
        _as(user, base / name, symlink_to=str(victim / "config.json"))
    elif kind == "dir-link":  # ~/.docker -> /etc/victim
        _as(user, base, symlink_to=str(victim))
    elif kind == "dangling-link":  # ~/.docker/config.json -> /etc/victim/new.json (root would create it)
        _as(user, base, mkdir=True)
        _as(user, base / name, symlink_to=str(victim / "new.json"))
    elif kind == "relative-chain":  # a chain through the user's own dir, then out: ../../../../etc/victim
        _as(user, base, mkdir=True)
        _as(user, home / "hop", symlink_to=os.path.relpath(victim / "config.json", home))
        _as(user, base / name, symlink_to="../hop")
    elif kind == "hard-link":  # a hard link to root's file (where protected_hardlinks is off)
        _as(user, base, mkdir=True)
        os.link(victim / "config.json", base / name)
    else:
        raise AssertionError(kind)
    return base / name


@pytest.mark.matrix
@pytest.mark.parametrize("module", sorted(WRITERS))
@pytest.mark.parametrize("kind", ["file-link", "dir-link", "dangling-link", "relative-chain", "hard-link"])
def test_planted_links_never_make_root_write_outside_the_users_files(playbook, app, victim, module, kind):
    fmt = "docker"
    planted = plant(kind, app, victim, fmt)
    before = snapshot(victim)
    for check in (True, False):
        run = playbook(play(module, WRITERS[module](app)), check=check, diff=True)
        res = run.result("write")
        assert snapshot(victim) == before, "root wrote into or chowned the victim tree"
        assert not (victim / "new.json").exists()
        if kind == "hard-link":
            # a hard link cannot be told from the user's file, but it is never written
            # in place: the entry is replaced by a new file of the user's, the victim keeps its bytes
            assert res.get("failed") is not True, res
            continue
        assert res.get("failed") is True, res
        assert "symbolic link" in res["msg"] and str(app.pw_name) in res["msg"], res["msg"]
        assert "nothing was changed" in res["msg"]
        assert SECRET not in run.output
    if kind == "hard-link":
        st = planted.lstat()
        assert (st.st_uid, st.st_nlink) == (app.pw_uid, 1)
        assert (victim / "config.json").read_text() == '{"root-only": "keep me"}\n'


@pytest.mark.parametrize("kind", ["file-link", "dir-link"])
def test_planted_links_in_auth_json_are_refused_too(playbook, app, victim, kind):
    plant(kind, app, victim, "containers")
    before = snapshot(victim)
    run = playbook(play("registry_login", login_args(app, format="containers")))
    res = run.result("write")
    assert res.get("failed") is True and "symbolic link" in res["msg"], res
    assert snapshot(victim) == before


def test_the_users_own_links_are_followed_like_the_docker_cli(playbook, app, tmp_path):
    """Dotfile managers link ~/.docker/config.json into the user's own tree: kept working."""
    home = Path(app.pw_dir)
    _as(app, home / "dotfiles", mkdir=True)
    real = home / "dotfiles" / "docker.json"
    real.write_text('{"auths": {}, "psFormat": "table {{.ID}}"}\n')
    os.chown(real, app.pw_uid, app.pw_gid)
    real.chmod(0o640)
    _as(app, home / ".docker", mkdir=True)
    _as(app, home / ".docker" / "config.json", symlink_to="../dotfiles/docker.json")
    run = playbook(play("registry_login", login_args(app)))
    assert run.result("write")["changed"] is True, run.output
    assert (home / ".docker" / "config.json").is_symlink(), "the user's link was replaced"
    data = json.loads(real.read_text())
    assert data["psFormat"] == "table {{.ID}}" and "registry.example.com:5000" in data["auths"]
    assert real.stat().st_uid == app.pw_uid and (real.stat().st_mode & 0o777) == 0o640  # kept
    # the real client reads the login through the link
    got = subprocess.run(
        ["skopeo", "login", "--get-login", "--authfile", str(home / ".docker" / "config.json"), "registry.example.com:5000"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert got.stdout.strip() == "ci-bot", got.stderr


def test_root_owned_links_are_followed(playbook, app, tmp_path):
    """A link the administrator made (root-owned) is trusted, wherever it points."""
    target_dir = tmp_path / "shared-docker"
    target_dir.mkdir()
    home = Path(app.pw_dir)
    (home / ".docker").symlink_to(target_dir)  # made by root
    run = playbook(play("credhelper_config", helper_args(app)))
    assert run.result("write")["changed"] is True, run.output
    assert json.loads((target_dir / "config.json").read_text())["credHelpers"] == {
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login"
    }


def test_stale_temp_files_of_a_killed_writer_are_removed(playbook, tmp_path):
    cfg_dir = tmp_path / "docker"
    cfg_dir.mkdir(mode=0o700)
    (cfg_dir / "config.json").write_text('{"auths": {}}\n')
    # what a writer killed between its temp write and its rename leaves: a full copy
    stale = [cfg_dir / ".config.json.a1b2c3d4e5f6.tmp", cfg_dir / ".config.json.0f9e8d7c6b5a.tmp"]
    for s in stale:
        s.write_text(json.dumps({"auths": {"old.example": {"auth": "b2xkOnNlY3JldA=="}}}))
    foreign = cfg_dir / ".other.json.a1b2c3d4e5f6.tmp"  # not ours: kept
    foreign.write_text("x")
    run = playbook(play("registry_login", login_args(config_path=str(cfg_dir / "config.json"))))
    assert run.result("write")["changed"] is True, run.output
    assert not any(s.exists() for s in stale)
    assert foreign.exists()
    assert sorted(p.name for p in cfg_dir.iterdir()) == [".other.json.a1b2c3d4e5f6.tmp", "config.json"]


@pytest.mark.parametrize("attempt", range(3))
def test_mixed_concurrent_writers_into_an_absent_tree_lose_nothing(playbook, tmp_path, attempt):
    """24 forks: logins, logouts of other registries, helper entries added and removed,
    all into a directory that does not exist yet. Every task succeeds and every entry
    that should be there is."""
    cfg = tmp_path / f"try{attempt}" / "deep" / "docker" / "config.json"
    hosts = [f"w{i}" for i in range(24)]
    inventory = "[all]\n" + "\n".join(f"{h} ansible_connection=local idx={i}" for i, h in enumerate(hosts)) + "\n"
    tasks = [
        {
            "name": "login",
            "when": "idx | int % 3 == 0",
            "cloud_registry.auth.registry_login": {
                "registry": "reg{{ idx }}.example.com",
                "username": "u{{ idx }}",
                "password": SECRET,
                "verify": False,
                "config_path": str(cfg),
            },
        },
        {
            "name": "logout",
            "when": "idx | int % 3 == 1",
            "cloud_registry.auth.registry_login": {
                "registry": "gone{{ idx }}.example.com",
                "state": "absent",
                "config_path": str(cfg),
            },
        },
        {
            "name": "helper",
            "when": "idx | int % 3 == 2",
            "cloud_registry.auth.credhelper_config": {
                "helper": "ecr-login",
                "config_path": str(cfg),
                "registries": ["h{{ idx }}.dkr.ecr.eu-west-1.amazonaws.com"],
            },
        },
        {
            "name": "helper absent",
            "when": "idx | int % 3 == 1",
            "cloud_registry.auth.credhelper_config": {
                "helper": "ecr-login",
                "state": "absent",
                "config_path": str(cfg),
                "registries": ["x{{ idx }}.dkr.ecr.eu-west-1.amazonaws.com"],
            },
        },
    ]
    text = json.dumps([{"hosts": "all", "gather_facts": False, "tasks": tasks}]) + "\n"
    run = playbook(text, inventory=inventory, forks=24)
    assert run.rc == 0, run.output[-3000:]
    failures = {h: s["failures"] for h, s in run.stats().items() if s.get("failures")}
    assert failures == {}
    data = json.loads(cfg.read_text())
    assert sorted(data["auths"]) == sorted(f"reg{i}.example.com" for i in range(0, 24, 3))
    assert sorted(data["credHelpers"]) == sorted(f"h{i}.dkr.ecr.eu-west-1.amazonaws.com" for i in range(2, 24, 3))
    for i in range(0, 24, 6):
        got = subprocess.run(
            ["skopeo", "login", "--get-login", "--authfile", str(cfg), f"reg{i}.example.com"],
            capture_output=True,
            text=True,
            check=False,
        )
        assert got.stdout.strip() == f"u{i}", got.stderr
    assert [p.name for p in cfg.parent.iterdir()] == ["config.json"]


def docker_cli_reads(cfg_dir: Path) -> subprocess.CompletedProcess:
    """The docker CLI loads config.json on every command; a file it cannot parse is reported."""
    return subprocess.run(
        ["docker", "--config", str(cfg_dir), "context", "ls", "-q"], capture_output=True, text=True, check=False, timeout=60
    )


FOREIGN_KEYS = [
    # (file text, what the docker CLI reads back afterwards, as a check on the written text)
    pytest.param(
        '{"x-big": 1e400, "x-precise": 0.10000000000000000001, "x-int": 123456789012345678901234567890}',
        ['"x-big": 1e400', '"x-precise": 0.10000000000000000001', '"x-int": 123456789012345678901234567890'],
        id="numbers-as-written",
    ),
    pytest.param(
        '{"x-text": "\\ud800 lone surrogate", "x-uni": "\\u00e9t\\u00e9"}',
        ['"x-text": "\\ud800 lone surrogate"', '"x-uni": "été"'],
        id="escapes",
    ),
]


@pytest.mark.parametrize("text, expect", FOREIGN_KEYS)
def test_keys_we_do_not_own_survive_with_the_same_meaning(playbook, tmp_path, text, expect):
    cfg_dir = tmp_path / "docker"
    cfg_dir.mkdir()
    cfg = cfg_dir / "config.json"
    cfg.write_text(text)
    assert docker_cli_reads(cfg_dir).returncode == 0
    run = playbook(play("registry_login", login_args(config_path=str(cfg))))
    assert run.result("write")["changed"] is True, run.output
    written = cfg.read_text()
    for e in expect:
        assert e in written, written
    cli = docker_cli_reads(cfg_dir)
    assert cli.returncode == 0 and "Error loading config" not in cli.stderr, cli.stderr


def test_duplicated_auths_are_merged_like_the_docker_cli_reads_them(playbook, tmp_path):
    cfg_dir = tmp_path / "docker"
    cfg_dir.mkdir()
    cfg = cfg_dir / "config.json"
    cfg.write_text('{"auths": {"a.example.com": {"auth": "YTpwYXNz"}}, "auths": {"b.example.com": {"auth": "Yjpwd2Q="}}}')
    run = playbook(play("registry_login", login_args(config_path=str(cfg))))
    assert run.result("write")["changed"] is True, run.output
    for registry, user in (("a.example.com", "a"), ("b.example.com", "b"), ("registry.example.com:5000", "ci-bot")):
        got = subprocess.run(
            ["skopeo", "login", "--get-login", "--authfile", str(cfg), registry], capture_output=True, text=True, check=False
        )
        assert got.stdout.strip() == user, (registry, got.stderr)


@pytest.mark.parametrize(
    "text, words",
    [
        ('{"x": NaN}', "NaN is not JSON"),
        ('{"x": Infinity}', "Infinity is not JSON"),
        # a short id: the test id reaches the environment of every child (PYTEST_CURRENT_TEST), and a
        # 200,000-character one makes exec fail with E2BIG
        pytest.param("[" * 100000 + "]" * 100000, "nested too deeply", id="100000-deep"),
        (b'{"x": "\xff\xfe"}', "not UTF-8"),
    ],
)
def test_what_the_docker_cli_rejects_is_refused_untouched(playbook, tmp_path, text, words):
    cfg = tmp_path / "config.json"
    raw = text if isinstance(text, bytes) else text.encode()
    cfg.write_bytes(raw)
    run = playbook(play("registry_login", login_args(config_path=str(cfg))))
    res = run.result("write")
    assert res.get("failed") is True and words in res["msg"] and str(cfg) in res["msg"], res["msg"][:300]
    assert "Traceback" not in run.output
    assert cfg.read_bytes() == raw


def test_read_only_directory_is_a_clear_error(playbook, tmp_path):
    """A directory on a read-only mount (root cannot write it either)."""
    cfg_dir = tmp_path / "ro"
    cfg_dir.mkdir()
    (cfg_dir / "config.json").write_text("{}\n")
    subprocess.run(["mount", "--bind", str(cfg_dir), str(cfg_dir)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(cfg_dir)], check=True)
        run = playbook(play("registry_login", login_args(config_path=str(cfg_dir / "config.json"))))
    finally:
        subprocess.run(["umount", str(cfg_dir)], check=True)
    res = run.result("write")
    assert res.get("failed") is True, res
    assert "cannot write" in res["msg"] and "config.json" in res["msg"] and "Read-only file system" in res["msg"], res
    assert "Traceback" not in run.output and SECRET not in run.output
    assert (cfg_dir / "config.json").read_text() == "{}\n"


@pytest.mark.parametrize("mode, words", [("04600", "setuid"), ("0644", "every user"), ("0606", "every user")])
def test_unsafe_modes_are_refused(playbook, tmp_path, mode, words):
    cfg = tmp_path / "config.json"
    run = playbook(play("registry_login", login_args(config_path=str(cfg), mode=mode)))
    res = run.result("write")
    assert res.get("failed") is True and words in res["msg"], res
    assert not cfg.exists()


@pytest.mark.parametrize("module", sorted(WRITERS))
def test_a_big_file_costs_no_diff_unless_asked_and_then_only_what_changed(playbook, tmp_path, module):
    """A 4 MB config.json (40,000 entries of other tools): without --diff the result holds
    no copy of it; with --diff it holds the changed entries only, masked."""
    cfg = tmp_path / "config.json"
    others = {
        f"mirror-{i}.example.com": {"auth": "b3RoZXI6b3RoZXItcGFzc3dvcmQtMTIzNDU2Nzg5MDEyMzQ1Njc4OTA="} for i in range(20000)
    }
    others.update({f"pad-{i}.example.com": {"auth": "x" * 120} for i in range(20000)})
    cfg.write_text(json.dumps({"auths": others, "credHelpers": {"gcr.io": "gcloud"}}, indent="\t"))
    cfg.chmod(0o600)
    assert cfg.stat().st_size > 4_000_000
    args = WRITERS[module](config_path=str(cfg))
    run = playbook(play(module, args))
    assert run.rc == 0, run.output[-2000:]
    res = run.result("write")
    assert res["changed"] and "diff" not in res
    assert len(run.stdout) < 100_000  # no copy of the file in the results
    args = WRITERS[module](config_path=str(cfg), state="absent")
    run = playbook(play(module, args), diff=True)
    res = run.result("write")
    assert run.rc == 0 and res["changed"], run.output[-2000:]
    diff = res["diff"][0] if isinstance(res["diff"], list) else res["diff"]
    assert "only the entries that changed" in diff["before_header"]
    shown = json.dumps(diff)
    assert "mirror-7.example.com" not in shown and SECRET not in shown and len(shown) < 2000
    if module == "registry_login":
        assert list(diff["before"]["auths"]) == ["registry.example.com:5000"] and diff["after"]["auths"] == {}
    else:
        assert list(diff["before"]["credHelpers"]) == ["123456789012.dkr.ecr.eu-west-1.amazonaws.com"]
    data = json.loads(cfg.read_text())
    assert len(data["auths"]) == 40000 and data["credHelpers"] == {"gcr.io": "gcloud"}
