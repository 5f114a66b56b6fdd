"""Serve every script, style sheet and font of the site from the site itself.

Used by the book build (registered in ``_config.yml`` under ``sphinx: local_extensions``).

A Jupyter Book page would load MathJax and the ipywidgets HTML manager from CDNs,
and the animations that matplotlib's ``to_jshtml()`` writes link a Font Awesome 4
style sheet from a CDN. This extension makes the site self-contained, so it works
offline and makes no request to another host:

* ``npm ci`` installs the packages that carry these files into ``node_modules/``
  (pinned in ``package.json`` and ``package-lock.json``; ``make book`` runs it);
* at the end of the build the files a page can load are copied to ``_static/vendor/``;
* Sphinx's ``mathjax_path`` and myst-nb's ``nb_ipywidgets_js`` point at the copies;
  the widget manager is html-manager's ``embed.js``, which bundles the standard
  widgets (base, controls, output) and needs no AMD loader, so it never asks a CDN
  for a widget module;
* links to the Font Awesome CDN in rendered cell outputs are rewritten to the copy.

The thebe script URL the theme writes into every page is never loaded: live code
(thebe) is not enabled for this book.
"""

from __future__ import annotations

import hashlib
import pathlib
import re
import shutil

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging
from sphinx.util.osutil import relative_uri

logger = logging.getLogger(__name__)

VENDOR = "vendor"  # folder under _static
MATHJAX = f"{VENDOR}/mathjax/tex-mml-chtml.js"
WIDGETS = f"{VENDOR}/jupyter-widgets/embed.js"
FONT_AWESOME = f"_static/{VENDOR}/font-awesome-4/css/font-awesome.min.css"

# (package folder in node_modules, glob patterns inside it, folder under _static/vendor)
ASSETS = (
    (
        "mathjax",
        [
            "LICENSE",
            "es5/tex-mml-chtml.js",
            "es5/input/tex/extensions/**/*.js",  # loaded on demand by \require and autoload
            "es5/input/mml/extensions/*.js",
            "es5/output/chtml/fonts/woff-v2/*.woff",
            "es5/a11y/*.js",  # the menu's accessibility options
            "es5/ui/*.js",
            "es5/sre/mathmaps/base.json",  # speech rules, English only
            "es5/sre/mathmaps/en.json",
        ],
        "mathjax",
    ),
    (
        "@jupyter-widgets/html-manager/dist",
        ["embed.js", "embed.js.LICENSE.txt", "*.woff2", "*.woff", "*.ttf"],
        "jupyter-widgets",
    ),
    ("font-awesome", ["README.md", "css/font-awesome.min.css", "fonts/*"], "font-awesome-4"),
)

CDN_FONT_AWESOME = re.compile(r"https?://[\w.-]+/font-awesome/[\d.]+/css/font-awesome(?:\.min)?\.css")


def _sources(node_modules: pathlib.Path):
    """Yield (source file, path under _static/vendor) for every asset."""
    for package, patterns, destination in ASSETS:
        root = node_modules / package
        for pattern in patterns:
            matches = sorted(p for p in root.glob(pattern) if p.is_file())
            if not matches:
                raise ExtensionError(
                    f"offline_assets: no file matches {package}/{pattern} in {node_modules}; "
                    "run `npm ci` in the repository (`make book` does it)"
                )
            for source in matches:
                relative = source.relative_to(root)
                if package == "mathjax":  # serve es5/* as mathjax/*
                    relative = relative.relative_to("es5") if relative.parts[0] == "es5" else relative
                yield source, pathlib.PurePosixPath(destination, *relative.parts)


def configure(app: Sphinx, config) -> None:
    """Point MathJax and the widget manager at the local copies."""
    config.mathjax_path = MATHJAX
    config.nb_ipywidgets_js = {WIDGETS: {}}


def check_packages(app: Sphinx) -> None:
    """Fail early, with the fix, when the npm packages are not installed."""
    for _ in _sources(_node_modules(app)):
        pass


def _node_modules(app: Sphinx) -> pathlib.Path:
    return (pathlib.Path(app.confdir) / app.config.offline_assets_node_modules).resolve()


def copy_assets(app: Sphinx, exception) -> None:
    """Copy the assets into _static/vendor, skipping files already up to date."""
    if exception is not None or app.builder.format != "html":
        return
    target = pathlib.Path(app.outdir) / "_static" / VENDOR
    copied = 0
    for source, relative in _sources(_node_modules(app)):
        destination = target / relative
        stat = source.stat()
        if destination.is_file():
            existing = destination.stat()
            if existing.st_size == stat.st_size and existing.st_mtime_ns == stat.st_mtime_ns:
                continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)
        copied += 1
    if copied:
        logger.info(f"offline_assets: copied {copied} files to {target}")


def local_font_awesome(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Point the Font Awesome links of rendered outputs (matplotlib animations) at the copy."""
    if app.builder.format != "html":
        return
    font_awesome = relative_uri(app.builder.get_target_uri(docname), FONT_AWESOME)
    for raw in list(doctree.findall(nodes.raw)):
        html = raw.astext()
        if raw.get("format") == "html" and CDN_FONT_AWESOME.search(html):
            new = CDN_FONT_AWESOME.sub(font_awesome, html)
            raw.replace_self(nodes.raw(new, new, format="html", classes=raw.get("classes", [])))


def setup(app: Sphinx):
    app.add_config_value("offline_assets_node_modules", "node_modules", "env")
    app.connect("config-inited", configure, priority=900)
    app.connect("builder-inited", check_packages)
    app.connect("doctree-resolved", local_font_awesome)
    app.connect("build-finished", copy_assets)
    safe = {"parallel_read_safe": True, "parallel_write_safe": True}
    return {"version": "1.0", "env_version": extensions_version(), **safe}


def extensions_version() -> int:
    """Changes with the files of _ext/, so that a change there rebuilds every page."""
    digest = hashlib.sha256()
    for path in sorted(pathlib.Path(__file__).parent.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.name.encode() + path.read_bytes())
    return int(digest.hexdigest()[:8], 16)
