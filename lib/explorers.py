"""Explorers: a figure that redraws as the reader moves its controls, in a kernel and on the site.

One definition serves both homes. An explorer is a drawing function and its controls::

    def draw(fig, slope, intercept):
        ax = fig.subplots()
        ...
        return {"cost": cost}          # the numbers the figure shows

    explorer(draw, slope=Slider("slope m", stops(-1.5, 1.5, 0.25), 0.75, step=0.01), ...)

* **In a kernel** (Jupyter, Colab, the Docker image) it is an ``ipywidgets`` box: a slider
  per :class:`Slider` (any value between its ends, in its ``step``), a drop-down per
  :class:`Choice`, the figure as an image and the numbers below it, redrawn on every move.
* **On the site**, where no kernel runs, the book build sets :data:`SITE` in the kernels it
  starts. The explorer then draws its figure once for every combination of the controls'
  ``values`` (a precomputed sweep) and displays plain HTML: range inputs and drop-downs over
  those values, the figure, and the numbers. The build's ``_ext/explorer_frames.py`` saves
  the figures as WebP files next to the page and ``_ext/static/explorers.js`` swaps them as
  the controls move, so the page shows exactly what ``draw`` drew, with no kernel.

``pad`` names two sliders whose values are the x and y axes of one of the figure's axes (a
heat map, a contour plot): a click on that part of the site's picture moves both sliders.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import itertools
import json
import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from matplotlib.figure import Figure

from lib.validation import check_callable, check_real

SITE = "COURSE_SITE_EXPLORERS"
"""Environment variable the book build sets in its kernels: explorers display the site's version."""

MAX_FRAMES = 400
"""Most figures one explorer may precompute for the site (each is a file of the built site)."""


def stops(low: float, high: float, step: float) -> tuple[float, ...]:
    """``low, low + step, ..., high`` (``high`` included), rounded to the step's decimals."""
    low, high = check_real("low", low), check_real("high", high)
    step = check_real("step", step, low=0.0, low_open=True)
    if high < low:
        raise ValueError(f"high must be >= low, got {low} and {high}")
    count = round((high - low) / step)
    if abs(low + count * step - high) > 1e-9 * max(1.0, abs(high)):
        raise ValueError(f"(high - low) must be a whole number of steps, got {low}, {high}, {step}")
    decimals = max(0, -math.floor(math.log10(step)) + 2)
    return tuple(round(low + k * step, decimals) for k in range(count + 1))


@dataclass(frozen=True)
class Slider:
    """A number. ``values``: the site's settings, in order; ``value``: the first one shown.

    In a kernel the slider runs from the first to the last of ``values`` in steps of ``step``
    (default: the smallest gap between ``values``); with ``log`` it moves the base-10 exponent,
    as ``ipywidgets.FloatLogSlider`` does. ``integer`` makes it an ``IntSlider``.
    """

    label: str
    values: Sequence[float]
    value: float
    step: float | None = None
    log: bool = False
    integer: bool = False
    format: str = "{:.2f}"

    def __post_init__(self):
        values = tuple(check_real(f"{self.label} values", v) for v in self.values)
        if len(values) < 2 or any(b <= a for a, b in itertools.pairwise(values)):
            raise ValueError(f"{self.label}: values must be two or more increasing numbers, got {values}")
        if self.log and values[0] <= 0:
            raise ValueError(f"{self.label}: a log slider's values must be positive, got {values[0]}")
        object.__setattr__(self, "values", values)
        index(self, self.value)  # the starting value must be one of the site's

    def text(self, value) -> str:
        return self.format.format(value)

    def widget(self, widgets, value):
        style, layout = {"description_width": "120px"}, widgets.Layout(width="440px")
        common = {"description": self.label, "style": style, "layout": layout, "continuous_update": False}
        low, high = self.values[0], self.values[-1]
        if self.integer:
            step = int(self.step or _smallest_gap(self.values))
            return widgets.IntSlider(value=int(value), min=int(low), max=int(high), step=step, **common)
        if self.log:
            exponents = [math.log10(v) for v in self.values]
            step = self.step or _smallest_gap(exponents)
            return widgets.FloatLogSlider(
                value=value, base=10, min=exponents[0], max=exponents[-1], step=step, readout_format=".3g", **common
            )
        step = self.step or _smallest_gap(self.values)
        return widgets.FloatSlider(value=value, min=low, max=high, step=step, **common)


@dataclass(frozen=True)
class Choice:
    """One of ``options`` (strings), starting at ``value``."""

    label: str
    options: Sequence[str]
    value: str

    def __post_init__(self):
        options = tuple(self.options)
        if len(options) < 2 or not all(isinstance(o, str) for o in options) or len(set(options)) < len(options):
            raise ValueError(f"{self.label}: options must be two or more different strings, got {options}")
        object.__setattr__(self, "options", options)
        index(self, self.value)

    @property
    def values(self) -> tuple[str, ...]:
        return self.options

    def text(self, value) -> str:
        return str(value)

    def widget(self, widgets, value):
        return widgets.Dropdown(
            options=list(self.options),
            value=value,
            description=self.label,
            style={"description_width": "120px"},
            layout=widgets.Layout(width="440px"),
        )


Control = Slider | Choice


def index(control: Control, value) -> int:
    """Where ``value`` sits in ``control.values`` (a number to within 1e-9); ``ValueError`` if absent."""
    for k, candidate in enumerate(control.values):
        if candidate == value or (isinstance(control, Slider) and abs(candidate - value) <= 1e-9):
            return k
    raise ValueError(f"{control.label}: {value!r} is not one of the site's values {control.values}")


def _number(value):
    return round(value, 12) if isinstance(value, float) else value


@dataclass
class Explorer:
    """``draw(fig, **settings) -> {name: number}`` and its controls; see the module's notes.

    ``settings`` holds the values on show, ``values`` what ``draw`` returned for them and
    ``image`` the figure as PNG bytes. :meth:`set` changes settings and redraws.
    """

    draw: Callable
    controls: Mapping[str, Control]
    figsize: tuple[float, float] = (6.0, 3.6)
    dpi: int = 80
    alt: str = "The explorer's figure"
    pad: tuple[str, str] | None = None
    pad_axes: int = 0
    layout: str | None = "tight"
    settings: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)
    image: bytes = b""
    site: str | None = field(default=None, repr=False)

    def __post_init__(self):
        check_callable("draw", self.draw)
        if not isinstance(self.controls, Mapping) or not self.controls:
            raise TypeError("controls must be a non-empty mapping name -> Slider or Choice")
        for name, control in self.controls.items():
            if not isinstance(control, Slider | Choice):
                raise TypeError(f"controls[{name!r}] must be a Slider or a Choice, got {type(control).__name__}")
        if self.pad is not None:
            if len(self.pad) != 2 or any(not isinstance(self.controls.get(n), Slider) for n in self.pad):
                raise ValueError(f"pad must name two sliders of the explorer, got {self.pad!r}")
        frames = math.prod(len(c.values) for c in self.controls.values())
        if frames > MAX_FRAMES:
            raise ValueError(f"the site would need {frames} figures for this explorer, more than {MAX_FRAMES}")
        self.set(**{name: control.value for name, control in self.controls.items()})
        # On the site, draw every setting now: a setting that fails fails its cell, and the build,
        # instead of leaving the page without its explorer.
        self.site = self.site_html() if os.environ.get(SITE) else None

    def render(self, settings: Mapping) -> tuple[bytes, dict, Figure]:
        """Draw ``settings``; the PNG bytes, the numbers ``draw`` returned and the figure."""
        # matplotlib reads layout=None as "the rcParams' choice", which the course style makes tight
        fig = Figure(figsize=self.figsize, dpi=self.dpi, layout=self.layout or "none")
        values = self.draw(fig, **settings) or {}
        if not isinstance(values, Mapping):
            raise TypeError(f"draw must return a mapping name -> number (or None), got {type(values).__name__}")
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        return buffer.getvalue(), {k: _number(v) for k, v in values.items()}, fig

    def set(self, **settings) -> dict:
        """Show ``settings`` (names of controls; the others keep their values); return the numbers."""
        unknown = set(settings) - set(self.controls)
        if unknown:
            raise ValueError(f"no control named {sorted(unknown)}; the controls are {list(self.controls)}")
        self.settings = {**self.settings, **settings}
        self.image, self.values, _ = self.render(self.settings)
        return self.values

    def readout(self, values: Mapping | None = None) -> str:
        """The numbers as one line of text, e.g. ``cost 0.1234 · slope 0.75``."""
        values = self.values if values is None else values
        return " · ".join(f"{name} {_format(value)}" for name, value in values.items())

    # the site's version

    def sweep(self) -> list[tuple[dict, bytes, dict, Figure | None]]:
        """Every combination of the controls' values, in row-major order (the last control fastest)."""
        names = list(self.controls)
        out = []
        for combination in itertools.product(*(self.controls[n].values for n in names)):
            settings = dict(zip(names, combination, strict=True))
            image, values, fig = self.render(settings)
            box = _axes_box(fig, self.pad_axes) if self.pad else None
            out.append((settings, image, values, box))
        return out

    def site_html(self) -> str:
        """The explorer as the static site shows it: controls, every figure (inline, as data URLs) and numbers."""
        frames = self.sweep()
        start = 0
        for control in self.controls.values():  # row-major, as sweep() draws them
            start = start * len(control.values) + index(control, control.value)
        data = {
            "controls": [
                {"name": n, "label": c.label, "texts": [c.text(v) for v in c.values], "values": list(c.values)}
                for n, c in self.controls.items()
            ],
            "frames": ["data:image/png;base64," + base64.b64encode(image).decode() for _, image, _, _ in frames],
            "values": [values for _, _, values, _ in frames],
            "readouts": [self.readout(values) for _, _, values, _ in frames],
        }
        if self.pad:
            data["pad"] = {"x": self.pad[0], "y": self.pad[1], "box": frames[start][3]}
        encoded = json.dumps(data)
        key = hashlib.sha256(encoded.encode()).hexdigest()[:8]  # ids unique on the page
        inputs = []
        for k, (name, control) in enumerate(self.controls.items()):
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
        _, width, height = _png_size(frames[start][1])
        body = (
            f'<div class="explorer" data-explorer="{html.escape(encoded, quote=True)}" data-frame="{start}" '
            f'data-values="{html.escape(json.dumps(data["values"][start]), quote=True)}">'
            f'<div class="explorer-controls">{"".join(inputs)}</div>'
            f'<img src="{data["frames"][start]}" width="{width}" height="{height}" alt="{html.escape(self.alt)}">'
            f'<p class="explorer-readout" aria-live="polite">{html.escape(data["readouts"][start])}</p>'
            "</div>"
        )
        return body

    # the live version

    def widget(self):
        """An ``ipywidgets`` box: the controls, the figure and the numbers, redrawn on every move."""
        import ipywidgets as widgets

        controls = {name: c.widget(widgets, self.settings[name]) for name, c in self.controls.items()}
        picture = widgets.Image(value=self.image, format="png")
        numbers = widgets.HTML(html.escape(self.readout()))

        def redraw(change=None):
            self.set(**{name: w.value for name, w in controls.items()})
            picture.value = self.image
            numbers.value = html.escape(self.readout())

        for w in controls.values():
            w.observe(redraw, names="value")
        box = widgets.VBox([*controls.values(), picture, numbers])
        box.controls, box.redraw, box.explorer = controls, redraw, self
        return box

    def _repr_mimebundle_(self, include=None, exclude=None):
        if self.site is not None:
            return {"text/html": self.site, "text/plain": f"<explorer: {', '.join(self.controls)}>"}
        return self.widget()._repr_mimebundle_(include=include, exclude=exclude)


def _smallest_gap(values) -> float:
    return min(b - a for a, b in itertools.pairwise(values))


def _format(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    return f"{value:.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"


def _png_size(image: bytes) -> tuple[str, int, int]:
    return "png", int.from_bytes(image[16:20], "big"), int.from_bytes(image[20:24], "big")


def _axes_box(fig: Figure, which: int) -> dict:
    """Where axes ``which`` sits in the saved picture, as fractions from the top left, and its limits."""
    ax = fig.axes[which]
    x0, y0, x1, y1 = ax.get_position().extents
    return {
        "left": x0,
        "right": x1,
        "top": 1 - y1,
        "bottom": 1 - y0,
        "xlim": list(ax.get_xlim()),
        "ylim": list(ax.get_ylim()),
        "xlog": ax.get_xscale() == "log",
        "ylog": ax.get_yscale() == "log",
    }


def explorer(
    draw: Callable,
    *,
    figsize=(6.0, 3.6),
    alt: str = "The explorer's figure",
    pad=None,
    pad_axes=0,
    layout: str | None = "tight",
    **controls,
):
    """An :class:`Explorer` of ``draw`` with ``controls`` (keyword → :class:`Slider` or :class:`Choice`).

    Display it as the last expression of a notebook cell. ``layout`` is matplotlib's layout
    engine for each figure; ``None`` leaves the margins to ``draw`` (``fig.subplots_adjust``),
    which is several times faster to draw for an explorer with hundreds of settings.
    """
    return Explorer(draw, controls, figsize=figsize, alt=alt, pad=pad, pad_axes=pad_axes, layout=layout)
