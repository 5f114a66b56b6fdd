"""Figures served as lossless WebP, sized, and fetched lazily below the first.

A step of :mod:`page_rewrites`, which runs it on every page at the end of the build.

The figures that code cells draw reach the site as PNG files in ``_images/``. At the
end of the build every PNG a page shows from there is written again as lossless WebP
(the same pixels in about half the bytes; every browser the site supports reads it),
the page's ``<img>`` points at the WebP file and gets the picture's ``width`` and
``height`` (so the text does not move when it arrives), and every image after the
page's first is fetched only when the reader scrolls near it (``loading="lazy"``).
The smallest text a figure's PNG records (:mod:`text_sizes`) goes into the ``<img>``'s
``data-smallest-text``. The PNG is then deleted. A page already rewritten by an earlier build is left as it is.
"""

from __future__ import annotations

import pathlib
import re

import text_sizes
from PIL import Image

IMAGES = "_images"
IMG = re.compile(r"<img\b[^>]*>")
SRC = re.compile(r'\ssrc="([^"]+)"')
WEBP = {"lossless": True, "method": 4}


def webp(png: pathlib.Path) -> tuple[tuple[int, int], dict]:
    """Write `png` as WebP next to it (unless done already); return the picture's pixel size and
    the smallest text the PNG records (``{}`` if none, or if the PNG is gone)."""
    target = png.with_suffix(".webp")
    with Image.open(png if png.is_file() else target) as image:
        size, record = image.size, text_sizes.from_png(image)
        if not target.is_file():
            image.save(target, "WEBP", **WEBP)
    return size, record


def _with(tag: str, name: str, value: str) -> str:
    """`tag` with attribute `name` set to `value` unless it has one."""
    if re.search(rf"\s{name}=", tag):
        return tag
    end = -2 if tag.endswith("/>") else -1
    return f'{tag[:end].rstrip()} {name}="{value}"{tag[end:]}'


def rewrite(page: str, page_path: pathlib.Path, site: pathlib.Path, converted: set[pathlib.Path]) -> str:
    """The page with its _images/ PNG figures as WebP, sized, all but the first lazy."""
    first = [True]

    def replace(match: re.Match) -> str:
        tag = match[0]
        source = SRC.search(tag)
        if source is None or source[1].startswith("data:"):
            return tag
        is_first, first[0] = first[0], False
        path = (page_path.parent / source[1]).resolve()
        if path.parent != (site / IMAGES).resolve() or path.suffix.lower() not in (".png", ".webp"):
            return tag
        if path.suffix.lower() == ".png" and (path.is_file() or path.with_suffix(".webp").is_file()):
            size, record = webp(path)
            converted.add(path)
            tag = tag.replace(source[0], f' src="{source[1][: -len(path.suffix)]}.webp"')
            tag = _with(_with(tag, "width", str(size[0])), "height", str(size[1]))
            if record:
                tag = _with(tag, text_sizes.ATTRIBUTE, text_sizes.value(record))
        if not is_first:
            tag = _with(tag, "loading", "lazy")
        return _with(tag, "decoding", "async")

    return IMG.sub(replace, page)


def rewrite_page(page: str, page_path: pathlib.Path, site: pathlib.Path, converted: set[pathlib.Path]) -> str:
    """:func:`rewrite` on the page's main column (the figures of the chapter), the header as it is."""
    main = page.find("<main")
    return page if main < 0 else page[:main] + rewrite(page[main:], page_path, site, converted)
