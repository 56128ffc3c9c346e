# -*- coding: utf-8 -*-
# Copyright: cloud_registry.auth contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private: a configurable plugin's option definitions, registered at import with libyaml (not public API).

ansible-core reads a lookup's options from its DOCUMENTATION (and its doc fragments) with its own
pure-Python YAML loader each time a process loads the plugin - in every forked worker, for every
host, about 25 ms for ``registry_token``'s documentation, more than the lookup's cache hit. When
the definitions are registered already, the loader skips that parse. ``register_options`` parses
the same text with libyaml's C loader (about 1 ms) and merges the fragments the way ansible-core's
``add_fragments`` merges options (the plugin's own keys win), so the documentation stays the one
source; ``tests/unit/plugins/plugin_utils/test_fast_docs.py`` checks the result against what
ansible-core computes. Without libyaml, or for a fragment outside this collection, it does nothing
and ansible-core's own path runs as before.

The result is kept in ``plugin_utils.code_cache`` under a key over the documentation and the
source of every doc fragment file of this collection, so a worker after the first one reads it
(about 0.1 ms) instead of parsing YAML again; an edit to either parses again.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import os

from ansible_collections.cloud_registry.auth.plugins.plugin_utils import code_cache

COLLECTION = "cloud_registry.auth"
_FRAGMENTS = "ansible_collections.cloud_registry.auth.plugins.doc_fragments."


def _load(text):
    import yaml

    return yaml.load(text, Loader=yaml.CSafeLoader) or {}  # AttributeError without libyaml


def option_definitions(documentation):
    """The ``options`` of ``documentation`` with its fragments merged in; None when a fragment is not this
    collection's (ansible-core then does it)."""
    doc = _load(documentation)
    options = dict(doc.get("options") or {})
    fragments = doc.get("extends_documentation_fragment") or []
    if isinstance(fragments, str):
        fragments = fragments.split(",")
    for slug in fragments:
        parts = slug.strip().split(".")
        if parts[:2] != COLLECTION.split(".") or len(parts) not in (3, 4):
            return None
        module = importlib.import_module(_FRAGMENTS + parts[2])
        text = getattr(module.ModuleDocFragment, parts[3].upper() if len(parts) == 4 else "DOCUMENTATION", None)
        if text is None:
            return None
        for name, spec in (_load(text).get("options") or {}).items():
            if name in options and isinstance(options[name], dict):
                spec = dict(spec, **options[name])
            options[name] = spec
    return options


def _fragment_sources():
    """Name and bytes of each of this collection's doc fragment files: part of the cache key."""
    directory = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "doc_fragments")
    parts = []
    for name in sorted(os.listdir(directory)):
        if name.endswith(".py"):
            with open(os.path.join(directory, name), "rb") as f:
                parts += [name.encode("utf-8"), f.read()]
    return parts


def register_options(plugin_type, name, documentation):
    """Register the option definitions of plugin ``name`` (fully qualified) unless they are; True when done."""
    try:
        import yaml

        from ansible import constants as C

        yaml.CSafeLoader  # noqa: B018 - libyaml or nothing: the pure-Python loaders are what this avoids
    except (ImportError, AttributeError):
        return False
    try:
        if C.config.has_configuration_definition(plugin_type, name):
            return False
        options = code_cache.cached(
            "options", [documentation.encode("utf-8")] + _fragment_sources(), lambda: option_definitions(documentation)
        )
    except Exception:  # noqa: BLE001 - any surprise: ansible-core's own loader reads the documentation instead
        return False
    if options is None:
        return False
    C.config.initialize_plugin_configuration_definitions(plugin_type, name, options)
    return True
