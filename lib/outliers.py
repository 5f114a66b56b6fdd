"""How one outlier pulls the best lines under MSE, Huber's loss and MAE.

Defined in chapter 3 (*Cost functions*):

* :func:`outlier_fits` — the best line under each loss in :data:`FITS`, with its
  MSE and MAE;
* :class:`OutlierPlot` — the points and those lines, redrawn as the outlier moves:
  the chapter's animation, and the picture of the explorer;
* :func:`outlier_explorer` — an ``ipywidgets`` box for a live kernel (Jupyter,
  Colab, the Docker image): drag one point of the running example away and watch
  the lines respond, with a readout of the numbers behind them.
"""

from __future__ import annotations

import io

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.figure import Figure

from lib.data import running_example
from lib.losses import best_line, mae, mse
from lib.plots import PALETTE
from lib.validation import as_finite_tensor, check_int, check_real

FITS = {"mse": ("MSE", PALETTE[1]), "huber": ("Huber", PALETTE[2]), "mae": ("MAE", PALETTE[0])}
"""The losses whose best lines the explorer draws: key → (label, colour)."""


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
        ax.set_xlim(*self._xs)
        self.ylim = ylim
        if ylim is not None:
            ax.set_ylim(*ylim)
        ax.set(xlabel="$x$", ylabel="$y$", title="The line each cost prefers")
        if legend:
            ax.legend(loc="lower left", fontsize=8)
        self.fits = self.update(y, index=index, delta=delta)

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


def _readout(fits) -> str:
    cell = '<td style="padding: 2px 12px; text-align: right">'
    rows = "".join(
        f"<tr><td>best {FITS[loss][0]} line</td>{cell}{f['m']:+.4f}</td>{cell}{f['b']:+.4f}</td>"
        f"{cell}{f['mse']:.4f}</td>{cell}{f['mae']:.4f}</td></tr>"
        for loss, f in fits.items()
    )
    head = '<th style="padding: 2px 12px">'
    header = f"<tr><th>line</th>{head}slope m</th>{head}intercept b</th>{head}its MSE</th>{head}its MAE</th></tr>"
    return f"<table>{header}{rows}</table>"


class OutlierExplorer(widgets.VBox):
    """Sliders for which point is the outlier, how high it sits and Huber's δ; a picture; a table.

    ``fits`` holds the numbers on show (see :func:`outlier_fits`); ``data()`` the points drawn.
    """

    def __init__(self, x=None, y=None, *, index: int = 7, height: float = 6.0, delta: float = 1.0):
        if x is None and y is None:
            x, y = running_example()
        self.x = as_finite_tensor("x", x, dtype=torch.float64, ndim=1).cpu()
        self.y = as_finite_tensor("y", y, dtype=torch.float64, ndim=1).cpu()
        if self.x.shape != self.y.shape or self.x.numel() < 3:
            raise ValueError(f"x and y must have the same length (3 or more), got {self.x.numel()}, {self.y.numel()}")
        n = self.x.numel()
        index = check_int("index", index, low=0, high=n - 1)
        low, high = float(self.y.min()) - 6, float(self.y.max()) + 12
        height = check_real("height", height, low=low, high=high)
        delta = check_real("delta", delta, low=0.1, high=5.0)

        def slider(kind, description, **kwargs):
            style, layout = {"description_width": "110px"}, widgets.Layout(width="420px")
            return kind(description=description, style=style, layout=layout, continuous_update=False, **kwargs)

        self.index = slider(widgets.IntSlider, "moved point", value=index, min=0, max=n - 1)
        self.height = slider(widgets.FloatSlider, "its height y", value=height, min=low, max=high, step=0.1)
        self.delta = slider(widgets.FloatSlider, "Huber δ", value=delta, min=0.1, max=5.0, step=0.1)
        figure = Figure(figsize=(6, 3.6), dpi=72)
        self.plot = OutlierPlot(figure.subplots(), self.x, self.y, index=index, delta=delta, ylim=(low - 1, high + 1))
        figure.tight_layout()
        figure.set_layout_engine("none")  # the layout never changes: skip recomputing it on every move
        self.image = widgets.Image(format="png")
        self.readout = widgets.HTML()
        self.fits: dict[str, dict[str, float]] = {}
        super().__init__([self.index, self.height, self.delta, self.image, self.readout])
        for slider in (self.index, self.height, self.delta):
            slider.observe(self.update, names="value")
        self.update()

    def data(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The points on show: the data with point ``index`` moved to ``height``."""
        y = self.y.clone()
        y[self.index.value] = self.height.value
        return self.x, y

    def update(self, change=None) -> None:
        """Refit the lines, redraw the picture and rewrite the table (called on every slider move)."""
        _, y = self.data()
        self.fits = self.plot.update(y, index=self.index.value, delta=self.delta.value)
        buffer = io.BytesIO()
        self.plot.ax.figure.savefig(buffer, format="png")
        self.image.value = buffer.getvalue()
        self.readout.value = _readout(self.fits)


def outlier_explorer(x=None, y=None, *, index: int = 7, height: float = 6.0, delta: float = 1.0) -> OutlierExplorer:
    """An explorer of how MSE, Huber's loss and MAE treat one outlier (chapter 3).

    Starts from the running example (or ``x``, ``y``) with point ``index`` moved to
    ``height``. Display it as the last expression of a notebook cell.
    """
    return OutlierExplorer(x, y, index=index, height=height, delta=delta)
