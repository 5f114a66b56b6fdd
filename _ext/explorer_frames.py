"""Explorers' figures as WebP files next to the page; ``explorers.js`` swaps them as the controls move.

Used by the book build (registered in ``_config.yml`` under ``sphinx: local_extensions``).

In the kernels the build starts (``lib.explorers.SITE`` is set by
:mod:`parallel_execution`), an explorer displays plain HTML: its controls over the site's
settings, and the figure ``lib`` drew for every combination of them, inline as base64 PNG.
Here each such output is rewritten: every figure is saved once as a WebP file under
``_images/explorers/`` (named by its content, as :mod:`lazy_animations` names animation
frames; lossy at quality 85, which keeps lines and labels sharp at half the lossless size
and a twentieth of its encoding time, for explorers of hundreds of figures), the
explorer's data lists the files instead, and the page shows the starting figure as a
sized image loaded lazily. At the end of the build the figures no page names any more
are deleted. ``_ext/static/explorers.js`` (deferred,
only on pages with an explorer) redraws on every move by showing the figure for the new
settings, and fetches the figures one step away from the current ones when the reader
first reaches for a control, so a drag shows each figure without waiting.
"""

from __future__ import annotations

import base64
import html
import json
import pathlib
import re

from docutils import nodes
from lazy_animations import pruner, save_frames
from offline_assets import extensions_version
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util.osutil import relative_uri

WEBP = {"quality": 85, "method": 4}  # Pillow's options for the figures
SCRIPT = "explorers.js"  # in _ext/static, served from _static
FOLDER = "_images/explorers"
DATA = re.compile(r'data-explorer="([^"]*)"')
IMAGE = re.compile(r'<img src="data:image/png;base64,[^"]*"')
STYLE = """<style>
.explorer{margin:.5rem 0 1rem}
.explorer-controls{display:grid;grid-template-columns:max-content minmax(8rem,20rem) minmax(4rem,max-content);
gap:.35rem .75rem;align-items:center;margin-bottom:.5rem}
.explorer-controls output,.explorer-controls span{font-variant-numeric:tabular-nums}
.explorer img{max-width:100%;height:auto;display:block}
.explorer img[data-pad]{cursor:crosshair}
.explorer-readout{font-variant-numeric:tabular-nums;margin:.25rem 0 0}
</style>"""


def rewrite(source: str, folder: pathlib.Path, url: str) -> str | None:
    """The explorer with its figures saved to ``folder`` (at ``url``); ``None`` if it is not one."""
    found = DATA.search(source)
    if found is None:
        return None
    data = json.loads(html.unescape(found[1]))
    folder.mkdir(parents=True, exist_ok=True)
    frames = []
    for frame in data["frames"]:
        kind, _, encoded = frame.removeprefix("data:image/").partition(";base64,")
        frames.append((kind, base64.b64decode(encoded)))
    files = [f"{url}/{name}" for name, _ in save_frames(frames, folder, WEBP)]
    data["frames"] = files
    start = int(re.search(r'data-frame="(\d+)"', source)[1])
    pad = ' data-pad=""' if "pad" in data else ""
    source = source.replace(found[0], f'data-explorer="{html.escape(json.dumps(data), quote=True)}"')
    image = f'<img src="{html.escape(files[start], quote=True)}"{pad} loading="lazy" decoding="async"'
    source = IMAGE.sub(image, source)
    return STYLE + source


def move_figures(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    if app.builder.format != "html":
        return
    url = relative_uri(app.builder.get_target_uri(docname), FOLDER)
    folder = pathlib.Path(app.outdir) / FOLDER
    for cell in doctree.findall(nodes.container):
        if cell.get("nb_element") == "cell_code" and "tag_explorer" in cell.get("classes", []):
            if not any('class="explorer"' in raw.astext() for raw in cell.findall(nodes.raw)):
                raise ExtensionError(f"explorer_frames: {docname} has a cell tagged explorer that shows no explorer")
    for raw in list(doctree.findall(nodes.raw)):
        source = raw.astext()
        if raw.get("format") != "html" or 'class="explorer"' not in source:
            continue
        new = rewrite(source, folder, url)
        if new is None:
            raise ExtensionError(f"explorer_frames: {docname} has an explorer without its data")
        raw.replace_self(nodes.raw(new, new, format="html", classes=raw.get("classes", [])))


def add_script(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if 'class="explorer"' in (context.get("body") or ""):
        app.add_js_file(SCRIPT, loading_method="defer")


def setup(app: Sphinx):
    app.connect("doctree-resolved", move_figures)
    app.connect("html-page-context", add_script)
    app.connect("build-finished", pruner(FOLDER))
    safe = {"parallel_read_safe": True, "parallel_write_safe": True}
    return {"version": "1.0", "env_version": extensions_version(), **safe}
