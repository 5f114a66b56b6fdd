"""What the kernels of the book build show differently, for a page that runs no kernel.

Not a Sphinx extension: :mod:`explorer_frames` has every kernel the build starts load this
module (through an IPython profile of the build's own, see ``explorer_frames.kernel_profile``),
whoever starts the kernel: the side-by-side executor, myst-nb, a retry, a serial build.
:func:`register` makes three changes, and only there:

* a progress bar of ``tqdm.auto`` is text on stdout instead of an ``ipywidgets`` bar (whose
  saved text would be its first state, 0 %): myst-nb merges a cell's stream output and
  keeps what the last carriage return leaves (``nb_merge_streams``), so the page shows the
  bar's last line, e.g. ``training: 100%|██████████| 680/680 [00:12<00:00]``;
* a ``lib.explorers.Explorer`` is shown as the static page needs it, instead of as an
  ``ipywidgets`` box:

  - the figure is drawn for every combination of the controls' ``values`` and saved as a
    WebP file in the build's frame store, named by its content (lossy at quality 85, which
    keeps lines and labels sharp at half the lossless size and a twentieth of its encoding
    time);
  - the cell's output is plain HTML: range inputs and drop-downs over those values, the
    starting figure as a sized, lazily loaded image, the numbers ``draw`` returned, and in
    ``data-explorer`` the list of figures and numbers that ``_ext/static/explorers.js``
    swaps as the controls move.

* a ``lib.quiz.Quiz`` writes its maths as Sphinx writes inline maths, ``\\(...\\)`` in a
  ``<span class="math">``, which the build typesets with the page's own equations
  (``build_time_maths``), instead of drawing it with matplotlib's mathtext.

``lib`` knows nothing of this: a learner's kernel (Colab, Docker, nbval) never loads it.
"""

from __future__ import annotations

import functools
import hashlib
import html
import io
import json
import os
import pathlib
import sys

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

MAX_FRAMES = 400
"""Most figures one explorer may draw for the site (each is a file of the built site)."""

WEBP = {"quality": 85, "method": 4}  # Pillow's options for the figures
URL = "_images/explorers"  # where the site serves the figures, from its root


def register(shell, store: str, source: str) -> None:
    """Progress bars as text, and explorers in ``shell`` as the site needs them, saving figures in ``store``.

    ``source`` is the book's source folder: the kernel runs in its notebook's folder, and
    the page sits at the same place in the site as the notebook in the source.
    """
    folder, root = pathlib.Path(store), pathlib.Path(source)

    def bundle(explorer):
        markup = site_html(explorer, folder, os.path.relpath(root, pathlib.Path.cwd()))
        return {"text/html": markup, "text/plain": f"<explorer: {', '.join(explorer.controls)}>"}

    shell.display_formatter.mimebundle_formatter.for_type_by_name("lib.explorers", "Explorer", bundle)

    def quiz_bundle(quiz):
        return {"text/html": quiz.html(maths=tex_for_the_build), "text/plain": repr(quiz)}

    shell.display_formatter.mimebundle_formatter.for_type_by_name("lib.quiz", "Quiz", quiz_bundle)
    import tqdm.auto
    import tqdm.std

    tqdm.auto.tqdm = functools.partial(tqdm.std.tqdm, file=sys.stdout)


def tex_for_the_build(tex: str) -> str:
    """Inline maths written as Sphinx writes it, for the build to typeset (``build_time_maths``)."""
    return f'<span class="math notranslate nohighlight">\\({html.escape(tex, quote=False)}\\)</span>'


def save_figure(fig, folder: pathlib.Path) -> tuple[str, tuple[int, int]]:
    """Draw ``fig`` and save it in ``folder`` as WebP; its file name and its size in pixels."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    image = Image.fromarray(np.asarray(canvas.buffer_rgba())).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", **WEBP)
    data = buffer.getvalue()
    name = hashlib.sha256(data).hexdigest()[:16] + ".webp"
    if not (folder / name).is_file():
        folder.mkdir(parents=True, exist_ok=True)
        scratch = folder / f".{name}.{os.getpid()}"
        scratch.write_bytes(data)
        scratch.replace(folder / name)  # two kernels may write the same figure at once
    return name, image.size


def axes_box(fig, which: int) -> dict:
    """Where axes ``which`` sits in the picture, as fractions from the top left, and its limits."""
    ax = fig.axes[which]
    x0, y0, x1, y1 = ax.get_position().extents
    return {
        "left": x0,
        "right": x1,
        "top": 1 - y1,
        "bottom": 1 - y0,
        "xlim": [float(v) for v in ax.get_xlim()],
        "ylim": [float(v) for v in ax.get_ylim()],
        "xlog": ax.get_xscale() == "log",
        "ylog": ax.get_yscale() == "log",
    }


def site_html(explorer, folder: pathlib.Path, root: str) -> str:
    """``explorer`` as the site shows it, its figures saved in ``folder``; ``root`` is the
    site's root relative to the page."""
    settings = explorer.combinations()
    if len(settings) > MAX_FRAMES:
        raise ValueError(f"the site would need {len(settings)} figures for this explorer, more than {MAX_FRAMES}")
    start = explorer.start()
    frames, values, box, size = [], [], None, None
    for k, setting in enumerate(settings):
        fig, numbers = explorer.figure(setting)
        name, shape = save_figure(fig, folder)
        frames.append(f"{root}/{URL}/{name}")
        values.append(numbers)
        if k == start:
            size = shape
            box = axes_box(fig, explorer.pad_axes) if explorer.pad else None
    data = {
        "controls": [
            {"name": n, "label": c.label, "texts": [c.text(v) for v in c.values], "values": list(c.values)}
            for n, c in explorer.controls.items()
        ],
        "frames": frames,
        "values": values,
        "readouts": [explorer.readout(v) for v in values],
    }
    if box is not None:
        data["pad"] = {"x": explorer.pad[0], "y": explorer.pad[1], "box": box}
    encoded = json.dumps(data)
    key = hashlib.sha256(encoded.encode()).hexdigest()[:8]  # ids unique on the page
    pad = ' data-pad=""' if box is not None else ""
    return (
        f'<div class="explorer" data-explorer="{html.escape(encoded, quote=True)}" data-frame="{start}" '
        f'data-values="{html.escape(json.dumps(values[start]), quote=True)}">'
        f'<div class="explorer-controls">{controls_html(explorer, key)}</div>'
        f'<img src="{html.escape(frames[start], quote=True)}" width="{size[0]}" height="{size[1]}"'
        f' alt="{html.escape(explorer.alt, quote=True)}"{pad} loading="lazy" decoding="async">'
        f'<p class="explorer-readout" aria-live="polite">{html.escape(data["readouts"][start])}</p>'
        "</div>"
    )


def controls_html(explorer, key: str) -> str:
    """A labelled range input per slider (over the indices of its values), a drop-down per choice."""
    from lib.explorers import Slider, index

    inputs = []
    for k, (name, control) in enumerate(explorer.controls.items()):
        ident = f"explorer-{key}-{k}"
        label = html.escape(control.label)
        at = index(control, control.value)
        if isinstance(control, Slider):
            text = html.escape(control.text(control.value))
            inputs.append(
                f'<label for="{ident}">{label}</label>'
                f'<input id="{ident}" type="range" min="0" max="{len(control.values) - 1}" step="1" '
                f'value="{at}" data-control="{name}" aria-valuetext="{text}">'
                f'<output for="{ident}">{text}</output>'
            )
        else:
            options = "".join(
                f'<option value="{j}"{" selected" if j == at else ""}>{html.escape(o)}</option>'
                for j, o in enumerate(control.options)
            )
            inputs.append(
                f'<label for="{ident}">{label}</label>'
                f'<select id="{ident}" data-control="{name}">{options}</select><span></span>'
            )
    return "".join(inputs)
