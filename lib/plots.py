"""One visual style for every figure, and helpers that chapters share.

* :func:`use_style` — the course's matplotlib style (the bootstrap cell applies it).
* :func:`animation_html` — a matplotlib animation as self-contained HTML that plays
  on the static site, refusing output over a size budget (page weight matters).
* :func:`contour` and :func:`path` — a 2-D function's level sets and an
  optimizer's trajectory on top of them (chapters 4, 5, 8, 9, 10).
* :func:`smallest_text` — a figure's smallest visible text, which a phone shows at
  ``pt * dpi / 72`` picture pixels times the picture's scale (:func:`phone_text_size`, at
  least :data:`SMALLEST_READABLE` CSS px); :func:`text_size_metadata` records it in a saved
  PNG (animation frames carry it, and the site's figures).
"""

from __future__ import annotations

import json
import math
import pathlib
import tempfile

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import HTML
from matplotlib.animation import Animation, HTMLWriter
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.text import Text

from lib.validation import as_finite_tensor, check_callable, check_int, check_real

PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
"""Okabe–Ito colours: distinguishable with the common forms of colour blindness."""

STYLE = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 80,
    "savefig.dpi": 80,
    "figure.autolayout": True,
    "axes.prop_cycle": mpl.cycler(color=PALETTE),
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "font.size": 12,
    "axes.titlesize": 13,
    "axes.labelsize": 12,
    "legend.frameon": False,
    "lines.linewidth": 2.0,
    "image.cmap": "viridis",
    "animation.html": "jshtml",
}

DEFAULT_MAX_BYTES = 1_500_000
"""Largest animation :func:`animation_html` accepts: half the 3 MB page budget."""


PHONE_COLUMN = 358
"""Width of the site's article column on a 390 px phone (CSS px): a wider picture is shrunk to it."""

SMALLEST_READABLE = 9.0
"""The smallest text, in CSS px, that a figure may show on that phone."""

TEXT_SIZE_KEY = "Smallest text"
"""The PNG text chunk (savefig's ``metadata=``) that records a picture's smallest text, as JSON
``{"pt": size in points, "px": size in picture pixels, "text": the text}``."""


def use_style() -> None:
    """Apply the course's matplotlib style to every figure drawn afterwards."""
    mpl.rcParams.update(STYLE)


def _texts(artist):
    """The visible texts that draw characters, in ``artist`` and what it holds."""
    if not artist.get_visible():
        return
    if isinstance(artist, Text):
        if artist.get_text().strip() and artist.get_alpha() != 0:
            yield artist
        return
    if isinstance(artist, Axis):  # the tick labels of the ticks it draws, its label, its offset
        children = [artist.label, artist.offsetText, *artist.get_majorticklabels(), *artist.get_minorticklabels()]
    elif isinstance(artist, Axes) and not artist.axison:  # axis("off"): no tick labels, no axis labels
        children = [child for child in artist.get_children() if not isinstance(child, Axis)]
    else:
        children = artist.get_children()
    for child in children:
        yield from _texts(child)


def smallest_text(fig) -> tuple[float, str]:
    """The smallest visible text of ``fig``: its size in points and the text, ``(inf, "")`` if none.

    Every text that draws characters counts: tick labels, axis labels, titles, suptitles,
    legend texts, annotations, colorbar labels, ``ax.text`` and ``fig.text``. ``fig`` may
    also be any other artist, or a list of artists (the texts in each of them count).
    """
    artists = fig if isinstance(fig, (list, tuple)) else [fig]
    found = [(text.get_fontsize(), text.get_text()) for artist in artists for text in _texts(artist)]
    return min(found, key=lambda pair: pair[0], default=(math.inf, ""))


def text_size_record(fig, dpi: float) -> dict:
    """:func:`smallest_text` of ``fig`` (a figure, an artist or a list of artists) saved at ``dpi``:
    points, picture pixels and the text; ``{}`` if it has no text."""
    size, text = smallest_text(fig)
    if math.isinf(size):
        return {}
    return {"pt": round(float(size), 2), "px": round(float(size) * dpi / 72, 3), "text": text[:60]}


def smaller_text(*records: dict) -> dict:
    """The record of the smallest of ``records`` (made by :func:`text_size_record`; ``{}`` for none)."""
    return min((r for r in records if r), key=lambda record: record["px"], default={})


def phone_text_size(fig, width: float | None = None) -> float:
    """The CSS px at which a phone shows ``fig``'s smallest text: :func:`smallest_text` in picture
    pixels (at the figure's dpi), shrunk as the picture is to :data:`PHONE_COLUMN` if it is
    wider. ``width`` is the saved picture's pixel width (default: the whole figure's; the inline
    backend crops the picture to what is drawn, usually narrower)."""
    size, _ = smallest_text(fig)
    width = fig.get_figwidth() * fig.dpi if width is None else check_real("width", width, low=1.0)
    return size * fig.dpi / 72 * min(PHONE_COLUMN, width) / width


def text_size_metadata(fig, dpi: float, also: dict | None = None) -> dict:
    """PNG metadata (for ``savefig(metadata=...)``) recording ``fig``'s smallest text at ``dpi``,
    or the smaller ``also`` (a record of a picture drawn into the figure); ``{}`` if it has none."""
    record = smaller_text(text_size_record(fig, dpi), also or {})
    return {TEXT_SIZE_KEY: json.dumps(record)} if record else {}


class LaidOutOnceWriter(HTMLWriter):
    """matplotlib's JavaScript-player writer (the one ``to_jshtml`` uses) that lays the figure
    out once, then keeps that layout for every frame, so nothing jumps between frames."""

    figure = None

    def setup(self, fig, outfile, dpi=None, frame_dir=None):
        fig.draw_without_rendering()
        fig.set_layout_engine("none")
        self.figure = fig
        super().setup(fig, outfile, dpi, frame_dir)

    def grab_frame(self, **savefig_kwargs):
        """Each PNG frame records its smallest text (:data:`TEXT_SIZE_KEY`), or that of the
        picture the animation was told of in ``metadata`` (``Animation.save(savefig_kwargs=...)``)."""
        if self.frame_format == "png":
            metadata = dict(savefig_kwargs.pop("metadata", None) or {})
            also = json.loads(metadata.get(TEXT_SIZE_KEY, "{}"))
            metadata.update(text_size_metadata(self.figure, self.dpi, also))
            savefig_kwargs["metadata"] = metadata
        super().grab_frame(**savefig_kwargs)


def animation_html(anim, *, max_bytes: int = DEFAULT_MAX_BYTES, default_mode: str = "once") -> HTML:
    """Render ``anim`` (a ``matplotlib.animation.Animation``) as embeddable HTML.

    The frames are PNG images inside the HTML, with play/pause controls, so the
    animation plays on the static site with no kernel. The figure is closed so
    that no stray still copy is shown. Raises ``ValueError`` when the HTML is
    larger than ``max_bytes``: use fewer frames, a smaller figure or a lower dpi.
    """
    if not isinstance(anim, Animation):
        raise TypeError(f"anim must be a matplotlib.animation.Animation, got {type(anim).__name__}")
    max_bytes = check_int("max_bytes", max_bytes, low=1)
    if default_mode not in ("once", "loop", "reflect"):
        raise ValueError(f"default_mode must be 'once', 'loop' or 'reflect', got {default_mode!r}")
    limit_mb = max_bytes / 2**20 + 1  # let matplotlib finish so the error can say the size
    writer = LaidOutOnceWriter(
        fps=1000 / anim.event_source.interval, embed_frames=True, default_mode=default_mode, embed_limit=limit_mb
    )
    with tempfile.TemporaryDirectory() as folder:
        path = pathlib.Path(folder) / "animation.html"
        # Frames are saved at the figure's own dpi, so plt.subplots(dpi=60) shrinks them.
        anim.save(str(path), writer=writer, dpi="figure")
        html = path.read_text()
    plt.close(writer.figure)
    size = len(html.encode())
    if size > max_bytes:
        raise ValueError(
            f"animation is {size:,} bytes, over max_bytes={max_bytes:,}; "
            "use fewer frames, a smaller figure or a lower dpi"
        )
    return HTML(html)


def _grid_values(f, xlim, ylim, resolution):
    xs = np.linspace(xlim[0], xlim[1], resolution)
    ys = np.linspace(ylim[0], ylim[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    points = torch.as_tensor(np.stack([gx, gy], axis=-1), dtype=torch.float64)
    with torch.no_grad():
        values = f(points)
    values = torch.as_tensor(values, dtype=torch.float64)
    if values.shape != points.shape[:-1]:
        raise ValueError(f"f must map points of shape (..., 2) to values of shape (...), got {tuple(values.shape)}")
    return gx, gy, values.numpy()


def _check_limits(name, lim):
    if not isinstance(lim, (tuple, list)) or len(lim) != 2:
        raise TypeError(f"{name} must be a pair (low, high), got {lim!r}")
    low, high = check_real(f"{name}[0]", lim[0]), check_real(f"{name}[1]", lim[1])
    if not high > low:
        raise ValueError(f"{name} must have low < high, got {lim!r}")
    return low, high


def contour(f, xlim, ylim, *, ax=None, levels: int = 30, resolution: int = 200, log: bool = True, filled: bool = False):
    """Draw the level sets of a 2-D function ``f`` on ``ax`` and return the axes.

    ``f`` maps a float64 tensor of points with shape ``(..., 2)`` to values of shape
    ``(...)``, as the functions in :mod:`lib.functions` do. With ``log=True`` the
    levels are spaced evenly in ``log(f - min f + 1e-12)`` so that narrow valleys show.
    """
    check_callable("f", f)
    xlim, ylim = _check_limits("xlim", xlim), _check_limits("ylim", ylim)
    levels = check_int("levels", levels, low=2)
    resolution = check_int("resolution", resolution, low=10, high=2000)
    gx, gy, z = _grid_values(f, xlim, ylim, resolution)
    if not np.isfinite(z).all():
        raise ValueError("f returned non-finite values on the grid; narrow xlim/ylim")
    if ax is None:
        _, ax = plt.subplots()
    if log:
        z = np.log(z - z.min() + 1e-12)
    draw = ax.contourf if filled else ax.contour
    draw(gx, gy, z, levels=levels, cmap="viridis", alpha=0.8 if filled else 0.7)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    return ax


def path(ax, points, *, label: str | None = None, color=None, marker: str = "o", markersize: float = 3.0):
    """Draw an optimizer's trajectory ``points`` (shape ``(steps, 2)``) on ``ax``.

    Marks the start with a square and the end with a star; returns the line.
    """
    points = as_finite_tensor("points", points, dtype=torch.float64, ndim=2)
    if points.shape[1] != 2 or points.shape[0] < 1:
        raise ValueError(f"points must have shape (steps, 2), got {tuple(points.shape)}")
    pts = points.cpu().numpy()
    (line,) = ax.plot(pts[:, 0], pts[:, 1], marker=marker, markersize=markersize, label=label, color=color, lw=1.5)
    ax.plot(*pts[0], marker="s", color=line.get_color(), markersize=7)
    ax.plot(*pts[-1], marker="*", color=line.get_color(), markersize=11)
    return line
