"""Animation frames as WebP files next to the page, fetched when the animation nears the screen.

Used by the book build (registered in ``_config.yml`` under ``sphinx: local_extensions``).

matplotlib's ``to_jshtml()`` writes an animation as HTML that carries every frame
inline, as a base64 PNG in a script, and a player that decodes them all as the page
opens: a chapter with a few animations weighed a megabyte before its first paragraph
showed. Here each such output is rewritten:

* every frame is saved once as a lossless WebP file under ``_images/animations/``,
  named by its content (about a third of the PNG's bytes, and no base64);
* the page keeps the first frame as an ordinary image (sized, so nothing moves when it
  arrives, and loaded lazily by the browser), and the same controls: a frame slider,
  the nine buttons (with drawn icons instead of Font Awesome 4 and its CDN style sheet)
  and the once / loop / reflect choice, with the interval and mode the notebook chose;
* ``_ext/static/animations.js`` (deferred, only on pages with an animation) plays it,
  and fetches the frames when the animation comes within a screen of the viewport,
  or at the first press of a control.

The alt text and the slider's label that :mod:`page_fixes` gives the frame are kept; the
smallest text the frames record (:mod:`text_sizes`) goes into the image's ``data-smallest-text``.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import json
import os
import pathlib
import re
from concurrent.futures import ThreadPoolExecutor

import text_sizes
from build_inputs import extensions_version
from docutils import nodes
from PIL import Image
from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util.osutil import relative_uri

PLAYER = "animations.js"  # in _ext/static, served from _static
FOLDER = "_images/animations"
IMAGE_ID = re.compile(r'<img id="_anim_img(\w+)"([^>]*)>')
ALT = re.compile(r'\balt="([^"]*)"')
SLIDER_LABEL = re.compile(r'<input id="_anim_slider\w+"[^>]*\baria-label="([^"]*)"')
FRAME = re.compile(r'frames\[(\d+)\] = "data:image/([\w+]+);base64,((?:[^"\\]|\\\n)*)"')
INTERVAL = re.compile(r"new Animation\(frames, img_id, slider_id, ([\d.e+-]+),")
MODE = re.compile(r'value="(once|loop|reflect)" id="_anim_radio\d_\w+"\s*checked')
WEBP = {"lossless": True, "method": 6}

BUTTONS = (  # (action, label, icon path in a 16 x 16 box)
    ("slower", "Decrease speed", "M2 7h12v2H2z"),
    ("first", "First frame", "M2 2h2v12H2zM15 2v12L9 8zM9 2v12L3 8z"),
    ("previous", "Previous frame", "M3 2h2v12H3zM13 2v12L5 8z"),
    ("reverse", "Play backwards", "M13 2v12L3 8z"),
    ("pause", "Pause", "M3 2h4v12H3zM9 2h4v12H9z"),
    ("play", "Play", "M3 2v12l10-6z"),
    ("next", "Next frame", "M11 2h2v12h-2zM3 2v12l8-6z"),
    ("last", "Last frame", "M12 2h2v12h-2zM1 2v12l6-6zM7 2v12l6-6z"),
    ("faster", "Increase speed", "M7 2h2v5h5v2H9v5H7V9H2V7h5z"),
)
MODES = (("once", "Once"), ("loop", "Loop"), ("reflect", "Reflect"))
STYLE = """<style>
.animation{display:inline-block;max-width:100%;text-align:center}
.animation img{height:auto}
.animation .anim-slider{width:min(374px,100%)}
.anim-buttons{margin:8px 0}
.anim-buttons button{padding:4px 0;width:36px;line-height:0}
.anim-buttons svg{width:14px;height:14px;fill:currentColor}
.anim-state label{margin-right:8px}
.anim-state input{margin:0 4px 0 0;vertical-align:middle}
</style>"""


def _frames(source: str) -> list[tuple[str, bytes]]:
    return [(kind, base64.b64decode(data.replace("\\\n", ""))) for _, kind, data in FRAME.findall(source)]


def save_frame(frame: tuple[str, bytes], folder: pathlib.Path, webp=None) -> tuple[str, tuple[int, int] | None, dict]:
    """Write one frame as WebP with Pillow's options ``webp`` (default :data:`WEBP`; an SVG frame
    as it is); return its file name, pixel size and the smallest text it records."""
    webp = WEBP if webp is None else webp
    kind, data = frame
    if kind == "svg+xml":
        name = hashlib.sha256(data).hexdigest()[:16] + ".svg"
        size = None
        if not (folder / name).is_file():
            (folder / name).write_bytes(data)
        return name, size, {}
    with Image.open(io.BytesIO(data)) as image:
        size, record = image.size, text_sizes.from_png(image)
        name = hashlib.sha256(data + repr(sorted(webp.items())).encode()).hexdigest()[:16] + ".webp"
        if not (folder / name).is_file():
            buffer = io.BytesIO()
            image.save(buffer, "WEBP", **webp)
            (folder / name).write_bytes(buffer.getvalue())
    return name, size, record


def save_frames(
    frames: list[tuple[str, bytes]], folder: pathlib.Path, webp=None
) -> list[tuple[str, tuple | None, dict]]:
    """:func:`save_frame` for each of ``frames``, one thread per core (Pillow encodes WebP
    without holding the GIL), in order."""
    with ThreadPoolExecutor(len(os.sched_getaffinity(0))) as pool:
        return list(pool.map(lambda frame: save_frame(frame, folder, webp), frames))


def player_markup(
    identifier: str, frames: list[str], size, interval: float, mode: str, alt: str, label: str, text: dict | None = None
) -> str:
    """The animation as the page shows it: first frame, slider, buttons, repetition mode; ``text``
    is the smallest text of the frames (:mod:`text_sizes`)."""
    width_height = f' width="{size[0]}" height="{size[1]}"' if size else ""
    buttons = "".join(
        f'<button type="button" title="{title}" aria-label="{title}" data-action="{action}">'
        f'<svg viewBox="0 0 16 16" aria-hidden="true" focusable="false"><path d="{path}"/></svg></button>'
        for action, title, path in BUTTONS
    )
    radios = "".join(
        f'<input type="radio" name="state" value="{value}" id="_anim_radio{number}_{identifier}"'
        f"{' checked' if value == mode else ''}>"
        f'<label for="_anim_radio{number}_{identifier}">{text}</label>'
        for number, (value, text) in enumerate(MODES, start=1)
    )
    frame_list = html.escape(json.dumps(frames), quote=True)
    return (
        f'{STYLE}<div class="animation" data-frames="{frame_list}" data-interval="{interval:g}">'
        f'<img id="_anim_img{identifier}" src="{html.escape(frames[0], quote=True)}"{width_height} '
        f'alt="{alt}"{text_sizes.attribute(text or {})} loading="lazy" decoding="async">'
        f'<div class="anim-controls"><input id="_anim_slider{identifier}" type="range" class="anim-slider" '
        f'min="0" max="{len(frames) - 1}" step="1" value="0" aria-label="{label}">'
        f'<div class="anim-buttons">{buttons}</div>'
        f'<form title="Repetition mode" aria-label="Repetition mode" class="anim-state">{radios}</form>'
        "</div></div>"
    )


def rewrite(source: str, folder: pathlib.Path, url: str) -> str | None:
    """The player markup for one to_jshtml() output, its frames saved to `folder` (at `url`)."""
    image, interval = IMAGE_ID.search(source), INTERVAL.search(source)
    frames = _frames(source)
    if image is None or interval is None or not frames:
        return None
    folder.mkdir(parents=True, exist_ok=True)
    saved = save_frames(frames, folder)
    alt = ALT.search(image[2])
    label = SLIDER_LABEL.search(source)
    mode = MODE.search(source)
    return player_markup(
        image[1],
        [f"{url}/{name}" for name, _, _ in saved],
        saved[0][1],
        float(interval[1]),
        mode[1] if mode else "once",
        alt[1] if alt else "Animation",
        label[1] if label else "Animation frame",
        text_sizes.smallest(record for _, _, record in saved),
    )


def move_frames(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Rewrite every animation output of the page (after :mod:`page_fixes` has named it)."""
    if app.builder.format != "html":
        return
    url = relative_uri(app.builder.get_target_uri(docname), FOLDER)
    folder = pathlib.Path(app.outdir) / FOLDER
    for raw in list(doctree.findall(nodes.raw)):
        source = raw.astext()
        if raw.get("format") != "html" or "_anim_img" not in source:
            continue
        new = rewrite(source, folder, url)
        if new is None:
            raise ExtensionError(f"lazy_animations: {docname} has an animation whose markup is not matplotlib's")
        raw.replace_self(nodes.raw(new, new, format="html", classes=raw.get("classes", [])))


def prune(outdir: pathlib.Path, folder: str) -> list[str]:
    """Delete the files of ``folder`` (under the site ``outdir``) that no page names any more,
    such as the frames of an earlier build's figures; return their names."""
    where = pathlib.Path(outdir) / folder
    if not where.is_dir():
        return []
    named = set()
    for page in pathlib.Path(outdir).rglob("*.html"):
        named.update(re.findall(re.escape(folder) + r"/([\w.-]+)", page.read_text(encoding="utf-8")))
    stale = sorted(f.name for f in where.iterdir() if f.name not in named)
    for name in stale:
        (where / name).unlink()
    return stale


def pruner(folder: str):
    """A ``build-finished`` handler that prunes ``folder`` after a successful HTML build."""

    def prune_folder(app: Sphinx, exception) -> None:
        if exception is None and app.builder.format == "html":
            prune(app.outdir, folder)

    return prune_folder


def add_player(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    if 'class="animation"' in (context.get("body") or ""):
        app.add_js_file(PLAYER, loading_method="defer")


def setup(app: Sphinx):
    app.connect("doctree-resolved", move_frames, priority=600)  # after page_fixes names the frame
    app.connect("html-page-context", add_player)
    app.connect("build-finished", pruner(FOLDER))
    safe = {"parallel_read_safe": True, "parallel_write_safe": True}
    return {"version": "1.0", "env_version": extensions_version(), **safe}
