"""One style sheet per page instead of eleven: the page's style sheets joined, in order.

A step of :mod:`page_rewrites`, which runs it on every page at the end of the build.

Sphinx, the two themes and the extensions each link a style sheet, and one of them
(the theme's ``theme.css``) only imports another: a browser must fetch all of them,
the imported one last, before it draws anything. At the end of the build this
extension joins the style sheets each page links, in the page's order and with every
``@import`` put in place, into one file ``_static/bundle-<digest>.css`` (named by its
content, so a changed style is a new file), rewrites the relative ``url(...)`` of each
piece for the bundle's place, and links the page to the bundle alone. The cascade is
the same: the same rules in the same order, less one kind: the theme's style sheet
carries a rule for each of Font Awesome's 1,900 icons (``.fa-rocket:before{content:
"\\f135"}``), for pages that draw icons with its web font; the rules of icons that no page
names, nor any script a page loads, are left out (:mod:`inline_icons` draws the pages'
icons as SVG). A link with a ``media`` other than "all" keeps its own file.
"""

from __future__ import annotations

import hashlib
import pathlib
import posixpath
import re
import urllib.parse

LINK = re.compile(r"[ \t]*<link\b(?=[^>]*\brel=\"stylesheet\")[^>]*>\n?")
HREF = re.compile(r'\bhref="([^"]+)"')
MEDIA = re.compile(r'\bmedia="([^"]*)"')
IMPORT = re.compile(r"""@import\s+(?:url\(\s*)?["']?([^"')\s;]+)["']?\s*\)?\s*;""")
URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^"')\s]+))\s*\)""")
SOURCE_MAP = re.compile(r"/\*#\s*sourceMappingURL=[^*]*\*/")
ICON_RULE = re.compile(r"((?:\.fa-[\w-]+:(?:before|after),?)+)\{content:[^}]*\}")
ICON_NAME = re.compile(r"fa-[\w-]+")
SCRIPT_SRC = re.compile(r'<script\b[^>]*\bsrc="([^"]+)"')
STATIC = "_static"


def _is_local(url: str) -> bool:
    """A relative URL of a file (not data:, not another host, not a fragment)."""
    parsed = urllib.parse.urlsplit(url)
    return not (parsed.scheme or parsed.netloc or url.startswith(("#", "/")))


def _url(match: re.Match) -> str:
    return next(group for group in match.groups() if group is not None)


def inline(sheet: pathlib.Path, site: pathlib.Path, seen: frozenset[pathlib.Path] = frozenset()) -> str:
    """The style sheet's text, imports put in place, its urls made relative to the site root."""
    text = SOURCE_MAP.sub("", sheet.read_text(encoding="utf-8"))
    folder = sheet.parent.relative_to(site).as_posix()

    def rooted(match: re.Match) -> str:
        url = _url(match)
        return f'url("{posixpath.normpath(posixpath.join(folder, url))}")' if _is_local(url) else match[0]

    def imported(match: re.Match) -> str:
        url = match[1]
        if not _is_local(url):
            return match[0]
        target = (sheet.parent / urllib.parse.urlsplit(url).path).resolve()
        if target in seen or not target.is_file():
            return match[0]
        return inline(target, site, seen | {sheet})

    marker = "\0import\0"  # the imported text, already rooted, goes in after this sheet's urls are
    pieces = []
    text = IMPORT.sub(lambda match: pieces.append(imported(match)) or marker, text)
    text = URL.sub(rooted, text)
    for piece in pieces:
        text = text.replace(marker, piece, 1)
    return text


def named_icons(pages: dict) -> set[str]:
    """Every fa-... name in ``pages`` (path -> HTML) and in the local scripts they load."""
    names: set[str] = set()
    scripts: set[pathlib.Path] = set()
    for page, text in pages.items():
        names.update(ICON_NAME.findall(text))
        for src in SCRIPT_SRC.findall(text):
            if _is_local(src):
                scripts.add((page.parent / urllib.parse.urlsplit(src).path).resolve())
    for script in scripts:
        if script.is_file():
            names.update(ICON_NAME.findall(script.read_text(encoding="utf-8", errors="replace")))
    return names


def without_unused_icons(css: str, used: set[str]) -> str:
    def keep(match: re.Match) -> str:
        return match[0] if used & set(ICON_NAME.findall(match[1])) else ""

    return ICON_RULE.sub(keep, css)


def bundle(sheets: list[pathlib.Path], site: pathlib.Path, used_icons: set[str] | None = None) -> str:
    """The joined text of `sheets`, its urls relative to the bundle in _static/, unused icon rules left out."""
    joined = "\n".join(inline(sheet, site) for sheet in sheets)
    if used_icons is not None:
        joined = without_unused_icons(joined, used_icons)

    def relative(match: re.Match) -> str:
        url = _url(match)
        return f'url("{posixpath.relpath(url, STATIC)}")' if _is_local(url) else match[0]

    return URL.sub(relative, joined)


def rewrite(
    page: str, page_path: pathlib.Path, site: pathlib.Path, written: dict[str, str], used_icons: set[str] | None = None
) -> str:
    head_end = page.find("</head>")
    if head_end < 0:
        return page
    head = page[:head_end]
    links, sheets = [], []
    for match in LINK.finditer(head):
        href, media = HREF.search(match[0]), MEDIA.search(match[0])
        if href is None or (media and media[1] not in ("", "all")) or not _is_local(href[1]):
            continue
        path = (page_path.parent / urllib.parse.urlsplit(href[1]).path).resolve()
        if not path.is_file() or path.name.startswith("bundle-"):
            continue
        links.append(match)
        sheets.append(path)
    if len(links) < 2:
        return page
    key = "\n".join(str(sheet) for sheet in sheets)
    if key not in written:
        text = bundle(sheets, site, used_icons)
        name = f"bundle-{hashlib.sha256(text.encode()).hexdigest()[:12]}.css"
        (site / STATIC / name).write_text(text, encoding="utf-8")
        written[key] = name
    url = posixpath.relpath(f"{STATIC}/{written[key]}", page_path.parent.relative_to(site).as_posix() or ".")
    new_link = f'<link rel="stylesheet" href="{url}" />\n'
    pieces, position = [], 0
    for index, match in enumerate(links):
        pieces.append(head[position : match.start()])
        if index == 0:
            pieces.append(new_link)
        position = match.end()
    pieces.append(head[position:])
    return "".join(pieces) + page[head_end:]
