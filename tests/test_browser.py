"""The built site in a real browser: Chromium, driven by Playwright.

Every page listed in ``_toc.yml`` is served from a local HTTP server (127.0.0.1,
random port, under a GitHub Pages-like subpath, text gzipped:
:func:`tests.site_tools.serve`) and loaded once; the tests then check what a reader
would see: no script errors, no failed or external requests (every request that
leaves the local server is aborted and recorded), every equation drawn (typeset at
build time: the page runs no MathJax), animations that play, solutions that open, a
Colab button for the page's notebook, no serious or critical axe-core accessibility
violation, and a search that finds a chapter (``tests/test_lighthouse.py`` adds
Lighthouse's scores). A screenshot of each page's first screen goes to
``$COURSE_SCREENSHOT_DIR`` (default: ``screenshots/`` next to the site); of the whole page
with ``COURSE_FULL_SCREENSHOTS=1``.

The site comes from ``$COURSE_SITE_DIR`` (default ``_build/html``; ``make book``
builds it). Chromium is ``$COURSE_CHROMIUM`` or ``/usr/bin/chromium`` (Debian's
package: ``apt-get install chromium``). Without it the tests skip, except under CI
(``$CI`` set), where they fail.
"""

from __future__ import annotations

import dataclasses
import pathlib
import re
import urllib.parse

import pytest
import yaml

from tests.site_tools import AXE, SCREENSHOTS, SITE, TAB_STOPS_SET_JS, TIMEOUT_MS, book_dir, screenshot, toc_pages

pytestmark = pytest.mark.site

ROOT = pathlib.Path(__file__).resolve().parent.parent
BOOK = book_dir()
PAGES = toc_pages()


@dataclasses.dataclass
class PageReport:
    """What one page showed in the browser."""

    url: str
    console_errors: list[str] = dataclasses.field(default_factory=list)
    failed_requests: list[str] = dataclasses.field(default_factory=list)
    external_requests: list[str] = dataclasses.field(default_factory=list)
    math: dict = dataclasses.field(default_factory=dict)
    lazy: dict = dataclasses.field(default_factory=dict)
    early_requests: list[str] = dataclasses.field(default_factory=list)
    animations: list[dict] = dataclasses.field(default_factory=list)
    solutions: list[dict] = dataclasses.field(default_factory=list)
    colab_links: list[str] = dataclasses.field(default_factory=list)
    violations: list[dict] = dataclasses.field(default_factory=list)
    screenshot: pathlib.Path | None = None


# JavaScript run in the page. Each returns plain data for the report.
MATH_JS = r"""() => {
  const ignored = 'pre, code, script, style, .cell_output, mjx-container, .highlight';
  // $$...$$, \\( \\) \\[ \\], or $x$ / $...$ with no space inside the dollars
  const tex = new RegExp(String.raw`\$\$|\\\(|\\\)|\\\[|\\\]|\$[^$\s]([^$]*[^$\s])?\$`);
  const walker = document.createTreeWalker(document.querySelector('main') || document.body, NodeFilter.SHOW_TEXT);
  const raw = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const parent = node.parentElement;
    if (!parent || parent.closest(ignored) || !parent.offsetParent) continue;
    const text = node.textContent;
    if (tex.test(text)) raw.push(text.trim().slice(0, 80));
  }
  // An equation is drawn when its container holds an SVG whose every glyph reference
  // finds an outline in the page (a space's is empty), one at least of them not
  // empty, and is named for screen readers.
  const drawn = (container) => {
    const svg = container.querySelector(':scope > svg');
    if (!svg || !container.getAttribute('aria-label')) return false;
    const outlines = [...svg.querySelectorAll('use')].map((use) => {
      const id = (use.getAttribute('xlink:href') || use.getAttribute('href') || '').slice(1);
      return id ? document.getElementById(id) : null;
    });
    if (!outlines.every((outline) => outline && outline.tagName === 'path' && outline.hasAttribute('d'))) return false;
    const ink = outlines.filter((outline) => outline.getAttribute('d')).length;
    return ink + svg.querySelectorAll('path, rect, line').length > 0;
  };
  const elements = [...document.querySelectorAll('.math')];
  return {
    elements: elements.length,
    typeset: elements.filter((e) => [...e.querySelectorAll('mjx-container')].some(drawn)).length,
    errors: [...document.querySelectorAll('mjx-merror, [data-mml-node="merror"]')]
      .map((e) => e.textContent.slice(0, 80)),
    raw: raw,
    mathjax: typeof window.MathJax !== 'undefined',
  };
}"""

# What the page fetched before the reader scrolled: the animation frames are for later,
# unless their animation is already near the screen.
LAZY_JS = """() => {
  const screens = (element) => element.getBoundingClientRect().top / innerHeight;
  const animations = [...document.querySelectorAll('.animation[data-frames]')];
  return {
    animations_far: animations.filter((animation) => screens(animation) > 2.5).map((animation) =>
      JSON.parse(animation.dataset.frames).slice(1)),
  };
}"""


def _load_page(browser, base_url: str, page_name: str) -> PageReport:
    report = PageReport(url=base_url + page_name + ".html")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)

    def route(route):
        url = route.request.url
        if url.startswith(base_url):
            route.continue_()
        else:
            report.external_requests.append(url)
            route.abort()

    context.route("**/*", route)
    page.on("console", lambda message: message.type == "error" and report.console_errors.append(message.text))
    page.on("pageerror", lambda error: report.console_errors.append(f"uncaught: {error}"))
    page.on(
        "requestfailed",
        lambda request: (
            request.url.startswith(base_url) and report.failed_requests.append(f"{request.url} ({request.failure})")
        ),
    )
    page.on(
        "response",
        lambda response: (
            response.status >= 400 and report.failed_requests.append(f"{response.url} ({response.status})")
        ),
    )
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(report.url, wait_until="load")
    page.wait_for_load_state("networkidle")
    report.early_requests = list(requested)
    report.lazy = page.evaluate(LAZY_JS)
    page.wait_for_function(TAB_STOPS_SET_JS, timeout=TIMEOUT_MS)

    report.math = page.evaluate(MATH_JS)
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    results = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
    report.violations = [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "targets": [node["target"] for node in violation["nodes"]][:5],
        }
        for violation in results["violations"]
        if violation["impact"] in ("serious", "critical")
    ]
    # after axe: a whole-page screenshot resizes the window, and the theme updates the
    # page (tab stops of scrollable code) a moment after a resize
    report.screenshot = screenshot(page, SCREENSHOTS, page_name)

    report.colab_links = page.eval_on_selector_all(
        "a[href*='colab.research.google.com']", "links => links.map(a => a.href)"
    )
    report.animations = _play_animations(page)
    report.solutions = _open_solutions(page)
    context.close()
    return report


def _play_animations(page) -> list[dict]:
    """Click each animation's Play button; record whether the frame changed."""
    results = []
    for animation in page.query_selector_all("div.animation"):
        image = animation.query_selector("img")
        before = image.get_attribute("src")
        animation.query_selector("button[title='Play']").click()
        try:
            page.wait_for_function("([img, before]) => img.src !== before", arg=[image, before], timeout=5_000)
            changed = True
        except Exception:
            changed = False
        animation.query_selector("button[title='Pause']").click()
        results.append({"id": image.get_attribute("id"), "frame_changed": changed})
    return results


def _open_solutions(page) -> list[dict]:
    """Click each solution's toggle; record whether its body was hidden, then shown."""
    results = []
    for solution in page.query_selector_all("div.solution"):
        title = solution.query_selector(".admonition-title")
        body = solution.query_selector("section, .admonition-title ~ *")
        hidden_before = body is not None and not body.is_visible()
        (solution.query_selector("button.toggle-button") or title).click()
        try:
            body.wait_for_element_state("visible", timeout=3_000)
            shown = True
        except Exception:
            shown = False
        results.append({"title": title.inner_text() if title else "", "hidden": hidden_before, "shown": shown})
    return results


@pytest.fixture(scope="module")
def reports(browser, base_url):
    """Load each page once, on first use, and keep what it showed."""
    cache: dict[str, PageReport] = {}

    def get(page_name: str) -> PageReport:
        if page_name not in cache:
            cache[page_name] = _load_page(browser, base_url, page_name)
        return cache[page_name]

    return get


# ---------------------------------------------------------------- tests, one per page and concern


@pytest.mark.parametrize("page_name", PAGES)
def test_page_loads_without_errors(reports, page_name):
    report = reports(page_name)
    assert not report.console_errors, f"{report.url}: JavaScript errors: {report.console_errors}"
    assert not report.failed_requests, f"{report.url}: failed requests: {report.failed_requests}"


@pytest.mark.parametrize("page_name", PAGES)
def test_page_requests_no_other_host(reports, page_name):
    report = reports(page_name)
    assert not report.external_requests, f"{report.url}: requests to other hosts: {report.external_requests}"


@pytest.mark.parametrize("page_name", PAGES)
def test_every_equation_is_typeset(reports, page_name):
    math = reports(page_name).math
    assert math["typeset"] == math["elements"], f"{math['elements'] - math['typeset']} equations not drawn"
    assert not math["errors"], f"MathJax errors: {math['errors']}"
    assert not math["raw"], f"TeX left as text: {math['raw']}"
    assert not math["mathjax"], "the page runs MathJax: its equations should be typeset when the site is built"


@pytest.mark.parametrize("page_name", PAGES)
def test_frames_wait_for_the_reader(reports, page_name):
    """Before any scroll, no frames of animations far down the page."""
    report = reports(page_name)
    early = " ".join(report.early_requests)
    for frames in report.lazy["animations_far"]:
        fetched = [frame for frame in frames if frame.rsplit("/", 1)[-1] in early]
        assert not fetched, f"{report.url} fetched {len(fetched)} frames of an animation far below the screen"


@pytest.mark.parametrize("page_name", PAGES)
def test_every_animation_plays(reports, page_name):
    report = reports(page_name)
    expected = len(re.findall(r'<div class="animation"[\s>]', (SITE / f"{page_name}.html").read_text(encoding="utf-8")))
    assert len(report.animations) == expected
    stuck = [animation["id"] for animation in report.animations if not animation["frame_changed"]]
    assert not stuck, f"{report.url}: clicking Play did not change the frame of {stuck}"


@pytest.mark.parametrize("page_name", PAGES)
def test_solutions_open_when_clicked(reports, page_name):
    report = reports(page_name)
    expected = len(re.findall(r'<div class="solution\b', (SITE / f"{page_name}.html").read_text(encoding="utf-8")))
    assert len(report.solutions) == expected
    for solution in report.solutions:
        assert solution["hidden"], f"{report.url}: solution {solution['title']!r} is open before a click"
        assert solution["shown"], f"{report.url}: solution {solution['title']!r} did not open when clicked"


def _expected_colab_url(page_name: str) -> str:
    config = yaml.safe_load((BOOK / "_config.yml").read_text())
    repository = urllib.parse.urlsplit(config["repository"]["url"]).path.strip("/")
    branch = config["repository"].get("branch", "main")
    book_path = (config["repository"].get("path_to_book") or "").strip("/")
    notebook = f"{book_path}/{page_name}.ipynb" if book_path else f"{page_name}.ipynb"
    colab = config["launch_buttons"]["colab_url"].rstrip("/")
    return f"{colab}/github/{repository}/blob/{branch}/{notebook}"


@pytest.mark.parametrize("page_name", PAGES)
def test_colab_button_opens_this_notebook(reports, page_name):
    report = reports(page_name)
    if not (BOOK / f"{page_name}.ipynb").is_file():
        assert not report.colab_links, f"{report.url} is no notebook but links to Colab: {report.colab_links}"
        return
    assert report.colab_links == [_expected_colab_url(page_name)]
    path = report.colab_links[0].split("/blob/", 1)[1].split("/", 1)[1]
    assert (BOOK / path).is_file(), f"the Colab link points to {path}, which is not in the repository"


@pytest.mark.parametrize("page_name", PAGES)
def test_no_serious_accessibility_violation(reports, page_name):
    report = reports(page_name)
    assert not report.violations, f"{report.url}: axe-core violations: {report.violations}"


@pytest.mark.parametrize("page_name", PAGES)
def test_screenshot_written(reports, page_name):
    screenshot = reports(page_name).screenshot
    assert screenshot.is_file(), f"no screenshot at {screenshot}"
    assert screenshot.stat().st_size > 10_000, f"{screenshot} is too small to show the page"
    print(f"screenshot: {screenshot}")


def test_search_finds_a_chapter(browser, base_url):
    chapters = [page for page in PAGES if page.startswith("chapters/")]
    if not chapters:
        pytest.skip("no chapter in _toc.yml yet")
    chapter = chapters[0]
    title = re.search(r"<title>(.*?)(?: &#8212;|</title>)", (SITE / f"{chapter}.html").read_text(encoding="utf-8"))
    words = [word for word in re.findall(r"[A-Za-z]{5,}", title.group(1))] if title else []
    assert words, f"no searchable word in the title of {chapter}"
    context = browser.new_context(service_workers="block")
    external = []
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(base_url) else route.abort())
    page = context.new_page()
    page.on("request", lambda request: request.url.startswith(base_url) or external.append(request.url))
    page.goto(f"{base_url}search.html?q={words[0]}", wait_until="load")
    link = page.wait_for_selector(f"#search-results a[href*='{chapter}']", timeout=TIMEOUT_MS)
    assert link is not None
    assert not external
    context.close()


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_a_first_visit_gets_the_readers_colours_before_the_themes_script_runs(browser, base_url, scheme):
    """With the theme's deferred scripts held back, the head alone settles "auto" on the reader's preference."""
    context = browser.new_context(color_scheme=scheme, service_workers="block")
    context.route("**/*.js*", lambda route: route.abort())  # only the page's inline scripts run
    page = context.new_page()
    page.goto(f"{base_url}intro.html", wait_until="domcontentloaded")
    assert page.evaluate("document.documentElement.dataset.theme") == scheme
    assert page.evaluate("document.documentElement.dataset.mode") == "auto"
    context.close()
