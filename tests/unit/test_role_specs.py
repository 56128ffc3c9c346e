"""Every role in roles/ follows the collection's role contract (STYLE.md, Roles).

- ``meta/argument_specs.yml`` exists and has an entry point for every file the
  role can be entered through (``tasks/main.yml`` at least), each option typed and
  described;
- ``defaults/main.yml`` keys equal the union of the entry points' options that are
  not ``required`` (a required option has no default), and a default given in the
  spec equals the one in ``defaults/main.yml``;
- public variables are ``<role>_*``; variables the role registers or sets with
  ``set_fact`` are ``_<role>_*`` (internal) unless the spec or README documents
  them as published facts;
- handlers never run in check mode;
- every role has a README that names each option.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

ROLES = Path(__file__).resolve().parents[2] / "roles"
ROLE_DIRS = sorted(p for p in ROLES.iterdir() if p.is_dir() and (p / "tasks").is_dir())


def _load(path: Path):
    with path.open() as f:
        return yaml.safe_load(f)


def _walk_tasks(tasks):
    for task in tasks or []:
        if not isinstance(task, dict):
            continue
        yield task
        for key in ("block", "rescue", "always"):
            if key in task:
                yield from _walk_tasks(task[key])


def test_there_are_roles():
    assert ROLE_DIRS, "no role found under roles/"


@pytest.mark.parametrize("role", ROLE_DIRS, ids=lambda p: p.name)
def test_argument_specs_cover_entry_points(role: Path):
    spec_file = role / "meta" / "argument_specs.yml"
    assert spec_file.is_file(), f"{role.name}: meta/argument_specs.yml is missing"
    specs = _load(spec_file)["argument_specs"]
    assert "main" in specs, f"{role.name}: argument_specs has no 'main' entry point"
    for entry in specs:
        assert (role / "tasks" / f"{entry}.yml").is_file(), f"{role.name}: entry point {entry} has no tasks/{entry}.yml"
        assert specs[entry].get("short_description"), f"{role.name}:{entry}: short_description missing"
        for name, opt in (specs[entry].get("options") or {}).items():
            assert "type" in opt, f"{role.name}:{entry}: option {name} has no type"
            assert opt.get("description"), f"{role.name}:{entry}: option {name} has no description"
            assert name.startswith(f"{role.name}_"), f"{role.name}: option {name} is not prefixed {role.name}_"


@pytest.mark.parametrize("role", ROLE_DIRS, ids=lambda p: p.name)
def test_defaults_equal_spec_options(role: Path):
    specs = _load(role / "meta" / "argument_specs.yml")["argument_specs"]
    options = {}
    for entry in specs.values():
        options.update(entry.get("options") or {})
    defaults = _load(role / "defaults" / "main.yml") or {}
    required = {name for name, opt in options.items() if opt.get("required")}
    optional = set(options) - required
    assert not required & set(defaults), (
        f"{role.name}: required option(s) {sorted(required & set(defaults))} must not have a value in defaults/main.yml"
    )
    assert set(defaults) == optional, (
        f"{role.name}: defaults/main.yml and meta/argument_specs.yml differ: "
        f"only in defaults {sorted(set(defaults) - optional)}, only in spec {sorted(optional - set(defaults))}"
    )
    for name in optional:
        opt = options[name]
        if "default" in opt:
            assert opt["default"] == defaults[name], (
                f"{role.name}: option {name}: spec default {opt['default']!r} != defaults/main.yml {defaults[name]!r}"
            )


@pytest.mark.parametrize("role", ROLE_DIRS, ids=lambda p: p.name)
def test_internal_variables_are_prefixed(role: Path):
    readme = (role / "README.md").read_text() if (role / "README.md").is_file() else ""
    bad = []
    for tasks_file in sorted((role / "tasks").glob("*.yml")) + sorted((role / "handlers").glob("*.yml")):
        for task in _walk_tasks(_load(tasks_file)):
            names = []
            if "register" in task:
                names.append(task["register"])
            for key in ("ansible.builtin.set_fact", "set_fact"):
                if isinstance(task.get(key), dict):
                    names += [k for k in task[key] if k != "cacheable"]
            for name in names:
                if name.startswith(f"_{role.name}_"):
                    continue
                if name.startswith(f"{role.name}_") and f"`{name}`" in readme:
                    continue  # a published fact, documented in the README
                bad.append(f"{tasks_file.name}: {name}")
    assert not bad, f"{role.name}: variables must be _{role.name}_* (or documented published facts): {bad}"


@pytest.mark.parametrize("role", ROLE_DIRS, ids=lambda p: p.name)
def test_handlers_skip_check_mode(role: Path):
    handlers = role / "handlers" / "main.yml"
    if not handlers.is_file():
        return
    for task in _walk_tasks(_load(handlers)):
        when = task.get("when", [])
        when = [when] if isinstance(when, str) else when
        assert any("not ansible_check_mode" in str(w) for w in when), (
            f"{role.name}: handler {task.get('name')!r} must carry `when: not ansible_check_mode`"
        )


@pytest.mark.parametrize("role", ROLE_DIRS, ids=lambda p: p.name)
def test_readme_documents_every_option(role: Path):
    readme = role / "README.md"
    assert readme.is_file(), f"{role.name}: README.md is missing"
    text = readme.read_text()
    specs = _load(role / "meta" / "argument_specs.yml")["argument_specs"]
    missing = [name for entry in specs.values() for name in (entry.get("options") or {}) if name not in text]
    assert not missing, f"{role.name}: README.md does not mention {missing}"
