"""What the site tests and benchmarks/site.py share: where the site is, what a page loads and weighs,
a gzip server like GitHub Pages, Chromium, Lighthouse, and how a missing prerequisite is reported.

A helper module, not a test module: the tests and ``benchmarks/`` import it; it imports
neither. The fixtures built on it (``base_url``, ``browser``) are in ``conftest.py``.
"""

from __future__ import annotations

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
import subprocess
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
RUNNER = pathlib.Path(__file__).with_name("lighthouse.mjs")  # Lighthouse's Node API, every page in one Chromium
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
    numbers["dom"] = audits["dom-size"]["numericValue"] if "dom-size" in audits else None
    numbers["benchmark_index"] = result.get("environment", {}).get("benchmarkIndex")
    return {"url": result["finalDisplayedUrl"], "scores": scores, "failed": failed, **numbers}


def _failed(audit: dict, reference: dict) -> bool:
    return reference.get("weight", 0) > 0 and audit.get("score") is not None and audit["score"] < 1


AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
TIMEOUT_MS = 20_000
SITE = site_dir()
SCREENSHOTS = pathlib.Path(os.environ.get("COURSE_SCREENSHOT_DIR") or SITE.parent / "screenshots")
# The first screen of each page by default (a few hundred kB each); the whole page, up to 7 MB
# and 3 s a page, with COURSE_FULL_SCREENSHOTS=1.
FULL_SCREENSHOTS = os.environ.get("COURSE_FULL_SCREENSHOTS", "") not in ("", "0")


def screenshot(page, folder: pathlib.Path, page_name: str, **options) -> pathlib.Path:
    """Save what ``page`` shows in ``folder`` as ``page_name``'s PNG; its path."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (page_name.replace("/", "__") + ".png")
    page.screenshot(path=str(path), full_page=FULL_SCREENSHOTS, **options)
    return path


# The theme makes every scrollable box a tab stop (tabIndex 0) and every other one not
# (-1), 300 ms after the page last changed: true once it has caught up.
TAB_STOPS_SET_JS = """() => [...document.querySelectorAll(
  'pre, .nboutput > .output_area, .cell_output > .output, .jp-RenderedHTMLCommon, .pst-scrollable-table-container'
)].every(e => e.tabIndex === (e.scrollWidth > e.clientWidth || e.scrollHeight > e.clientHeight ? 0 : -1))"""


def unavailable(reason: str):
    """Skip locally; under CI a missing prerequisite is a failure."""
    import pytest

    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)
