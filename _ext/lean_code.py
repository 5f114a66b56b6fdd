"""Highlighted code with fewer elements: tokens drawn in the code's own colour are plain text.

Used by the book build (registered in ``_config.yml`` under ``sphinx: local_extensions``).

Pygments wraps every token of a code block in a ``<span>`` with a class for its kind,
and the style sheet colours each kind. Names, punctuation and white space are most
tokens of Python, and the course's styles (light and dark) draw them in the colour of
the code block itself, so their spans change nothing a reader sees; on a long chapter
they are thousands of elements for the phone to style and lay out. At the end of the
build this extension reads the ``_static/pygments.css`` Sphinx wrote, finds the token
classes whose every rule only sets the block's own colour, and writes their tokens as
plain text; neighbouring tokens of one class then share one span. The page looks and
copies exactly as before. A page already rewritten by an earlier build is unchanged.
"""

from __future__ import annotations

import pathlib
import re

from offline_assets import extensions_version
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

RULE = re.compile(r"([^{}]*?)\.highlight(?: \.(\w+))?\s*\{([^}]*)\}")
BLOCK = re.compile(r'(<div class="highlight[^"]*"><pre>)(.*?)(</pre>)', re.DOTALL)
NEIGHBOURS = re.compile(r'<span class="(\w+)">([^<]*)</span><span class="\1">')


def _declarations(text: str) -> frozenset[str]:
    return frozenset(" ".join(part.split()) for part in text.split(";") if part.strip())


def plain_classes(css: str) -> set[str]:
    """Token classes that, in every colour theme of the style sheet, only set the block's colour."""
    base: dict[str, frozenset[str]] = {}
    tokens: dict[str, dict[str, frozenset[str]]] = {}
    for scope, token, body in RULE.findall(re.sub(r"/\*.*?\*/", "", css, flags=re.DOTALL)):
        scope = " ".join(scope.split())
        declarations = _declarations(body)
        if token:
            tokens.setdefault(token, {})[scope] = tokens.get(token, {}).get(scope, frozenset()) | declarations
        else:
            colour = frozenset(d for d in declarations if d.startswith("color:"))
            base[scope] = base.get(scope, frozenset()) | colour
    return {
        token
        for token, by_scope in tokens.items()
        if set(by_scope) == set(base) and all(by_scope[scope] <= base[scope] for scope in by_scope)
    }


def rewrite(page: str, plain: set[str]) -> str:
    if not plain:
        return page
    token = re.compile(r'<span class="(?:' + "|".join(map(re.escape, sorted(plain))) + r')">([^<]*)</span>')

    def lean(match: re.Match) -> str:
        code = token.sub(r"\1", match[2])
        while True:
            merged = NEIGHBOURS.sub(r'<span class="\1">\2', code)
            if merged == code:
                break
            code = merged
        return match[1] + code + match[3]

    return BLOCK.sub(lean, page)


def lean_site(app: Sphinx, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    site = pathlib.Path(app.outdir)
    style_sheet = site / "_static" / "pygments.css"
    if not style_sheet.is_file():
        return
    plain = plain_classes(style_sheet.read_text(encoding="utf-8"))
    changed = 0
    for path in site.rglob("*.html"):
        page = path.read_text(encoding="utf-8")
        new = rewrite(page, plain)
        if new != page:
            path.write_text(new, encoding="utf-8")
            changed += 1
    logger.info(f"lean_code: tokens of classes {', '.join(sorted(plain))} as plain text on {changed} pages")


def setup(app: Sphinx):
    app.connect("build-finished", lean_site, priority=900)  # after the theme rewrites pygments.css
    safe = {"parallel_read_safe": True, "parallel_write_safe": True}
    return {"version": "1.0", "env_version": extensions_version(), **safe}
