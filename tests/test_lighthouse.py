"""Lighthouse's mobile audit of every page in ``_toc.yml``: accessibility, best practices
and SEO must score 100.

These are the scores that do not vary from run to run; performance, which does, is
measured by ``python benchmarks/site.py --lighthouse``. The site is served by the
``base_url`` fixture of ``tests/conftest.py`` (gzip, 127.0.0.1, GitHub Pages' subpath), and
every page is audited once: the pages in two halves, each in one Chromium
(``tests/lighthouse.mjs``), side by side (an audit spends much of its time waiting for the
page to go quiet). Without Chromium or ``npm ci`` the tests skip, except under CI (``$CI``
set), where they fail.
"""

from __future__ import annotations

import concurrent.futures

import pytest

from tests.site_tools import LIGHTHOUSE, chromium, lighthouse, toc_pages, unavailable

pytestmark = pytest.mark.site

PAGES = toc_pages()
STABLE = ("accessibility", "best-practices", "seo")


@pytest.fixture(scope="module")
def audits(base_url) -> dict[str, dict]:
    """Each page's Lighthouse summary, by page name."""
    if chromium() is None or not LIGHTHOUSE.is_file():
        unavailable("Lighthouse needs Chromium and `npm ci` (node_modules/lighthouse)")
    halves = [PAGES[0::2], PAGES[1::2]]
    with concurrent.futures.ThreadPoolExecutor(max_workers=len(halves)) as pool:
        runs = [
            pool.submit(lighthouse, [f"{base_url}{page}.html" for page in half], "mobile", STABLE) for half in halves
        ]
        return {
            page: result
            for half, run in zip(halves, runs, strict=True)
            for page, result in zip(half, run.result(), strict=True)
        }


@pytest.mark.parametrize("page_name", PAGES)
def test_lighthouse_scores_accessibility_best_practices_and_seo_100(audits, page_name):
    result = audits[page_name]
    assert result["url"].endswith(f"/{page_name}.html"), f"the report for {page_name} is of {result['url']}"
    assert set(result["scores"]) == set(STABLE)
    below = {name: score for name, score in result["scores"].items() if score < 100}
    assert not below, f"{page_name}: Lighthouse scores {below}; failed audits: {result['failed']}"
