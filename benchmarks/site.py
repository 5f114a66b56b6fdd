"""Page weight and Lighthouse scores of the built site, for every page in ``_toc.yml``.

Usage::

    python benchmarks/site.py [SITE_DIR]                  # page weight
    python benchmarks/site.py --lighthouse [SITE_DIR]     # Lighthouse, mobile and desktop
        [--runs 3] [--preset mobile|desktop|both] [--page chapters/10-adaptive-methods ...]
    python benchmarks/site.py --main-thread [SITE_DIR]    # a phone's main thread, measured
        [--runs 5] [--page ...]

``SITE_DIR`` defaults to ``$COURSE_SITE_DIR`` or ``_build/html``.

Page weight: for each page, the size of the HTML, of the local scripts, style sheets
and images the HTML references (``<script src>``, ``<link href>`` of a style sheet,
preload or icon, ``<img src>``, ...), their total, and the same total compressed with
gzip (what a browser downloads from a server that compresses text, as GitHub Pages
does). Then the largest page and the size of the whole site folder.
``tests/test_site.py`` enforces the budgets below on these numbers.

Lighthouse (npm ``lighthouse``, pinned in ``package.json``; Chromium from
``$COURSE_CHROMIUM`` or ``/usr/bin/chromium``): the site is served with gzip from
127.0.0.1 under GitHub Pages' project subpath (:class:`SiteServer`), and the pages are
audited one after another in one headless Chromium (``tests/lighthouse.mjs``), each run
starting from cleared storage and cache. The table gives the four category scores, first
contentful paint, total blocking time and the bytes transferred; performance and the
two timings are the median of ``--runs`` runs (they vary from run to run, and more on a
busy machine), the other scores those of the median run. ``tests/test_lighthouse.py``
asserts the accessibility, best-practices and SEO scores, which do not vary.

Main thread (``--main-thread``): Lighthouse's performance score rests on a *simulated*
phone, worked out from one fast load, and its total blocking time swings by a factor of two
between runs of the same page (200-680 ms for chapter 10 on a 2-core machine). To judge a
change to the pages, this mode loads each page ``--runs`` times in Chromium as Lighthouse's
phone (412 x 823 CSS px, 1.75 device pixels per px, touch) with the processor really slowed
four times (DevTools' CPU throttling, Lighthouse's factor for a phone), and reads the page's
own long tasks (``PerformanceObserver``, type ``longtask``) until it has been quiet for two
seconds after ``load`` (or for at most 30 s). The table gives the medians of the first contentful paint, the
blocking time after it (each long task's time over 50 ms, as Lighthouse counts it) and all
long tasks' time, with the range of the blocking time, and the page's element count.
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from tests.site_tools import (
    CHROMIUM_ARGS,
    MB,
    PAGE_BUDGET,
    PRESETS,
    SITE_BUDGET,
    chromium,
    folder_size,
    lighthouse,
    page_weight,
    serve,
    site_dir,
    toc_pages,
)


def median_run(runs: list[dict]) -> dict:
    """The run with the median performance score, its timings replaced by the medians."""
    ordered = sorted(runs, key=lambda run: run["scores"].get("performance", 0))
    middle = dict(ordered[len(ordered) // 2])
    for key in ("fcp", "tbt"):
        values = [run[key] for run in runs if run.get(key) is not None]
        if values:
            middle[key] = statistics.median(values)
    middle["performance_runs"] = [run["scores"].get("performance") for run in runs]
    return middle


def lighthouse_table(
    site: pathlib.Path, pages: list[str], presets: tuple[str, ...], runs: int, reports: pathlib.Path | None = None
) -> None:
    with serve(site) as base:
        for preset in presets:
            print(f"\nLighthouse {preset}, {site}: median of {runs} run(s)")
            print(
                f"{'page':<45} {'perf':>5} {'a11y':>5} {'best':>5} {'seo':>5} {'FCP s':>6} {'TBT ms':>7} "
                f"{'MB':>5} {'DOM':>6} {'bench':>6}  perf runs"
            )
            for page in pages:
                keep = [
                    reports / f"{page.replace('/', '__')}.{preset}.{run}.json" if reports else None
                    for run in range(runs)
                ]
                result = median_run(lighthouse([f"{base}{page}.html"] * runs, preset, keep=keep))
                scores = result["scores"]
                print(
                    f"{page:<45} {scores['performance']:>5} {scores['accessibility']:>5} "
                    f"{scores['best-practices']:>5} {scores['seo']:>5} {result['fcp'] / 1000:>6.1f} "
                    f"{result['tbt']:>7.0f} {result['transfer'] / MB:>5.2f} {result.get('dom') or 0:>6.0f} "
                    f"{result.get('benchmark_index') or 0:>6.0f}  {result['performance_runs']}",
                    flush=True,
                )
                lost = {name: ids for name, ids in result["failed"].items() if ids and name != "performance"}
                if lost:
                    print(f"    lost: {lost}")


# ---------------------------------------------------------------- main thread

PHONE = {"viewport": {"width": 412, "height": 823}, "device_scale_factor": 1.75, "is_mobile": True, "has_touch": True}
SLOWDOWN = 4  # Lighthouse's CPU slowdown for its mobile preset
LONG_TASKS_JS = """window.__longTasks = [];
new PerformanceObserver((list) => {
  for (const task of list.getEntries()) window.__longTasks.push([task.startTime, task.duration]);
}).observe({type: 'longtask', buffered: true});"""
READ_JS = """() => ({tasks: window.__longTasks,
  fcp: (performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime,
  elements: document.getElementsByTagName('*').length})"""
QUIET_MS = 2000
LONGEST_WAIT_MS = 30_000


def blocking(tasks: list[list[float]], fcp: float) -> float:
    """Total blocking time: of each long task (start, duration in ms), the part after the first
    paint at ``fcp``, less 50 ms when that is longer."""
    return sum(max(0.0, start + duration - max(start, fcp) - 50) for start, duration in tasks)


def main_thread_load(browser, url: str) -> dict:
    """One load of ``url`` on a slowed phone: first paint, blocking time, long tasks, elements (ms)."""
    context = browser.new_context(**PHONE, service_workers="block")
    try:
        page = context.new_page()
        page.add_init_script(LONG_TASKS_JS)
        session = context.new_cdp_session(page)
        session.send("Emulation.setCPUThrottlingRate", {"rate": SLOWDOWN})
        page.goto(url, wait_until="load")
        seen = -1
        for _ in range(LONGEST_WAIT_MS // QUIET_MS):  # until no new long task for QUIET_MS
            page.wait_for_timeout(QUIET_MS)
            count = page.evaluate("() => window.__longTasks.length")
            if count == seen:
                break
            seen = count
        found = page.evaluate(READ_JS)
    finally:
        context.close()
    if found["fcp"] is None:
        raise RuntimeError(f"{url}: no first contentful paint")
    return {
        "fcp": found["fcp"],
        "blocking": blocking(found["tasks"], found["fcp"]),
        "long": sum(duration for _, duration in found["tasks"]),
        "elements": found["elements"],
    }


def main_thread_table(site: pathlib.Path, pages: list[str], runs: int) -> None:
    from playwright.sync_api import sync_playwright

    browser_path = chromium()
    if browser_path is None:
        raise FileNotFoundError("no Chromium: set $COURSE_CHROMIUM or install chromium")
    print(f"\nmain thread, phone slowed {SLOWDOWN}x, {site}: median of {runs} load(s)")
    print(f"{'page':<45} {'FCP ms':>7} {'blocking ms':>12} {'range':>11} {'long ms':>8} {'DOM':>6}")
    with serve(site) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=browser_path, args=CHROMIUM_ARGS)
        try:
            for page in pages:
                loads = [main_thread_load(browser, f"{base}{page}.html") for _ in range(runs)]
                block = [load["blocking"] for load in loads]
                print(
                    f"{page:<45} {statistics.median(load['fcp'] for load in loads):>7.0f} "
                    f"{statistics.median(block):>12.0f} {f'{min(block):.0f}-{max(block):.0f}':>11} "
                    f"{statistics.median(load['long'] for load in loads):>8.0f} {loads[0]['elements']:>6}",
                    flush=True,
                )
        finally:
            browser.close()


# ---------------------------------------------------------------- page weight


def weight_table(site: pathlib.Path) -> None:
    weights = [page_weight(site, page) for page in toc_pages()]
    print(f"site: {site}")
    print(f"{'page':<45} {'html MB':>8} {'files':>6} {'total MB':>9} {'gzip MB':>8}")
    for weight in weights:
        print(
            f"{weight['page']:<45} {weight['html'] / MB:>8.2f} {weight['assets']:>6d} "
            f"{weight['raw'] / MB:>9.2f} {weight['transfer'] / MB:>8.2f}"
        )
        for url in weight["missing"]:
            print(f"    missing: {url}")
    largest = max(weights, key=lambda weight: weight["transfer"])
    total = folder_size(site)
    print(
        f"largest page: {largest['page']}, {largest['transfer'] / MB:.2f} MB downloaded "
        f"({largest['raw'] / MB:.2f} MB on disk; budget {PAGE_BUDGET / MB:.0f} MB downloaded)"
    )
    print(f"whole site: {total / MB:.2f} MB on disk (budget {SITE_BUDGET / MB:.0f} MB)")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("site", nargs="?", help="the built site (default: $COURSE_SITE_DIR or _build/html)")
    parser.add_argument("--lighthouse", action="store_true", help="run Lighthouse instead of the weight table")
    parser.add_argument("--main-thread", action="store_true", help="a slowed phone's long tasks on each page")
    parser.add_argument("--runs", type=int, help="runs per page (and preset): Lighthouse 3, main thread 5")
    parser.add_argument("--preset", choices=(*PRESETS, "both"), default="both")
    parser.add_argument("--page", action="append", help="only this page (repeatable), e.g. intro")
    parser.add_argument("--reports", type=pathlib.Path, help="also keep every Lighthouse JSON report in this folder")
    arguments = parser.parse_args(argv)
    site = site_dir(arguments.site)
    if not (site / "index.html").is_file():
        print(f"no built site in {site}: run `make book` first", file=sys.stderr)
        return 1
    if arguments.runs is not None and arguments.runs < 1:
        parser.error(f"--runs must be at least 1, got {arguments.runs}")
    if arguments.lighthouse and arguments.main_thread:
        parser.error("--lighthouse and --main-thread are separate runs: choose one")
    pages = arguments.page or toc_pages()
    if arguments.main_thread:
        main_thread_table(site, pages, arguments.runs or 5)
        return 0
    if not arguments.lighthouse:
        weight_table(site)
        return 0
    presets = PRESETS if arguments.preset == "both" else (arguments.preset,)
    lighthouse_table(site, pages, presets, arguments.runs or 3, arguments.reports)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
