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


def test_extension_patterns_match_what_matplotlib_writes(tmp_path):
    """The build rewrites matplotlib's animation markup; a matplotlib upgrade must not slip past it."""
    import lazy_animations
    import page_fixes

    markup = _small_animation()
    assert page_fixes.ANIMATION_IMAGE.search(markup)
    assert page_fixes.ANIMATION_SLIDER.search(markup)
    assert lazy_animations.rewrite(markup, tmp_path, "frames") is not None


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

    markup = _small_animation(2)
    ident = re.search(r'<img id="_anim_img(\w+)"', markup)[1]
    document = _document(_cell(nodes.raw(markup, markup, format="html")), nodes.paragraph(text='Steps "down" a bowl.'))
    page_fixes.name_outputs(None, document, "chapters/x")
    html = next(iter(document.findall(nodes.raw))).astext()
    assert f'<img id="_anim_img{ident}" alt="Animation: Steps &quot;down&quot; a bowl."' in html
    assert f'<input id="_anim_slider{ident}" aria-label="Animation frame"' in html


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
    assert len(re.findall(r'<link\b[^>]*rel="stylesheet"', head)) == 1, f"{page} links more than one style sheet"


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


# ---------------------------------------------------------------- fast pages: the rules, on small inputs


def _small_animation(frames: int = 3) -> str:
    """What lib.plots.animation_html writes for a tiny animation (matplotlib's JavaScript player)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    fig, ax = plt.subplots(figsize=(1, 1), dpi=20)
    (line,) = ax.plot([0, 1], [0, 0])
    animation = FuncAnimation(fig, lambda i: line.set_ydata([0, i]) or (line,), frames=frames, interval=50)
    from lib.plots import animation_html

    return animation_html(animation, default_mode="loop").data


def test_an_animation_becomes_webp_frames_and_a_player(tmp_path):
    import lazy_animations
    import page_fixes

    markup = _small_animation(3)
    document = _document(_cell(nodes.raw(markup, markup, format="html")), nodes.paragraph(text="A line tips up."))
    page_fixes.name_outputs(None, document, "chapters/x")
    named = next(iter(document.findall(nodes.raw))).astext()
    player = lazy_animations.rewrite(named, tmp_path, "../_images/animations")
    frames = json.loads(html.unescape(re.search(r'data-frames="([^"]+)"', player)[1]))
    assert len(frames) == 3
    assert all(frame.startswith("../_images/animations/") for frame in frames)
    assert sorted(path.suffix for path in tmp_path.iterdir()) == [".webp"] * len(set(frames))
    assert 'alt="Animation: A line tips up."' in player
    assert 'aria-label="Animation frame"' in player
    assert 'data-interval="50"' in player
    assert re.search(r'value="loop" id="_anim_radio2_\w+" checked>', player)
    assert "base64" not in player
    assert "font-awesome" not in player
    assert "onclick" not in player
    assert re.search(r'<img id="_anim_img\w+" src="[^"]+\.webp" width="20" height="20"', player)
    titles = re.findall(r'<button type="button" title="([^"]+)"', player)
    assert titles[4:6] == ["Pause", "Play"]
    assert len(titles) == 9
    assert lazy_animations.rewrite("<div>not an animation</div>", tmp_path, "x") is None


def test_equations_of_a_page_are_found_and_replaced():
    import build_time_maths

    page = (
        '<html><head></head><body class="x"><p><span class="math notranslate nohighlight">\\(a &lt; b\\)</span> and '
        '<div class="math notranslate nohighlight" id="equation-one">\n<span class="eqno">(1)<a href="#e">#</a></span>'
        '\\[x^2\\]</div>\n<div class="math notranslate nohighlight">\n\\begin{align}y &amp;= 1\\end{align}</div>'
        "</p></body></html>"
    )
    equations = build_time_maths.equations_of(page)
    assert [(tex, display) for _, tex, display in equations] == [
        ("a < b", False),
        ("x^2", True),
        ("\\begin{align}y &= 1\\end{align}", True),
    ]
    answer = {
        "maths": ["<mjx-container>A</mjx-container>", "", "<mjx-container>C</mjx-container>"],
        "defs": "<svg>D</svg>",
    }
    new = build_time_maths.rewrite(page, equations, answer, "mjx-container{direction:ltr}")
    assert '<span class="math notranslate nohighlight"><mjx-container>A</mjx-container></span>' in new
    assert "\\[x^2\\]" in new  # the equation MathJax could not typeset stays TeX
    assert '<span class="eqno">(1)' in new
    assert 'nohighlight">\n<mjx-container>C</mjx-container></div>' in new
    assert '<body class="x"><svg>D</svg>' in new
    assert new.count('<style id="typeset-maths">mjx-container{direction:ltr}</style>') == 1
    assert [(tex, display) for _, tex, display in build_time_maths.equations_of(new)] == [("x^2", True)]


def test_mathjax_in_node_draws_names_and_rejects(tmp_path):
    import build_time_maths

    node_modules = BOOK / "node_modules"
    if not (node_modules / "mathjax-full").is_dir():
        pytest.skip("mathjax-full not installed: run `npm ci`")
    answer = build_time_maths.typeset(
        [
            [
                ("x^2 + \\tfrac12", False),
                ("\\foo", False),
                ("a_1 + " * 30 + "\\begin{pmatrix} a & b \\end{pmatrix}", True),
            ]
        ],
        {},
        node_modules,
    )
    page = answer["pages"][0]
    assert page["errors"] == [[1, "Undefined control sequence \\foo"]]
    assert 'aria-label="x squared plus one half"' in page["maths"][0]
    assert 'role="img"' in page["maths"][0]
    assert "aria-hidden" in page["maths"][0]
    assert 'display="true"' in page["maths"][2]
    assert 'tabindex="0"' in page["maths"][2]
    glyphs = set(re.findall(r'xlink:href="#([^"]+)"', page["maths"][0] + page["maths"][2]))
    assert glyphs
    assert glyphs <= set(re.findall(r'<path id="([^"]+)"', page["defs"]))
    assert "mjx-container" in answer["css"]


def test_a_figure_becomes_sized_lazy_webp(tmp_path):
    import compact_images
    from PIL import Image

    (tmp_path / "_images").mkdir()
    (tmp_path / "chapters").mkdir()
    for name in ("a", "b"):
        Image.new("RGB", (30, 20), "white").save(tmp_path / "_images" / f"{name}.png")
    page = '<img src="../_images/a.png" alt="first"/><img alt="second" src="../_images/b.png" />'
    converted: set = set()
    new = compact_images.rewrite(page, tmp_path / "chapters" / "x.html", tmp_path, converted)
    first, second = re.findall(r"<img\b[^>]*>", new)
    assert 'src="../_images/a.webp"' in first
    assert 'width="30"' in first
    assert 'height="20"' in first
    assert "loading=" not in first
    assert 'loading="lazy"' in second
    assert {path.name for path in converted} == {"a.png", "b.png"}
    with Image.open(tmp_path / "_images" / "a.webp") as image:
        assert image.format == "WEBP"
        assert image.size == (30, 20)
    assert compact_images.rewrite(new, tmp_path / "chapters" / "x.html", tmp_path, set()) == new


def test_icons_are_drawn_from_the_themes_font_awesome():
    import inline_icons

    table = inline_icons.icons(inline_icons.theme_script())
    assert ("fab", "github") in table
    assert ("fas", "magnifying-glass") in table
    page = (
        '<i class="theme-switch fa-solid fa-sun fa-lg" data-mode="light" aria-hidden="true"></i>'
        '<span class="fa-solid fa-bars"></span><i class="fa-solid fa-no-such-icon"></i>'
        '<script defer src="../_static/scripts/fontawesome.js?digest=1"></script>'
    )
    unknown: set = set()
    new = inline_icons.rewrite(page, table, unknown)
    assert new.count("<svg") == 2
    assert "fontawesome.js" not in new
    assert '<svg class="svg-inline--fa theme-switch fa-solid fa-sun fa-lg" data-mode="light" aria-hidden="true"' in new
    assert f'viewBox="0 0 {table[("fas", "bars")][0]} 512"' in new
    assert unknown == {"fa-solid fa-no-such-icon"}
    assert '<i class="fa-solid fa-no-such-icon"></i>' in new


def test_the_head_defers_its_scripts_and_drops_unused_ones():
    import deferred_scripts

    page = (
        "<html><head><script>\n"
        '    document.documentElement.dataset.theme = localStorage.getItem("theme") || "auto";\n</script>'
        '<script src="_static/doctools.js"></script><script async="async" src="_static/sphinx-thebe.js"></script>'
        '<script defer="defer" src="_static/x.js"></script>'
        "<script>DOCUMENTATION_OPTIONS.pagename = 'intro';</script><script>let hint = 'show';</script>"
        '<script src="searchindex.js"></script></head><body>'
        "<script type=\"text/x-thebe-config\">{ a: 1 }</script><script>kernelName = 'python3'</script></body></html>"
    )
    new = deferred_scripts.rewrite(page, search_page=False, search_as_you_type=False)
    assert '<script defer src="_static/doctools.js">' in new
    assert '<script defer="defer" src="_static/x.js">' in new
    assert "<script type=\"module\">DOCUMENTATION_OPTIONS.pagename = 'intro';</script>" in new
    assert "<script>let hint = 'show';</script>" in new
    assert "thebe" not in new
    assert "kernelName" not in new
    assert "searchindex" not in new
    assert 'prefers-color-scheme: dark)").matches ? "dark" : "light"' in new
    assert "searchindex.js" in deferred_scripts.rewrite(page, search_page=True, search_as_you_type=False)
    assert deferred_scripts.rewrite(new, search_page=False, search_as_you_type=False) == new


def test_code_tokens_in_the_blocks_colour_become_plain_text():
    import lean_code

    css = (
        'html[data-theme="light"] .highlight { background: #fff; color: #111 }\n'
        'html[data-theme="light"] .highlight .n { color: #111 } /* Name */\n'
        'html[data-theme="light"] .highlight .k { color: #60c; font-weight: bold }\n'
        'html[data-theme="light"] .highlight .p { color: #111 }\n'
        'html[data-theme="dark"] .highlight { background: #000; color: #eee }\n'
        'html[data-theme="dark"] .highlight .n { color: #eee }\n'
        'html[data-theme="dark"] .highlight .k { color: #c9f }\n'
        'html[data-theme="dark"] .highlight .p { color: #f00 }\n'
    )
    assert lean_code.plain_classes(css) == {"n"}  # p is red in the dark theme
    page = (
        '<div class="highlight"><pre><span class="k">def</span> <span class="n">f</span><span class="p">(</span>'
        '<span class="p">)</span></pre></div>'
    )
    assert lean_code.rewrite(page, {"n"}) == (
        '<div class="highlight"><pre><span class="k">def</span> f<span class="p">()</span></pre></div>'
    )


def test_a_pages_style_sheets_become_one_in_the_same_order(tmp_path):
    import css_bundle

    static = tmp_path / "_static"
    (static / "styles").mkdir(parents=True)
    (static / "fonts").mkdir()
    (static / "fonts" / "f.woff2").write_bytes(b"font")
    (static / "basic.css").write_text("p{color:red}")
    (static / "styles" / "theme.css").write_text(
        '@import "../basic.css";\nh1{background:url(../fonts/f.woff2)}.fa-x:before,.fa-y:before{content:"1"}'
        '.fa-z:before{content:"2"}'
    )
    (static / "page.css").write_text("p{color:blue}/*# sourceMappingURL=page.css.map*/")
    (static / "print.css").write_text("p{color:black}")
    (tmp_path / "chapters").mkdir()
    page = (
        '<html><head>\n<link href="../_static/styles/theme.css?digest=1" rel="stylesheet" />\n'
        '<link rel="stylesheet" type="text/css" href="../_static/page.css?v=2" />\n'
        '<link rel="stylesheet" href="../_static/print.css" media="print" />\n'
        '</head><body><link rel="stylesheet" href="../_static/late.css"></body></html>'
    )
    written: dict = {}
    new = css_bundle.rewrite(page, tmp_path / "chapters" / "x.html", tmp_path, written, used_icons={"fa-y"})
    (name,) = written.values()
    assert re.findall(r'href="([^"]+)"', new)[:2] == [f"../_static/{name}", "../_static/print.css"]
    assert "late.css" in new  # only the head's links are joined
    assert (static / name).read_text() == (
        'p{color:red}\nh1{background:url("fonts/f.woff2")}.fa-x:before,.fa-y:before{content:"1"}\np{color:blue}'
    )


def test_the_widget_manager_loads_through_the_lazy_loader():
    import types

    import lazy_widgets

    config = types.SimpleNamespace(nb_ipywidgets_js={"widget-support.js": {}, "vendor/jupyter-widgets/embed.js": {}})
    lazy_widgets.configure(None, config)
    assert config.nb_ipywidgets_js == {
        "lazy-widgets.js": {"defer": "defer", "data-load": "widget-support.js vendor/jupyter-widgets/embed.js"}
    }
    lazy_widgets.configure(None, config)  # a second call changes nothing
    assert list(config.nb_ipywidgets_js) == ["lazy-widgets.js"]
