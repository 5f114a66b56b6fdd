"""The built site, read as files: self-contained, within its weight budgets, every figure named.

The site comes from ``$COURSE_SITE_DIR`` (default ``_build/html``, built by ``make
book``); without it the tests skip, except under CI (``$CI`` set), where they fail.
``benchmarks/site.py`` prints the numbers the budgets apply to.
"""

from __future__ import annotations

import html
import html.parser
import json
import os
import re

import nbformat
import pytest
import yaml

from tests.site_tools import (
    PAGE_BUDGET,
    SITE_BUDGET,
    book_dir,
    folder_size,
    is_external,
    loaded_urls,
    local_file,
    page_weight,
    site_dir,
    toc_pages,
)

pytestmark = pytest.mark.site
SITE = site_dir()
BOOK = book_dir()
PAGES = toc_pages()
IMAGE_SUFFIX = re.compile(r"\.(png|jpe?g|gif|svg|webp)$", re.IGNORECASE)
CSS_URL = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)|@import\s+['"]([^'"]+)['"]""")


@pytest.fixture(scope="module", autouse=True)
def built_site():
    if not (SITE / "index.html").is_file():
        reason = f"no built site in {SITE}: run `make book` (or set COURSE_SITE_DIR)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def _html(page: str) -> str:
    return (SITE / f"{page}.html").read_text(encoding="utf-8")


# ---------------------------------------------------------------- weight


@pytest.mark.parametrize("page", PAGES)
def test_page_weight_within_budget(page):
    weight = page_weight(SITE, page)
    assert not weight["missing"], f"{page} references files that are not in the site: {weight['missing']}"
    assert weight["transfer"] <= PAGE_BUDGET, (
        f"{page} downloads {weight['transfer'] / 1e6:.2f} MB (HTML {weight['html'] / 1e6:.2f} MB on disk); "
        f"the budget is {PAGE_BUDGET / 1e6:.0f} MB: use fewer animation frames, smaller figures or a lower dpi"
    )


def test_whole_site_within_budget():
    size = folder_size(SITE)
    assert size <= SITE_BUDGET, f"the site is {size / 1e6:.1f} MB; the budget is {SITE_BUDGET / 1e6:.0f} MB"


def test_weight_counts_what_a_page_loads(tmp_path):
    """The measure itself: HTML plus the scripts, styles and images it loads, not plain links."""
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "app.js").write_bytes(b"x" * 1000)
    (tmp_path / "_static" / "style.css").write_bytes(b"y" * 2000)
    (tmp_path / "figure.png").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "other.html").write_bytes(b"z" * 5000)
    page = (
        '<script src="_static/app.js"></script><link rel="stylesheet" href="_static/style.css">'
        '<img src="figure.png" alt="a figure"><a href="other.html">next</a>'
        '<img src="data:image/png;base64,AAAA" alt="inline"><script src="https://example.org/x.js"></script>'
        '<img src="missing.png" alt="gone">'
    )
    (tmp_path / "page.html").write_text(page)
    weight = page_weight(tmp_path, "page")
    assert weight["raw"] == len(page) + 1000 + 2000 + 1024
    assert weight["assets"] == 3
    assert weight["missing"] == ["missing.png"]
    assert weight["transfer"] < weight["raw"]  # text compresses; the PNG counts in full
    assert weight["transfer"] > 1024


# ---------------------------------------------------------------- self-contained


def _all_html():
    return sorted(SITE.rglob("*.html"))


def test_no_page_loads_anything_from_another_host():
    offending = {}
    for path in _all_html():
        external = [url for url in loaded_urls(path.read_text(encoding="utf-8")) if is_external(url)]
        if external:
            offending[str(path.relative_to(SITE))] = external
    assert not offending, f"pages that load resources from other hosts: {offending}"


def test_no_style_sheet_loads_anything_from_another_host():
    offending = {}
    for path in sorted(SITE.rglob("*.css")):
        urls = [a or b for a, b in CSS_URL.findall(path.read_text(encoding="utf-8", errors="replace"))]
        external = [url for url in urls if is_external(url)]
        if external:
            offending[str(path.relative_to(SITE))] = external
    assert not offending, f"style sheets that load from other hosts: {offending}"


@pytest.mark.parametrize("page", PAGES)
def test_every_local_reference_resolves(page):
    path = SITE / f"{page}.html"
    missing = []
    for url in loaded_urls(path.read_text(encoding="utf-8")):
        target = local_file(SITE, path, url)
        if target is not None and not target.is_file():
            missing.append(url)
    assert not missing, f"{page} loads files the site does not have: {missing}"


def test_every_style_sheet_a_page_loads_finds_its_files():
    """The relative url(...) of each style sheet the pages link (the joined bundle) resolves."""
    sheets = set()
    for page in PAGES:
        path = SITE / f"{page}.html"
        for url in loaded_urls(path.read_text(encoding="utf-8")):
            target = local_file(SITE, path, url)
            if target is not None and target.suffix == ".css":
                sheets.add(target)
    assert sheets, "no page links a style sheet"
    for sheet in sorted(sheets):
        for a, b in CSS_URL.findall(sheet.read_text(encoding="utf-8")):
            url = (a or b).split("?")[0].split("#")[0]
            if url and not url.startswith("data:") and not is_external(url):
                assert (sheet.parent / url).resolve().is_file(), f"{sheet.relative_to(SITE)} needs {url}"


# ---------------------------------------------------------------- figures


class _Images(html.parser.HTMLParser):
    """Images in the article, with their alt text and whether a <figure> with a caption holds them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict]] = []
        self.images: list[dict] = []
        self.in_main = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "main":
            self.in_main += 1
        if tag == "figcaption":
            figure = next((a for t, a in reversed(self.stack) if t == "figure"), None)
            if figure is not None:
                figure["captioned"] = True
        if tag == "img" and self.in_main:
            self.images.append(
                {
                    "src": (attributes.get("src") or "")[:80],
                    "alt": (attributes.get("alt") or "").strip(),
                    "figure": next((a for t, a in reversed(self.stack) if t == "figure"), None),
                }
            )
        elif tag not in ("br", "hr", "input", "meta", "link", "source", "wbr", "col"):
            self.stack.append((tag, attributes))

    def handle_endtag(self, tag):
        if tag == "main":
            self.in_main -= 1
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                break


def _named(image: dict) -> bool:
    alt = image["alt"]
    if alt and not IMAGE_SUFFIX.search(alt) and alt != image["src"]:
        return True
    return image["figure"] is not None and image["figure"].get("captioned", False)


@pytest.mark.parametrize("page", PAGES)
def test_every_figure_has_alt_text_or_a_caption(page):
    parser = _Images()
    parser.feed(_html(page))
    unnamed = [image["src"] for image in parser.images if not _named(image)]
    assert not unnamed, (
        f"{page}: figures without alt text or caption (write a caption paragraph right after "
        f"the cell that draws each figure): {unnamed}"
    )


# ---------------------------------------------------------------- Colab


def _repository():
    config = yaml.safe_load((BOOK / "_config.yml").read_text())
    return config, config["repository"]["url"].rstrip("/").split("github.com/", 1)[1]


@pytest.mark.parametrize("page", PAGES)
def test_colab_link_points_to_this_notebook_on_the_branch(page):
    config, repository = _repository()
    links = sorted(set(re.findall(r'href="(https://colab\.research\.google\.com/[^"]+)"', _html(page))))
    notebook = BOOK / f"{page}.ipynb"
    if not notebook.is_file():
        assert not links, f"{page} is no notebook but links to Colab: {links}"
        return
    branch = config["repository"].get("branch", "main")
    book_path = (config["repository"].get("path_to_book") or "").strip("/")
    in_repository = f"{book_path}/{page}.ipynb" if book_path else f"{page}.ipynb"
    assert links == [f"https://colab.research.google.com/github/{repository}/blob/{branch}/{in_repository}"]
    assert (BOOK / in_repository).is_file()
    nbformat.validate(nbformat.read(str(BOOK / in_repository), as_version=4))


@pytest.mark.parametrize("page", PAGES)
def test_every_toc_page_was_built(page):
    assert (SITE / f"{page}.html").is_file(), f"{page} is in _toc.yml but {SITE} has no {page}.html"


@pytest.mark.parametrize("page", PAGES)
def test_every_explorer_on_the_site_follows_the_shared_note(page):
    html = (SITE / f"{page}.html").read_text()
    explorers = html.count("tag_explorer")
    assert html.count("live-explorer") == explorers, f"{page}: {explorers} explorers"


@pytest.mark.parametrize("page", PAGES)
def test_every_page_has_a_description_and_the_site_an_icon(page):
    html = (SITE / f"{page}.html").read_text()
    match = re.search(r'<meta name="description" content="([^"]{40,})"\s*/?>', html)
    assert match, f"{page} has no meta description"
    icon = re.search(r'<link rel="icon" href="([^"]+)"', html)
    assert icon, f"{page} names no icon"
    assert (SITE / page).parent.joinpath(icon.group(1)).resolve().is_file()


# ---------------------------------------------------------------- fast pages: the built site

HEAD_SCRIPT = re.compile(r"<script\b([^>]*)\bsrc=\"([^\"]+)\"([^>]*)>")
MATH_ELEMENT = re.compile(
    r'class="math notranslate nohighlight"[^>]*>\s*(?:<span class="eqno">.*?</span>)?\s*(.{0,14})', re.S
)


@pytest.mark.parametrize("page", PAGES)
def test_equations_are_typeset_in_the_built_page(page):
    """Every equation is an SVG drawing named for screen readers, every glyph is in the page, no MathJax."""
    text = _html(page)
    starts = [match[1] for match in MATH_ELEMENT.finditer(text)]
    left = [start for start in starts if not start.startswith("<mjx-container")]
    assert not left, f"{page}: {len(left)} of {len(starts)} equations left as TeX: {left[:5]}"
    assert "mathjax" not in " ".join(loaded_urls(text)).lower(), f"{page} loads MathJax"
    outlines = set(re.findall(r'<path id="([^"]+)"', text))
    glyphs = set(re.findall(r'xlink:href="#([^"]+)"', text))
    assert glyphs <= outlines, f"{page}: glyphs without an outline: {sorted(glyphs - outlines)[:5]}"
    containers = re.findall(r"<mjx-container\b[^>]*>", text)
    assert len(containers) == len(starts)
    unnamed = [tag for tag in containers if not re.search(r'aria-label="[^"]+"', tag)]
    assert not unnamed, f"{page}: equations without words for screen readers: {unnamed[:3]}"


@pytest.mark.parametrize("page", PAGES)
def test_no_script_holds_up_the_first_paint(page):
    """Every script the head loads is deferred (or async): the browser draws without waiting for it."""
    text = _html(page)
    head = text[: text.index("</head>")]
    blocking = [
        src for before, src, after in HEAD_SCRIPT.findall(head) if not re.search(r"\b(defer|async)\b", before + after)
    ]
    assert not blocking, f"{page}: render-blocking scripts {blocking}"
    assert "fontawesome.js" not in text, f"{page} loads Font Awesome's script"
    assert "searchindex.js" not in text, f"{page} loads the search index, which only the search page needs"
    assert "sphinx-thebe" not in text, f"{page} loads thebe, which no page uses"


@pytest.mark.parametrize("page", PAGES)
def test_icons_and_figures_are_drawn_compactly(page):
    """Icons are inline SVG; figures are sized WebP files; animation frames are files, not inline data."""
    text = _html(page)
    assert not re.search(r'<(i|span) class="[^"]*\bfa-', text), f"{page} has an icon left for Font Awesome's script"
    figures = re.findall(r'<img\b[^>]*\bsrc="(?:\.\./)*_images/[^"]+"[^>]*>', text)
    for tag in figures:
        assert re.search(r'src="[^"]+\.webp"', tag), f"{page}: a figure is not WebP: {tag[:120]}"
        assert re.search(r'\swidth="\d+"', tag), f"{page}: a figure without its width: {tag[:120]}"
        assert re.search(r'\sheight="\d+"', tag), f"{page}: a figure without its height: {tag[:120]}"
    assert "data:image/png;base64" not in text, f"{page} carries a PNG inline"
    for frames in re.findall(r'<div class="animation" data-frames="([^"]+)"', text):
        urls = json.loads(html.unescape(frames))
        assert len(urls) > 1
        missing = [url for url in urls if not (SITE / page).parent.joinpath(url).resolve().is_file()]
        assert not missing, f"{page}: animation frames missing: {missing[:3]}"


def test_no_page_needs_a_widget_manager_and_a_progress_bar_shows_its_last_line():
    """Explorers are drawn for the site at build time; a progress bar is its last line of text."""
    for path in _all_html():
        text = path.read_text(encoding="utf-8")
        assert "application/vnd.jupyter.widget-view+json" not in text, f"{path.name} shows a widget view"
        assert "embed.js" not in " ".join(loaded_urls(text)), f"{path.name} loads the widget manager"
    chapter = (SITE / "chapters" / "11-neurons-and-deep-nets.html").read_text(encoding="utf-8")
    assert re.search(r"training: 100%\|[^|<]*\| \d+/\d+ \[", chapter), "chapter 11 lost its progress bar"


@pytest.mark.parametrize("page", PAGES)
def test_a_table_a_cell_prints_in_markdown_is_a_table(page):
    """A leaderboard printed with ``IPython.display.Markdown`` shows as a table, not as lines of pipes."""
    text = (SITE / f"{page}.html").read_text(encoding="utf-8")
    shown = re.sub(r"<pre\b.*?</pre>", "", text, flags=re.DOTALL)  # code may build a table as text
    assert not re.search(r"<p>\|[^<]*\|\s*\n\s*\|", shown), f"{page} shows a Markdown table as text"
