"""Page weight of the built site: every page's HTML plus the local files it loads.

Usage::

    python benchmarks/site.py [SITE_DIR]      # default: $COURSE_SITE_DIR or _build/html

For each page listed in ``_toc.yml`` it prints the size of the HTML, of the local
scripts, style sheets and images the HTML references (``<script src>``, ``<link
href>`` of a style sheet, preload or icon, ``<img src>``, ...), their total, and the
same total compressed with gzip (what a browser downloads from a server that
compresses text, as GitHub Pages does). Then the largest page and the size of the
whole site folder. ``tests/test_site.py`` enforces the budgets below on these numbers.
"""

from __future__ import annotations

import functools
import gzip
import html.parser
import os
import pathlib
import sys
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


def main(argv: list[str]) -> int:
    site = site_dir(argv[0] if argv else None)
    if not (site / "index.html").is_file():
        print(f"no built site in {site}: run `make book` first", file=sys.stderr)
        return 1
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
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
