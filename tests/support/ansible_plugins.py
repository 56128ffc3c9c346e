"""Ansible's own plugin loader, in-process, for unit tests of the collection's plugins.

The test harness imports ``ansible_collections`` as a plain namespace package (unit tests
import module_utils through it), which ansible-core's collection finder cannot take over:
``collection_plugins()`` sets those modules aside, installs the finder the way
ansible-playbook does, and puts everything back afterwards, so other test modules keep
their own imports.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

COLLECTIONS = Path(__file__).resolve().parents[2] / ".tmp" / "collections"


def _collection_modules() -> dict:
    return {k: v for k, v in sys.modules.items() if k == "ansible_collections" or k.startswith("ansible_collections.")}


@contextlib.contextmanager
def collection_plugins():
    """Within: ``ansible.plugins.loader`` finds ``cloud_registry.auth`` plugins as ansible-playbook does."""
    from ansible.plugins.loader import init_plugin_loader
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    saved = _collection_modules()
    for name in saved:
        del sys.modules[name]
    try:
        init_plugin_loader([str(COLLECTIONS)])
        yield
    finally:
        _AnsibleCollectionFinder._remove()
        for name in _collection_modules():
            del sys.modules[name]
        sys.modules.update(saved)
