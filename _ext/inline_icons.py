"""The theme's icons drawn into the pages as SVG, in place of its Font Awesome script.

A step of :mod:`page_rewrites`, which runs it on every page at the end of the build.

pydata-sphinx-theme loads Font Awesome's ``fontawesome.js`` (1.5 MB, every icon
Font Awesome has) on every page, and that script replaces each
``<i class="fa-solid fa-...">`` of the page with an ``<svg>`` of the icon after the
page has loaded: on a phone, two seconds of script for the twenty icons of the
header and sidebar. This step does the same replacement once, in the HTML files: each
icon element of a page becomes the ``<svg>`` Font Awesome would have drawn, read from
the icon's own SVG file in the npm package ``@fortawesome/fontawesome-free``
(``svgs/<style>/<name>.svg``; pinned in ``package.json`` at the Font Awesome version the
theme bundles, which ``tests/test_extensions.py`` checks), with the element's classes
and attributes, hidden from screen readers as Font Awesome hides it; and the page no
longer loads ``fontawesome.js``. An icon that a script adds later still shows: the
theme's style sheet draws it with the Font Awesome web font.
"""

from __future__ import annotations

import functools
import html
import pathlib
import re

SCRIPT_TAG = re.compile(r'\s*<script defer src="[^"]*_static/scripts/fontawesome\.js[^"]*"></script>')
ICON = re.compile(r'<(i|span) class="([^"]*\bfa-[^"]*)"([^>]*)>\s*</\1>')
FOLDERS = {"fas": "solid", "far": "regular", "fab": "brands"}  # Font Awesome's style prefix -> its SVG folder
VIEW_BOX = re.compile(r'viewBox="0 0 (\d+) (\d+)"')
OUTLINE = re.compile(r'<path d="([^"]+)"')
STYLES = {"fa-solid": "fas", "fas": "fas", "fa-regular": "far", "far": "far", "fa-brands": "fab", "fab": "fab"}
NOT_NAMES = {"fa-lg", "fa-xs", "fa-sm", "fa-fw", "fa-2x", "fa-3x", "fa-spin", "fa-pulse", "fa-flip-horizontal"}


def package(modules: pathlib.Path) -> pathlib.Path:
    return modules / "@fortawesome" / "fontawesome-free"


@functools.cache
def icons(modules: pathlib.Path) -> dict[tuple[str, str], tuple[int, int, str]]:
    """(style, name) -> (width, height, path) for every icon of the package in ``modules``."""
    found = {}
    for style, folder in FOLDERS.items():
        for path in sorted((package(modules) / "svgs" / folder).glob("*.svg")):
            text = path.read_text(encoding="utf-8")
            box, outline = VIEW_BOX.search(text), OUTLINE.search(text)
            if box and outline:
                found[(style, path.stem)] = (int(box[1]), int(box[2]), outline[1])
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
