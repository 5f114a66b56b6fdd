"""Explorers on the site: every kernel of the build draws them for the page, on every way of building.

Used by the book build (registered in ``_config.yml`` under ``sphinx: local_extensions``).

A kernel knows it is drawing for the site because the build gives it an IPython profile
of its own: when the configuration is read, this extension writes
``_build/.ipython/profile_default/ipython_kernel_config.py``, whose start-up lines load
:mod:`site_kernel`, and points ``IPYTHONDIR`` of the build's process at it. Every
kernel started during the build inherits it, whoever starts it: the side-by-side
executor (:mod:`parallel_execution`), myst-nb for a single edited chapter or a retry,
or a serial build without the side-by-side executor. A learner's kernel, or nbval's,
never sees that profile and shows the live ``ipywidgets`` explorer.

:mod:`site_kernel` saves each explorer's figures, named by their content, in a store
inside the execution cache (``_build/.jupyter_cache/explorer-frames``: cleared with the
cache, so the cached outputs and their figures go together). Here, as each page is
written, the figures it names are copied from the store to ``_images/explorers/``; at the
end of the build those no page names any more are deleted. A cell tagged ``explorer``
whose output is not the site's explorer fails the build, naming the chapter, the cell
and what the cell printed instead. Before each explorer the page says, once in
:data:`LIVE_EXPLORER`, what the site's version is. ``_ext/static/explorers.js`` and ``explorers.css``
(deferred, only on pages with an explorer) swap the figures as the controls move.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil

from build_inputs import extensions_version
from docutils import nodes
from lazy_animations import pruner
from site_kernel import URL as FOLDER
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

HERE = pathlib.Path(__file__).resolve().parent
SCRIPT, STYLE = "explorers.js", "explorers.css"  # in _ext/static, served from _static
FIGURE = re.compile(re.escape(FOLDER) + r"/([0-9a-f]{16}\.webp)")
EXPLORER_TAG = "tag_explorer"
LIVE_EXPLORER = (
    "A live explorer",
    "Move the controls below and the figure redraws. On this page each slider stops at "
    "the settings whose figures were drawn when the site was built; open the chapter in "
    "Google Colab (the rocket button at the top of the page) or in JupyterLab from the "
    "course's Docker image, run it, and the same explorer takes any value in between.",
)
"""Title and text of the note put before every explorer on the site: written once, here."""


def execution_cache(app: Sphinx) -> pathlib.Path:
    """The execution cache, by myst-nb's rule: an unset path means .jupyter_cache next to the output folder."""
    return pathlib.Path(app.config.nb_execution_cache_path or pathlib.Path(app.outdir).parent / ".jupyter_cache")


def frame_store(app: Sphinx) -> pathlib.Path:
    return execution_cache(app) / "explorer-frames"


def kernel_profile(app: Sphinx, config) -> None:
    """Write the build's IPython profile and point the build's kernels at it (``IPYTHONDIR``)."""
    if config.nb_execution_in_temp:
        raise ExtensionError("explorer_frames: explorers need each notebook executed in its own folder")
    folder = pathlib.Path(app.outdir).parent / ".ipython"
    write_profile(folder, frame_store(app), pathlib.Path(app.srcdir))
    os.environ["IPYTHONDIR"] = str(folder)


def write_profile(folder: pathlib.Path, store: pathlib.Path, source: pathlib.Path) -> None:
    """An IPython profile in ``folder`` whose kernels load :mod:`site_kernel`, with figures in ``store``."""
    profile = folder / "profile_default"
    profile.mkdir(parents=True, exist_ok=True)
    lines = [
        f"__import__('sys').path.append({str(HERE)!r})",
        f"__import__('site_kernel').register(get_ipython(), {str(store)!r}, {str(source)!r})",
    ]
    text = f"c.InteractiveShellApp.exec_lines = {lines!r}\n"
    config_file = profile / "ipython_kernel_config.py"
    if not config_file.is_file() or config_file.read_text() != text:
        config_file.write_text(text)


def _printed(cell: nodes.Element) -> str:
    """What a cell showed instead of an explorer, shortened to its last lines."""
    outputs = [child for child in cell.children if child.get("nb_element") == "cell_code_output"]
    text = " ".join(" ".join(output.astext() for output in outputs).split())
    return text[-400:] if text else "nothing"


def copy_figures(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Check each explorer cell shows the site's explorer, and copy the figures its page names."""
    if app.builder.format != "html":
        return
    for cell in doctree.findall(nodes.container):
        if cell.get("nb_element") == "cell_code" and EXPLORER_TAG in cell.get("classes", []):
            if not any('class="explorer"' in raw.astext() for raw in cell.findall(nodes.raw)):
                where = f"cell {cell['cell_index']}" if "cell_index" in cell else "a cell"
                raise ExtensionError(
                    f"explorer_frames: {docname}, {where} tagged explorer shows no site explorer; "
                    f"it showed: {_printed(cell)}"
                )
    store, target = frame_store(app), pathlib.Path(app.outdir) / FOLDER
    for raw in doctree.findall(nodes.raw):
        source = raw.astext()
        if raw.get("format") != "html" or 'class="explorer"' not in source:
            continue
        target.mkdir(parents=True, exist_ok=True)
        for name in set(FIGURE.findall(source)):
            if not (target / name).is_file():
                if not (store / name).is_file():
                    raise ExtensionError(
                        f"explorer_frames: {docname} names the figure {name}, which {store} no longer holds; "
                        f"delete {execution_cache(app)} to draw the explorers again"
                    )
                shutil.copyfile(store / name, target / name)


def live_explorer_notes(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Put the shared :data:`LIVE_EXPLORER` note before each code cell tagged ``explorer``."""
    title, text = LIVE_EXPLORER
    for cell in list(doctree.findall(nodes.container)):
        if cell.get("nb_element") == "cell_code" and EXPLORER_TAG in cell.get("classes", []):
            note = nodes.admonition("", classes=["tip", "live-explorer"])
            note += nodes.title(title, title)
            note += nodes.paragraph(text, text)
            cell.parent.insert(cell.parent.index(cell), note)


def add_assets(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if 'class="explorer"' in (context.get("body") or ""):
        app.add_js_file(SCRIPT, loading_method="defer")
        app.add_css_file(STYLE)


def setup(app: Sphinx):
    app.connect("config-inited", kernel_profile)
    app.connect("doctree-resolved", copy_figures)
    app.connect("doctree-resolved", live_explorer_notes)
    app.connect("html-page-context", add_assets)
    app.connect("build-finished", pruner(FOLDER))
    safe = {"parallel_read_safe": True, "parallel_write_safe": True}
    return {"version": "2.0", "env_version": extensions_version(), **safe}
