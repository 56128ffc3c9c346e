"""The collection docsite, built for real and opened in a real headless Chromium.

``tests/setup/docs-build.sh`` builds the site (antsibull-docs + ``sphinx-build -W``: a
warning, such as a broken reference between our pages, fails it) into this test's
directory; the lint stage runs its ``antsibull-docs lint-collection-docs --plugin-docs``.
Then Chromium (Debian's ``chromium``) renders the index, one page per plugin and role of
this repository and one per guide of ``docs/docsite/rst``. From the DOM Chromium built:
each page is the page it should be, every link between pages leads to a page that exists
(and to an element with that id, for a ``#fragment``), no link points to a placeholder
host, and a screenshot of the index (saved under ``tests/output/artifacts``) shows the
theme, not a blank page.
"""

from __future__ import annotations

import os
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import pytest

from support.browser import CHROMIUM, chromium
from support.png import colours, hex_rgb

REPO = Path(__file__).resolve().parents[3]
BUILD = REPO / "tests" / "setup" / "docs-build.sh"
ARTIFACTS = REPO / "tests" / "output" / "artifacts"
FQCN = "cloud_registry.auth"

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="chromium is installed by tests/setup/system-deps.sh"),
]


def expected_pages() -> dict[str, str]:
    """Page path -> what its title must hold, from this repository's files (not the site)."""
    pages = {}
    for kind in ("modules", "lookup"):
        suffix = "module" if kind == "modules" else "lookup"
        for path in (REPO / "plugins" / kind).glob("*.py"):
            if not path.name.startswith("_"):
                pages[f"{path.stem}_{suffix}.html"] = f"{FQCN}.{path.stem}"
    for path in (REPO / "plugins" / "filter").glob("*.yml"):
        pages[f"{path.stem}_filter.html"] = f"{FQCN}.{path.stem}"
    for path in (REPO / "roles").iterdir():
        if (path / "meta" / "argument_specs.yml").exists():
            pages[f"{path.name}_role.html"] = f"{FQCN}.{path.name}"
    for path in (REPO / "docs" / "docsite" / "rst").glob("*.rst"):
        title = next(line for line in path.read_text().splitlines()[2:] if line.strip())
        pages[f"docsite/{path.stem}.html"] = re.sub(r"``", "", title).strip()
    return pages


class _Dom(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("name"):
            self.ids.add(attrs["name"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        self._in_title = tag == "title"

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_title:
            self.title += data


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    work = tmp_path_factory.mktemp("docsite")
    proc = subprocess.run(
        [str(BUILD), "--no-lint"],
        cwd=REPO,
        env={**os.environ, "DOCS_DEST": str(work / "site")},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, f"docs build failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    html = work / "site" / "build" / "html"
    assert (html / "index.html").is_file()
    return html, work


@pytest.fixture(scope="module")
def rendered(site):
    """Every page of the site (not only the expected ones) as Chromium rendered it."""
    html, work = site
    paths = sorted(
        p.relative_to(html).as_posix()
        for p in html.rglob("*.html")
        if not p.relative_to(html).as_posix().startswith(("_", "search"))
    )

    def dump(rel):
        out = chromium("--dump-dom", (html / rel).as_uri(), profile=work / f"profile-{rel.replace('/', '_')}")
        assert out.returncode == 0, f"{rel}: {out.stderr[-1500:]}"
        dom = _Dom()
        dom.feed(out.stdout)
        return rel, dom

    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(pool.map(dump, paths))


def test_every_plugin_role_and_guide_has_its_page(rendered):
    missing = {}
    for rel, title in expected_pages().items():
        dom = rendered.get(rel)
        if dom is None:
            missing[rel] = "no page"
        elif title not in dom.title:
            missing[rel] = f"title {dom.title!r} does not name {title!r}"
    assert not missing, missing
    # the index and the plugin / role indexes (index_*.html) link every plugin and role page
    linked = {urldefrag(h)[0] for page, dom in rendered.items() if page.startswith("index") for h in dom.links}
    unlinked = [rel for rel in expected_pages() if not rel.startswith("docsite/") and rel not in linked]
    assert not unlinked, unlinked


def test_links_between_pages_resolve(site, rendered):
    html = site[0]
    broken, placeholder = [], []
    for rel, dom in rendered.items():
        base = (html / rel).parent
        for href in dom.links:
            parts = urlsplit(href)
            if parts.scheme in ("http", "https", "mailto"):
                if "github.com/cloud-registry" in href or "example.com" in parts.netloc:
                    placeholder.append((rel, href))
                continue
            target, fragment = urldefrag(href)
            path = (base / unquote(target)).resolve() if target else (html / rel).resolve()
            if not path.is_file():
                broken.append((rel, href))
                continue
            if fragment and path.suffix == ".html":
                target_rel = path.relative_to(html.resolve()).as_posix()
                if target_rel in rendered and unquote(fragment) not in rendered[target_rel].ids:
                    broken.append((rel, href))
    assert not broken, broken[:20]
    assert not placeholder, placeholder


def test_index_screenshot_shows_the_site(site):
    html, work = site
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "docsite-index.png"
    shot.unlink(missing_ok=True)
    taken = chromium(
        f"--screenshot={shot}", "--window-size=1300,1400", (html / "index.html").as_uri(), profile=work / "profile-shot"
    )
    assert shot.is_file(), taken.stderr[-2000:]
    seen = colours(shot)
    # the Ansible theme: its teal sidebar header and link blue, on many distinct colours (text)
    assert seen[hex_rgb("#5bbdbf")] > 1000 and seen[hex_rgb("#2980b9")] > 100, seen.most_common(8)
    assert len(seen) > 200
