"""Unit tests for plugin_utils/run_cache.py: once per run across processes, private files,
no secret in names or contents, stale runs swept."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time

from ansible_collections.cloud_registry.auth.plugins.plugin_utils import run_cache as rc
from ansible_collections.cloud_registry.auth.plugins.plugin_utils.run_cache import RunCache, run_id


def _worker(root, rid, material, counter_path, q):
    cache = RunCache("test", root=root, rid=rid)

    def compute():
        with open(counter_path, "a") as f:
            f.write("x")
        return {"ok": True}, "the-secret-token"

    public, secret, cached = cache.get_or_compute(material, compute)
    q.put((public, secret, cached))


def test_computed_once_across_processes(tmp_path):
    counter = tmp_path / "count"
    counter.write_text("")
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(str(tmp_path), "1-1", "cred-material", str(counter), q)) for _unused in range(8)]
    for p in procs:
        p.start()
    results = [q.get(timeout=30) for _unused in procs]
    for p in procs:
        p.join(10)
    assert counter.read_text() == "x"
    assert all(r[0] == {"ok": True} and r[1] == "the-secret-token" for r in results)
    assert sum(1 for r in results if not r[2]) == 1


def test_files_private_and_secret_free(tmp_path):
    cache = RunCache("ns", root=str(tmp_path), rid="2-2")
    cache.get_or_compute("user:hunter2-password", lambda: ({"ok": True}, "refresh-token-value"))
    base = tmp_path / f"cloud_registry_auth-{os.getuid()}"
    assert oct(base.stat().st_mode & 0o777) == "0o700"
    assert oct((base / "run-2-2").stat().st_mode & 0o777) == "0o700"
    for p in (base / "run-2-2").iterdir():
        assert oct(p.stat().st_mode & 0o777) == "0o600"
        assert "hunter2" not in p.name
        body = p.read_bytes()
        assert b"hunter2" not in body and b"refresh-token-value" not in body
    # another material is another entry; the same material is a hit
    other = cache.get_or_compute("other", lambda: ({"ok": False, "error": "e"}, None))
    assert other == ({"ok": False, "error": "e"}, None, False)
    assert cache.get_or_compute("user:hunter2-password", lambda: ({"ok": "recomputed"}, None))[2] is True


def test_expired_entries_are_recomputed(tmp_path):
    cache = RunCache("ns", root=str(tmp_path), rid="3-3", ttl=-1)
    cache.get_or_compute("m", lambda: ({"n": 1}, None))
    assert cache.get_or_compute("m", lambda: ({"n": 2}, None)) == ({"n": 2}, None, False)


def test_stale_runs_are_swept(tmp_path):
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    dead = run_id(proc.pid)  # a process that has ended
    RunCache("ns", root=str(tmp_path), rid=dead).get_or_compute("m", lambda: ({"a": 1}, "s"))
    base = tmp_path / f"cloud_registry_auth-{os.getuid()}"
    assert (base / f"run-{dead}").is_dir()
    RunCache("ns", root=str(tmp_path), rid=run_id(os.getpid()))
    assert not (base / f"run-{dead}").exists()
    assert (base / f"run-{run_id(os.getpid())}").is_dir()


def _put_run_id(q):
    q.put(run_id())


def test_run_id_is_the_parent_process():
    # a forked worker (as ansible's WorkerProcess) names the run after its parent
    ctx = multiprocessing.get_context("fork")
    q = ctx.Queue()
    proc = ctx.Process(target=_put_run_id, args=(q,))
    proc.start()
    got = q.get(timeout=30)
    proc.join(30)
    assert got.split("-")[0] == str(os.getpid())
    assert json.dumps(run_id())  # a plain string


def test_secret_encryption_round_trip_and_tamper(tmp_path):
    cache = RunCache("ns", root=str(tmp_path), rid="4-4")
    token = cache.encrypt("material", "identity-token-Ω-" + "x" * 100)
    assert "identity-token" not in token
    assert cache.decrypt("material", token) == "identity-token-Ω-" + "x" * 100
    assert cache.decrypt("other material", token) is None  # wrong credential: no plaintext
    raw = bytearray(__import__("base64").b64decode(token))
    raw[20] ^= 1
    assert cache.decrypt("material", __import__("base64").b64encode(bytes(raw)).decode()) is None
    assert cache.encrypt("material", "same") != cache.encrypt("material", "same")  # random nonce


def test_reaper_removes_the_run_directory_once_the_main_process_exits(tmp_path):
    main = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    run_dir = tmp_path / "run-x"
    run_dir.mkdir()
    (run_dir / "k.json").write_text("{}")
    assert rc.spawn_reaper(main.pid, rc.process_start(main.pid), str(run_dir))
    time.sleep(1.5)  # the reaper polls; the main process is alive, so nothing may be removed
    assert (run_dir / "k.json").exists()
    main.stdin.close()
    main.wait(30)
    deadline = time.monotonic() + 30
    while run_dir.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not run_dir.exists()
