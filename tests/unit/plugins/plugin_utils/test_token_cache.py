"""The registry_token caches: one mint per identity per run (also across forked processes),
min_ttl, cache_dir across runs, file modes/names, and the sweep of finished runs."""

from __future__ import annotations

import datetime
import hashlib
import json
import multiprocessing
import os
import stat
import threading
import time
from pathlib import Path

import pytest

from ansible_collections.cloud_registry.auth.plugins.plugin_utils import run_cache as rc
from ansible_collections.cloud_registry.auth.plugins.plugin_utils import token_cache as _cache
from ansible_collections.cloud_registry.auth.plugins.module_utils.tokens.base import Credential, TokenError

T0 = datetime.datetime(2030, 1, 1, 12, 0, 0, tzinfo=datetime.timezone.utc)
SECRET = "pw-SECRET-value-1234"


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += datetime.timedelta(seconds=seconds)


class Minter:
    def __init__(self, clock, lifetime=3600):
        self.clock = clock
        self.lifetime = lifetime
        self.calls = 0

    def __call__(self):
        self.calls += 1
        return Credential(
            "reg.example", "user", "%s-%d" % (SECRET, self.calls), self.clock() + datetime.timedelta(seconds=self.lifetime)
        )


def _cache_for(tmp_path, clock, run_id="1-1", disk=True):
    return _cache.TokenCache(
        run_base=str(tmp_path / "run"), disk_dir=str(tmp_path / "disk") if disk else None, run_id=run_id, now=clock
    )


def test_one_mint_per_identity_and_reuse_until_min_ttl(tmp_path):
    clock = Clock()
    mint = Minter(clock, lifetime=3600)
    cache = _cache_for(tmp_path, clock, disk=False)
    first = cache.get_or_mint("p", "id-a", mint, 300)
    assert (mint.calls, cache.last_source) == (1, "mint")
    again = cache.get_or_mint("p", "id-a", mint, 300)
    assert (mint.calls, cache.last_source, again.password) == (1, "run", first.password)
    # another identity mints its own
    cache.get_or_mint("p", "id-b", mint, 300)
    assert mint.calls == 2
    # 3299 s later: 301 s left > min_ttl -> reuse; 2 s later: 299 s left -> mint again
    clock.advance(3299)
    assert cache.get_or_mint("p", "id-a", mint, 300).password == first.password
    clock.advance(2)
    renewed = cache.get_or_mint("p", "id-a", mint, 300)
    assert mint.calls == 3 and renewed.password != first.password and cache.last_source == "mint"


def test_a_larger_min_ttl_forces_a_new_mint(tmp_path):
    clock = Clock()
    mint = Minter(clock, lifetime=1000)
    cache = _cache_for(tmp_path, clock, disk=False)
    cache.get_or_mint("p", "id", mint, 300)
    cache.get_or_mint("p", "id", mint, 900)  # 1000 s left > 900: reuse
    assert mint.calls == 1
    mint.lifetime = 3600
    cache.get_or_mint("p", "id", mint, 1200)  # 1000 s left <= 1200: mint
    assert mint.calls == 2


@pytest.mark.parametrize(
    "lifetime, pattern",
    [
        (-10, r"already expired at 2030-01-01T11:59:50Z; check the controller clock"),
        (0, r"already expired"),
        (200, r"valid for only 200s, not more than min_ttl=300s; lower min_ttl"),
        (300, r"valid for only 300s"),
    ],
)
def test_never_returns_an_expired_or_nearly_expired_mint(tmp_path, lifetime, pattern):
    clock = Clock()
    cache = _cache_for(tmp_path, clock)
    with pytest.raises(TokenError, match=pattern) as err:
        cache.get_or_mint("ecr", "id", Minter(clock, lifetime=lifetime), 300)
    assert "provider=ecr" in str(err.value) and SECRET not in str(err.value)
    assert not any(p.suffix == ".json" for p in (tmp_path / "disk").iterdir())  # nothing cached


def test_cache_dir_survives_the_run_and_holds_no_secret_in_names(tmp_path):
    clock = Clock()
    mint = Minter(clock)
    run1 = _cache_for(tmp_path, clock, run_id="100-1")
    cred = run1.get_or_mint("azure", "identity-with-" + SECRET, mint, 300)
    run2 = _cache_for(tmp_path, clock, run_id="200-1")
    again = run2.get_or_mint("azure", "identity-with-" + SECRET, mint, 300)
    assert mint.calls == 1 and run2.last_source == "disk" and again.password == cred.password
    assert again.expires_at == cred.expires_at
    disk = tmp_path / "disk"
    assert stat.S_IMODE(disk.stat().st_mode) == 0o700
    key = (disk / ".key").read_bytes()
    assert len(key) == 32
    for p in disk.iterdir():
        assert SECRET not in p.name and "identity" not in p.name
        assert stat.S_IMODE(p.stat().st_mode) == 0o600
        if p.name != ".key":
            # keyed by the directory's random key: not a plain hash anyone could recompute
            assert p.stem == _cache.disk_name(key, "azure", "identity-with-" + SECRET)
            assert p.stem != hashlib.sha256(("azure\0identity-with-" + SECRET).encode()).hexdigest()
    for p in (tmp_path / "run").rglob("*"):
        assert SECRET not in p.name
        assert stat.S_IMODE(p.stat().st_mode) == (0o700 if p.is_dir() else 0o600)


def test_disk_entry_near_expiry_is_replaced(tmp_path):
    clock = Clock()
    mint = Minter(clock, lifetime=1000)
    _cache_for(tmp_path, clock, run_id="1-1").get_or_mint("p", "id", mint, 300)
    clock.advance(800)  # 200 s left
    cache = _cache_for(tmp_path, clock, run_id="2-1")
    cred = cache.get_or_mint("p", "id", mint, 300)
    assert mint.calls == 2 and cache.last_source == "mint"
    assert cred.seconds_left(clock()) == 1000


def test_credential_without_expiry_is_never_written_to_cache_dir(tmp_path):
    clock = Clock()
    cache = _cache_for(tmp_path, clock)
    cache.get_or_mint("oauth2", "id", lambda: Credential("r", "u", SECRET, None), 300)
    assert [p for p in (tmp_path / "disk").iterdir() if p.suffix == ".json"] == []
    # ... but reused within the run
    calls = []
    cache.get_or_mint("oauth2", "id", lambda: calls.append(1) or Credential("r", "u", "x", None), 300)
    assert calls == [] and cache.last_source == "run"


def test_corrupt_cache_file_is_discarded(tmp_path):
    clock = Clock()
    mint = Minter(clock)
    cache = _cache_for(tmp_path, clock, disk=False)
    cache.get_or_mint("p", "id", mint, 300)
    path = cache.run_entry("p", "id") + ".json"
    with open(path, "w") as f:
        f.write("{not json")
    cache.get_or_mint("p", "id", mint, 300)
    assert mint.calls == 2


def _planted(cache, identity, password, clock, **extra):
    """A well-formed entry (what an older writer or another tool could put there), no valid MAC."""
    cred = Credential("r", "u", password, clock() + datetime.timedelta(seconds=3600)).as_dict()
    cred.update({"format": _cache.FORMAT}, **extra)
    path = cache.disk_entry("p", identity) + ".json"
    with open(path, "w") as f:
        json.dump(cred, f)
    os.chmod(path, 0o600)
    return path


def test_cache_dir_entries_this_collection_did_not_write_are_refused(tmp_path):
    clock = Clock()
    mint = Minter(clock)
    cache = _cache_for(tmp_path, clock, run_id="1-1")
    cache.prepare()
    path = _planted(cache, "id", "planted-password", clock)
    cred = cache.get_or_mint("p", "id", mint, 300)
    assert cred.password != "planted-password" and mint.calls == 1
    assert len(cache.rejected) == 1 and "MAC" in cache.rejected[0] and path in cache.rejected[0]
    # what it wrote instead carries a MAC that a forged "mac" field cannot match
    data = json.loads(Path(path).read_text())
    data["password"] = "forged"  # the mac field kept as it was
    Path(path).write_text(json.dumps(data))
    cache2 = _cache_for(tmp_path, clock, run_id="2-1")
    assert cache2.get_or_mint("p", "id", mint, 300).password != "forged" and mint.calls == 2


def test_an_entry_moved_to_another_identity_is_refused(tmp_path):
    clock = Clock()
    mint = Minter(clock)
    cache = _cache_for(tmp_path, clock, run_id="1-1")
    cache.get_or_mint("p", "alice", mint, 300)
    alice = cache.disk_entry("p", "alice") + ".json"
    os.replace(alice, cache.disk_entry("p", "mallory") + ".json")
    cache2 = _cache_for(tmp_path, clock, run_id="2-1")
    cache2.get_or_mint("p", "mallory", mint, 300)
    assert mint.calls == 2 and cache2.last_source == "mint" and "MAC" in cache2.rejected[0]


@pytest.mark.parametrize("mode", [0o644, 0o660, 0o604])
def test_an_entry_others_could_write_or_read_is_refused(tmp_path, mode):
    clock = Clock()
    mint = Minter(clock)
    _cache_for(tmp_path, clock, run_id="1-1").get_or_mint("p", "id", mint, 300)
    cache = _cache_for(tmp_path, clock, run_id="2-1")
    path = cache.disk_entry("p", "id") + ".json"
    os.chmod(path, mode)
    cache.get_or_mint("p", "id", mint, 300)
    assert mint.calls == 2 and cache.last_source == "mint"
    assert oct(mode) in cache.rejected[0]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600  # replaced by a private one


def test_lock_files_do_not_pile_up(tmp_path):
    clock = Clock()
    mint = Minter(clock, lifetime=1000)
    cache = _cache_for(tmp_path, clock, run_id="1-1")
    for i in range(20):
        cache.get_or_mint("p", "id-%d" % i, mint, 300)
    cache.get_or_mint("oauth2", "no-expiry", lambda: Credential("r", "u", "x", None), 300)
    disk = tmp_path / "disk"
    assert len(list(disk.glob("*.lock"))) == 20 and len(list(disk.glob("*.json"))) == 20
    (disk / ".tmp-crashed").write_text("{}")
    os.utime(disk / ".tmp-crashed", (0, 0))
    (disk / ("0" * 64 + ".lock")).write_text("")  # a lock whose entry is gone
    clock.advance(2000)  # all expired
    cache2 = _cache_for(tmp_path, clock, run_id="2-1")
    cache2.get_or_mint("p", "id-0", mint, 300)
    assert sorted(p.name for p in disk.iterdir()) == sorted(
        [
            ".key",
            os.path.basename(cache2.disk_entry("p", "id-0")) + ".json",
            os.path.basename(cache2.disk_entry("p", "id-0")) + ".lock",
        ]
    )
    assert cache2.rejected == []


def test_a_lock_removed_while_waited_for_is_not_shared(tmp_path):
    path = str(tmp_path / "x.lock")
    holder = rc.FileLock(path)
    holder.acquire()
    got = []

    def waiter():
        with rc.FileLock(path):
            got.append(os.stat(path).st_ino)

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.2)
    holder.remove()
    third = rc.FileLock(path)
    assert third.acquire()  # the new file: nobody holds it
    holder.release()
    time.sleep(0.2)
    assert got == []  # the waiter got the removed file's lock, saw it was gone and now waits for the third
    third.release()
    t.join(5)
    assert len(got) == 1


def test_a_shared_or_foreign_directory_is_refused(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir(mode=0o755)
    os.chmod(disk, 0o755)
    cache = _cache.TokenCache(run_base=str(tmp_path / "run"), disk_dir=str(disk), run_id="1-1")
    with pytest.raises(
        TokenError,
        match=r"cache_dir .* must be a directory owned by uid \d+ with mode 0700 "
        r"\(found 0o755",
    ):
        cache.get_or_mint("p", "id", Minter(Clock()), 0)
    link = tmp_path / "link"
    link.symlink_to(tmp_path)
    cache = _cache.TokenCache(run_base=str(tmp_path / "run"), disk_dir=str(link), run_id="1-1")
    with pytest.raises(TokenError, match="must be a directory"):
        cache.get_or_mint("p", "id", Minter(Clock()), 0)


def _worker(run_base, counter, barrier):
    barrier.wait()

    def mint():
        with open(counter, "a") as f:
            f.write("x")
        time.sleep(0.3)  # widen the window in which the other processes ask for the same identity
        return Credential("r", "u", SECRET, datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1))

    cache = _cache.TokenCache(run_base=run_base)  # run id from the parent process, as in an ansible worker
    cred = cache.get_or_mint("p", "id", mint, 300)
    assert cred.password == SECRET


def test_forked_workers_of_one_run_mint_once(tmp_path):
    ctx = multiprocessing.get_context("fork")
    counter = tmp_path / "mints"
    barrier = ctx.Barrier(8)
    procs = [ctx.Process(target=_worker, args=(str(tmp_path), str(counter), barrier)) for _unused in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0] * 8
    assert counter.read_text() == "x"
    # the workers used the run directory named after this (their parent) process
    runs = os.listdir(tmp_path / ("cloud_registry_auth-%d" % os.getuid()))
    assert runs == ["run-%d-%s" % (os.getpid(), rc.process_start(os.getpid()))]


def test_main_process_pid_in_a_forked_child_is_the_parent():
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=lambda: queue.put(rc.main_process_pid()))
    proc.start()
    got = queue.get(timeout=30)
    proc.join(30)
    assert got == os.getpid() and rc.main_process_pid() == os.getpid()


def test_sweep_removes_runs_whose_process_ended_and_keeps_live_ones(tmp_path):
    root = tmp_path / ("cloud_registry_auth-%d" % os.getuid())
    root.mkdir(mode=0o700)
    live = "run-%d-%s" % (os.getpid(), rc.process_start(os.getpid()))
    proc = multiprocessing.get_context("fork").Process(target=lambda: None)
    proc.start()
    proc.join()
    dead = "run-%d-%s" % (proc.pid, "12345")
    recycled = "run-%d-%s" % (os.getpid(), "1")  # our pid, another start time: a recycled pid
    for name in (live, dead, recycled):
        (root / name).mkdir(mode=0o700)
        (root / name / "x.json").write_text("{}")
    cache = _cache.TokenCache(run_base=str(tmp_path), run_id="999999-1")
    removed = sorted(cache.sweep())
    assert removed == sorted([dead, recycled])
    assert sorted(os.listdir(root)) == [live]


def test_a_failed_mint_is_not_retried_in_the_same_run(tmp_path):
    calls = []

    def failing():
        calls.append(1)
        raise TokenError("registry_token provider=p: HTTP 401 for user with %s; check the secret" % SECRET)

    cache = _cache_for(tmp_path, Clock(), disk=False)
    for _unused in range(3):
        with pytest.raises(TokenError) as err:
            cache.get_or_mint("p", "id", failing, 300, scrub=lambda m: m.replace(SECRET, "********"))
        assert "HTTP 401" in str(err.value)
    assert calls == [1]
    failed = [p for p in Path(cache.run_dir).iterdir() if p.suffix == ".failed"]
    assert len(failed) == 1 and SECRET not in failed[0].read_text()
    assert stat.S_IMODE(failed[0].stat().st_mode) == 0o600
    # another min_ttl is another request: tried again; another run (new run id) too
    with pytest.raises(TokenError):
        cache.get_or_mint("p", "id", failing, 60)
    with pytest.raises(TokenError):
        _cache_for(tmp_path, Clock(), run_id="2-2", disk=False).get_or_mint("p", "id", failing, 300)
    assert calls == [1, 1, 1]


def test_only_the_creator_of_the_run_directory_spawns_a_reaper(tmp_path):
    spawned = []

    def reaper(*a):
        spawned.append(a)

    for _unused in range(3):
        _cache.TokenCache(run_base=str(tmp_path), reaper=reaper).get_or_mint("p", "id", Minter(Clock()), 0)
    assert (
        len(spawned) == 1
        and spawned[0][0] == os.getpid()
        and spawned[0][2].endswith("run-%d-%s" % (os.getpid(), rc.process_start(os.getpid())))
    )
    _cache.TokenCache(run_base=str(tmp_path), run_id="7-7", reaper=reaper).get_or_mint("p", "id", Minter(Clock()), 0)
    assert len(spawned) == 1  # explicit run ids (tests) never spawn
