"""How one outlier pulls the best lines under MSE, Huber's loss and MAE.

Defined in chapter 3 (*Cost functions*):

* :func:`outlier_fits` — the best line under each loss in :data:`FITS`, with its
  MSE and MAE;
* :class:`OutlierPlot` — the points and those lines, redrawn as the outlier moves:
  the chapter's animation, and the picture of the explorer;
* :func:`outlier_explorer` — an explorer (:mod:`lib.explorers`): drag one point of
  the running example away and watch the lines respond, with each line's slope and
  intercept.
"""

from __future__ import annotations

import numpy as np
import torch

from lib.data import running_example
from lib.explorers import Explorer, Slider, explorer, stops
from lib.losses import best_line, mae, mse
from lib.plots import PALETTE
from lib.validation import as_finite_tensor, check_int, check_real

FITS = {"mse": ("MSE", PALETTE[1]), "huber": ("Huber", PALETTE[2]), "mae": ("MAE", PALETTE[0])}
"""The losses whose best lines the explorer draws: key → (label, colour)."""

PARTS = (("slope", "m"), ("intercept", "b"))
"""The explorer's numbers for each line: (name shown, key in :func:`outlier_fits`)."""


def outlier_fits(x, y, *, delta: float = 1.0) -> dict[str, dict[str, float]]:
    """For each loss in :data:`FITS`, its best line on ``(x, y)`` and that line's MSE and MAE.

    Returns ``{loss: {"m": slope, "b": intercept, "mse": ..., "mae": ...}}``.
    """
    x = as_finite_tensor("x", x, dtype=torch.float64, ndim=1)
    y = as_finite_tensor("y", y, dtype=torch.float64, ndim=1)
    fits = {}
    for loss in FITS:
        m, b = best_line(x, y, loss, delta=delta)
        y_hat = m * x + b
        fits[loss] = {"m": m, "b": b, "mse": float(mse(y_hat, y)), "mae": float(mae(y_hat, y))}
    return fits


class OutlierPlot:
    """The picture of :func:`outlier_explorer` and of chapter 3's animation, drawn on ``ax``.

    The points ``(x, y)`` with point ``index`` ringed as the outlier, and the best line
    under each loss in :data:`FITS`. The artists are made once; :meth:`update` moves them,
    which is what an animation frame or a slider move needs.
    """

    def __init__(self, ax, x, y, *, index: int = 7, delta: float = 1.0, ylim=None, legend: bool = True):
        """``ylim`` fixes the vertical range (best when the points move); ``None`` fits it to each update."""
        self.ax = ax
        self.x = as_finite_tensor("x", x, dtype=torch.float64, ndim=1).cpu()
        self._xs = np.array([float(self.x.min()) - 0.5, float(self.x.max()) + 0.5])
        self.lines = {
            loss: ax.plot([], [], color=color, label=f"best {label} line")[0] for loss, (label, color) in FITS.items()
        }
        self.points = ax.scatter(
            self.x.numpy(), np.zeros(self.x.numel()), color=PALETTE[7], zorder=3, s=25, label="data"
        )
        self.ring = ax.scatter([0.0], [0.0], s=140, facecolors="none", edgecolors=PALETTE[3], lw=2, zorder=4)
        self.label = ax.annotate("outlier", (0.0, 0.0), xytext=(8, -4), textcoords="offset points")
        self.ylim = ylim
        self.axes(ax, self.x, ylim)
        if legend:
            ax.legend(loc="upper left", ncol=2)
        self.fits = self.update(y, index=index, delta=delta)

    @staticmethod
    def axes(ax, x, ylim=None):
        """Set up ``ax`` for the points ``x``: limits (``ylim``, if given), labels and title."""
        ax.set_xlim(float(x.min()) - 0.5, float(x.max()) + 0.5)
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.set(xlabel="$x$", ylabel="$y$", title="The line each cost prefers")

    def update(self, y, *, index: int | None = None, delta: float | None = None) -> dict[str, dict[str, float]]:
        """Show the points ``(x, y)``, optionally with a new outlier ``index`` or Huber ``delta``.

        Returns the fitted lines and their costs, as :func:`outlier_fits` does (also kept in ``fits``).
        """
        y = as_finite_tensor("y", y, dtype=torch.float64, ndim=1).cpu()
        if y.shape != self.x.shape:
            raise ValueError(f"y must have the same length as x, got {y.numel()} and {self.x.numel()}")
        if index is not None:
            self.index = check_int("index", index, low=0, high=self.x.numel() - 1)
        if delta is not None:
            self.delta = check_real("delta", delta, low=0.0, low_open=True)
        self.fits = outlier_fits(self.x, y, delta=self.delta)
        for loss, line in self.lines.items():
            line.set_data(self._xs, self.fits[loss]["m"] * self._xs + self.fits[loss]["b"])
        self.points.set_offsets(np.column_stack([self.x.numpy(), y.numpy()]))
        outlier = (float(self.x[self.index]), float(y[self.index]))
        self.ring.set_offsets([outlier])
        self.label.xy = outlier
        if self.ylim is None:  # fit the view to the points and lines
            values = np.concatenate([y.numpy(), *(line.get_ydata() for line in self.lines.values())])
            self.ax.set_ylim(values.min() - 0.5, values.max() + 0.5)
        return self.fits


MARGINS = {"left": 0.123, "right": 0.915, "bottom": 0.167, "top": 0.899}
"""The explorer's fixed margins: they hold every setting's labels (the widest a tight layout
asks for, over all the chapter's settings), so the axes stay put as the sliders move."""


def outlier_explorer(x=None, y=None, *, index: int = 7, height: float = 6.0, delta: float = 1.0) -> Explorer:
    """An explorer of how MSE, Huber's loss and MAE treat one outlier (chapter 3).

    Starts from the running example (or ``x``, ``y``) with point ``index`` moved to
    ``height``; sliders move which point is the outlier, its height and Huber's δ. The
    numbers are each best line's slope and intercept (see :func:`outlier_fits`). Display
    it as the last expression of a notebook cell.
    """
    if x is None and y is None:
        x, y = running_example()
    x = as_finite_tensor("x", x, dtype=torch.float64, ndim=1).cpu()
    y = as_finite_tensor("y", y, dtype=torch.float64, ndim=1).cpu()
    if x.shape != y.shape or x.numel() < 3:
        raise ValueError(f"x and y must have the same length (3 or more), got {x.numel()}, {y.numel()}")
    n = x.numel()
    index = check_int("index", index, low=0, high=n - 1)
    low, high = float(y.min()) - 6, float(y.max()) + 12
    height = check_real("height", height, low=low, high=high)
    delta = check_real("delta", delta, low=0.1, high=5.0)
    heights = sorted({*stops(round(low), round(high), 3), height})
    deltas = sorted({0.1, 1.0, 5.0, delta})

    ylim = (low - 1, high + 1)

    def backdrop(fig):
        fig.subplots_adjust(**MARGINS)
        OutlierPlot.axes(fig.subplots(), x, ylim)

    def draw(fig, index, height, delta):
        moved = y.clone()
        moved[int(index)] = height
        plot = OutlierPlot(fig.axes[0], x, moved, index=int(index), delta=delta, ylim=ylim)
        return {f"{FITS[loss][0]} {part}": fit[key] for loss, fit in plot.fits.items() for part, key in PARTS}

    return explorer(
        draw,
        backdrop=backdrop,
        figsize=(6, 4),
        layout=None,
        alt="The points with one moved away, and the best MSE, Huber and MAE lines through them",
        index=Slider("moved point", tuple(range(n)), index, integer=True, format="{:.0f}"),
        height=Slider("its height y", heights, height, step=0.1, format="{:.1f}"),
        delta=Slider("Huber δ", deltas, delta, step=0.1, format="{:.1f}"),
    )
