"""Every relative link of the READMEs (the collection's, the roles') leads to a file of
this repository, so what Galaxy, Automation Hub and a Git host render does not break
when a guide moves; and no link names a placeholder host."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
READMES = [REPO / "README.md", *sorted(REPO.glob("roles/*/README.md"))]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def links(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.S)  # code blocks hold no links
    return LINK.findall(text)


@pytest.mark.parametrize("readme", READMES, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_resolve(readme):
    broken = []
    for href in links(readme):
        if re.match(r"^[a-z]+:", href) or href.startswith("#"):
            continue
        target = (readme.parent / href.split("#", 1)[0]).resolve()
        if not target.exists() or REPO.resolve() not in target.parents:
            broken.append(href)
    assert not broken, f"{readme.relative_to(REPO)}: links to nothing in the repository: {broken}"


@pytest.mark.parametrize("readme", READMES, ids=lambda p: str(p.relative_to(REPO)))
def test_no_placeholder_hosts(readme):
    bad = [h for h in links(readme) if re.search(r"//(www\.)?(example\.(com|org)|github\.com/cloud-registry)", h)]
    assert not bad, bad


def test_the_guides_are_linked_from_the_readme():
    linked = {h.split("#", 1)[0] for h in links(REPO / "README.md")}
    guides = {f"docs/docsite/rst/{p.name}" for p in (REPO / "docs" / "docsite" / "rst").glob("*.rst")}
    assert guides and guides <= linked, sorted(guides - linked)
