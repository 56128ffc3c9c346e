"""plugin_utils/fast_docs.py: the option definitions registered at import (libyaml) are the ones ansible-core's
own loader computes from the same DOCUMENTATION and doc fragments, so the fast path changes no option's type,
default, choices or environment variable."""

from __future__ import annotations


from ansible_collections.cloud_registry.auth.plugins.lookup import registry_token
from ansible_collections.cloud_registry.auth.plugins.plugin_utils import fast_docs

CONFIG_KEYS = ("type", "default", "choices", "elements", "env", "ini", "vars", "required", "aliases", "no_log", "deprecated")


_COMPARE = """
import json, sys, yaml
from ansible.plugins.loader import init_plugin_loader, fragment_loader
init_plugin_loader([sys.argv[1]])
from ansible._internal._yaml._loader import AnsibleLoader
from ansible.utils.plugin_docs import add_fragments
from ansible_collections.cloud_registry.auth.plugins.lookup import registry_token
from ansible_collections.cloud_registry.auth.plugins.plugin_utils import fast_docs
doc = yaml.load(registry_token.DOCUMENTATION, Loader=AnsibleLoader)
add_fragments(doc, registry_token.__file__, fragment_loader=fragment_loader, is_module=False)
ours = fast_docs.option_definitions(registry_token.DOCUMENTATION)
keys = %r
def plain(v):
    if isinstance(v, dict):
        return {str(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    if isinstance(v, bool) or v is None:
        return v
    for kind in (int, float, str):
        if isinstance(v, kind):
            return kind(v)
    return repr(v)
view = lambda o: {n: {k: plain(s[k]) for k in keys if k in s} for n, s in o.items()}
print(json.dumps({"ansible": view(doc["options"]), "ours": view(ours)}))
""" % (CONFIG_KEYS,)


def test_registry_token_options_equal_what_ansible_core_computes():
    """In a process of its own, where ansible-core's plugin loader finds the collection's doc fragments."""
    import json
    import os
    import subprocess
    import sys

    root = os.path.abspath(os.path.join(os.path.dirname(registry_token.__file__), *[".."] * 5))
    proc = subprocess.run(
        [sys.executable, "-c", _COMPARE, root],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=root),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert sorted(got["ours"]) == sorted(got["ansible"])
    assert got["ours"] == got["ansible"]
    assert "credentials_file" in got["ours"] and len(got["ours"]) > 40  # the gcp_auth fragment's, and ours


def test_the_plugin_keeps_its_definitions_under_the_name_ansible_core_looks_up():
    from ansible import constants as C

    assert C.config.has_configuration_definition("lookup", registry_token.__name__)
    assert not fast_docs.register_options("lookup", registry_token.__name__, registry_token.DOCUMENTATION)


def test_a_fragment_of_another_collection_leaves_it_to_ansible_core():
    text = "options:\n  a: {type: str}\nextends_documentation_fragment: [community.general.proxmox]\n"
    assert fast_docs.option_definitions(text) is None
    text = "options:\n  a: {type: str, default: x}\nextends_documentation_fragment: [cloud_registry.auth.gcp_auth]\n"
    merged = fast_docs.option_definitions(text)
    assert merged["a"] == {"type": "str", "default": "x"} and "credentials_file" in merged
