"""The lean style sheet (``_ext/lean_styles.py``) styles every page as the theme's whole sheet does.

Each page listed in ``_toc.yml`` is loaded on a phone (390 × 844 CSS px, touch), as the
site serves it: linking the theme's style sheet less the rules that PurgeCSS found
nothing to match. In each state a reader can reach without leaving the page (the light
theme, the dark theme, the search dialog open) every element's computed style (twenty
properties: layout, box, colour, type; transitions and animations stopped; the insides of
equations, which MathJax's own rules style, left out) is read, the page is switched to the
theme's whole sheet, read again and switched back: the two readings must be equal. A rule
dropped that a page or a script needed would change some element's style.
"""

from __future__ import annotations

import pytest

from tests.site_tools import TIMEOUT_MS, toc_pages

pytestmark = pytest.mark.site

PAGES = toc_pages()
PHONE = {"viewport": {"width": 390, "height": 844}, "has_touch": True, "is_mobile": True}
PROPERTIES = (
    "display position visibility float width height margin-top margin-right margin-bottom margin-left "
    "padding-top padding-left border-top-width border-top-color color background-color "
    "font-size font-weight font-family opacity"
).split()

# Every element of the body but the insides of an equation: the glyphs of MathJax's drawing
# are styled by MathJax's own rules, inline in the page, not by the theme's sheet. Each
# equation's container and drawing are read; their insides are 4,732 of the 11,183 elements
# of chapter 10, the page with the most maths, and reading them took 40 % of its time
# (1.37 s of each reading, against 0.80 s without).
ELEMENTS_JS = """[...document.querySelectorAll('body *')].filter(
  (element) => !element.parentElement.closest('mjx-container > svg'))"""

STYLES_JS = (
    "(properties) => "
    + ELEMENTS_JS
    + """.map((element) => {
  const style = getComputedStyle(element);
  return properties.map((name) => style.getPropertyValue(name)).join('|');
})"""
)

# Point the theme's <link> at the lean sheet or at the whole one; resolve once it has loaded.
SWITCH_JS = """(whole) => new Promise((resolve, reject) => {
  const link = document.querySelector('link[href*="_static/styles/pydata-sphinx-theme"]');
  const lean = link.dataset.lean || (link.dataset.lean = link.getAttribute('href'));
  const whole_sheet = lean.replace(/pydata-sphinx-theme\\.lean\\.css\\?digest=[0-9a-f]+/, 'pydata-sphinx-theme.css');
  const href = whole ? whole_sheet : lean;
  if (link.getAttribute('href') === href) return resolve(href);
  link.addEventListener('load', () => resolve(href), {once: true});
  link.addEventListener('error', () => reject(new Error('could not load ' + href)), {once: true});
  link.setAttribute('href', href);
})"""

# Transitions and animations off: a style read mid-way through a theme change is neither theme's.
STILL_CSS = "*, *::before, *::after { transition: none !important; animation: none !important; }"

STATES = {
    "light": "() => { document.documentElement.dataset.theme = 'light'; }",
    "dark": "() => { document.documentElement.dataset.theme = 'dark'; }",
    "search open": "() => document.querySelector('.search-button__button, .search-button-field').click()",
}


@pytest.fixture(scope="module")
def phone(browser):
    context = browser.new_context(**PHONE)
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.mark.parametrize("page_name", PAGES)
def test_the_lean_sheet_styles_every_element_as_the_whole_sheet_does(phone, base_url, page_name):
    phone.goto(f"{base_url}{page_name}.html", wait_until="load")
    phone.add_style_tag(content=STILL_CSS)
    assert "pydata-sphinx-theme.lean.css?digest=" in phone.evaluate(SWITCH_JS, False)
    for state, script in STATES.items():
        phone.evaluate(script)
        lean = phone.evaluate(STYLES_JS, PROPERTIES)
        whole = phone.evaluate(SWITCH_JS, True)
        assert whole.endswith("pydata-sphinx-theme.css")
        expected = phone.evaluate(STYLES_JS, PROPERTIES)
        phone.evaluate(SWITCH_JS, False)
        assert len(lean) == len(expected), state
        differ = [i for i, (a, b) in enumerate(zip(lean, expected, strict=True)) if a != b]
        if differ:
            tags = phone.evaluate(
                f"(indices) => {{ const all = {ELEMENTS_JS};"
                " return indices.map((i) => all[i].outerHTML.slice(0, 120)); }",
                differ[:5],
            )
            pytest.fail(f"{state}: {len(differ)} elements styled otherwise, e.g. {tags}")
