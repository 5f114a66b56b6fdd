"""The widget manager loaded when a widget nears the screen, not with the page.

Used by the book build (registered in ``_config.yml`` under ``sphinx: local_extensions``).

myst-nb gives every page that saved widget state the scripts of
``nb_ipywidgets_js``: here :mod:`page_fixes`'s ``widget-support.js``, then the
ipywidgets HTML manager ``embed.js`` (1.9 MB) that :mod:`offline_assets` serves. Loaded
with the page, the manager costs a phone seconds of script before the page responds,
for widgets the reader may never scroll to. This extension puts one small deferred
script, ``_ext/static/lazy-widgets.js``, in their place; it loads those same scripts,
in the same order, when a widget view comes within a screen of the viewport, and then
has the manager draw the widgets (the manager draws on the window's ``load`` event,
which has passed by then).
"""

from __future__ import annotations

from offline_assets import extensions_version
from sphinx.application import Sphinx

LOADER = "lazy-widgets.js"  # in _ext/static, served from _static


def configure(app: Sphinx, config) -> None:
    scripts = list(config.nb_ipywidgets_js)
    if not scripts or scripts == [LOADER]:
        return
    config.nb_ipywidgets_js = {LOADER: {"defer": "defer", "data-load": " ".join(scripts)}}


def setup(app: Sphinx):
    app.connect("config-inited", configure, priority=920)  # after offline_assets and page_fixes set the scripts
    safe = {"parallel_read_safe": True, "parallel_write_safe": True}
    return {"version": "1.0", "env_version": extensions_version(), **safe}
