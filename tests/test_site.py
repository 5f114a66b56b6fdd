"""The built site, read as files: self-contained, within its weight budgets, every figure named.

The site comes from ``$COURSE_SITE_DIR`` (default ``_build/html``, built by ``make
book``); without it the tests skip, except under CI (``$CI`` set), where they fail.
``benchmarks/site.py`` prints the numbers the budgets apply to.
"""

from __future__ import annotations

import html.parser
import os
import re

import nbformat
import pytest
import yaml
from docutils import nodes

from benchmarks.site import (
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


def test_vendored_style_sheets_find_their_fonts():
    """Font Awesome's and MathJax's relative font URLs resolve inside _static/vendor."""
    vendor = SITE / "_static" / "vendor"
    sheets = sorted(vendor.rglob("*.css"))
    assert sheets, f"no style sheet under {vendor}"
    for sheet in sheets:
        for a, b in CSS_URL.findall(sheet.read_text(encoding="utf-8")):
            url = (a or b).split("?")[0].split("#")[0]
            if url and not url.startswith("data:"):
                assert (sheet.parent / url).resolve().is_file(), f"{sheet.relative_to(SITE)} needs {url}"


def test_extension_patterns_match_what_matplotlib_writes():
    """The build rewrites matplotlib's animation markup; a matplotlib upgrade must not slip past it."""
    import offline_assets
    import page_fixes
    from matplotlib import _animation_data

    assert offline_assets.CDN_FONT_AWESOME.search(_animation_data.JS_INCLUDE)
    template = _animation_data.DISPLAY_TEMPLATE.format(
        id="abc", Nframes=1, fill_frames="", interval=100, once_checked="", loop_checked="", reflect_checked=""
    )
    assert page_fixes.ANIMATION_IMAGE.search(template)
    assert page_fixes.ANIMATION_SLIDER.search(template)


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


# ---------------------------------------------------------------- the extensions' rules, on small trees


def _document(*children):
    from docutils.frontend import get_default_settings
    from docutils.parsers.rst import Parser
    from docutils.utils import new_document

    document = new_document("test", get_default_settings(Parser))
    section = nodes.section()
    section.extend(children)
    document += section
    return document


def _cell(*outputs):
    cell = nodes.container(nb_element="cell_code")
    output = nodes.container(nb_element="cell_code_output")
    output.extend(outputs)
    cell += output
    return cell


def test_an_output_image_takes_the_caption_paragraph_after_its_cell():
    import page_fixes

    captioned, uncaptioned, explicit = nodes.image(uri="a.png"), nodes.image(uri="b.png"), nodes.image(uri="c.png")
    explicit["alt"] = "Given by the author"
    document = _document(
        _cell(captioned),
        nodes.paragraph(text="The cost falls   fast."),
        _cell(uncaptioned),
        nodes.literal_block(text="no caption here"),
        _cell(explicit),
        nodes.paragraph(text="Not used."),
    )
    page_fixes.name_outputs(None, document, "chapters/x")
    assert captioned["alt"] == "The cost falls fast."
    assert "alt" not in uncaptioned
    assert explicit["alt"] == "Given by the author"


def test_an_animation_gets_alt_text_and_a_labelled_slider():
    import page_fixes
    from matplotlib import _animation_data

    markup = _animation_data.DISPLAY_TEMPLATE.format(
        id="k1", Nframes=2, fill_frames="", interval=100, once_checked="", loop_checked="", reflect_checked=""
    )
    document = _document(_cell(nodes.raw(markup, markup, format="html")), nodes.paragraph(text='Steps "down" a bowl.'))
    page_fixes.name_outputs(None, document, "chapters/x")
    html = next(iter(document.findall(nodes.raw))).astext()
    assert '<img id="_anim_imgk1" alt="Animation: Steps &quot;down&quot; a bowl."' in html
    assert '<input id="_anim_sliderk1" aria-label="Animation frame"' in html


def test_dollar_maths_in_a_citation_becomes_an_equation():
    import types

    import page_fixes

    citation = nodes.citation()
    citation += nodes.paragraph(text="A method with rate $O(1/k^2)$ and $n$ steps. Costs 5 dollars.")
    document = _document(citation)
    flags = {}
    domain = types.SimpleNamespace(data={"has_equations": flags})
    app = types.SimpleNamespace(env=types.SimpleNamespace(get_domain=lambda name: domain))
    page_fixes.math_in_citations(app, document, "bibliography")
    assert [node.astext() for node in document.findall(nodes.math)] == ["O(1/k^2)", "n"]
    assert document.astext().endswith("steps. Costs 5 dollars.")
    assert flags == {"bibliography": True}


def test_an_explorer_cell_gets_the_shared_note_once_and_other_cells_none():
    import page_fixes

    explorer, plain = _cell(nodes.paragraph(text="slider")), _cell(nodes.paragraph(text="plot"))
    explorer["classes"] = ["cell", "tag_explorer"]
    document = _document(nodes.paragraph(text="Intro."), explorer, plain)
    page_fixes.live_explorer_notes(None, document, "chapters/x")
    section = next(iter(document.findall(nodes.section)))
    kinds = [type(child).__name__ for child in section.children]
    assert kinds == ["paragraph", "admonition", "container", "container"]
    note = section.children[1]
    assert note.astext().startswith(page_fixes.LIVE_EXPLORER[0])
    assert "Colab" in note.astext()
    assert "tip" in note["classes"]


@pytest.mark.parametrize("page", PAGES)
def test_every_explorer_on_the_site_follows_the_shared_note(page):
    html = (SITE / f"{page}.html").read_text()
    explorers = html.count("tag_explorer")
    assert html.count("live-explorer") == explorers, f"{page}: {explorers} explorers"


def test_a_page_is_described_by_its_first_paragraph_of_prose():
    import page_fixes

    long = "Gradient descent " + "steps downhill " * 20
    note = nodes.admonition()
    note += nodes.paragraph(text="A tip that is long enough to be a description, but sits in a box.")
    document = _document(nodes.paragraph(text="Short."), note, nodes.paragraph(text=long))
    text = page_fixes.description(document)
    assert text.startswith("Gradient descent steps downhill")
    assert len(text) <= page_fixes.MAX_DESCRIPTION
    assert text.endswith("…")
    assert page_fixes.description(_document(nodes.paragraph(text="Too short."))) is None


@pytest.mark.parametrize("page", PAGES)
def test_every_page_has_a_description_and_the_site_an_icon(page):
    html = (SITE / f"{page}.html").read_text()
    match = re.search(r'<meta name="description" content="([^"]{40,})">', html)
    assert match, f"{page} has no meta description"
    icon = re.search(r'<link rel="icon" href="([^"]+)"', html)
    assert icon, f"{page} names no icon"
    assert (SITE / page).parent.joinpath(icon.group(1)).resolve().is_file()
