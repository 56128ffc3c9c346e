"""plugin_utils/code_cache.py: a worker after the first reads this collection's bytecode instead of compiling it;
the modules are the ones ansible-core's collection loader would give; an entry that is not exactly ours (altered,
another owner, group-writable, a symlink) or a directory that is not private is never used; off means off."""

from __future__ import annotations

import json
import marshal
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from ansible_collections.cloud_registry.auth.plugins.plugin_utils import code_cache

ROOT = Path(os.path.abspath(code_cache.__file__)).parents[5]  # the directory that holds ansible_collections/

# a process set up the way ansible-playbook's workers are: ansible-core's collection finder, then our import
_WORKER = """
import builtins, json, sys
from ansible.plugins.loader import init_plugin_loader
init_plugin_loader([sys.argv[1]])
compiled = []
real_compile = builtins.compile
def spy(source, filename, *args, **kwargs):
    compiled.append(str(filename))
    return real_compile(source, filename, *args, **kwargs)
builtins.compile = spy
from ansible_collections.cloud_registry.auth.plugins.plugin_utils.code_cache import cached_imports
with cached_imports():
    from ansible_collections.cloud_registry.auth.plugins.module_utils import reference
print(json.dumps({
    "compiled": sorted(name.rsplit("/", 1)[-1] for name in compiled if "cloud_registry" in name),
    "file": reference.__file__,
    "spec_name": reference.__spec__.name,
    "key": reference.normalize_registry("https://Docker.io/v2/"),
    "meta_path": [type(f).__name__ for f in sys.meta_path],
}))
"""


def _worker(tmp_path, **env):
    proc = subprocess.run(
        [sys.executable, "-c", _WORKER, str(ROOT)],
        capture_output=True,
        text=True,
        timeout=120,
        env=dict(os.environ, TMPDIR=str(tmp_path), ANSIBLE_COLLECTIONS_PATH=str(ROOT), **env),
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _entries(tmp_path):
    base = tmp_path / ("cloud_registry_auth-%d" % os.getuid()) / ("code-" + sys.implementation.cache_tag)
    return base, sorted(p for p in base.iterdir() if not p.name.startswith(".")) if base.is_dir() else []


def test_a_second_worker_reads_the_bytecode_and_gets_the_same_module(tmp_path):
    first = _worker(tmp_path)
    assert "reference.py" in first["compiled"]
    base, entries = _entries(tmp_path)
    assert entries, "the first worker keeps the code objects it compiled"
    assert stat.S_IMODE(base.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(e.stat().st_mode) == 0o600 for e in entries)
    second = _worker(tmp_path)
    assert "reference.py" not in second["compiled"]
    for key in ("file", "spec_name", "key"):
        assert second[key] == first[key]
    assert first["file"].endswith("plugins/module_utils/reference.py")
    assert second["key"] == "https://index.docker.io/v1/"
    assert "_CachedCodeFinder" not in second["meta_path"], "the finder is only there inside the block"


def _tamper_all(tmp_path, how):
    _base, entries = _entries(tmp_path)
    assert entries
    for entry in entries:
        how(entry)


@pytest.mark.parametrize("how", ["altered", "group_writable", "other_owner", "symlink"])
def test_an_entry_that_is_not_exactly_ours_is_not_used(tmp_path, how):
    _worker(tmp_path)

    def altered(entry):  # valid marshal data of other code, under the digest of the original
        data = entry.read_bytes()
        head = len(code_cache._HEADER) + 32
        entry.write_bytes(data[:head] + marshal.dumps(compile("raise SystemExit(3)", "evil", "exec")))

    def group_writable(entry):
        entry.chmod(0o620)

    def other_owner(entry):
        if os.getuid() != 0:
            pytest.skip("needs root to give a file away")
        os.chown(entry, 65534, 65534)

    def symlink(entry):
        target = entry.with_name("elsewhere-" + entry.name)
        entry.rename(target)
        entry.symlink_to(target)

    _tamper_all(
        tmp_path, {"altered": altered, "group_writable": group_writable, "other_owner": other_owner, "symlink": symlink}[how]
    )
    again = _worker(tmp_path)
    assert "reference.py" in again["compiled"], "compiled from source, as without the cache"
    assert again["key"] == "https://index.docker.io/v1/"


def test_a_directory_that_is_not_private_is_not_used(tmp_path):
    _worker(tmp_path)
    base, _entries_before = _entries(tmp_path)
    base.chmod(0o755)
    again = _worker(tmp_path)
    assert "reference.py" in again["compiled"]
    assert stat.S_IMODE(base.stat().st_mode) == 0o755, "left as found: not ours to fix"
    assert code_cache.cache_dir(str(tmp_path)) is None


@pytest.mark.parametrize("value", ["off", "0", "False", "no"])
def test_off_compiles_everything_and_writes_nothing(tmp_path, value):
    first = _worker(tmp_path, CLOUD_REGISTRY_AUTH_CODE_CACHE=value)
    second = _worker(tmp_path, CLOUD_REGISTRY_AUTH_CODE_CACHE=value)
    assert "reference.py" in first["compiled"] and "reference.py" in second["compiled"]
    assert not (tmp_path / ("cloud_registry_auth-%d" % os.getuid())).exists()


def test_cached_keys_on_every_part_and_keeps_only_what_marshal_holds(tmp_path, monkeypatch):
    monkeypatch.delenv(code_cache.SWITCH, raising=False)
    calls = []

    def compute(value):
        def run():
            calls.append(value)
            return value

        return run

    root = str(tmp_path)
    assert code_cache.cached("options", [b"doc", b"frag"], compute({"a": [1, None, True]}), root=root) == {"a": [1, None, True]}
    assert code_cache.cached("options", [b"doc", b"frag"], compute("not called"), root=root) == {"a": [1, None, True]}
    assert calls == [{"a": [1, None, True]}]
    # the parts are length-prefixed: moving a byte from one part to the next is another key
    assert code_cache.cached("options", [b"do", b"cfrag"], compute("other"), root=root) == "other"
    assert code_cache.cached("code", [b"doc", b"frag"], compute("another kind"), root=root) == "another kind"
    kept = len(_entries(tmp_path)[1])
    unmarshallable = object()
    assert code_cache.cached("options", [b"x"], lambda: unmarshallable, root=root) is unmarshallable
    assert len(_entries(tmp_path)[1]) == kept


def test_compiled_follows_the_source_and_names_its_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.delenv(code_cache.SWITCH, raising=False)
    origin = str(tmp_path / "mod.py")
    one = code_cache.compiled(origin, b"VALUE = 1\n")
    two = code_cache.compiled(origin, b"VALUE = 2\n")
    ns_one, ns_two = {}, {}
    exec(one, ns_one)  # noqa: S102
    exec(two, ns_two)  # noqa: S102
    assert (ns_one["VALUE"], ns_two["VALUE"]) == (1, 2), "an edited file is never served its old code"
    assert one.co_filename == origin, "tracebacks name the real file"
    again = code_cache.compiled(origin, b"VALUE = 1\n")
    assert again.co_filename == origin and again.co_consts == one.co_consts
