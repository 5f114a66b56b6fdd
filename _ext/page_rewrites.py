"""The one place where written pages are rewritten: once per page, at the end of the build, in this order.

Used by the book build (registered in ``_config.yml`` under ``sphinx: local_extensions``).

Every other local extension works on the document tree or on Sphinx's settings; the
rewrites below need the finished HTML. Each is a pure function of a page's text in its
own module, tried on small pages in ``tests/test_extensions.py``. Here every page of the
site is read once, passed through :data:`ORDER`, and written once if it changed.

1. :mod:`build_time_maths` — every equation typeset as SVG (MathJax in Node, one run for
   the whole site), so no page loads MathJax;
2. :mod:`compact_images` — figures as lossless WebP, sized, lazily loaded below the first;
3. :mod:`inline_icons` — the theme's icons as inline SVG, so no page loads Font Awesome's
   1.5 MB script;
4. :mod:`deferred_scripts` — no render-blocking script, no unused one;
5. :mod:`lean_code` — code tokens drawn in the code's own colour written as plain text;
6. :mod:`lean_styles` — the theme's style sheet without the rules no page can use
   (PurgeCSS, one run over the pages as steps 1-5 leave them), linked by its digest.

``page_rewrites_skip`` (a Sphinx setting) leaves steps out, so that
``benchmarks/extensions.py`` can measure what each is worth. The handler runs after the
theme's own ``build-finished`` work (it rewrites ``pygments.css``, which :mod:`lean_code`
reads).
"""

from __future__ import annotations

import pathlib

import build_time_maths
import compact_images
import deferred_scripts
import inline_icons
import lean_code
import lean_styles
from build_inputs import extensions_version, node_modules
from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

ORDER = ("build_time_maths", "compact_images", "inline_icons", "deferred_scripts", "lean_code", "lean_styles")


def rewrite_site(app: Sphinx, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    site = pathlib.Path(app.outdir).resolve()
    pages = {path: path.read_text(encoding="utf-8") for path in sorted(site.rglob("*.html"))}
    new = dict(pages)

    skip = set(app.config.page_rewrites_skip)
    # 1. equations: one Node run for every page's equations
    if "build_time_maths" not in skip:
        tex_options = (app.config.mathjax3_config or {}).get("tex", {})
        new.update(build_time_maths.typeset_pages(new, tex_options, node_modules(app), logger, site))
    # 2-5, page by page
    converted: set[pathlib.Path] = set()
    icon_table, unknown = inline_icons.icons(node_modules(app)), set()
    as_you_type = str((app.config.html_theme_options or {}).get("search_as_you_type", False)).lower() == "true"
    style_sheet = site / "_static" / "pygments.css"
    plain = lean_code.plain_classes(style_sheet.read_text(encoding="utf-8")) if style_sheet.is_file() else set()
    search = site / "search.html"
    steps = {
        "compact_images": lambda path, text: compact_images.rewrite_page(text, path, site, converted),
        "inline_icons": lambda path, text: inline_icons.rewrite(text, icon_table, unknown),
        "deferred_scripts": lambda path, text: deferred_scripts.rewrite(text, path == search, as_you_type),
        "lean_code": lambda path, text: lean_code.rewrite(text, plain),
    }
    steps = [steps[name] for name in ORDER[1:-1] if name not in skip]
    for path in new:
        for step in steps:
            new[path] = step(path, new[path])
    # 6. the style sheet: one PurgeCSS run over every page
    if "lean_styles" not in skip:
        digest = lean_styles.write_lean_sheet(site, new, node_modules(app))
        if digest is not None:
            new = {path: lean_styles.rewrite(text, digest) for path, text in new.items()}
    changed = [path for path in new if new[path] != pages[path]]
    for path in changed:
        path.write_text(new[path], encoding="utf-8")
    for png in converted:
        png.unlink(missing_ok=True)
    for classes in sorted(unknown):
        logger.warning(f"inline_icons: no Font Awesome icon for class={classes!r}; the web font draws it")
    logger.info(f"page_rewrites: {len(changed)} of {len(pages)} pages rewritten ({', '.join(ORDER)})")


def setup(app: Sphinx):
    app.add_config_value("page_rewrites_skip", [], "", list)  # steps left out (benchmarks/extensions.py measures each)
    app.connect("build-finished", rewrite_site, priority=950)  # after the theme rewrites pygments.css
    app.connect("html-page-context", deferred_scripts.leave_out_thebe)
    safe = {"parallel_read_safe": True, "parallel_write_safe": True}
    return {"version": "1.0", "env_version": extensions_version(), **safe}
