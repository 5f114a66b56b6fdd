"""Page weight and Lighthouse scores of the built site, for every page in ``_toc.yml``.

Usage::

    python benchmarks/site.py [SITE_DIR]                  # page weight
    python benchmarks/site.py --lighthouse [SITE_DIR]     # Lighthouse, mobile and desktop
        [--runs 3] [--preset mobile|desktop|both] [--page chapters/10-adaptive-methods ...]

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
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from tests.site_tools import (
    MB,
    PAGE_BUDGET,
    PRESETS,
    SITE_BUDGET,
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
    parser.add_argument("--runs", type=int, default=3, help="Lighthouse runs per page and preset (default 3)")
    parser.add_argument("--preset", choices=(*PRESETS, "both"), default="both")
    parser.add_argument("--page", action="append", help="only this page (repeatable), e.g. intro")
    parser.add_argument("--reports", type=pathlib.Path, help="also keep every Lighthouse JSON report in this folder")
    arguments = parser.parse_args(argv)
    site = site_dir(arguments.site)
    if not (site / "index.html").is_file():
        print(f"no built site in {site}: run `make book` first", file=sys.stderr)
        return 1
    if not arguments.lighthouse:
        weight_table(site)
        return 0
    presets = PRESETS if arguments.preset == "both" else (arguments.preset,)
    lighthouse_table(site, arguments.page or toc_pages(), presets, arguments.runs, arguments.reports)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
