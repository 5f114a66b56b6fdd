"""No script holds up the first paint: the head's scripts deferred, the unused ones left out.

A step of :mod:`page_rewrites`, which runs it on every page at the end of the build.

Sphinx and the themes write a dozen ``<script src>`` into the head of every page, and
the browser stops building the page at each one until it has fetched and run it. At
the end of the build this extension rewrites the head of every page:

* every ``<script src>`` without ``async`` gets ``defer``: it runs, in the same order,
  once the page has been parsed (the scripts wait for ``DOMContentLoaded`` anyway);
* the two inline lines that set ``DOCUMENTATION_OPTIONS`` (defined by the deferred
  ``documentation_options.js``) become module scripts, which run in that same order;
* the search index and its tools (``searchindex.js``, 100 kB and growing with the
  book) are loaded by the search page only, unless the theme's search-as-you-type,
  the one thing that needs them elsewhere, is switched on;
* thebe's script and style sheet are left out: this book offers no live code on its
  pages (no thebe launch button), so they are never used. Jupyter Book 1.x loads
  sphinx-thebe on every book; :func:`leave_out_thebe` takes its two files out of the
  page's ``script_files`` and ``css_files`` (the template variables Sphinx documents),
  by file name, before the page is written. Its three lines of inline configuration
  (about 0.4 kB, no request, nothing drawn) stay.
"""

from __future__ import annotations

import re

SCRIPT_SRC = re.compile(r"<script\b(?![^>]*\b(?:defer|async|type=\"module\")\b)([^>]*\bsrc=\"[^\"]+\"[^>]*)>")
OPTIONS = re.compile(r"<script>(DOCUMENTATION_OPTIONS\.[^<]*)</script>")
SEARCH = re.compile(r'\s*<script\b[^>]*\bsrc="[^"]*(?:searchtools|language_data|searchindex)\.js[^"]*"[^>]*></script>')
THEBE_FILES = ("sphinx-thebe.js", "sphinx-thebe.css")


def leave_out_thebe(app, pagename: str, templatename: str, context: dict, doctree) -> None:
    """``html-page-context``: the page lists neither of sphinx-thebe's files."""
    for key in ("script_files", "css_files"):
        assets = context.get(key)
        if assets:
            assets[:] = [asset for asset in assets if not str(asset.filename or "").endswith(THEBE_FILES)]


def rewrite(page: str, search_page: bool, search_as_you_type: bool) -> str:
    head_end = page.find("</head>")
    if head_end < 0:
        return page
    head, rest = page[:head_end], page[head_end:]
    if not (search_page or search_as_you_type):
        head = SEARCH.sub("", head)
    head = SCRIPT_SRC.sub(r"<script defer\1>", head)
    head = OPTIONS.sub(r'<script type="module">\1</script>', head)
    return head + rest
