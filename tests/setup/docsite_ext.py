"""Sphinx extension that tests/setup/docs-build.sh adds to the collection docsite.

Home link: the Ansible theme links its sidebar home to ``/``, right only for a site at the
root of its host. Each page's home link goes to this site's own index instead.

Offline (``cra_docs_offline = True``, what ``DOCS_OFFLINE=1`` sets): the pages
antsibull-docs generates refer to labels of the main Ansible docsite
(``common_return_values``, ``action_plugins``, the ``ANSIBLE_DEBUG`` envvar) and of other
collections (``kubernetes.core.k8s``), resolved through intersphinx inventories fetched
from docs.ansible.com; where they cannot be fetched, ``-W`` fails the build on each. Then
no inventory is fetched, and a reference that leaves this collection is shown as its text
without a link. A reference to one of this collection's own labels
(``ansible_collections.cloud_registry.auth.*``) that does not resolve still warns, so a
broken link between our pages still fails the build.
"""

from __future__ import annotations

OWN_PREFIX = "ansible_collections.cloud_registry.auth."


def _offline_inventories(app, config):
    if config.cra_docs_offline:
        config.intersphinx_mapping = {}


def _external_as_text(app, env, node, contnode):
    if not app.config.cra_docs_offline:
        return None
    target = node.get("reftarget", "") or ""
    if target.lower().startswith(OWN_PREFIX):
        return None  # ours: let Sphinx warn (and -W fail the build)
    return contnode


def _home_is_this_site(app, pagename, templatename, context, doctree):
    context["theme_documentation_home_url"] = context["pathto"](app.config.root_doc)


def setup(app):
    app.add_config_value("cra_docs_offline", False, "env")
    app.connect("config-inited", _offline_inventories, priority=900)
    app.connect("missing-reference", _external_as_text)
    app.connect("html-page-context", _home_is_this_site)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
