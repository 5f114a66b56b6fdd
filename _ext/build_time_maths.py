"""Typeset every equation when the book is built, so that pages load no MathJax.

Used by the book build: :mod:`page_rewrites` runs its rewrite on every page at the end of
the build, and its ``setup`` leaves MathJax out of the pages (registered in ``_config.yml``).

Sphinx writes each equation as TeX in an element of class ``math`` (``\\(...\\)`` in a
``<span>``, ``\\[...\\]`` or a ``\\begin{...}`` environment in a ``<div>``) and has
MathJax typeset it in the reader's browser: a megabyte of script and seconds of work
on a phone before the page settles. At the end of the build this module hands the
TeX of every page to ``_ext/typeset_maths.js`` (MathJax 3 in Node, npm
``mathjax-full``, pinned in ``package.json``) and writes its output into the page in
place of the TeX:

* each equation becomes an ``<mjx-container role="img">`` holding an SVG drawing hidden
  from screen readers, named for them by an ``aria-label``: the equation in words, as
  the Speech Rule Engine reads MathJax's MathML of it (the MathML itself is left out:
  it would add as many elements again as the drawing);
* the glyph outlines a page uses are stored once, in a hidden ``<svg>`` at the start
  of the body, and MathJax's few style rules go inline into the head;
* the MathJax script and its configuration are left out of every page.

A TeX error, or a macro MathJax does not know, is a build warning naming the page and
the TeX (``-W`` makes it an error); the equation is then left as TeX. A page whose
equations are already typeset (written by an earlier build) is left as it is.
"""

from __future__ import annotations

import html
import json
import pathlib
import re

from build_inputs import extensions_version, run_node
from sphinx.application import Sphinx

SCRIPT = pathlib.Path(__file__).resolve().parent / "typeset_maths.js"
INLINE = re.compile(r'(<span class="math notranslate nohighlight">)\\\((.*?)\\\)(</span>)', re.DOTALL)
DISPLAY = re.compile(
    r'(<div class="math notranslate nohighlight"[^>]*>\s*(?:<span class="eqno">.*?</span>)?)'
    r"\s*(\\\[.*?\\\]|\\begin\{([a-z]+\*?)\}.*?\\end\{\3\})\s*(</div>)",
    re.DOTALL,
)
BODY = re.compile(r"<body[^>]*>")
STYLE_ID = "typeset-maths"


def equations_of(page: str) -> list[tuple[re.Match, str, bool]]:
    """(match, TeX, display) for each equation of the page still written as TeX, in page order."""
    found = [(match, html.unescape(match[2]), False) for match in INLINE.finditer(page)]
    for match in DISPLAY.finditer(page):
        tex = match[2]
        if tex.startswith("\\["):
            tex = tex[2:-2]
        found.append((match, html.unescape(tex), True))
    return sorted(found, key=lambda item: item[0].start())


def typeset(requests: list[list[tuple[str, bool]]], tex_options: dict, node_modules: pathlib.Path) -> dict:
    """Run typeset_maths.js once on every page's equations; return its answer."""
    payload = json.dumps({"tex": tex_options, "pages": requests})
    output = run_node(
        SCRIPT,
        payload,
        node_modules,
        who="build_time_maths",
        purpose="to typeset the equations",
        package="mathjax-full",
    )
    return json.loads(output)


def _minified(css: str) -> str:
    css = re.sub(r"\s*([{};:,>])\s*", r"\1", css)
    return re.sub(r"\s+", " ", css).replace(";}", "}").strip()


def rewrite(page: str, equations, answer: dict, css: str) -> str:
    """The page with each equation replaced by MathJax's output, its glyphs and styles added."""
    pieces, position = [], 0
    for (match, _, display), output in zip(equations, answer["maths"], strict=True):
        if not output:  # a TeX error: keep the TeX
            continue
        pieces.append(page[position : match.start()])
        pieces.append(match[1] + output + match[4 if display else 3])
        position = match.end()
    pieces.append(page[position:])
    page = "".join(pieces)
    if answer["defs"]:
        body = BODY.search(page)
        page = page[: body.end()] + answer["defs"] + page[body.end() :]
    if f'id="{STYLE_ID}"' not in page:
        page = page.replace("</head>", f'<style id="{STYLE_ID}">{css}</style>\n</head>', 1)
    return page


def typeset_pages(pages: dict, tex_options: dict, modules: pathlib.Path, log, site: pathlib.Path) -> dict:
    """Typeset the equations of ``pages`` (path -> HTML) in one run; the pages that had equations, rewritten."""
    found = [(path, text, equations_of(text)) for path, text in pages.items()]
    found = [(path, text, equations) for path, text, equations in found if equations]
    if not found:
        return {}
    requests = [[(tex, display) for _, tex, display in equations] for _, _, equations in found]
    answer = typeset(requests, tex_options, modules)
    css = _minified(answer["css"])
    done, count = {}, 0
    for (path, text, equations), result in zip(found, answer["pages"], strict=True):
        for index, message in result["errors"]:
            log.warning(f"build_time_maths: {path.relative_to(site)}: {message} in TeX {equations[index][1]!r}")
        done[path] = rewrite(text, equations, result, css)
        count += len(equations) - len(result["errors"])
    log.info(f"build_time_maths: typeset {count} equations on {len(found)} pages")
    return done


def drop_mathjax(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Leave MathJax and its configuration out of the page: its equations are typeset already."""
    scripts = context.get("script_files")
    if not scripts:
        return
    mathjax = str(app.config.mathjax_path)

    def is_mathjax(script) -> bool:
        filename = str(getattr(script, "filename", script) or "")
        body = (getattr(script, "attributes", None) or {}).get("body", "")
        return (filename and filename.endswith(mathjax)) or body.startswith("window.MathJax")

    scripts[:] = [script for script in scripts if not is_mathjax(script)]


def setup(app: Sphinx):
    app.connect("html-page-context", drop_mathjax, priority=900)  # after sphinx.ext.mathjax adds it
    safe = {"parallel_read_safe": True, "parallel_write_safe": True}
    return {"version": "1.0", "env_version": extensions_version(), **safe}
