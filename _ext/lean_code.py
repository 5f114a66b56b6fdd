"""Highlighted code with fewer elements: tokens drawn in the code's own colour are plain text.

A step of :mod:`page_rewrites`, which runs it on every page at the end of the build.

Pygments wraps every token of a code block in a ``<span>`` with a class for its kind,
and the style sheet colours each kind. Names, punctuation and white space are most
tokens of Python, and the course's styles (light and dark) draw them in the colour of
the code block itself, so their spans change nothing a reader sees; on a long chapter
they are thousands of elements for the phone to style and lay out. At the end of the
build this step reads the ``_static/pygments.css`` Sphinx wrote, finds the token
classes whose every rule only sets the block's own colour, and writes their tokens as
plain text; neighbouring tokens of one class then share one span. The page looks and
copies exactly as before. A page already rewritten by an earlier build is unchanged.
"""

from __future__ import annotations

import re

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
