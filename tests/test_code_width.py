"""Code a reader sees fits the column: no line over 79 characters, no sideways scrolling.

Two kinds of check. The first reads the sources: every line of a code cell the
site shows (any cell not tagged ``remove-cell`` or ``remove-input``; a cell
hidden behind a click, ``hide-input`` or ``hide-cell``, is still shown), and
every line of a fenced code block in the prose of a page, is at most 79
characters long. A failure names the page, the cell and the line.

The second loads the built site in Chromium, reusing the server and browser
fixtures of ``tests/test_browser.py``, and measures every code block
(``div.cell_input pre``, ``div.highlight pre``: cell inputs, cell outputs and
code in the prose) after opening every hidden block. At a desktop viewport
(1280 × 800) a code box holds 79 characters, and no code cell and no code in
the prose is wider than its box (``scrollWidth <= clientWidth + 1``); outputs
are counted, not asserted (what a cell prints is its result, not its layout).
At a phone viewport (390 × 844) a 79-character line cannot fit, so the tests
assert what can hold there: the page itself never scrolls sideways, and a
block that is too wide scrolls inside its own box. With ``-s`` they print, for
each page and viewport, how many blocks overflow and how many characters a
code box holds.
"""

from __future__ import annotations

import re

import nbformat
import pytest

from tests.site_tools import TAB_STOPS_SET_JS, book_dir, toc_pages

pytestmark = pytest.mark.site

BOOK = book_dir()
PAGES = toc_pages()
CHAPTERS = sorted((BOOK / "chapters").glob("*.ipynb"))
LIMIT = 79  # characters: PEP 8's line length, what fits a code box on the desktop site
HIDDEN_TAGS = {"remove-cell", "remove-input"}  # the cell's code is not on the page
# Fenced directives whose body is code (any other directive holds prose, which
# may itself hold fenced code).
CODE_DIRECTIVES = {"{code-block}", "{code}", "{sourcecode}", "{code-cell}"}
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 20_000


# ---------------------------------------------------------------- the sources


def visible_code_cells(notebook) -> list[tuple[int, object]]:
    """(index, cell) of each code cell whose source the site shows."""
    return [
        (index, cell)
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code"
        and not HIDDEN_TAGS & set(cell.metadata.get("tags", []))
        and not cell.metadata.get("mystnb", {}).get("remove_code_source", False)
    ]


def fenced_code_lines(markdown: str) -> list[tuple[int, str]]:
    """(line number, text) of each line inside a fenced code block of ``markdown``."""
    lines, open_fences = [], []  # open_fences: (fence, info) from the outermost in
    for number, line in enumerate(markdown.splitlines(), start=1):
        fence = re.match(r"\s*(`{3,}|~{3,})\s*(\S*)", line)
        if fence:
            marks, info = fence.groups()
            closes = open_fences and not info and marks[0] == open_fences[-1][0][0]
            if closes and len(marks) >= len(open_fences[-1][0]):
                open_fences.pop()
            else:
                open_fences.append((marks, info))
            continue
        if not open_fences:
            continue
        info = open_fences[-1][1]
        is_code = not info.startswith("{") or info in CODE_DIRECTIVES
        if is_code and not (info.startswith("{") and re.match(r":\w[\w-]*:", line)):  # a directive's option
            lines.append((number, line))
    return lines


def _long(lines) -> list[str]:
    return [
        f"line {number}: {len(text)} characters: {text.strip()[:60]}…" for number, text in lines if len(text) > LIMIT
    ]


def test_the_checks_see_the_chapters():
    assert len(CHAPTERS) >= 10
    assert all(visible_code_cells(nbformat.read(path, as_version=4)) for path in CHAPTERS)


def test_a_long_line_is_found_in_code_and_prose():
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell("x = 1\n" + "y = " + "1 + " * 20 + "1"),
        nbformat.v4.new_code_cell("z = " + "2 + " * 30 + "2", metadata={"tags": ["remove-cell"]}),
        nbformat.v4.new_code_cell("w = " + "3 + " * 30 + "3", metadata={"tags": ["hide-input"]}),
    ]
    visible = visible_code_cells(notebook)
    assert [index for index, _ in visible] == [0, 2]
    assert [len(_long(enumerate(cell.source.splitlines(), start=1))) for _, cell in visible] == [1, 1]
    prose = "text " * 30 + "\n````{solution} ex\n```python\n" + "a = 1  " * 15 + "\n```\n````\n"
    assert fenced_code_lines(prose) == [(4, "a = 1  " * 15)]
    assert fenced_code_lines("```{math}\n" + "x + " * 40 + "\n```\n") == []
    assert fenced_code_lines("```{code-block} python\n:linenos:\nprint(1)\n```") == [(3, "print(1)")]


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_code_cells_fit_the_column(path):
    notebook = nbformat.read(path, as_version=4)
    too_long = [
        f"cell {index} ({cell.get('id', 'no id')}), {problem}"
        for index, cell in visible_code_cells(notebook)
        for problem in _long(enumerate(cell.source.splitlines(), start=1))
    ]
    assert not too_long, f"{path.name}: code lines longer than {LIMIT} characters:\n" + "\n".join(too_long)


def _prose_sources(page: str) -> list[tuple[str, str]]:
    """(where, markdown) of each block of prose of a page: a notebook's markdown cells, or a .md file."""
    notebook = BOOK / f"{page}.ipynb"
    if notebook.is_file():
        cells = nbformat.read(notebook, as_version=4).cells
        return [
            (f"cell {index} ({cell.get('id', 'no id')})", cell.source)
            for index, cell in enumerate(cells)
            if cell.cell_type == "markdown"
        ]
    source = BOOK / f"{page}.md"
    return [("", source.read_text(encoding="utf-8"))] if source.is_file() else []


@pytest.mark.parametrize("page", PAGES)
def test_code_in_the_prose_fits_the_column(page):
    too_long = [
        f"{where}, {problem}".lstrip(", ")
        for where, markdown in _prose_sources(page)
        for problem in _long(fenced_code_lines(markdown))
    ]
    assert not too_long, f"{page}: code lines in the prose longer than {LIMIT} characters:\n" + "\n".join(too_long)


# ---------------------------------------------------------------- the built site

# Opens every block a click would show, then measures every code block on the page.
MEASURE_JS = r"""() => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
  const page = document.documentElement;
  const blocks = [...document.querySelectorAll('div.cell_input pre, div.highlight pre')].map(pre => {
    const kind = pre.closest('.cell_output, .output') ? 'output' : pre.closest('.cell_input') ? 'input' : 'prose';
    const shown = pre.getClientRects().length > 0;
    const style = getComputedStyle(pre);
    const probe = document.createElement('span');
    probe.textContent = '0'.repeat(100);
    pre.appendChild(probe);
    const charWidth = probe.getBoundingClientRect().width / 100;
    probe.remove();
    const inner = pre.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const longest = pre.textContent.split('\n').reduce((a, b) => (b.length > a.length ? b : a), '');
    return {
      kind, shown,
      overflows: shown && pre.scrollWidth > pre.clientWidth + 1,
      scrolls_itself: ['auto', 'scroll'].includes(style.overflowX),
      fits: charWidth > 0 ? Math.floor(inner / charWidth + 0.01) : 0,
      longest: longest.length,
      sample: longest.trim().slice(0, 60),
    };
  });
  return {blocks, page_scroll_width: page.scrollWidth, page_client_width: page.clientWidth};
}"""


def _measure(browser, base_url, page_name: str, viewport: dict, phone: bool) -> dict:
    context = browser.new_context(
        viewport=viewport,
        is_mobile=phone,
        has_touch=phone,
        device_scale_factor=3 if phone else 1,
        service_workers="block",
    )
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base_url) else route.abort())
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{base_url}{page_name}.html", wait_until="load")
    page.evaluate("() => document.fonts.ready.then(() => true)")
    page.wait_for_function(TAB_STOPS_SET_JS, timeout=TIMEOUT_MS)  # the theme has settled the code boxes
    measured = page.evaluate(MEASURE_JS)
    context.close()
    return measured


@pytest.fixture(scope="module")
def measurements(browser, base_url):
    """Measure each page once per viewport, on first use."""
    cache: dict[tuple[str, str], dict] = {}

    def get(page_name: str, viewport: str) -> dict:
        if (page_name, viewport) not in cache:
            size, phone = (PHONE, True) if viewport == "phone" else (DESKTOP, False)
            cache[page_name, viewport] = _measure(browser, base_url, page_name, size, phone)
        return cache[page_name, viewport]

    return get


def _summary(page_name: str, viewport: str, measured: dict) -> str:
    shown = [block for block in measured["blocks"] if block["shown"]]
    over = [block for block in shown if block["overflows"]]
    kinds = {kind: sum(block["kind"] == kind for block in over) for kind in ("input", "output", "prose")}
    fits = min((block["fits"] for block in shown if block["kind"] == "input"), default=0)
    return (
        f"{viewport} {page_name}: {len(over)} of {len(shown)} code blocks overflow "
        f"(inputs {kinds['input']}, outputs {kinds['output']}, prose {kinds['prose']}); "
        f"an input box holds {fits} characters"
    )


def _too_wide(blocks: list[dict]) -> str:
    return "; ".join(
        f"{block['longest']} characters (the box holds {block['fits']}): {block['sample']}" for block in blocks
    )


@pytest.mark.parametrize("page_name", PAGES)
def test_no_code_cell_scrolls_sideways_on_a_desktop(measurements, page_name):
    measured = measurements(page_name, "desktop")
    print(_summary(page_name, "desktop", measured))
    inputs = [block for block in measured["blocks"] if block["kind"] == "input"]
    if (BOOK / f"{page_name}.ipynb").is_file():
        assert inputs, f"{page_name}: no code cell found on the page"
    assert all(block["shown"] for block in inputs), f"{page_name}: a code cell stayed hidden and was not measured"
    wide = [block for block in inputs if block["overflows"]]
    assert not wide, f"{page_name}: code cells wider than their box at 1280 px: {_too_wide(wide)}"


@pytest.mark.parametrize("page_name", PAGES)
def test_no_code_in_the_prose_scrolls_sideways_on_a_desktop(measurements, page_name):
    prose = [block for block in measurements(page_name, "desktop")["blocks"] if block["kind"] == "prose"]
    assert all(block["shown"] for block in prose), f"{page_name}: a code block stayed hidden and was not measured"
    wide = [block for block in prose if block["overflows"]]
    assert not wide, f"{page_name}: code in the prose wider than its box at 1280 px: {_too_wide(wide)}"


@pytest.mark.parametrize("page_name", PAGES)
def test_a_phone_scrolls_code_boxes_not_the_page(measurements, page_name):
    measured = measurements(page_name, "phone")
    print(_summary(page_name, "phone", measured))
    assert measured["page_scroll_width"] <= measured["page_client_width"] + 1, (
        f"{page_name}: the page is {measured['page_scroll_width']} px wide "
        f"on a {measured['page_client_width']} px screen: it scrolls sideways"
    )
    stuck = [block for block in measured["blocks"] if block["overflows"] and not block["scrolls_itself"]]
    assert not stuck, f"{page_name}: code too wide for a phone that does not scroll in its box: " + "; ".join(
        block["sample"] for block in stuck
    )


def test_a_desktop_code_box_holds_79_characters_a_phone_fewer(measurements):
    """The two viewports really differ: a line that fits on the desktop is cut on a phone."""
    page_name = next(page for page in PAGES if (BOOK / f"{page}.ipynb").is_file())
    widths = {}
    for viewport in ("desktop", "phone"):
        inputs = [block for block in measurements(page_name, viewport)["blocks"] if block["kind"] == "input"]
        widths[viewport] = min(block["fits"] for block in inputs)
    assert widths["desktop"] >= LIMIT > widths["phone"] > 0, widths
