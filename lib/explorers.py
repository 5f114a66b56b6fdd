"""Explorers: a figure that redraws as the reader moves its controls.

An explorer is a drawing function and its controls::

    def draw(fig, slope, intercept):
        ax = fig.subplots()
        ...
        return {"cost": cost}          # the numbers the figure shows

    explorer(draw, slope=Slider("slope m", stops(-1.5, 1.5, 0.25), 0.75, step=0.01), ...)

Displayed as the last expression of a cell, it is an ``ipywidgets`` box (in Jupyter, Colab
or the Docker image): a slider per :class:`Slider` (any value between its ends, in its
``step``), a drop-down per :class:`Choice`, the figure as an image and the numbers below it,
redrawn on every move.

``backdrop(fig)``, if given, draws what stays the same whatever the settings (the axes,
contours, a curve, fixed limits and labels) before ``draw`` adds what moves; a figure of
many settings is then drawn once and only the moving parts again. A backdrop that depends
on some controls names them after ``fig``: ``backdrop(fig, surface)``.

``prepare(settings)``, if given, works out at once what a list of settings will need (their
optimization runs, side by side) and keeps it where ``draw`` finds it: the built site calls
it with every setting before drawing them one by one. In a kernel each move is drawn alone,
and ``draw`` must work without it.

Each control also lists ``values``: the settings a reader without a kernel can pick (the
built site draws the figure for every combination of them in advance). ``pad`` names two
sliders whose values are the x and y axes of one of the figure's axes (a heat map, a
contour plot), so that a click on that part of the picture can move both.
"""

from __future__ import annotations

import html
import inspect
import io
import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from matplotlib.figure import Figure

from lib.validation import check_callable, check_real


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
    backdrop: Callable | None = None
    prepare: Callable | None = None
    settings: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)
    image: bytes = b""

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
        if self.backdrop is not None:
            check_callable("backdrop", self.backdrop)
            unknown = [n for n in self.backdrop_controls() if n not in self.controls]
            if unknown:
                raise ValueError(f"backdrop's parameters after fig must name controls, got {unknown}")
        if self.prepare is not None:
            check_callable("prepare", self.prepare)
        self.set(**{name: control.value for name, control in self.controls.items()})

    def figure(self, settings: Mapping) -> tuple[Figure, dict]:
        """Draw ``settings`` on a new figure; the figure and the numbers ``draw`` returned."""
        fig = self.backdrop_figure(settings)
        return fig, self.draw_on(fig, settings)

    def backdrop_controls(self) -> tuple[str, ...]:
        """The controls the backdrop depends on: its parameters after ``fig``."""
        if self.backdrop is None:
            return ()
        return tuple(inspect.signature(self.backdrop).parameters)[1:]

    def backdrop_figure(self, settings: Mapping) -> Figure:
        """A new figure with only the backdrop of ``settings`` drawn (empty without a backdrop).

        :meth:`draw_on` then draws a setting on it (any setting with the same values of
        :meth:`backdrop_controls`).
        """
        # matplotlib reads layout=None as "the rcParams' choice", which the course style makes tight
        fig = Figure(figsize=self.figsize, dpi=self.dpi, layout=self.layout or "none")
        if self.backdrop is not None:
            self.backdrop(fig, **{name: settings[name] for name in self.backdrop_controls()})
            for ax in fig.axes:
                ax.set_prop_cycle(None)  # draw's lines take the colours in order, as on a new figure
        return fig

    def draw_on(self, fig: Figure, settings: Mapping) -> dict:
        """Call ``draw`` on ``fig`` (which holds the backdrop) with ``settings``; its numbers."""
        values = self.draw(fig, **settings) or {}
        if not isinstance(values, Mapping):
            raise TypeError(f"draw must return a mapping name -> number (or None), got {type(values).__name__}")
        return {k: _number(v) for k, v in values.items()}

    def render(self, settings: Mapping) -> tuple[bytes, dict]:
        """Draw ``settings``; the figure as PNG bytes and the numbers ``draw`` returned."""
        fig, values = self.figure(settings)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        return buffer.getvalue(), values

    def combinations(self) -> list[dict]:
        """Every combination of the controls' ``values``, in row-major order (the last control fastest)."""
        names = list(self.controls)
        grid = itertools.product(*(control.values for control in self.controls.values()))
        return [dict(zip(names, values, strict=True)) for values in grid]

    def start(self) -> int:
        """Where the starting settings sit in :meth:`combinations`."""
        position = 0
        for control in self.controls.values():
            position = position * len(control.values) + index(control, control.value)
        return position

    def set(self, **settings) -> dict:
        """Show ``settings`` (names of controls; the others keep their values); return the numbers."""
        unknown = set(settings) - set(self.controls)
        if unknown:
            raise ValueError(f"no control named {sorted(unknown)}; the controls are {list(self.controls)}")
        self.settings = {**self.settings, **settings}
        self.image, self.values = self.render(self.settings)
        return self.values

    def readout(self, values: Mapping | None = None) -> str:
        """The numbers as one line of text, e.g. ``cost 0.1234 · slope 0.75``."""
        values = self.values if values is None else values
        return " · ".join(f"{name} {_format(value)}" for name, value in values.items())

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
        return self.widget()._repr_mimebundle_(include=include, exclude=exclude)


def _smallest_gap(values) -> float:
    return min(b - a for a, b in itertools.pairwise(values))


def _format(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    return f"{value:.4g}" if abs(value) >= 1e-3 or value == 0 else f"{value:.2e}"


def explorer(
    draw: Callable,
    *,
    backdrop: Callable | None = None,
    prepare: Callable | None = None,
    figsize=(6.0, 3.6),
    alt: str = "The explorer's figure",
    pad=None,
    pad_axes=0,
    layout: str | None = "tight",
    **controls,
):
    """An :class:`Explorer` of ``draw`` with ``controls`` (keyword → :class:`Slider` or :class:`Choice`).

    Display it as the last expression of a notebook cell. ``backdrop(fig)`` draws the parts
    that no control changes, once (``draw`` then finds the axes in ``fig.axes``); ``layout`` is matplotlib's layout
    engine for each figure; ``None`` leaves the margins to ``draw`` (``fig.subplots_adjust``),
    which is several times faster to draw for an explorer with hundreds of settings.
    ``prepare(settings)`` works out what many settings need at once (see the module's notes).
    """
    return Explorer(
        draw,
        controls,
        figsize=figsize,
        alt=alt,
        pad=pad,
        pad_axes=pad_axes,
        layout=layout,
        backdrop=backdrop,
        prepare=prepare,
    )
