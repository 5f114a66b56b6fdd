"""The built site on a phone: Chromium at 390 × 844 CSS px, touch, device scale 2.

Every page listed in ``_toc.yml`` is loaded once in a phone context; every check
below reads that one load (``phone_reports`` keeps it):

* the menu (primary sidebar) and the "On this page" contents open with a tap on
  their buttons and close with a tap beside them, and open with the keyboard
  (Enter on the focused button) and close with Escape: the upstream bug
  pydata/pydata-sphinx-theme#2451 left both shut on every page;
* nothing in the article's main column hides part of itself without a cue: a box
  whose content is wider than the box (an equation, a code cell, an output, a
  table) shows a scrollbar that takes room, and a wide table keeps its first
  column in view (``position: sticky``); no element sticks out past the screen;
* the controls a learner uses (menu, contents, search, header icons, explorer
  controls, animation player, solution toggles, quiz answers) are at least 44 × 44 CSS px
  (WCAG 2.5.5), or at least 24 × 24 px with no other control within the 44 px
  circle around their centre (the spacing of WCAG 2.5.8, at 2.5.5's size);
* no tooltip stays over the header's icons after those taps (a touch screen has no hover);
* the "Back to top" pill, scrolled down and back up, lies over nothing in the article;
* no output of a cell on the page is what the cell wrote to stderr (a build
  warning, with the build machine's paths), unless the cell is tagged to allow it;
* a search for a section's name ("Adam", "warm-up", "L-BFGS") lists a link into that
  section, and the search field's magnifier does not lie over the typed text;
* every picture in the article (a figure a cell drew, an animation, an explorer) is a
  matplotlib figure that recorded its smallest text (``data-smallest-text``, see
  ``_ext/text_sizes.py``), and that text shows at :data:`SMALLEST_TEXT` CSS px or more: its
  size in picture pixels times the width the picture is shown at over its pixel width;
* a screenshot of each page goes to ``screenshots/phone/`` next to the desktop ones.

With ``-s`` each page prints its counts: boxes that hide content without a cue
(equations, outputs, code, tables), controls under 44 px, stderr outputs, pictures whose
smallest text is under 9 px.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.site_tools import SCREENSHOTS, SITE, TAB_STOPS_SET_JS, TIMEOUT_MS, screenshot, toc_pages

pytestmark = pytest.mark.site

PAGES = toc_pages()
PHONE_SCREENSHOTS = SCREENSHOTS / "phone"
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "has_touch": True,
    "is_mobile": True,
    "device_scale_factor": 2,
}
TARGET = 44  # CSS px, WCAG 2.5.5
SMALLEST = 24  # CSS px, WCAG 2.5.8
SIDEBARS = {"menu": "primary", "contents": "secondary"}
SECTION_QUERIES = ("Adam", "warm-up", "L-BFGS")  # each names a section of a chapter
SMALLEST_TEXT = 9.0  # CSS px: the smallest text a figure may show on a phone (lib.plots.SMALLEST_READABLE)

# Every box in the article that hides part of its content sideways, and every element that
# sticks out of the screen with no such box around it; the controls a learner taps.
AUDIT_JS = r"""([target, smallest]) => {
  const screen = document.documentElement.clientWidth;
  const article = document.querySelector('main article') || document.querySelector('main');
  const kind = (e) => e.closest('.math, mjx-container') ? 'equation'
    : e.closest('table, .pst-scrollable-table-container') || e.querySelector(':scope > table') ? 'table'
    : e.closest('.cell_output, .output') ? 'output'
    : e.closest('pre, .highlight, .cell_input') ? 'code' : 'other';
  const shown = (e) => e.getClientRects().length > 0 && getComputedStyle(e).visibility === 'visible';
  const hidden = [], outside = [];
  const describe = (e) => ({kind: kind(e), width: Math.round(e.scrollWidth), box: Math.round(e.clientWidth),
    text: (e.textContent || e.getAttribute('aria-label') || '').trim().replace(/\s+/g, ' ').slice(0, 60)});
  const clips = (e) => ['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(e).overflowX);
  for (const e of article.querySelectorAll('*')) {
    if (!shown(e) || e.closest('svg') && e.tagName !== 'svg') continue;
    const style = getComputedStyle(e);
    if (clips(e) && e.scrollWidth > e.clientWidth + 1 && e.clientWidth > 0) {
      // the cue: a scrollbar that takes room below the content, or a shadow drawn at the box's
      // edge (a gradient background or mask); a sideways cut with neither is silent
      const borders = parseFloat(style.borderTopWidth) + parseFloat(style.borderBottomWidth);
      const bar = e.offsetHeight - e.clientHeight - borders;
      const fade = /gradient/.test(`${style.backgroundImage} ${style.maskImage} ${style.webkitMaskImage}`);
      const scrolls = ['auto', 'scroll'].includes(style.overflowX);
      const entry = {...describe(e), scrolls, bar, fade};
      if (entry.kind === 'table') {
        const table = e.tagName === 'TABLE' ? e : e.querySelector('table');
        const first = table && table.querySelector('tbody tr > :first-child');
        entry.sticky = !!first && getComputedStyle(first).position === 'sticky';
      }
      hidden.push(entry);
      continue;
    }
    const rect = e.getBoundingClientRect();
    if (rect.right > screen + 1 || rect.left < -1) {
      let up = e.parentElement, inBox = false;
      while (up && up !== document.body) {
        if (clips(up) && up.scrollWidth > up.clientWidth + 1) { inBox = true; break; }
        up = up.parentElement;
      }
      if (!inBox) outside.push({...describe(e), left: Math.round(rect.left), right: Math.round(rect.right)});
    }
  }
  const selectors = [
    '.primary-toggle', '.secondary-toggle', '.search-button', '.search-button-field',
    '.bd-header-article .btn', '.bd-header-article .dropdown-toggle', '.theme-switch-button',
    '.explorer-controls input', '.explorer-controls select', '.explorer-controls button',
    '.animation button', '.animation input', '.solution .toggle-button', '.cell details > summary',
    '.quiz button', '.quiz input',
  ];
  const elements = [...new Set(document.querySelectorAll(selectors.join(', ')))].filter(shown);
  // a radio button's target is the button and its label together: a tap on either selects it
  const box = (e) => {
    const rects = [e, ...(e.labels || [])].map((x) => x.getBoundingClientRect());
    const left = Math.min(...rects.map((r) => r.left)), top = Math.min(...rects.map((r) => r.top));
    const right = Math.max(...rects.map((r) => r.right)), bottom = Math.max(...rects.map((r) => r.bottom));
    return {left, top, right, bottom, width: right - left, height: bottom - top};
  };
  const boxes = elements.map(box);
  const distance = (r, x, y) => Math.hypot(Math.max(r.left - x, 0, x - r.right), Math.max(r.top - y, 0, y - r.bottom));
  const name = (e) => (e.getAttribute('aria-label') || e.title || e.textContent || e.className || e.tagName)
    .trim().replace(/\s+/g, ' ').slice(0, 40);
  const targets = elements.map((e, i) => {
    const r = boxes[i];
    const x = (r.left + r.right) / 2, y = (r.top + r.bottom) / 2;
    const spaced = boxes.every((other, j) => j === i || distance(other, x, y) >= target / 2);
    const ok = r.width >= target - 0.5 && r.height >= target - 0.5
      || r.width >= smallest - 0.5 && r.height >= smallest - 0.5 && spaced;
    return {name: name(e), tag: e.tagName.toLowerCase(), type: e.type || '', width: Math.round(r.width),
      height: Math.round(r.height), small: r.width < target - 0.5 || r.height < target - 0.5, ok};
  });
  return {
    hidden, outside, targets,
    stderr: document.querySelectorAll('.cell_output .output.stderr').length,
    page_width: document.documentElement.scrollWidth, screen,
  };
}"""

# What the "Back to top" pill, when it shows, lies over in the article (scrolled down, then up a
# little, as it appears): the tags of the elements under its centre.
BACK_TO_TOP_JS = r"""() => {
  const pill = document.getElementById('pst-back-to-top');
  if (!pill) return [];
  const style = getComputedStyle(pill), r = pill.getBoundingClientRect();
  if (style.display === 'none' || style.visibility !== 'visible' || !r.width) return [];
  return document.elementsFromPoint(r.left + r.width / 2, r.top + r.height / 2)
    .filter((e) => !pill.contains(e) && e.closest('article') && !['SECTION', 'ARTICLE', 'DIV'].includes(e.tagName))
    .map((e) => e.tagName.toLowerCase());
}"""

# The tooltips on the screen: a tap on a header button left them over the icons beside it.
TOOLTIPS_JS = r"""() => [...document.querySelectorAll('.tooltip')]
  .filter((t) => t.getClientRects().length > 0 && parseFloat(getComputedStyle(t).opacity) > 0.1)
  .map((t) => t.textContent)"""

SIDEBAR_MS = 3_000  # how long a sidebar may take to open or close after a tap or a key

# Whether a sidebar's content is on the screen: its dialog open, its links inside the viewport.
SIDEBAR_SHOWN_JS = r"""(which) => {
  const dialog = document.getElementById(`pst-${which}-sidebar-modal`);
  if (!dialog || !dialog.open) return false;
  const link = [...dialog.querySelectorAll('a')].find((a) => a.getClientRects().length > 0);
  if (!link) return false;
  const r = link.getBoundingClientRect(), style = getComputedStyle(dialog);
  return style.visibility === 'visible' && r.width > 0 && r.right > 0 && r.left < innerWidth
    && r.bottom > 0 && r.top < innerHeight;
}"""


# Every picture in the article: what it is, its pixel width (the width attribute the build gives
# it, else the file's), the width it is shown at, and the smallest text it recorded.
PICTURES_JS = r"""() => {
  const article = document.querySelector('main article') || document.querySelector('main');
  return [...article.querySelectorAll('img')].map((img) => ({
    kind: img.closest('.explorer') ? 'explorer' : img.closest('.animation') ? 'animation'
      : img.closest('.cell_output, .output') ? 'figure' : 'picture',
    name: (img.getAttribute('alt') || img.getAttribute('src') || '').trim().replace(/\s+/g, ' ').slice(0, 90),
    width: Number(img.getAttribute('width')) || img.naturalWidth,
    shown: img.getBoundingClientRect().width,
    column: article.clientWidth,
    text: img.dataset.smallestText || null,
  }));
}"""


def text_on_screen(picture: dict) -> float | None:
    """The CSS px of a picture's smallest text as the phone shows it (``None`` if not recorded).

    A picture the page hides (in a closed drop-down) is taken at the width it would have:
    its own, or the article's if that is narrower.
    """
    if picture["text"] is None:
        return None
    shown = picture["shown"] or min(picture["width"], picture["column"])
    return json.loads(picture["text"])["px"] * shown / picture["width"]


@dataclasses.dataclass
class PhoneReport:
    """What one page showed on a phone."""

    url: str
    audit: dict = dataclasses.field(default_factory=dict)
    sidebars: dict = dataclasses.field(default_factory=dict)
    under_back_to_top: list[str] = dataclasses.field(default_factory=list)
    tooltips: list[str] = dataclasses.field(default_factory=list)
    pictures: list[dict] = dataclasses.field(default_factory=list)
    screenshot: pathlib.Path | None = None


def _sidebar_becomes(page, which: str, *, shown: bool) -> bool:
    """Whether the sidebar comes to be shown (or hidden) within :data:`SIDEBAR_MS`."""
    try:
        page.wait_for_function(
            f"(which) => ({SIDEBAR_SHOWN_JS})(which) === {str(shown).lower()}", arg=which, timeout=SIDEBAR_MS
        )
    except PlaywrightTimeoutError:
        return False
    return True


def _sidebar(page, which: str) -> dict:
    """Open and close one sidebar by touch, then by keyboard; what was seen at each step."""
    toggles = page.locator(f".{which}-toggle:visible")
    if toggles.count() == 0:
        return {"button": False}
    button = toggles.first
    seen = {"button": True}
    button.tap()
    seen["tap opens"] = _sidebar_becomes(page, which, shown=True)
    dialog = page.locator(f"#pst-{which}-sidebar-modal")
    box = dialog.bounding_box() if seen["tap opens"] else None
    if box:  # a tap on the dimmed page beside the sidebar closes it
        viewport = page.viewport_size
        x = box["x"] + box["width"] + 10 if which == "primary" else box["x"] - 10
        page.touchscreen.tap(min(max(x, 1), viewport["width"] - 1), viewport["height"] / 2)
    seen["tap closes"] = seen["tap opens"] and _sidebar_becomes(page, which, shown=False)
    page.keyboard.press("Escape")  # whatever state the page is in, start closed
    _sidebar_becomes(page, which, shown=False)
    button.focus()
    page.keyboard.press("Enter")
    seen["Enter opens"] = _sidebar_becomes(page, which, shown=True)
    page.keyboard.press("Escape")
    seen["Escape closes"] = seen["Enter opens"] and _sidebar_becomes(page, which, shown=False)
    return seen


def _load(browser, base_url: str, page_name: str) -> PhoneReport:
    report = PhoneReport(url=f"{base_url}{page_name}.html")
    context = browser.new_context(**PHONE, service_workers="block")
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base_url) else route.abort())
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(report.url, wait_until="load")
    page.evaluate("() => document.fonts.ready.then(() => true)")
    page.wait_for_function(TAB_STOPS_SET_JS, timeout=TIMEOUT_MS)
    report.audit = page.evaluate(AUDIT_JS, [TARGET, SMALLEST])
    report.pictures = page.evaluate(PICTURES_JS)
    report.screenshot = screenshot(page, PHONE_SCREENSHOTS, page_name, scale="css")
    report.sidebars = {name: _sidebar(page, which) for name, which in SIDEBARS.items()}
    search = page.locator(".search-button:visible")
    if search.count():  # open the search and close it again: focus returns to its button
        search.first.tap()
        page.wait_for_timeout(300)
        page.keyboard.press("Escape")
        page.wait_for_timeout(300)
    report.tooltips = page.evaluate(TOOLTIPS_JS)  # after the taps on the header's buttons
    page.evaluate("() => scrollTo(0, 3000)")
    page.wait_for_timeout(300)
    page.evaluate("() => scrollTo(0, scrollY - 400)")  # a reader scrolling back up: the pill shows
    page.wait_for_timeout(500)
    report.under_back_to_top = page.evaluate(BACK_TO_TOP_JS)
    context.close()
    return report


@pytest.fixture(scope="module")
def phone_reports(browser, base_url):
    """Load each page once on a phone, on first use, and keep what it showed."""
    cache: dict[str, PhoneReport] = {}

    def get(page_name: str) -> PhoneReport:
        if page_name not in cache:
            cache[page_name] = _load(browser, base_url, page_name)
            audit = cache[page_name].audit
            kinds = [entry["kind"] for entry in audit["hidden"] if not _cued(entry)]
            counts = {kind: kinds.count(kind) for kind in ("equation", "output", "code", "table", "other")}
            small = sum(target["small"] for target in audit["targets"])
            unreadable = len(_unreadable(cache[page_name].pictures))
            print(
                f"phone {page_name}: hidden without a cue {counts}, sticking out {len(audit['outside'])}; "
                f"controls under {TARGET} px {small} of {len(audit['targets'])} "
                f"(failing {sum(not target['ok'] for target in audit['targets'])}); stderr outputs {audit['stderr']}; "
                f"pictures with text under {SMALLEST_TEXT:g} px {unreadable} of {len(cache[page_name].pictures)}"
            )
        return cache[page_name]

    return get


def _unreadable(pictures: list[dict]) -> list[str]:
    """Each picture whose smallest text is under :data:`SMALLEST_TEXT` CSS px, or unrecorded, described."""
    found = []
    for picture in pictures:
        size = text_on_screen(picture)
        where = f"{picture['kind']} {picture['name']!r}"
        if size is None:
            found.append(f"{where}: no smallest text recorded (not a matplotlib figure the build measured)")
        elif size < SMALLEST_TEXT - 1e-6:
            record = json.loads(picture["text"])
            found.append(
                f"{where}: {size:.1f} px ({record['pt']:g} pt {record['text']!r}, "
                f"{picture['width']} px wide shown at {picture['shown']:.0f})"
            )
    return found


def _cued(entry: dict) -> bool:
    """A box that hides content sideways says so: it scrolls, with a scrollbar that takes room
    or a shadow at its edge; a table also keeps its first column in view."""
    return entry["scrolls"] and (entry["bar"] >= 3 or entry["fade"]) and entry.get("sticky", True)


# ---------------------------------------------------------------- tests, one per page and concern


@pytest.mark.parametrize("page_name", PAGES)
@pytest.mark.parametrize("sidebar", SIDEBARS)
def test_a_tap_and_the_keyboard_open_and_close_the_sidebar(phone_reports, page_name, sidebar):
    seen = phone_reports(page_name).sidebars[sidebar]
    if sidebar == "menu":
        assert seen["button"], f"{page_name}: no visible menu button on a phone"
    elif not seen["button"]:  # the theme shows the contents button only when there are sections to list
        sections = (SITE / f"{page_name}.html").read_text(encoding="utf-8").count("<section")
        assert sections <= 1, f"{page_name} has {sections} sections but no contents button on a phone"
        return
    failed = [step for step, ok in seen.items() if not ok]
    assert not failed, f"{page_name}: the {sidebar} on a phone: failed to {failed} (upstream: pydata-sphinx-theme#2451)"


@pytest.mark.parametrize("page_name", PAGES)
def test_nothing_is_cut_off_without_a_cue(phone_reports, page_name):
    audit = phone_reports(page_name).audit
    assert audit["page_width"] <= audit["screen"] + 1, f"{page_name}: the page scrolls sideways on a phone"
    silent = [entry for entry in audit["hidden"] if not _cued(entry)]
    assert not silent, f"{page_name}: boxes that hide content with no visible cue on a phone: {silent[:8]}"
    assert not audit["outside"], f"{page_name}: elements past the edge of a phone's screen: {audit['outside'][:8]}"


@pytest.mark.parametrize("page_name", PAGES)
def test_controls_are_big_enough_for_a_finger(phone_reports, page_name):
    targets = phone_reports(page_name).audit["targets"]
    assert any(target["name"] for target in targets), f"{page_name}: no control found to measure"
    small = [target for target in targets if not target["ok"]]
    assert not small, f"{page_name}: {len(small)} of {len(targets)} controls too small to tap: {small[:10]}"


@pytest.mark.parametrize("page_name", PAGES)
def test_every_figure_shows_its_smallest_text_at_9_px(phone_reports, page_name):
    pictures = phone_reports(page_name).pictures
    unreadable = _unreadable(pictures)
    assert not unreadable, (
        f"{page_name}: {len(unreadable)} of {len(pictures)} pictures show text under {SMALLEST_TEXT:g} CSS px "
        "on a 390 px phone:\n" + "\n".join(unreadable)
    )


@pytest.mark.parametrize("page_name", PAGES)
def test_no_tooltip_stays_over_the_header(phone_reports, page_name):
    tooltips = phone_reports(page_name).tooltips
    assert not tooltips, f"{page_name}: after a tap, tooltips cover the header's icons: {tooltips}"


@pytest.mark.parametrize("page_name", PAGES)
def test_back_to_top_covers_nothing(phone_reports, page_name):
    under = phone_reports(page_name).under_back_to_top
    assert not under, f"{page_name}: the 'Back to top' pill lies over the article's {under}"


@pytest.mark.parametrize("page_name", PAGES)
def test_no_stderr_output_on_the_page(phone_reports, page_name):
    count = phone_reports(page_name).audit["stderr"]
    assert count == 0, f"{page_name}: {count} outputs of what a cell wrote to stderr"


@pytest.mark.parametrize("page_name", PAGES)
def test_phone_screenshot_written(phone_reports, page_name):
    screenshot = phone_reports(page_name).screenshot
    assert screenshot.is_file(), f"no phone screenshot at {screenshot}"
    assert screenshot.stat().st_size > 10_000, f"{screenshot} is too small to show the page"


# The search field of the search page: where its magnifier ends and where the typed text starts.
SEARCH_FIELD_JS = r"""() => {
  const input = [...document.querySelectorAll('.bd-search input')].find((e) => e.getClientRects().length > 0);
  const icon = input.parentElement.querySelector('svg, i');
  const style = getComputedStyle(input), box = input.getBoundingClientRect();
  const text = box.left + parseFloat(style.borderLeftWidth) + parseFloat(style.paddingLeft);
  return {icon_right: icon.getBoundingClientRect().right, text_left: text, value: input.value};
}"""

# The heading of the section that holds the element a link's fragment names.
SECTION_OF_JS = r"""(id) => {
  const target = document.getElementById(id);
  const section = target && (target.closest('section') || target.nextElementSibling);
  const heading = section && section.querySelector('h1, h2, h3, h4');
  return heading ? heading.textContent : null;
}"""


def _squeezed(text: str) -> str:
    return "".join(character for character in text.lower() if character.isalnum())


@pytest.mark.parametrize("query", SECTION_QUERIES)
def test_search_finds_a_section_by_its_name(browser, base_url, query):
    context = browser.new_context(**PHONE, service_workers="block")
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base_url) else route.abort())
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{base_url}search.html?q={query}", wait_until="load")
    # Sphinx lists the results one by one, then counts them in its summary
    page.wait_for_function("() => /\\d/.test(document.querySelector('#search-results .search-summary')?.textContent)")
    field = page.evaluate(SEARCH_FIELD_JS)
    assert field["value"] == query
    assert field["icon_right"] <= field["text_left"] + 0.5, f"the magnifier lies over the search text: {field}"
    links = page.eval_on_selector_all("#search-results a[href*='#']", "links => links.map(a => a.href)")
    assert links, f"searching for {query!r} lists no section, only whole pages"
    page.goto(links[0], wait_until="load")
    heading = page.evaluate(SECTION_OF_JS, links[0].split("#", 1)[1])
    context.close()
    assert heading, f"{query!r} leads to {links[0]}, in no section"
    assert _squeezed(query) in _squeezed(heading), f"{query!r} leads to {links[0]}, section {heading!r}"
