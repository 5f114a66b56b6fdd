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
audited one after another in one headless Chromium (``lighthouse.mjs``), each run
starting from cleared storage and cache. The table gives the four category scores, first
contentful paint, total blocking time and the bytes transferred; performance and the
two timings are the median of ``--runs`` runs (they vary from run to run, and more on a
busy machine), the other scores those of the median run. ``tests/test_lighthouse.py``
asserts the accessibility, best-practices and SEO scores, which do not vary.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gzip
import html.parser
import http.server
import json
import mimetypes
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import urllib.parse

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
MB = 1_000_000
PAGE_BUDGET = 3 * MB  # the largest page, HTML plus what it loads, as downloaded
SITE_BUDGET = 40 * MB  # the whole built folder on disk
COMPRESSED = {".html", ".js", ".css", ".json", ".svg", ".txt", ".map", ".xml"}  # what servers gzip

# Elements and attributes through which a page loads a resource (a plain link does not).
LOADING_ATTRIBUTES = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "video": ("src", "poster"),
    "audio": ("src",),
    "iframe": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "track": ("src",),
    "input": ("src",),
}
LOADING_LINKS = {"stylesheet", "preload", "modulepreload", "icon", "shortcut", "apple-touch-icon", "manifest"}


def site_dir(argument: str | None = None) -> pathlib.Path:
    """The built site: the argument, else $COURSE_SITE_DIR, else _build/html."""
    return pathlib.Path(argument or os.environ.get("COURSE_SITE_DIR") or ROOT / "_build" / "html").resolve()


def book_dir() -> pathlib.Path:
    """The book's source folder: $COURSE_BOOK_DIR, else this repository."""
    return pathlib.Path(os.environ.get("COURSE_BOOK_DIR") or ROOT).resolve()


def toc_pages(root: pathlib.Path | None = None) -> list[str]:
    """Every document in _toc.yml, in order, without extension (e.g. 'chapters/03-cost-functions')."""
    toc = yaml.safe_load(((root or book_dir()) / "_toc.yml").read_text())
    pages = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                pages.append(entry["file"])
            walk(entry.get("chapters"))
            walk(entry.get("sections"))
            walk(entry.get("parts"))

    walk(toc.get("parts"))
    walk(toc.get("chapters"))
    return [
        str(pathlib.PurePosixPath(page).with_suffix("")) if page.endswith((".md", ".ipynb")) else page for page in pages
    ]


class _References(html.parser.HTMLParser):
    """Collect the URLs a page loads as resources."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.urls: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "link":
            rel = set((attributes.get("rel") or "").lower().split())
            if rel & LOADING_LINKS and attributes.get("href"):
                self.urls.append(attributes["href"])
            return
        for name in LOADING_ATTRIBUTES.get(tag, ()):
            value = attributes.get(name)
            if not value:
                continue
            if name == "srcset":
                self.urls.extend(part.split()[0] for part in value.split(",") if part.strip())
            else:
                self.urls.append(value)


def loaded_urls(html_text: str) -> list[str]:
    """The URLs of the resources a page loads (scripts, style sheets, images, ...), in order."""
    parser = _References()
    parser.feed(html_text)
    return parser.urls


def is_external(url: str) -> bool:
    """Whether a URL leaves the site (another host, or a protocol-relative //host URL)."""
    parsed = urllib.parse.urlsplit(url)
    return bool(parsed.netloc) or parsed.scheme not in ("", "data", "blob")


def local_file(site: pathlib.Path, page: pathlib.Path, url: str) -> pathlib.Path | None:
    """The file a relative URL on `page` points to, or None for data: URLs and external ones."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme or parsed.netloc or not parsed.path:
        return None
    if parsed.path.startswith("/"):
        return site / urllib.parse.unquote(parsed.path.lstrip("/"))
    return (page.parent / urllib.parse.unquote(parsed.path)).resolve()


@functools.cache
def _sizes(path: pathlib.Path) -> tuple[int, int]:
    """(bytes on disk, bytes downloaded) for one file."""
    data = path.read_bytes()
    if path.suffix.lower() in COMPRESSED:
        return len(data), len(gzip.compress(data, compresslevel=6))
    return len(data), len(data)


def page_weight(site: pathlib.Path, page: str) -> dict:
    """Sizes for one page: its HTML, the local files it loads, and which files are missing."""
    html_path = site / f"{page}.html"
    files, missing = {}, []
    for url in loaded_urls(html_path.read_text(encoding="utf-8")):
        target = local_file(site, html_path, url)
        if target is None:
            continue
        if target.is_file():
            files[target] = _sizes(target)
        else:
            missing.append(url)
    html_raw, html_transfer = _sizes(html_path)
    raw = html_raw + sum(size for size, _ in files.values())
    transfer = html_transfer + sum(size for _, size in files.values())
    return {"page": page, "html": html_raw, "assets": len(files), "raw": raw, "transfer": transfer, "missing": missing}


def folder_size(folder: pathlib.Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


# ---------------------------------------------------------------- serving the site


SUBPATH = "/optimization-for-ml/"  # GitHub Pages serves a project site under its name
CACHE_SECONDS = 600  # what GitHub Pages sends as Cache-Control max-age


class _GzipHandler(http.server.BaseHTTPRequestHandler):
    """Serve files of ``site`` under SUBPATH, text gzipped when the client accepts it; else 404."""

    site: pathlib.Path

    def _file(self) -> pathlib.Path | None:
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        if not path.startswith(SUBPATH):
            return None
        target = (self.site / path[len(SUBPATH) :]).resolve()
        if target.is_dir():
            target = target / "index.html"
        return target if target.is_file() and target.is_relative_to(self.site) else None

    def do_GET(self):
        self._respond(body=True)

    def do_HEAD(self):
        self._respond(body=False)

    def _respond(self, body: bool) -> None:
        target = self._file()
        if target is None:
            self.send_error(404)
            return
        data = target.read_bytes()
        zipped = target.suffix.lower() in COMPRESSED and "gzip" in self.headers.get("Accept-Encoding", "")
        if zipped:
            data = _gzipped(target, target.stat().st_mtime_ns)
        self.send_response(200)
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        text = kind.startswith("text/") or kind in ("application/javascript", "application/json", "image/svg+xml")
        self.send_header("Content-Type", f"{kind}; charset=utf-8" if text else kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", f"max-age={CACHE_SECONDS}")
        if zipped:
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Vary", "Accept-Encoding")
        self.end_headers()
        if body:
            self.wfile.write(data)

    def log_message(self, *args):
        pass


@functools.lru_cache(maxsize=512)
def _gzipped(path: pathlib.Path, mtime_ns: int) -> bytes:
    return gzip.compress(path.read_bytes(), compresslevel=6)


@contextlib.contextmanager
def serve(site: pathlib.Path):
    """Serve `site` on 127.0.0.1 (a free port) as GitHub Pages would; yield the site's base URL."""
    handler = type("Handler", (_GzipHandler,), {"site": site.resolve()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{SUBPATH}"
    finally:
        server.shutdown()
        server.server_close()


# ---------------------------------------------------------------- Lighthouse


LIGHTHOUSE = ROOT / "node_modules" / "lighthouse" / "cli" / "index.js"
RUNNER = pathlib.Path(__file__).with_name("lighthouse.mjs")
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
PRESETS = ("mobile", "desktop")


def chromium() -> str | None:
    """The Chromium to drive: $COURSE_CHROMIUM, /usr/bin/chromium, or one on the PATH."""
    candidate = os.environ.get("COURSE_CHROMIUM") or "/usr/bin/chromium"
    return candidate if os.access(candidate, os.X_OK) else shutil.which("chromium")


def lighthouse(
    urls: list[str],
    preset: str = "mobile",
    categories: tuple[str, ...] = CATEGORIES,
    keep: list[pathlib.Path | None] | None = None,
) -> list[dict]:
    """Lighthouse on each of `urls`, in one Chromium (``lighthouse.mjs``): for each URL, the
    category scores (0-100), the audits each category failed, and a few measurements.

    With `keep`, one path (or None) per URL, the full JSON reports are also written there.
    """
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {PRESETS}, got {preset!r}")
    unknown = sorted(set(categories) - set(CATEGORIES))
    if unknown:
        raise ValueError(f"categories must be among {CATEGORIES}, got {unknown}")
    if keep is not None and len(keep) != len(urls):
        raise ValueError(f"keep must name one path (or None) per URL: {len(keep)} for {len(urls)} URLs")
    browser = chromium()
    if browser is None or not LIGHTHOUSE.is_file():
        raise FileNotFoundError("Lighthouse needs Chromium and `npm ci` (node_modules/lighthouse)")
    with tempfile.TemporaryDirectory() as folder:
        command = ["node", str(RUNNER), folder, preset, ",".join(categories), *urls]
        environment = {**os.environ, "CHROME_PATH": browser}
        done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=60 + 60 * len(urls))
        if done.returncode:
            raise RuntimeError(f"Lighthouse failed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
        reports = [pathlib.Path(folder) / f"{index}.json" for index in range(len(urls))]
        for report, path in zip(reports, keep or [None] * len(urls), strict=True):
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(report, path)
        return [_summary(json.loads(report.read_text()), categories) for report in reports]


def _summary(result: dict, categories: tuple[str, ...]) -> dict:
    audits = result["audits"]
    scores = {name: round(100 * result["categories"][name]["score"]) for name in categories}
    failed = {
        name: [ref["id"] for ref in result["categories"][name]["auditRefs"] if _failed(audits[ref["id"]], ref)]
        for name in categories
    }
    numbers = {
        key: audits[audit]["numericValue"]
        for key, audit in (("fcp", "first-contentful-paint"), ("tbt", "total-blocking-time"))
        if audit in audits
    }
    numbers["transfer"] = audits["total-byte-weight"]["numericValue"] if "total-byte-weight" in audits else None
    return {"url": result["finalDisplayedUrl"], "scores": scores, "failed": failed, **numbers}


def _failed(audit: dict, reference: dict) -> bool:
    return reference.get("weight", 0) > 0 and audit.get("score") is not None and audit["score"] < 1


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
                f"{'MB':>5}  perf runs"
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
                    f"{result['tbt']:>7.0f} {result['transfer'] / MB:>5.2f}  {result['performance_runs']}",
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
