"""What the kernels of the book build show differently, for a page that runs no kernel.

Not a Sphinx extension: :mod:`explorer_frames` has every kernel the build starts load this
module (through an IPython profile of the build's own, see ``explorer_frames.kernel_profile``),
whoever starts the kernel: the side-by-side executor, myst-nb, a retry, a serial build.
:func:`register` makes four changes, and only there:

* a matplotlib figure a cell shows is saved as the inline backend saves it (PNG, at the
  figure's dpi, cropped to what it draws), with its smallest text recorded in the PNG's
  :data:`lib.plots.TEXT_SIZE_KEY` text chunk; the inline backend's own PNG formatter is
  turned off (``InlineBackend.figure_formats``), so each figure is drawn once, here.
  ``compact_images`` carries the record onto the page;

* a progress bar of ``tqdm.auto`` is text on stdout instead of an ``ipywidgets`` bar (whose
  saved text would be its first state, 0 %): myst-nb merges a cell's stream output and
  keeps what the last carriage return leaves (``nb_merge_streams``), so the page shows the
  bar's last line, e.g. ``training: 100%|██████████| 680/680 [00:12<00:00]``;
* a ``lib.explorers.Explorer`` is shown as the static page needs it, instead of as an
  ``ipywidgets`` box:

  - the figure is drawn for every combination of the controls' ``values`` (an explorer
    with a backdrop draws it once and each setting's own artists over it, see
    :func:`pictures`) and saved as a WebP file in the build's frame store, named by its
    content; settings that look the same share one file. Lossy WebP at quality 80 with
    encoder effort 2 keeps lines and labels sharp at half the lossless size; against
    quality 85 and effort 4 it encodes in half the time into files 5 % smaller;
  - the cell's output is plain HTML: range inputs and drop-downs over those values, the
    starting figure as a sized, lazily loaded image, the numbers ``draw`` returned, and in
    ``data-explorer`` the list of figures and numbers that ``_ext/static/explorers.js``
    swaps as the controls move; the image's ``data-smallest-text`` (:mod:`text_sizes`)
    records the smallest text of all the figures.

* a ``lib.quiz.Quiz`` writes its maths as Sphinx writes inline maths, ``\\(...\\)`` in a
  ``<span class="math">``, which the build typesets with the page's own equations
  (``build_time_maths``), instead of drawing it with matplotlib's mathtext.

``lib`` knows nothing of this: a learner's kernel (Colab, Docker, nbval) never loads it.
"""

from __future__ import annotations

import concurrent.futures
import functools
import hashlib
import html
import io
import json
import os
import pathlib
import random
import sys

import matplotlib
import numpy as np
import text_sizes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from PIL import Image

MAX_FRAMES = 400
"""Most figures one explorer may draw for the site (each is a file of the built site)."""

WEBP = {"quality": 80, "method": 2}  # Pillow's options for the figures
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
    shell.display_formatter.mimebundle_formatter.for_type_by_name("matplotlib.figure", "Figure", figure_bundle)
    # the inline backend's own PNG formatter off, so that figure_bundle draws each figure once:
    # in the configuration it reads when pyplot first loads it, or on it if it is loaded already
    from matplotlib_inline.config import InlineBackend

    shell.config.InlineBackend.figure_formats = set()
    if InlineBackend.initialized():
        InlineBackend.instance().figure_formats = set()

    def quiz_bundle(quiz):
        return {"text/html": quiz.html(maths=tex_for_the_build), "text/plain": repr(quiz)}

    shell.display_formatter.mimebundle_formatter.for_type_by_name("lib.quiz", "Quiz", quiz_bundle)
    import tqdm.auto
    import tqdm.std

    tqdm.auto.tqdm = functools.partial(tqdm.std.tqdm, file=sys.stdout)


def figure_bundle(fig) -> dict:
    """A figure as the inline backend shows it (``print_figure``: PNG, the figure's dpi, cropped
    tight), its smallest text recorded in the PNG; nothing for an empty figure, as there."""
    from IPython.core.pylabtools import print_figure

    from lib.plots import text_size_metadata

    png = print_figure(fig, "png", base64=True, metadata=text_size_metadata(fig, fig.dpi))
    return {"image/png": png} if png else {}


def tex_for_the_build(tex: str) -> str:
    """Inline maths written as Sphinx writes it, for the build to typeset (``build_time_maths``)."""
    return f'<span class="math notranslate nohighlight">\\({html.escape(tex, quote=False)}\\)</span>'


def pictures(explorer, settings):
    """Each of ``settings`` drawn: ``(k, figure, RGB array, numbers, text)`` for setting ``k``;
    ``text()`` is the picture's smallest text (``lib.plots.text_size_record``), to be asked
    before the next picture is drawn.

    Without a backdrop each setting is a new figure, in order. With one, the settings that
    share a backdrop (the same values of the controls it takes) are drawn on one figure: the
    backdrop is drawn with the first of them, which fixes the layout; that picture (less the
    titles ``draw`` sets) is kept, and each setting then costs only what ``draw`` adds. This
    is matplotlib's blitting: restore the kept picture, draw the new artists and those titles
    over it, in the order of their ``zorder``. The kept picture's texts are looked through
    once, and each setting's own.
    """
    from lib.plots import text_size_record

    if explorer.backdrop is None:
        for k, setting in enumerate(settings):
            fig, numbers = explorer.figure(setting)
            canvas = FigureCanvasAgg(fig)
            canvas.draw()
            yield k, fig, rgb(canvas), numbers, functools.partial(text_size_record, fig, fig.dpi)
        return
    groups = {}
    for k, setting in enumerate(settings):
        groups.setdefault(tuple(setting[n] for n in explorer.backdrop_controls()), []).append(k)
    for group in groups.values():
        yield from blitted(explorer, [(k, settings[k]) for k in group])


def blitted(explorer, settings):
    """``pictures`` of ``settings`` (pairs ``k, setting``) that share one backdrop."""
    from lib.plots import text_size_record

    fig = explorer.backdrop_figure(settings[0][1])
    canvas = FigureCanvasAgg(fig)
    fixed = {id(a) for a in children(fig)}
    titles = [ax.title for ax in fig.axes]
    looks = [look(title) for title in titles]

    def clear():  # remove what draw added, as the backdrop left the figure
        for artist in children(fig):
            if id(artist) not in fixed:
                artist.remove()
        for ax, title, (text, size, color, weight) in zip(fig.axes, titles, looks, strict=True):
            title.set(text=text, fontsize=size, color=color, fontweight=weight)
            ax.set_prop_cycle(None)  # as Explorer.backdrop_figure leaves a new figure's axes

    def retitled():  # the titles draw has set otherwise than the backdrop
        return {i for i, title in enumerate(titles) if look(title) != looks[i]}

    explorer.draw_on(fig, settings[0][1])
    canvas.draw()  # the layout engine places the axes once, for the backdrop and a setting
    fig.set_layout_engine("none")
    places = [title.get_position() for title in titles]  # where the layout put them
    redrawn = retitled()  # titles drawn with each setting; the others are part of the kept picture
    clear()
    kept, (backdrop, kept_text) = unchanging(fig), kept_picture(canvas, [titles[i] for i in redrawn], titles, places)
    for k, setting in settings:
        numbers = explorer.draw_on(fig, setting)
        if not retitled() <= redrawn:  # a title the kept picture shows has changed: keep it out too
            redrawn |= retitled()
            clear()
            backdrop, kept_text = kept_picture(canvas, [titles[i] for i in redrawn], titles, places)
            numbers = explorer.draw_on(fig, setting)
        moving = [a for a in children(fig) if id(a) not in fixed]
        if unchanging(fig) != kept:
            raise ValueError(
                "draw changed the axes, their limits or their labels: with a backdrop, draw may only "
                f"add artists and set titles (at {setting}); fix limits and labels in backdrop"
            )
        canvas.restore_region(backdrop)
        drawn_over = sorted([*(titles[i] for i in redrawn), *moving], key=lambda a: a.get_zorder())
        for artist in drawn_over:
            fig.draw_artist(artist)

        def text(kept_text=kept_text, drawn_over=drawn_over):
            return text_sizes.smallest([kept_text, text_size_record(drawn_over, fig.dpi)])

        yield k, fig, rgb(canvas), numbers, text
        clear()


def look(title) -> tuple:
    """What of a title ``draw`` may set: its text, size, colour and weight."""
    return title.get_text(), title.get_fontsize(), title.get_color(), title.get_fontweight()


def kept_picture(canvas, left_out: list, titles: list, places: list):
    """The figure drawn without ``left_out`` (titles), as a region to restore before each setting,
    and its smallest text (``lib.plots.text_size_record``)."""
    from lib.plots import text_size_record

    for title in left_out:
        title.set_visible(False)
    canvas.draw()
    picture = canvas.copy_from_bbox(canvas.figure.bbox)
    text = text_size_record(canvas.figure, canvas.figure.dpi)
    for title, place in zip(titles, places, strict=True):
        title.set_visible(True)
        title.set_position(place)  # a hidden title is moved off the axes when they are drawn
    return picture, text


def children(fig) -> list:
    """The artists of ``fig`` and of its axes, one level down (where ``draw`` adds its own)."""
    return [*fig.get_children(), *(a for ax in fig.axes for a in ax.get_children())]


def unchanging(fig) -> list:
    """What ``draw`` must leave as the backdrop set it: the axes, their limits and labels."""
    return [
        (id(ax), ax.get_xlim(), ax.get_ylim(), ax.get_xlabel(), ax.get_ylabel(), ax.get_title("left"))
        for ax in fig.axes
    ]


def rgb(canvas) -> np.ndarray:
    """The canvas's picture as an array of RGB pixels (a copy)."""
    return np.ascontiguousarray(np.asarray(canvas.buffer_rgba())[..., :3])


def save_picture(picture: np.ndarray, folder: pathlib.Path) -> str:
    """Save ``picture`` in ``folder`` as WebP; its file name (named by its content)."""
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, "WEBP", **WEBP)
    data = buffer.getvalue()
    name = hashlib.sha256(data).hexdigest()[:16] + ".webp"
    if not (folder / name).is_file():
        folder.mkdir(parents=True, exist_ok=True)
        scratch = folder / f".{name}.{os.getpid()}"
        scratch.write_bytes(data)
        scratch.replace(folder / name)  # two kernels may write the same figure at once
    return name


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


class Unknown(Exception):
    """A value :func:`fingerprint` cannot read: the explorer is drawn afresh."""


def fingerprint(explorer) -> str | None:
    """A hash of all an explorer's pictures depend on, or ``None`` if some of it cannot be read.

    That is its controls and options, matplotlib's settings, the state of the random
    generators, and ``draw``, ``backdrop`` and ``prepare`` with every value they reach: defaults,
    closures and, for the notebook's own functions, their code and the globals they name,
    followed into the functions those are. Arrays and tensors count by their bytes, other
    objects pickled, a module's functions by name with their defaults and closures (the
    store is cleared when ``lib`` or a pinned package changes). Editing prose, or a cell
    the explorer does not read, leaves it unchanged: its figures are not drawn again.
    """
    digest = hashlib.sha256()
    try:
        for part in (
            explorer.controls,
            explorer.figsize,
            explorer.dpi,
            explorer.alt,
            explorer.pad,
            explorer.pad_axes,
            explorer.layout,
            WEBP,
            explorer.draw,
            explorer.backdrop,
            explorer.prepare,
            dict(matplotlib.rcParams),
            torch_state(),
            np.random.get_state(),  # noqa: NPY002 (the global generator a draw may read)
            random.getstate(),
        ):
            feed(digest, part, set())
    except (Unknown, RecursionError):
        return None
    return digest.hexdigest()


def torch_state():
    import torch

    return torch.random.get_rng_state()


def feed(digest, value, seen: set) -> None:
    """Add ``value`` to ``digest``, following functions into the notebook's own code."""
    import pickle
    import types

    import torch

    if isinstance(value, (types.FunctionType, types.CodeType)) and id(value) in seen:
        return
    if isinstance(value, types.FunctionType):
        seen.add(id(value))
        digest.update(f"function {value.__module__}.{value.__qualname__}".encode())
        feed(digest, (value.__defaults__, value.__kwdefaults__), seen)
        for cell in value.__closure__ or ():
            feed(digest, cell.cell_contents, seen)
        if value.__module__ in ("__main__", None):  # the notebook's own: its code and what it reads
            feed(digest, value.__code__, seen)
            for name in sorted(names(value.__code__)):
                if name in value.__globals__:
                    feed(digest, (name, value.__globals__[name]), seen)
    elif isinstance(value, types.CodeType):
        seen.add(id(value))
        digest.update(value.co_code + repr(value.co_names).encode())
        for constant in value.co_consts:
            feed(digest, constant, seen)
    elif isinstance(value, types.ModuleType):
        digest.update(f"module {value.__name__}".encode())
    elif isinstance(value, (tuple, list)):
        digest.update(f"{type(value).__name__} {len(value)}".encode())
        for item in value:
            feed(digest, item, seen)
    elif isinstance(value, dict):
        feed(digest, list(value.items()), seen)
    elif isinstance(value, np.ndarray):
        digest.update(f"array {value.dtype} {value.shape}".encode())
        digest.update(np.ascontiguousarray(value).tobytes())
    elif isinstance(value, torch.Tensor):
        feed(digest, value.detach().cpu().numpy(), seen)
    elif isinstance(value, type):
        digest.update(f"class {value.__module__}.{value.__qualname__}".encode())
    else:
        try:
            digest.update(pickle.dumps(value, protocol=4))
        except Exception as error:  # an object pickle cannot write: no fingerprint
            raise Unknown from error


def names(code) -> set:
    """The global names ``code`` and the code nested in it may read."""
    found = set(code.co_names)
    for constant in code.co_consts:
        if hasattr(constant, "co_names"):
            found |= names(constant)
    return found


def drawn(explorer, folder: pathlib.Path) -> dict:
    """Every setting of ``explorer`` drawn into ``folder``: each one's file name and numbers, the
    starting picture's size, the smallest text of all the pictures and, for a pad, where its
    axes sit. An explorer's ``prepare`` is given every setting first.

    What was drawn is recorded under the explorer's :func:`fingerprint` in ``folder/records``;
    an explorer whose fingerprint is recorded (and whose files are there) is not drawn again.
    """
    settings = explorer.combinations()
    if len(settings) > MAX_FRAMES:
        raise ValueError(f"the site would need {len(settings)} figures for this explorer, more than {MAX_FRAMES}")
    key = fingerprint(explorer)
    record = folder / "records" / f"{key}.json"
    if key is not None and record.is_file():
        drawing = json.loads(record.read_text())
        if "text" in drawing and all((folder / name).is_file() for name in drawing["frames"]):
            return drawing
    if explorer.prepare is not None:
        explorer.prepare(settings)  # what all the settings need, worked out at once
    start = explorer.start()
    frames, values, box, saved = [None] * len(settings), [None] * len(settings), None, {}
    text = {}  # the smallest text of all the pictures
    # WebP encoding lets go of Python's lock: one thread encodes while the next setting is drawn.
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as encoder:
        for k, fig, picture, numbers, text_of in pictures(explorer, settings):
            same = hashlib.sha256(picture).digest()  # settings that look alike share a file
            if same not in saved:
                saved[same] = encoder.submit(save_picture, picture, folder)
                text = text_sizes.smallest([text, text_of()])
            frames[k] = saved[same]
            values[k] = numbers
            if k == start:
                height, width, _ = picture.shape
                box = axes_box(fig, explorer.pad_axes) if explorer.pad else None
        frames = [saving.result() for saving in frames]
    drawing = {"frames": frames, "values": values, "size": [width, height], "box": box, "text": text}
    if key is not None:
        record.parent.mkdir(parents=True, exist_ok=True)
        scratch = record.with_suffix(f".{os.getpid()}")
        scratch.write_text(json.dumps(drawing))
        scratch.replace(record)
    return drawing


def site_html(explorer, folder: pathlib.Path, root: str) -> str:
    """``explorer`` as the site shows it, its figures saved in ``folder``; ``root`` is the
    site's root relative to the page."""
    drawing = drawn(explorer, folder)
    start, box, values = explorer.start(), drawing["box"], drawing["values"]
    width, height = drawing["size"]
    frames = [f"{root}/{URL}/{name}" for name in drawing["frames"]]
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
        f'<img src="{html.escape(frames[start], quote=True)}" width="{width}" height="{height}"'
        f' alt="{html.escape(explorer.alt, quote=True)}"{pad}{text_sizes.attribute(drawing["text"])}'
        ' loading="lazy" decoding="async">'
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
