"""Serve every script, style sheet and font of the site from the site itself.

Used by the book build (registered in ``_config.yml`` under ``sphinx: local_extensions``).

A Jupyter Book page would load the ipywidgets HTML manager from a CDN. This extension
makes the site self-contained, so it works offline and makes no request to another
host:

* ``npm ci`` installs the package that carries the manager into ``node_modules/``
  (pinned in ``package.json`` and ``package-lock.json``; ``make book`` runs it);
* at the end of the build its files are copied to ``_static/vendor/``;
* myst-nb's ``nb_ipywidgets_js`` points at the copy: html-manager's ``embed.js``,
  which bundles the standard widgets (base, controls, output) and needs no AMD
  loader, so it never asks a CDN for a widget module.

The other files a page could ask another host for are gone at build time: the
equations are typeset by :mod:`build_time_maths` (no MathJax), the Font Awesome 4
style sheet of matplotlib's animations is replaced by :mod:`lazy_animations`, and
thebe's scripts are left out by :mod:`deferred_scripts`.
"""

from __future__ import annotations

import hashlib
import pathlib
import shutil

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

VENDOR = "vendor"  # folder under _static
WIDGETS = f"{VENDOR}/jupyter-widgets/embed.js"

# (package folder in node_modules, glob patterns inside it, folder under _static/vendor)
ASSETS = (
    (
        "@jupyter-widgets/html-manager/dist",
        ["embed.js", "embed.js.LICENSE.txt", "*.woff2", "*.woff", "*.ttf"],
        "jupyter-widgets",
    ),
)


def _sources(folder: pathlib.Path):
    """Yield (source file, path under _static/vendor) for every asset."""
    for package, patterns, destination in ASSETS:
        root = folder / package
        for pattern in patterns:
            matches = sorted(p for p in root.glob(pattern) if p.is_file())
            if not matches:
                raise ExtensionError(
                    f"offline_assets: no file matches {package}/{pattern} in {folder}; "
                    "run `npm ci` in the repository (`make book` does it)"
                )
            for source in matches:
                yield source, pathlib.PurePosixPath(destination, *source.relative_to(root).parts)


def configure(app: Sphinx, config) -> None:
    """Point the widget manager at the local copy."""
    config.nb_ipywidgets_js = {WIDGETS: {}}


def check_packages(app: Sphinx) -> None:
    """Fail early, with the fix, when the npm packages are not installed."""
    for _ in _sources(node_modules(app)):
        pass


def node_modules(app: Sphinx) -> pathlib.Path:
    """Where `npm ci` installed the packages (the book's node_modules/ unless configured)."""
    return (pathlib.Path(app.confdir) / app.config.offline_assets_node_modules).resolve()


def copy_assets(app: Sphinx, exception) -> None:
    """Copy the assets into _static/vendor, skipping files already up to date."""
    if exception is not None or app.builder.format != "html":
        return
    target = pathlib.Path(app.outdir) / "_static" / VENDOR
    copied = 0
    for source, relative in _sources(node_modules(app)):
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


def setup(app: Sphinx):
    app.add_config_value("offline_assets_node_modules", "node_modules", "env")
    app.connect("config-inited", configure, priority=900)
    app.connect("builder-inited", check_packages)
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
