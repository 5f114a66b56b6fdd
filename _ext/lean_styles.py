"""The theme's style sheet with only the rules the site can use: a step of :mod:`page_rewrites`.

pydata-sphinx-theme serves one style sheet of 397 kB (66 kB with gzip) that every page must
load before it shows anything: Bootstrap, the theme's own rules and Font Awesome's classes
for some two thousand icons. PurgeCSS (npm ``purgecss``, run by ``lean_styles.js``) keeps the
rules whose selectors the pages, or the scripts they load, can match; the pages then link
that sheet (:data:`LEAN`) instead of the theme's, under a digest of its content so that a
browser never keeps an older one. The theme's file stays in the site, unused.
"""

from __future__ import annotations

import hashlib
import json
import pathlib
import re

from build_inputs import run_node

SCRIPT = pathlib.Path(__file__).with_name("lean_styles.js")
SHEET = "_static/styles/pydata-sphinx-theme.css"  # the theme's, as Sphinx copies it into the site
LEAN = "_static/styles/pydata-sphinx-theme.lean.css"
LINK = re.compile(r'(<link href="[^"]*_static/styles/)pydata-sphinx-theme(?:\.lean)?\.css\?digest=[0-9a-f]+"')
SCRIPT_SRC = re.compile(r'<script[^>]*\ssrc="([^"?#]+)')


def loaded_scripts(pages: dict[pathlib.Path, str], site: pathlib.Path) -> list[pathlib.Path]:
    """The site's own script files that some page loads (``<script src>``), in order."""
    found = set()
    for path, text in pages.items():
        for source in SCRIPT_SRC.findall(text):
            if "//" in source:
                continue
            script = (path.parent / source).resolve()
            if script.is_file() and script.is_relative_to(site):
                found.add(script)
    return sorted(found)


def purged(css: str, pages: list[str], scripts: list[str], node_modules: pathlib.Path) -> str:
    """``css`` less the rules that nothing in ``pages`` and ``scripts`` can match."""
    payload = json.dumps({"css": css, "pages": pages, "scripts": scripts})
    return run_node(
        SCRIPT, payload, node_modules, who="lean_styles", purpose="to trim the style sheet", package="purgecss"
    )


def write_lean_sheet(site: pathlib.Path, pages: dict[pathlib.Path, str], node_modules: pathlib.Path) -> str | None:
    """Write :data:`LEAN` for ``pages`` (the site's pages as they will be written); its digest,
    or ``None`` when the site has no theme style sheet."""
    sheet = site / SHEET
    if not sheet.is_file():
        return None
    scripts = [path.read_text(encoding="utf-8") for path in loaded_scripts(pages, site)]
    lean = purged(sheet.read_text(encoding="utf-8"), list(pages.values()), scripts, node_modules)
    (site / LEAN).write_text(lean, encoding="utf-8")
    return hashlib.sha256(lean.encode()).hexdigest()[:20]


def rewrite(page: str, digest: str) -> str:
    """The page linking the lean sheet, by ``digest``, where it linked the theme's (or an older lean one)."""
    return LINK.sub(lambda match: f'{match[1]}pydata-sphinx-theme.lean.css?digest={digest}"', page)
