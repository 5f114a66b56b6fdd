"""The book's local extensions (_ext/), each rule tried on small inputs: no built site needed."""

from __future__ import annotations

import html
import json
import pathlib
import re
import types

import build_time_maths
import compact_images
import deferred_scripts
import explorer_frames
import inline_icons
import lazy_animations
import lean_code
import lean_styles
import page_fixes
import pytest
import text_sizes
from docutils import nodes

pytestmark = pytest.mark.build
BOOK = pathlib.Path(__file__).resolve().parent.parent


def test_extension_patterns_match_what_matplotlib_writes(tmp_path):
    """The build rewrites matplotlib's animation markup; a matplotlib upgrade must not slip past it."""

    markup = _small_animation()
    assert page_fixes.ANIMATION_IMAGE.search(markup)
    assert page_fixes.ANIMATION_SLIDER.search(markup)
    assert lazy_animations.rewrite(markup, tmp_path, "frames") is not None


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

    markup = _small_animation(2)
    ident = re.search(r'<img id="_anim_img(\w+)"', markup)[1]
    document = _document(_cell(nodes.raw(markup, markup, format="html")), nodes.paragraph(text='Steps "down" a bowl.'))
    page_fixes.name_outputs(None, document, "chapters/x")
    html = next(iter(document.findall(nodes.raw))).astext()
    assert f'<img id="_anim_img{ident}" alt="Animation: Steps &quot;down&quot; a bowl."' in html
    assert f'<input id="_anim_slider{ident}" aria-label="Animation frame"' in html


def test_dollar_maths_in_a_citation_becomes_an_equation():
    citation = nodes.citation()
    citation += nodes.paragraph(text="A method with rate $O(1/k^2)$ and $n$ steps. Costs 5 dollars.")
    document = _document(citation)
    page_fixes.math_in_citations(None, document, "bibliography")
    assert [node.astext() for node in document.findall(nodes.math)] == ["O(1/k^2)", "n"]
    assert document.astext().endswith("steps. Costs 5 dollars.")


def test_an_explorer_cell_gets_the_shared_note_once_and_other_cells_none():

    explorer, plain = _cell(nodes.paragraph(text="slider")), _cell(nodes.paragraph(text="plot"))
    explorer["classes"] = ["cell", "tag_explorer"]
    document = _document(nodes.paragraph(text="Intro."), explorer, plain)
    explorer_frames.live_explorer_notes(None, document, "chapters/x")
    section = next(iter(document.findall(nodes.section)))
    kinds = [type(child).__name__ for child in section.children]
    assert kinds == ["paragraph", "admonition", "container", "container"]
    note = section.children[1]
    assert note.astext().startswith(explorer_frames.LIVE_EXPLORER[0])
    assert "Colab" in note.astext()
    assert "tip" in note["classes"]


def _small_animation(frames: int = 3) -> str:
    """What lib.plots.animation_html writes for a tiny animation (matplotlib's JavaScript player)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.animation import FuncAnimation

    fig, ax = plt.subplots(figsize=(1, 1), dpi=20)
    (line,) = ax.plot([0, 1], [0, 0])
    ax.set_title("tip", fontsize=6)
    animation = FuncAnimation(fig, lambda i: line.set_ydata([0, i]) or (line,), frames=frames, interval=50)
    from lib.plots import animation_html

    return animation_html(animation, default_mode="loop").data


def test_an_animation_becomes_webp_frames_and_a_player(tmp_path):

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


def test_a_figure_carries_the_smallest_text_its_png_records(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from lib.plots import TEXT_SIZE_KEY, text_size_metadata

    assert text_sizes.KEY == TEXT_SIZE_KEY
    (tmp_path / "_images").mkdir()
    (tmp_path / "chapters").mkdir()
    fig = Figure(figsize=(3, 2), dpi=80)
    ax = fig.subplots()
    ax.plot([0, 1])
    ax.annotate("small", (0.5, 0.5), fontsize=7)
    fig.savefig(tmp_path / "_images" / "a.png", metadata=text_size_metadata(fig, 80))
    fig.savefig(tmp_path / "_images" / "b.png")  # no record
    page = '<img src="../_images/a.png" alt="first"/><img alt="second" src="../_images/b.png" />'
    new = compact_images.rewrite(page, tmp_path / "chapters" / "x.html", tmp_path, set())
    first, second = re.findall(r"<img\b[^>]*>", new)
    record = json.loads(html.unescape(re.search(r'data-smallest-text="([^"]*)"', first)[1]))
    assert record == {"pt": 7.0, "px": round(7 * 80 / 72, 3), "text": "small"}
    assert "data-smallest-text" not in second


def test_an_animation_player_carries_the_smallest_text_of_its_frames(tmp_path):
    markup = _small_animation(3)  # 1 in at 20 dpi, a 6 pt title
    player = lazy_animations.rewrite(markup, tmp_path, "../_images/animations")
    record = json.loads(html.unescape(re.search(r'<img id="_anim_img\w+"[^>]*data-smallest-text="([^"]*)"', player)[1]))
    assert record == {"pt": 6.0, "px": round(6 * 20 / 72, 3), "text": "tip"}


def test_icons_are_drawn_from_font_awesomes_svg_files():
    table = inline_icons.icons(BOOK / "node_modules")
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
    assert "searchindex" not in new
    assert "searchindex.js" in deferred_scripts.rewrite(page, search_page=True, search_as_you_type=False)
    assert deferred_scripts.rewrite(new, search_page=False, search_as_you_type=False) == new


def test_the_page_lists_none_of_thebes_files():
    def asset(filename, **attributes):
        return types.SimpleNamespace(filename=filename, attributes=attributes)

    context = {
        "script_files": [asset("_static/doctools.js"), asset("_static/sphinx-thebe.js"), asset(None, body="x = 1")],
        "css_files": [asset("_static/sphinx-thebe.css"), asset("_static/pygments.css")],
    }
    deferred_scripts.leave_out_thebe(None, "intro", "page.html", context, None)
    assert [a.filename for a in context["script_files"]] == ["_static/doctools.js", None]
    assert [a.filename for a in context["css_files"]] == ["_static/pygments.css"]


def test_code_tokens_in_the_blocks_colour_become_plain_text():

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


def test_the_font_awesome_package_is_the_version_the_theme_bundles():
    """The theme's style sheet draws the icons a script adds later with its own Font Awesome:
    the SVGs drawn into the pages must be that version's."""
    import pydata_sphinx_theme

    theme = pathlib.Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "static"
    notice = (theme / "scripts" / "fontawesome.js.LICENSE.txt").read_text()
    bundled = re.search(r"Font Awesome Free (\d+\.\d+\.\d+)", notice)[1]
    package = json.loads((inline_icons.package(BOOK / "node_modules") / "package.json").read_text())
    assert package["version"] == bundled, "pin @fortawesome/fontawesome-free in package.json at the theme's version"


def test_the_rewrites_run_once_per_page_in_the_written_order(tmp_path, monkeypatch):
    import types

    import page_rewrites

    (tmp_path / "_static").mkdir()
    (tmp_path / "a.html").write_text("<html><head></head><body><main>a</main></body></html>")
    (tmp_path / "b.html").write_text("<html><head></head><body><main>b</main></body></html>")
    calls = []

    def step(name):
        def rewrite(text, *args, **kwargs):
            calls.append(name)
            return text.replace("</main>", f"[{name}]</main>")

        return rewrite

    monkeypatch.setattr(page_rewrites.build_time_maths, "typeset_pages", lambda *args: {})
    monkeypatch.setattr(page_rewrites.inline_icons, "icons", lambda modules: {})
    monkeypatch.setattr(page_rewrites.compact_images, "rewrite_page", step("compact_images"))
    for module in ("inline_icons", "deferred_scripts", "lean_code", "lean_styles"):
        monkeypatch.setattr(getattr(page_rewrites, module), "rewrite", step(module))
    sheets = []  # what the style sheet step was given: the pages after the other steps
    monkeypatch.setattr(
        page_rewrites.lean_styles, "write_lean_sheet", lambda site, pages, modules: sheets.append(dict(pages)) or "d1"
    )
    app = types.SimpleNamespace(
        outdir=str(tmp_path),
        confdir=str(tmp_path),
        builder=types.SimpleNamespace(format="html"),
        config=types.SimpleNamespace(
            mathjax3_config=None, html_theme_options={}, build_inputs_node_modules="nm", page_rewrites_skip=[]
        ),
    )
    page_rewrites.rewrite_site(app, None)
    steps = list(page_rewrites.ORDER[1:])
    # every page through every step, in order; the style sheet once all pages are through the others
    assert calls == steps[:-1] * 2 + ["lean_styles"] * 2
    assert [sorted(text.count("[lean_code]") for text in pages.values()) for pages in sheets] == [[1, 1]]
    for page in ("a", "b"):
        text = (tmp_path / f"{page}.html").read_text()
        assert text.endswith(f"{page}{''.join(f'[{name}]' for name in steps)}</main></body></html>")


# What each of _ext/templates/ changes in the theme's own template of that name.
TEMPLATE_FIXES = {
    "theme-switcher.html": [
        (" title=\"{{ _('Light') }}\"", ' aria-hidden="true"'),
        (" title=\"{{ _('Dark') }}\"", ' aria-hidden="true"'),
        (" title=\"{{ _('System Settings') }}\"", ' aria-hidden="true"'),
    ],
    "search-button-field.html": [
        (" aria-label=\"{{ _('Search') }}\"", ""),
        ('<i class="fa-solid fa-magnifying-glass">', '<i class="fa-solid fa-magnifying-glass" aria-hidden="true">'),
    ],
}


@pytest.mark.parametrize("name", sorted(TEMPLATE_FIXES))
def test_each_template_override_is_the_themes_own_but_for_its_fix(name):
    """An upgrade of pydata-sphinx-theme that changes a template we override fails here, by name."""
    import importlib.resources

    components = importlib.resources.files("pydata_sphinx_theme") / "theme" / "pydata_sphinx_theme" / "components"
    upstream = (components / name).read_text(encoding="utf-8")
    for old, new in TEMPLATE_FIXES[name]:
        assert old in upstream, f"the theme's {name} changed: {old!r} is gone; update _ext/templates/{name}"
        upstream = upstream.replace(old, new)
    ours = (pathlib.Path(__file__).resolve().parent.parent / "_ext" / "templates" / name).read_text(encoding="utf-8")

    def without_comments(text):
        return "\n".join(line for line in re.sub(r"\{#.*?#\}", "", text, flags=re.DOTALL).splitlines() if line.strip())

    assert without_comments(ours) == without_comments(upstream), f"_ext/templates/{name} differs from the theme's"


def test_the_lean_style_sheet_keeps_what_pages_and_their_scripts_can_match():
    node_modules = BOOK / "node_modules"
    if not (node_modules / "purgecss").is_dir():
        pytest.skip("purgecss not installed: run `npm ci`")
    css = """
    .used { color: red }
    .unused { color: blue }
    html[data-theme=dark] .used { color: pink }
    html[data-theme=dark] .unused { color: navy }
    .menu.show { display: block }
    #kept-id, #gone-id { margin: 0 }
    table td { padding: 1px }
    video { width: 1px }
    @font-face { font-family: Icons; src: url(icons.woff2) }
    @keyframes spin { to { transform: rotate(1turn) } }
    :root { --unread-variable: 1px }
    """
    pages = [
        '<html><body><p class="used">a</p><ul class="menu" id="kept-id"></ul><table><td>1</td></table></body></html>'
    ]
    scripts = ['menu.classList.toggle("show"); document.documentElement.setAttribute("data-theme", "dark");']
    lean = lean_styles.purged(css, pages, scripts, node_modules)
    for kept in (
        ".used",
        "html[data-theme=dark] .used",
        ".menu.show",
        "#kept-id",
        "table td",
        "@font-face",
        "@keyframes",
    ):
        assert kept in lean, kept
    assert "--unread-variable" in lean
    for gone in (".unused", "#gone-id", "video"):
        assert gone not in lean, gone
    # without the script that adds it, the state a reader reaches is not kept: the scripts count
    assert ".menu.show" not in lean_styles.purged(css, pages, [], node_modules)


def test_pages_link_the_lean_sheet_by_its_digest_and_only_their_own_scripts_count(tmp_path):
    theme = '<link href="../_static/styles/pydata-sphinx-theme.css?digest=55c26ed4" rel="stylesheet" />'
    page = f'<html><head>{theme}<link href="../_static/other.css" rel="stylesheet" /></head></html>'
    once = lean_styles.rewrite(page, "abc123")
    assert '<link href="../_static/styles/pydata-sphinx-theme.lean.css?digest=abc123" rel="stylesheet" />' in once
    assert "pydata-sphinx-theme.css" not in once
    assert 'href="../_static/other.css"' in once
    again = lean_styles.rewrite(once, "def456")  # the next build: the newer sheet's digest
    assert again == once.replace("abc123", "def456")
    (tmp_path / "_static").mkdir()
    for name in ("a.js", "b.js", "unread.js"):
        (tmp_path / "_static" / name).write_text("x")
    pages = {
        tmp_path
        / "index.html": '<script src="_static/a.js?v=1"></script><script src="https://cdn.example/c.js"></script>',
        tmp_path / "sub" / "page.html": '<script defer="defer" src="../_static/b.js"></script>',
    }
    assert lean_styles.loaded_scripts(pages, tmp_path) == [tmp_path / "_static" / "a.js", tmp_path / "_static" / "b.js"]


def test_a_node_script_that_fails_names_the_extension_and_the_package_to_install(tmp_path):
    from build_inputs import run_node
    from sphinx.errors import ExtensionError

    script = tmp_path / "echo.js"
    script.write_text("process.stdin.pipe(process.stdout);")
    assert run_node(script, "typed", tmp_path, who="w", purpose="to p", package="pkg") == "typed"
    script.write_text("console.error('no such module'); process.exit(3);")
    with pytest.raises(
        ExtensionError,
        match=r"(?s)lean_styles: echo\.js failed \(run `npm ci`, which installs purgecss\).*no such module",
    ):
        run_node(script, "{}", tmp_path, who="lean_styles", purpose="to trim the style sheet", package="purgecss")
