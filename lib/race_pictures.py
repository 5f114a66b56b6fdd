"""Pictures of the optimizer race of :mod:`lib.race`.

Defined in chapter 10, *Adaptive methods*:

* :func:`plot` and :func:`animate` — the paths on the contour plots, still or animated,
  one panel per surface, in rows of ``ncols``;
* :func:`plot_values` — each contender's ``f(x_k) − f*`` against the step ``k``;
* :func:`explorer` — an explorer (:mod:`lib.explorers`) of the surface, the line-up of
  optimizers and their hyper-parameters: live in a kernel, and on the site over the
  settings its controls list.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from lib.optimizers import NAMES
from lib.plots import PALETTE, contour, path, text_size_metadata
from lib.race import Contender, RaceResult, course, hyper_parameters, race, races, result_list, surface_minimum
from lib.validation import check_int, check_real

__all__ = ["animate", "explorer", "plot", "plot_values"]


def _colors(results) -> dict:
    labels = []
    for r in results:
        labels += [label for label in r.labels if label not in labels]
    return {label: PALETTE[i % len(PALETTE)] for i, label in enumerate(labels)}


def _grid(n, ncols, figsize, dpi):
    ncols = min(check_int("ncols", ncols, low=1), n)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, dpi=dpi, squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, list(axes.flat[:n])


def _background(ax, surface, levels, resolution):
    contour(surface, surface.xlim, surface.ylim, ax=ax, levels=levels, resolution=resolution)
    for m in getattr(surface, "minimizers", []) or []:
        m = torch.as_tensor(m, dtype=torch.float64).cpu()
        ax.plot(float(m[0]), float(m[1]), marker="+", color="black", markersize=10, mew=2, zorder=5)
    ax.set_title(getattr(surface, "name", "surface"))


def _clipped(points, surface):
    """Points as numpy, with those far outside the plotting window dropped (they would only stretch the view)."""
    pts = points.detach().cpu().numpy()
    (x_low, x_high), (y_low, y_high) = surface.xlim, surface.ylim
    span = max(x_high - x_low, y_high - y_low)
    inside = (
        (pts[:, 0] > x_low - span)
        & (pts[:, 0] < x_high + span)
        & (pts[:, 1] > y_low - span)
        & (pts[:, 1] < y_high + span)
    )
    last = np.argmin(inside) if not inside.all() else len(pts)
    return pts[: max(last, 1)]


def _legend(fig, colors) -> float:
    """One legend for every panel, at the bottom; the share of the figure's height it takes."""
    handles = [plt.Line2D([], [], color=color, lw=2) for color in colors.values()]
    legend = fig.legend(handles, list(colors), loc="lower center", ncol=min(len(colors), 3))
    return legend.get_window_extent(fig.canvas.get_renderer()).height / fig.bbox.height


def plot(results, *, ncols: int = 2, figsize=(6, 5), dpi: int = 72, levels: int = 12, resolution: int = 120):
    """Still picture of a race: one panel per surface, every contender's whole path (start ■, end ★)."""
    results = result_list(results)
    colors = _colors(results)
    fig, axes = _grid(len(results), ncols, figsize, dpi)
    for ax, result in zip(axes, results, strict=True):
        _background(ax, result.surface, levels, resolution)
        for label, trajectory in result.trajectories.items():
            pts = _clipped(trajectory.points, result.surface)
            path(ax, torch.as_tensor(pts), color=colors[label], marker="", markersize=0)
        ax.set_xlim(*result.surface.xlim)
        ax.set_ylim(*result.surface.ylim)
    fig.set_layout_engine("tight", rect=(0, _legend(fig, colors), 1, 1))
    return fig


def _figure_dpi_animation(metadata, *args, **kwargs):
    from matplotlib.animation import FuncAnimation

    class FigureDpiAnimation(FuncAnimation):
        """A FuncAnimation whose frames are saved at the figure's dpi unless told otherwise, and
        record the smallest text of the still picture drawn into them (``metadata``)."""

        def save(self, filename, writer=None, fps=None, dpi=None, *rest, savefig_kwargs=None, **options):
            savefig_kwargs = {"metadata": metadata, **(savefig_kwargs or {})}
            dpi = "figure" if dpi is None else dpi
            return super().save(filename, writer, fps, dpi, *rest, savefig_kwargs=savefig_kwargs, **options)

    return FigureDpiAnimation(*args, **kwargs)


def animate(
    results,
    *,
    frames: int = 20,
    ncols: int = 2,
    figsize=(6, 5),
    dpi: int = 60,
    levels: int = 12,
    resolution: int = 120,
    interval: int = 150,
):
    """Animate a race: the paths grow step by step, one panel per surface, side by side.

    Returns a ``matplotlib.animation.FuncAnimation`` with at most ``frames`` frames (at most 40),
    at steps spaced evenly on a log scale so that the first steps show; show it with
    :func:`lib.plots.animation_html`. The still parts (contours, axes, legend) are drawn once
    into a picture and only the paths are redrawn for each frame, which is saved at ``dpi``;
    each frame records the smallest text of the two (``lib.plots.TEXT_SIZE_KEY``).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.transforms import Bbox

    results = result_list(results)
    frames = check_int("frames", frames, low=2, high=40)
    dpi = check_int("dpi", dpi, low=20, high=72)
    ncols = min(check_int("ncols", ncols, low=1), len(results))
    colors = _colors(results)

    # The still background, drawn once.
    still = Figure(figsize=figsize, dpi=dpi)
    canvas = FigureCanvasAgg(still)
    axes = still.subplots(math.ceil(len(results) / ncols), ncols, squeeze=False).flat
    panels = []
    for ax, result in zip(axes, results, strict=False):
        _background(ax, result.surface, levels, resolution)
        ax.set_xlim(*result.surface.xlim)
        ax.set_ylim(*result.surface.ylim)
        panels.append((ax, result))
    for ax in list(axes)[len(results) :]:
        ax.set_visible(False)
    still.tight_layout(rect=(0, _legend(still, colors), 1, 1))
    canvas.draw()
    background = np.asarray(canvas.buffer_rgba()).copy()

    # The moving paths, drawn in pixel coordinates over the background.
    fig = Figure(figsize=figsize, dpi=dpi)
    fig.set_layout_engine("none")
    FigureCanvasAgg(fig)
    fig.figimage(background, origin="upper", zorder=-1)
    overlay = fig.add_axes((0, 0, 1, 1))
    overlay.set_axis_off()
    overlay.set_xlim(0, background.shape[1])
    overlay.set_ylim(0, background.shape[0])
    lines = []
    for ax, result in panels:
        box = Bbox(ax.bbox.get_points())
        for label, trajectory in result.trajectories.items():
            pts = ax.transData.transform(_clipped(trajectory.points, result.surface))
            (line,) = overlay.plot([], [], color=colors[label], lw=1.5)
            (head,) = overlay.plot([], [], marker="o", color=colors[label], markersize=5)
            for artist in (line, head):
                artist.set_clip_box(box)  # after plot(), which clips to the whole overlay
            lines.append((line, head, pts))
    counter = overlay.text(background.shape[1] - 4, 4, "", ha="right", va="bottom")
    longest = max(r.steps for r in results)
    # Steps spaced evenly on a log scale: the early steps, where most happens, get most frames.
    schedule = np.unique(np.concatenate([[0], np.round(np.geomspace(1, longest, frames - 1)).astype(int)]))

    def draw(i):
        k = schedule[i]
        for line, head, pts in lines:
            shown = pts[: k + 1]
            line.set_data(shown[:, 0], shown[:, 1])
            head.set_data(shown[-1:, 0], shown[-1:, 1])
        counter.set_text(f"step {k}")
        return [artist for line, head, _ in lines for artist in (line, head)] + [counter]

    metadata = text_size_metadata(still, dpi)  # the texts of the still picture the frames show
    return _figure_dpi_animation(metadata, fig, draw, frames=len(schedule), interval=interval, blit=False)


def plot_values(result: RaceResult, *, ax=None, log: bool = True):
    """Each contender's ``f(x_k) − f*`` against the step ``k``, on a log scale.

    On a surface without a minimum (``f* = −∞``, the saddle) it plots ``f(x_k)`` on a scale that is
    logarithmic on both sides of 0 and linear within ±1.
    """
    if not isinstance(result, RaceResult):
        raise TypeError(f"result must be a RaceResult, got {type(result).__name__}")
    if ax is None:
        _, ax = plt.subplots()
    colors = _colors([result])
    for label in result.trajectories:
        _progress_line(ax, result, label, colors[label])
    if log:
        # Without a minimum (the saddle) values run off to -∞: a scale logarithmic on both sides of 0.
        ax.set_yscale("log") if result.minimum is not None else ax.set_yscale("symlog", linthresh=1.0)
    _progress_labels(ax, result.surface)
    ax.legend()
    return ax


def _progress_line(ax, result, label, color):
    values = result.trajectories[label].values.detach().cpu().numpy()
    if result.minimum is not None:
        values = np.maximum(values - result.minimum, 1e-300)
    ax.plot(np.arange(len(values)), values, color=color, label=label, lw=1.5)


def _progress_labels(ax, surface):
    minimum = surface_minimum(surface)
    ax.set_xlabel("step $k$")
    ax.set_ylabel("$f(x_k) - f^*$" if minimum is not None else "$f(x_k)$")
    ax.set_title(f"Progress on {getattr(surface, 'name', 'the surface')}")


def _progress_axes(ax, surface, steps):
    """Axes for :func:`plot_values` whose range holds whatever a run does, fixed in advance.

    ``f − f*`` from 1e-16 (a run there has converged) to 1e12 (one that blows up leaves at the
    top); on a surface without a minimum, ``f`` from -1e12 to 10.
    """
    if surface_minimum(surface) is not None:
        ax.set_yscale("log")
        ax.set_ylim(1e-16, 1e12)
        ax.set_yticks([10.0**p for p in range(-16, 13, 4)])  # every fourth power: labels a phone can read
    else:
        ax.set_yscale("symlog", linthresh=1.0)
        ax.set_ylim(-1e12, 10)
        ax.set_yticks([-1e12, -1e8, -1e4, -1.0, 0.0, 10.0])
    ax.set_xlim(-0.02 * steps, 1.02 * steps)
    _progress_labels(ax, surface)


EXPLORER_SIZE = (6.4, 7.0)
"""The explorer's figure (inches): the contours above the progress, readable on a phone."""

MARGINS = {"left": 0.16, "right": 0.95, "bottom": 0.1, "top": 0.94, "hspace": 0.36}
"""The explorer's fixed margins: they hold the labels of every setting the chapter's explorer
offers (the widest a tight layout asks for, measured over all of them), so the axes stay put
as the controls move and no layout is worked out for each of the site's figures."""

LINEUPS = (("sgd", "rmsprop", "adam"), ("sgd", "adagrad", "adadelta"), ("adam", "adamax", "nadam"))
"""The explorer's line-ups of optimizers, after the one it starts with."""


def explorer(courses: Mapping, *, optimizers=("sgd", "rmsprop", "adam"), lr: float = 0.03, steps: int = 100):
    """An explorer (:mod:`lib.explorers`): pick a surface, a line-up of optimizers, lr, β1 and β2.

    ``courses`` maps a surface name to ``(surface, x0)``; ``optimizers`` is the first line-up
    (the others are :data:`LINEUPS`), ``lr`` the starting learning rate, ``steps`` the length of
    every race. The figure (paths on the contour plot above ``f − f*`` against the step) is redrawn
    whenever a control changes; the numbers are each optimizer's final ``f``.
    """
    from lib.explorers import Choice, Slider
    from lib.explorers import explorer as build

    if not isinstance(courses, Mapping) or not courses:
        raise TypeError("courses must be a non-empty mapping name -> (surface, x0)")
    checked = {}
    for name, entry in courses.items():
        if not isinstance(entry, Sequence) or len(entry) != 2:
            raise TypeError(f"courses[{name!r}] must be a pair (surface, x0)")
        checked[name] = course(*entry)
    choices = [name.lower() for name in NAMES]
    optimizers = tuple(optimizers)
    if not optimizers:
        raise ValueError("optimizers must name at least one optimizer")
    for name in optimizers:
        if name not in choices:
            raise ValueError(f"optimizers must be chosen from {choices}, got {name!r}")
    lr = check_real("lr", lr, low=1e-4, high=1.0)
    steps = check_int("steps", steps, low=10, high=500)
    labels = {name.lower(): name for name in NAMES}
    lineups = {", ".join(labels[o] for o in lineup): lineup for lineup in dict.fromkeys((optimizers, *LINEUPS))}

    runs = {}  # (surface, optimizer, options) -> its race: a run two settings share is run once

    def key(surface, runner):
        return surface, runner.optimizer, tuple(sorted(runner.options.items()))

    def runners(lineup, lr, beta1, beta2):
        return [Contender(labels[n], n, hyper_parameters(n, lr=lr, beta1=beta1, beta2=beta2)) for n in lineups[lineup]]

    def run(surface, runner):
        if key(surface, runner) not in runs:
            f, x0 = checked[surface]
            runs[key(surface, runner)] = race(f, [runner], x0=x0, steps=steps)
        return runs[key(surface, runner)]

    def prepare(settings):  # the races of many settings: those on one surface run side by side
        wanted = {}
        for s in settings:
            for runner in runners(s["lineup"], s["lr"], s["beta1"], s["beta2"]):
                if key(s["surface"], runner) not in runs:
                    wanted.setdefault(s["surface"], {})[key(s["surface"], runner)] = runner
        for surface, needed in wanted.items():
            f, x0 = checked[surface]
            runs.update(zip(needed, races(f, list(needed.values()), x0=x0, steps=steps), strict=True))

    def backdrop(fig, surface):
        f, _ = checked[surface]
        fig.subplots_adjust(**MARGINS)  # fixed: no layout is worked out for each of the site's figures
        top, bottom = fig.subplots(2, 1)
        _background(top, f, 20, 120)
        top.set_xlim(*f.xlim)
        top.set_ylim(*f.ylim)
        _progress_axes(bottom, f, steps)

    def draw(fig, surface, lineup, lr, beta1, beta2):
        top, bottom = fig.axes
        results = [run(surface, runner) for runner in runners(lineup, lr, beta1, beta2)]
        f = results[0].surface
        colors = _colors(results)
        for result in results:
            (label, trajectory), *_ = result.trajectories.items()
            path(top, torch.as_tensor(_clipped(trajectory.points, f)), color=colors[label], marker="", label=label)
            _progress_line(bottom, result, label, colors[label])
        bottom.legend()
        return {f"{label} final f": value for r in results for label, value in r.final_values().items()}

    rates = sorted({0.01, 0.03, 0.1, 0.3, lr})
    return build(
        draw,
        backdrop=backdrop,
        prepare=prepare,
        figsize=EXPLORER_SIZE,
        layout=None,
        alt="Each optimizer's path on the chosen surface's contours, and below it f - f* against the step",
        surface=Choice("surface", list(checked), next(iter(checked))),
        lineup=Choice("optimizers", list(lineups), next(iter(lineups))),
        lr=Slider("lr", rates, lr, log=True, step=0.1, format="{:g}"),
        beta1=Slider("β1 (momentum)", (0.0, 0.9), 0.9, step=0.01),
        beta2=Slider("β2 / ρ", (0.9, 0.999), 0.999, step=0.001, format="{:.3f}"),
    )
