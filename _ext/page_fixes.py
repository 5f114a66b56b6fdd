"""Repairs to the generated pages: names for screen readers, and two theme script errors.

Used by the book build (registered in ``_config.yml`` under ``sphinx: local_extensions``).
Each repair answers something the browser tests (``tests/test_browser.py``: axe-core
and the JavaScript console) found in markup that no chapter writes itself:

* the image of a code cell's output (a figure, or the frame of a matplotlib
  animation) gets as ``alt`` text the caption paragraph that follows the cell
  (the chapters' convention), unless the cell already gives one;
* an animation's frame slider gets a label;
* ``_ext/templates/`` overrides two theme buttons whose names did not contain their
  visible text;
* the site gets an icon (``_ext/static/favicon.svg``), so browsers ask for no missing
  ``favicon.ico`` (each page's description comes from sphinxext-opengraph);
* the toggle of a hidden cell loses an ``aria-label`` that did not contain its
  visible text;
* bibliography entries get the ``listitem`` role their ``list`` needs, and the
  ``$...$`` maths of a BibTeX title is typeset instead of shown as TeX;
* ``_ext/static/page-fixes.css`` darkens links on the light background of
  admonitions (exercises), whose contrast was too low;
* ``_ext/static/sidebar-toggles.js`` makes the menu and "On this page" buttons open
  their sidebars on a phone (a workaround for pydata/pydata-sphinx-theme#2451, removed
  once a release that fixes it is locked; ``tests/test_phone.py`` taps both);
* inline scripts that the theme adds twice are written once (a second
  ``const THEBE_JS_URL`` is a script error), and the theme gets a default colour
  mode (an empty one logs "Got invalid theme mode");
* a build that writes some pages only (an author's rebuild after an edit) keeps in the
  search index the ``{index}`` entries of the pages it does not write: Sphinx 7.4 drops
  them (sphinx-doc/sphinx#12599), and the search page then finds no section by an indexed
  term. :func:`index_unwritten_pages` indexes those pages again from their stored
  document trees, resolved as for writing, through the HTML builder's own ``index_page``;
* on a first visit the theme's colour is "auto" until its script, deferred, settles
  it on the reader's light or dark preference, restyling every element of the page
  with colour transitions: :data:`SETTLE_THEME`, an inline script in the head after
  the theme's own, settles it before the page is first drawn.
"""

from __future__ import annotations

import html
import pathlib
import re

from build_inputs import extensions_version
from docutils import nodes
from sphinx.application import Sphinx

HERE = pathlib.Path(__file__).resolve().parent
STYLE_SHEET = "page-fixes.css"
SIDEBAR_TOGGLES = "sidebar-toggles.js"  # pydata/pydata-sphinx-theme#2451: delete once a fixed release is locked
DOLLAR_MATH = re.compile(r"\$([^$]+)\$")
ANIMATION_IMAGE = re.compile(r'<img id="(_anim_img\w+)"(?![^>]*\balt=)')
ANIMATION_SLIDER = re.compile(r'<input id="(_anim_slider\w+)"(?![^>]*\baria-label=)')
MAX_ALT = 300  # characters


def configure(app: Sphinx, config) -> None:
    config.html_favicon = str(HERE / "static" / "favicon.svg")
    config.templates_path = [str(HERE / "templates"), *config.templates_path]
    config.html_context = {"default_mode": "auto", **(config.html_context or {})}


def _ancestors(node: nodes.Node):
    """The node's parents, nearest first."""
    node = node.parent
    while node is not None:
        yield node
        node = node.parent


def _cell(node: nodes.Node) -> nodes.Element | None:
    """The code cell container that holds this node (or is it), if any."""
    for up in (node, *_ancestors(node)):
        if isinstance(up, nodes.container) and up.get("nb_element") == "cell_code":
            return up
    return None


def caption(node: nodes.Node) -> str | None:
    """The paragraph right after the code cell that holds `node`: the caption of its figure."""
    cell = _cell(node)
    if cell is None or cell.parent is None:
        return None
    index = cell.parent.index(cell)
    following = cell.parent.children[index + 1 : index + 2]
    if not following or not isinstance(following[0], nodes.paragraph):
        return None
    text = " ".join(following[0].astext().split())
    if len(text) > MAX_ALT:
        text = text[:MAX_ALT].rsplit(" ", 1)[0] + "…"
    return text


def name_outputs(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Alt text for output images and animation frames, a label for animation sliders."""
    for image in doctree.findall(nodes.image):
        if not image.get("alt") and (text := caption(image)):
            image["alt"] = text
    for raw in list(doctree.findall(nodes.raw)):
        source = raw.astext()
        if raw.get("format") != "html" or "_anim_img" not in source:
            continue
        text = caption(raw)
        alt = html.escape(f"Animation: {text}" if text else "Animation", quote=True)
        new = ANIMATION_IMAGE.sub(lambda match, alt=alt: f'<img id="{match[1]}" alt="{alt}"', source)
        new = ANIMATION_SLIDER.sub(lambda match: f'<input id="{match[1]}" aria-label="Animation frame"', new)
        if new != source:
            raw.replace_self(nodes.raw(new, new, format="html", classes=raw.get("classes", [])))


def math_in_citations(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Typeset the $...$ that BibTeX titles carry (the bibliography shows them as text)."""
    for citation in doctree.findall(nodes.citation):
        for text in list(citation.findall(nodes.Text)):
            if isinstance(text.parent, (nodes.math, nodes.literal, nodes.raw)) or not DOLLAR_MATH.search(text):
                continue
            pieces, position = [], 0
            for match in DOLLAR_MATH.finditer(text):
                pieces.append(nodes.Text(text[position : match.start()]))
                pieces.append(nodes.math(match[1], match[1]))
                position = match.end()
            pieces.append(nodes.Text(text[position:]))
            text.parent.replace(text, [piece for piece in pieces if not isinstance(piece, nodes.Text) or piece])


def fix_page(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Write each script once; fix roles and names in the page body."""
    scripts = context.get("script_files")
    if scripts:
        seen, unique = set(), []
        for script in scripts:
            attributes = getattr(script, "attributes", None) or {}
            filename = str(getattr(script, "filename", script) or "")  # an inline script has None or ""
            key = (filename, tuple(sorted((k, str(v)) for k, v in attributes.items())))
            if key not in seen:
                seen.add(key)
                unique.append(script)
        scripts[:] = unique
    body = context.get("body")
    if body:
        body = body.replace('role="doc-biblioentry"', 'role="listitem"')
        # a hidden cell's toggle: its visible text ("Show code cell source") is its name
        context["body"] = body.replace('<summary aria-label="Toggle hidden content">', "<summary>")


SETTLE_THEME = (
    'if (document.documentElement.dataset.theme === "auto") document.documentElement.dataset.theme = '
    'matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";'
)
"""The colour theme "auto" settled on the reader's preference, as the theme's script does later."""


def note_written(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Sphinx resolves the document tree of each page it writes, and only of those."""
    app.env.page_fixes_written = {*getattr(app.env, "page_fixes_written", ()), docname}


def index_unwritten_pages(app: Sphinx) -> list:
    """The pages with ``{index}`` entries that this build did not write, fed to the search
    index again (sphinx-doc/sphinx#12599).

    Sphinx keeps the rest of an unwritten page's search data from the index it wrote last;
    only the index entries are lost. Runs when the HTML builder collects its extra pages,
    after every page is written and before the search index is dumped; adds no page."""
    builder, env = app.builder, app.env
    if getattr(builder, "indexer", None) is None:  # not an HTML build, or no search
        return []
    written = getattr(env, "page_fixes_written", set())
    indexed = env.get_domain("index").entries  # docname -> the page's {index} entries
    for docname in sorted(name for name, entries in indexed.items() if entries and name not in written):
        title = env.longtitles.get(docname)  # as the builder titles the pages it writes
        doctree = env.get_and_resolve_doctree(docname, builder)
        builder.index_page(docname, doctree, builder.render_partial(title)["title"] if title else "")
    env.page_fixes_written = set()
    return []


def setup(app: Sphinx):
    app.connect("config-inited", configure)
    app.connect("doctree-resolved", note_written)
    app.connect("html-collect-pages", index_unwritten_pages)
    app.connect("doctree-resolved", name_outputs)
    app.connect("doctree-resolved", math_in_citations)
    app.add_css_file(STYLE_SHEET)
    app.add_js_file(SIDEBAR_TOGGLES)
    app.add_js_file(None, body=SETTLE_THEME)
    app.connect("html-page-context", fix_page, priority=900)
    safe = {"parallel_read_safe": True, "parallel_write_safe": True}
    return {"version": "1.0", "env_version": extensions_version(), **safe}
