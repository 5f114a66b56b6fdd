"""The theme's icons drawn into the pages as SVG, in place of its Font Awesome script.

Used by the book build (registered in ``_config.yml`` under ``sphinx: local_extensions``).

pydata-sphinx-theme loads Font Awesome's ``fontawesome.js`` (1.5 MB, every icon
Font Awesome has) on every page, and that script replaces each
``<i class="fa-solid fa-...">`` of the page with an ``<svg>`` of the icon after the
page has loaded: on a phone, two seconds of script for the twenty icons of the
header and sidebar. At the end of the build this extension does the same
replacement once, in the HTML files: each icon element of a page becomes the
``<svg>`` Font Awesome would have drawn (the outline is read from the theme's own
``fontawesome.js``, so it is the icon of the theme's Font Awesome version), with
the element's classes and attributes, hidden from screen readers as Font Awesome
hides it; and the page no longer loads ``fontawesome.js``. An icon that a script
adds later still shows: the theme's style sheet draws it with the Font Awesome
web font.
"""

from __future__ import annotations

import functools
import html
import pathlib
import re

from offline_assets import extensions_version
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

SCRIPT_TAG = re.compile(r'\s*<script defer src="[^"]*_static/scripts/fontawesome\.js[^"]*"></script>')
ICON = re.compile(r'<(i|span) class="([^"]*\bfa-[^"]*)"([^>]*)>\s*</\1>')
# In fontawesome.js each style's icons are one object literal, {name: [width, height,
# [aliases], "unicode", "path"], ...}, handed to a call d("fas", p) that names the style.
PACK = re.compile(r'var p=\{(.*?)\};.*?d\("(fa[brs])",p\)', re.DOTALL)
ENTRY = re.compile(r'(?:"([\w-]+)"|([\w-]+)):\[(\d+),(\d+),\[([^\]]*)\],"[^"]*","([^"]+)"\]')
STYLES = {"fa-solid": "fas", "fas": "fas", "fa-regular": "far", "far": "far", "fa-brands": "fab", "fab": "fab"}
NOT_NAMES = {"fa-lg", "fa-xs", "fa-sm", "fa-fw", "fa-2x", "fa-3x", "fa-spin", "fa-pulse", "fa-flip-horizontal"}


def theme_script() -> pathlib.Path:
    import pydata_sphinx_theme

    theme = pathlib.Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme"
    return theme / "static" / "scripts" / "fontawesome.js"


@functools.cache
def icons(script: pathlib.Path) -> dict[tuple[str, str], tuple[int, int, str]]:
    """(style, name) -> (width, height, path) for every icon in Font Awesome's script."""
    found = {}
    for body, style in PACK.findall(script.read_text(encoding="utf-8")):
        for quoted, bare, width, height, aliases, path in ENTRY.findall(body):
            for name in [quoted or bare, *re.findall(r'"([\w-]+)"', aliases)]:
                found[(style, name)] = (int(width), int(height), path)
    return found


def svg(classes: str, attributes: str, table: dict) -> str | None:
    """The <svg> for an icon element with these classes and other attributes, or None if unknown."""
    words = classes.split()
    style = next((STYLES[word] for word in words if word in STYLES), "fas")
    names = [word[3:] for word in words if word.startswith("fa-") and word not in STYLES and word not in NOT_NAMES]
    name = names[0] if names else None
    if name is None or (style, name) not in table:
        return None
    width, height, path = table[(style, name)]
    attributes = re.sub(r'\s*aria-hidden="[^"]*"', "", attributes)
    return (
        f'<svg class="svg-inline--fa {html.escape(" ".join(words), quote=True)}"{attributes} aria-hidden="true" '
        f'focusable="false" role="img" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}">'
        f'<path fill="currentColor" d="{path}"></path></svg>'
    )


def rewrite(page: str, table: dict, unknown: set[str]) -> str:
    """The page with its icon elements drawn as SVG and no Font Awesome script."""

    def replace(match: re.Match) -> str:
        drawn = svg(match[2], match[3], table)
        if drawn is None:
            unknown.add(match[2])
            return match[0]
        return drawn

    return SCRIPT_TAG.sub("", ICON.sub(replace, page))


def draw_icons(app: Sphinx, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    table = icons(theme_script())
    unknown: set[str] = set()
    for path in pathlib.Path(app.outdir).rglob("*.html"):
        page = path.read_text(encoding="utf-8")
        new = rewrite(page, table, unknown)
        if new != page:
            path.write_text(new, encoding="utf-8")
    for classes in sorted(unknown):
        logger.warning(f"inline_icons: no Font Awesome icon for class={classes!r}; the web font draws it")


def setup(app: Sphinx):
    app.connect("build-finished", draw_icons)
    safe = {"parallel_read_safe": True, "parallel_write_safe": True}
    return {"version": "1.0", "env_version": extensions_version(), **safe}
