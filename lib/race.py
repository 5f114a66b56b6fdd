"""The optimizer race: several optimizers from :mod:`lib.optimizers` on one test surface.

Defined in chapter 10, *Adaptive methods*:

* :class:`Contender` (made with :func:`contender`) — an optimizer name for
  :func:`lib.optimizers.create`, its hyper-parameters and a label;
* :func:`race` — run every contender from the same start with :func:`lib.train.minimize`
  and return a :class:`RaceResult`: each trajectory, where it diverged, and a results
  table (steps to reach a target value, final value) as rows or as Markdown;
* :func:`leaderboard` — several races (one per surface) in one Markdown table;
* :func:`tune` — pick each contender's learning rate from a grid, so the race is fair;
* :func:`plot` and :func:`animate` — the paths on the contour plots, still or animated,
  one panel per surface, side by side;
* :func:`plot_values` — each contender's ``f(x_k) − f*`` against the step ``k``;
* :func:`explorer` — an ``ipywidgets`` picker for the surface, the optimizers and their
  hyper-parameters (needs a live kernel; the chapter shows :func:`animate` beside it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import torch

from lib.plots import PALETTE, contour, path
from lib.validation import as_finite_tensor, check_int, check_real

__all__ = [
    "Contender",
    "RaceResult",
    "animate",
    "contender",
    "explorer",
    "hyper_parameters",
    "leaderboard",
    "plot",
    "plot_values",
    "race",
    "tune",
]


@dataclass(frozen=True)
class Contender:
    """One runner: ``optimizer`` is a name for :func:`lib.optimizers.create`, ``options`` its keyword arguments."""

    label: str
    optimizer: str
    options: Mapping = field(default_factory=dict)

    def describe(self) -> str:
        """The hyper-parameters as ``"lr=0.1, momentum=0.9"``."""
        return ", ".join(f"{key}={_short(value)}" for key, value in self.options.items())


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_short(v) for v in value) + ")"
    return str(value)


def contender(optimizer: str, label: str | None = None, **options) -> Contender:
    """``contender("adam", lr=0.1)`` → a :class:`Contender` labelled ``"adam"`` (or ``label``).

    The name and the options are checked at once by building the optimizer on a dummy parameter.
    """
    from lib.optimizers import create

    if not isinstance(optimizer, str):
        raise TypeError(f"optimizer must be a name such as 'adam', got {type(optimizer).__name__}")
    if label is None:
        label = optimizer
    if not isinstance(label, str) or not label:
        raise TypeError(f"label must be a non-empty string, got {label!r}")
    create(optimizer, [torch.zeros(1, requires_grad=True)], **options)
    return Contender(label, optimizer, dict(options))


def _check_surface(surface):
    if not callable(surface):
        raise TypeError(f"surface must be a callable test function from lib.functions, got {type(surface).__name__}")
    for name in ("xlim", "ylim"):
        if not hasattr(surface, name):
            raise TypeError(f"surface must have .xlim and .ylim (a function from lib.functions); missing .{name}")
    return surface


def _check_contenders(contenders) -> list[Contender]:
    if isinstance(contenders, Contender):
        contenders = [contenders]
    if isinstance(contenders, (str, bytes)) or not isinstance(contenders, Sequence) or not contenders:
        raise TypeError("contenders must be a non-empty list of Contender (see lib.race.contender)")
    for i, c in enumerate(contenders):
        if not isinstance(c, Contender):
            raise TypeError(f"contenders[{i}] must be a Contender (see lib.race.contender), got {type(c).__name__}")
    labels = [c.label for c in contenders]
    if len(set(labels)) != len(labels):
        raise ValueError(f"contenders must have distinct labels, got {labels}")
    return list(contenders)


def _check_point(x0):
    x0 = as_finite_tensor("x0", x0, dtype=torch.float64, ndim=1)
    if x0.shape[0] != 2:
        raise ValueError(f"x0 must be a point (x1, x2), got shape {tuple(x0.shape)}")
    return x0


def _minimum(surface) -> float | None:
    value = getattr(surface, "minimum", None)
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


@dataclass
class RaceResult:
    """What :func:`race` returns.

    ``trajectories[label]`` is the :class:`lib.train.Trajectory` of each contender (``.points``,
    ``.values``, ``.gradients``); ``diverged_at[label]`` is the first step whose value was not
    finite (the trajectory then stops just before it) or ``None``.
    """

    surface: object
    x0: torch.Tensor
    steps: int
    contenders: list[Contender]
    trajectories: dict
    diverged_at: dict

    @property
    def labels(self) -> list[str]:
        return [c.label for c in self.contenders]

    def steps_to(self, target: float) -> dict:
        """For each label, the first step ``k`` with ``f(x_k) <= target``, or ``None`` if never reached."""
        target = check_real("target", target)
        out = {}
        for label, trajectory in self.trajectories.items():
            hits = torch.nonzero(trajectory.values <= target)
            out[label] = int(hits[0, 0]) if len(hits) else None
        return out

    def final_values(self) -> dict:
        """For each label, ``f`` at the last finite point of its run."""
        return {label: float(t.values[-1]) for label, t in self.trajectories.items()}

    def table(self, target: float | None = None) -> list[dict]:
        """One row per contender: label, settings, final value, steps to ``target`` and divergence.

        ``target`` defaults to ``f* + 1e-6`` on a surface with a known minimum ``f*``.
        """
        target = self._target(target)
        reached = self.steps_to(target) if target is not None else {}
        rows = []
        for c in self.contenders:
            rows.append(
                {
                    "optimizer": c.label,
                    "settings": c.describe(),
                    "final value": self.final_values()[c.label],
                    "steps to target": reached.get(c.label),
                    "diverged at": self.diverged_at[c.label],
                }
            )
        return rows

    def _target(self, target):
        if target is not None:
            return check_real("target", target)
        minimum = _minimum(self.surface)
        return None if minimum is None else minimum + 1e-6

    def markdown(self, target: float | None = None) -> str:
        """:meth:`table` as a Markdown table (show it with ``IPython.display.Markdown``)."""
        target = self._target(target)
        name = getattr(self.surface, "name", "surface")
        reach = f"steps to f ≤ {target:.3g}" if target is not None else "steps to target"
        lines = [f"| {name}: optimizer | settings | {reach} | final f |", "|---|---|---:|---:|"]
        for row in self.table(target):
            steps = "—" if row["steps to target"] is None else str(row["steps to target"])
            if row["diverged at"] is not None:
                steps = f"diverged at step {row['diverged at']}"
            lines.append(f"| {row['optimizer']} | {row['settings']} | {steps} | {row['final value']:.4g} |")
        return "\n".join(lines)


def _run(surface, c: Contender, x0, steps):
    from lib.train import DivergenceError, minimize

    try:
        return minimize(surface, x0, optimizer=c.optimizer, steps=steps, **c.options), None
    except DivergenceError as err:
        diverged = getattr(err, "step", None)
        if diverged is None:
            raise
    return minimize(surface, x0, optimizer=c.optimizer, steps=max(diverged - 1, 0), **c.options), diverged


def race(surface, contenders, *, x0, steps: int = 100) -> RaceResult:
    """Run each contender ``steps`` steps on ``surface`` from ``x0`` and collect the results.

    A contender whose values stop being finite is recorded as diverged (its trajectory ends at
    the last finite point) instead of raising, so one bad learning rate does not stop the race.
    """
    surface = _check_surface(surface)
    contenders = _check_contenders(contenders)
    x0 = _check_point(x0)
    steps = check_int("steps", steps, low=1)
    trajectories, diverged_at = {}, {}
    for c in contenders:
        trajectories[c.label], diverged_at[c.label] = _run(surface, c, x0, steps)
    return RaceResult(surface, x0, steps, contenders, trajectories, diverged_at)


def tune(surface, c: Contender, learning_rates, *, x0, steps: int = 100, target: float | None = None) -> Contender:
    """Return ``c`` with the learning rate from ``learning_rates`` that does best on ``surface``.

    Best means fewest steps to ``target`` (default ``f* + 1e-6``); runs that never reach it are
    ranked by their final value, and diverged runs come last. Ties go to the smaller rate.
    """
    if not isinstance(c, Contender):
        raise TypeError(f"c must be a Contender, got {type(c).__name__}")
    if isinstance(learning_rates, (str, bytes)) or not isinstance(learning_rates, Sequence) or not learning_rates:
        raise TypeError("learning_rates must be a non-empty list of positive numbers")
    rates = sorted(check_real(f"learning_rates[{i}]", r, low=0.0, low_open=True) for i, r in enumerate(learning_rates))
    candidates = [Contender(f"{c.label} lr={r:g}", c.optimizer, {**c.options, "lr": r}) for r in rates]
    result = race(surface, candidates, x0=x0, steps=steps)
    target = result._target(target)
    reached = result.steps_to(target) if target is not None else {}

    def rank(i):
        label = candidates[i].label
        if result.diverged_at[label] is not None:
            return (2, 0.0, i)
        if reached.get(label) is not None:
            return (0, reached[label], i)
        return (1, result.final_values()[label], i)

    best = min(range(len(candidates)), key=rank)
    return Contender(c.label, c.optimizer, {**c.options, "lr": rates[best]})


def leaderboard(results, targets=None) -> str:
    """A Markdown table with one row per contender and one column per race (surface).

    Each cell reads ``"k (lr=…)"``: the steps to the race's target, or ``"— (f=…)"`` with the
    final value when it never got there. ``targets`` lists one target per race (``None`` entries
    mean ``f* + 1e-6``).
    """
    results = _results_list(results)
    targets = [None] * len(results) if targets is None else list(targets)
    if len(targets) != len(results):
        raise ValueError(f"targets must have one entry per race ({len(results)}), got {len(targets)}")
    labels = []
    for r in results:
        labels += [label for label in r.labels if label not in labels]
    header = ["optimizer"]
    columns = []
    for r, target in zip(results, targets, strict=True):
        target = r._target(target)
        header.append(f"{getattr(r.surface, 'name', 'surface')}: steps to f ≤ {target:.3g}")
        reached, final = r.steps_to(target), r.final_values()
        options = {c.label: c.options for c in r.contenders}
        column = {}
        for label in r.labels:
            lr = options[label].get("lr")
            setting = f" (lr={_short(float(lr))})" if lr is not None else ""
            if r.diverged_at[label] is not None:
                column[label] = f"diverged{setting}"
            elif reached[label] is None:
                column[label] = f"— (f={final[label]:.2g}){setting}"
            else:
                column[label] = f"{reached[label]}{setting}"
        columns.append(column)
    lines = ["| " + " | ".join(header) + " |", "|---" + "|---:" * len(results) + "|"]
    for label in labels:
        lines.append("| " + " | ".join([label] + [column.get(label, "") for column in columns]) + " |")
    return "\n".join(lines)


def _results_list(results) -> list[RaceResult]:
    if isinstance(results, RaceResult):
        return [results]
    if not isinstance(results, Sequence) or not results or not all(isinstance(r, RaceResult) for r in results):
        raise TypeError("results must be a RaceResult or a non-empty list of them")
    return list(results)


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


def _background(ax, result, levels, resolution):
    surface = result.surface
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


def _legend(fig, colors):
    handles = [plt.Line2D([], [], color=color, lw=2) for color in colors.values()]
    fig.legend(handles, list(colors), loc="lower center", ncol=len(colors) if len(colors) <= 5 else 4, fontsize=8)


def plot(results, *, ncols: int = 2, figsize=(6, 4), dpi: int = 72, levels: int = 12, resolution: int = 120):
    """Still picture of a race: one panel per surface, every contender's whole path (start ■, end ★)."""
    results = _results_list(results)
    colors = _colors(results)
    fig, axes = _grid(len(results), ncols, figsize, dpi)
    for ax, result in zip(axes, results, strict=True):
        _background(ax, result, levels, resolution)
        for label, trajectory in result.trajectories.items():
            pts = _clipped(trajectory.points, result.surface)
            path(ax, torch.as_tensor(pts), color=colors[label], marker="", markersize=0)
        ax.set_xlim(*result.surface.xlim)
        ax.set_ylim(*result.surface.ylim)
    _legend(fig, colors)
    fig.set_layout_engine("tight", rect=(0, 0.08, 1, 1))
    return fig


def _figure_dpi_animation(*args, **kwargs):
    from matplotlib.animation import FuncAnimation

    class FigureDpiAnimation(FuncAnimation):
        """A FuncAnimation whose frames are saved at the figure's dpi unless told otherwise."""

        def save(self, filename, writer=None, fps=None, dpi=None, *rest, **options):
            return super().save(filename, writer, fps, self._fig.dpi if dpi is None else dpi, *rest, **options)

    return FigureDpiAnimation(*args, **kwargs)


def animate(
    results,
    *,
    frames: int = 20,
    ncols: int = 2,
    figsize=(6, 4),
    dpi: int = 60,
    levels: int = 12,
    resolution: int = 120,
    interval: int = 150,
):
    """Animate a race: the paths grow step by step, one panel per surface, side by side.

    Returns a ``matplotlib.animation.FuncAnimation`` with at most ``frames`` frames (at most 40),
    at steps spaced evenly on a log scale so that the first steps show; show it with
    :func:`lib.plots.animation_html`. The still parts (contours, axes, legend) are drawn once
    into a picture and only the paths are redrawn for each frame, which is saved at ``dpi``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.transforms import Bbox

    results = _results_list(results)
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
        _background(ax, result, levels, resolution)
        ax.set_xlim(*result.surface.xlim)
        ax.set_ylim(*result.surface.ylim)
        panels.append((ax, result))
    for ax in list(axes)[len(results) :]:
        ax.set_visible(False)
    _legend(still, colors)
    still.tight_layout(rect=(0, 0.08, 1, 1))
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
    counter = overlay.text(background.shape[1] - 4, 4, "", ha="right", va="bottom", fontsize=8)
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

    return _figure_dpi_animation(fig, draw, frames=len(schedule), interval=interval, blit=False)


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
    minimum = _minimum(result.surface)
    for label, trajectory in result.trajectories.items():
        values = trajectory.values.detach().cpu().numpy()
        if minimum is not None:
            values = np.maximum(values - minimum, 1e-300)
        ax.plot(np.arange(len(values)), values, color=colors[label], label=label, lw=1.5)
    if log:
        # Without a minimum (the saddle) values run off to -∞: a scale logarithmic on both sides of 0.
        ax.set_yscale("log") if minimum is not None else ax.set_yscale("symlog", linthresh=1.0)
    ax.set_xlabel("step $k$")
    ax.set_ylabel("$f(x_k) - f^*$" if minimum is not None else "$f(x_k)$")
    ax.set_title(f"Progress on {getattr(result.surface, 'name', 'the surface')}")
    ax.legend(fontsize=8)
    return ax


def hyper_parameters(optimizer: str, *, lr: float, beta1: float = 0.9, beta2: float = 0.999) -> dict:
    """Options for ``optimizer`` from three knobs shared by the explorer's sliders.

    ``beta1`` is the momentum (SGD's ``momentum``, Adam's ``β1``); ``beta2`` the decay of the
    squared-gradient average (Adam's ``β2``, RMSprop's ``alpha``, Adadelta's ``rho``). AdaGrad
    takes only ``lr``.
    """
    lr = check_real("lr", lr, low=0.0, low_open=True)
    beta1 = check_real("beta1", beta1, low=0.0, high=1.0, high_open=True)
    beta2 = check_real("beta2", beta2, low=0.0, high=1.0, high_open=True)
    name = optimizer.lower() if isinstance(optimizer, str) else optimizer
    options = {
        "sgd": {"lr": lr, "momentum": beta1},
        "adagrad": {"lr": lr},
        "adadelta": {"lr": lr, "rho": beta2},
        "rmsprop": {"lr": lr, "alpha": beta2},
        "adam": {"lr": lr, "betas": (beta1, beta2)},
        "adamw": {"lr": lr, "betas": (beta1, beta2)},
        "nadam": {"lr": lr, "betas": (beta1, beta2)},
        "adamax": {"lr": lr, "betas": (beta1, beta2)},
    }
    if name not in options:
        raise ValueError(f"optimizer must be one of {sorted(options)}, got {optimizer!r}")
    return options[name]


def explorer(courses: Mapping, *, optimizers=("sgd", "rmsprop", "adam"), lr: float = 0.02, steps: int = 100):
    """An ``ipywidgets`` explorer: pick a surface, optimizers, learning rate, β1, β2 and steps.

    ``courses`` maps a surface name to ``(surface, x0)``; ``optimizers``, ``lr`` and ``steps`` are
    the starting values of the controls. The output redraws the race (paths on the contour plot
    and ``f − f*`` against the step) whenever a control changes.
    """
    import ipywidgets as widgets

    if not isinstance(courses, Mapping) or not courses:
        raise TypeError("courses must be a non-empty mapping name -> (surface, x0)")
    checked = {}
    for name, entry in courses.items():
        if not isinstance(entry, Sequence) or len(entry) != 2:
            raise TypeError(f"courses[{name!r}] must be a pair (surface, x0)")
        checked[name] = (_check_surface(entry[0]), _check_point(entry[1]))
    choices = ["sgd", "adagrad", "adadelta", "rmsprop", "adam", "adamw", "nadam", "adamax"]
    optimizers = list(optimizers)
    for name in optimizers:
        if name not in choices:
            raise ValueError(f"optimizers must be chosen from {choices}, got {name!r}")
    lr = check_real("lr", lr, low=1e-4, high=1.0)
    steps = check_int("steps", steps, low=10, high=500)
    wide = {"description_width": "initial"}

    def show(surface, chosen, lr, beta1, beta2, steps):
        if not chosen:
            print("Pick at least one optimizer.")
            return
        f, x0 = checked[surface]
        runners = [Contender(name, name, hyper_parameters(name, lr=lr, beta1=beta1, beta2=beta2)) for name in chosen]
        result = race(f, runners, x0=x0, steps=steps)
        _, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
        _background(left, result, 20, 120)
        colors = _colors([result])
        for label, trajectory in result.trajectories.items():
            path(left, torch.as_tensor(_clipped(trajectory.points, f)), color=colors[label], marker="", label=label)
        left.set_xlim(*f.xlim)
        left.set_ylim(*f.ylim)
        plot_values(result, ax=right)
        plt.show()

    return widgets.interactive(
        show,
        surface=widgets.Dropdown(options=list(checked), description="surface", style=wide),
        chosen=widgets.SelectMultiple(
            options=choices, value=tuple(optimizers), description="optimizers", rows=8, style=wide
        ),
        lr=widgets.FloatLogSlider(value=lr, base=10, min=-4, max=0, step=0.1, description="lr", style=wide),
        beta1=widgets.FloatSlider(value=0.9, min=0.0, max=0.99, step=0.01, description="β1 (momentum)", style=wide),
        beta2=widgets.FloatSlider(
            value=0.999, min=0.5, max=0.999, step=0.001, readout_format=".3f", description="β2", style=wide
        ),
        steps=widgets.IntSlider(value=steps, min=10, max=500, step=10, description="steps", style=wide),
    )
