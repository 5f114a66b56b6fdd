"""lib.explorers: an explorer's controls, its drawing and its live ipywidgets box."""

from __future__ import annotations

import html
import io

import ipywidgets as widgets
import pytest
from PIL import Image

from lib.explorers import Choice, Slider, explorer, stops


def build(line, **extra):
    return explorer(
        line,
        figsize=(3, 2),
        slope=Slider("slope", stops(-1.0, 1.0, 0.5), 0.5, step=0.1),
        intercept=Slider("intercept", (0.1, 1.0, 10.0), 1.0, log=True),
        **extra,
    )


def test_stops_include_both_ends_and_reject_a_ragged_range():
    assert stops(0, 1, 0.25) == (0.0, 0.25, 0.5, 0.75, 1.0)
    assert stops(-0.9, 3.6, 0.5)[2] == 0.1  # rounded, not 0.09999999999999998
    with pytest.raises(ValueError, match="whole number of steps"):
        stops(0, 1, 0.3)
    with pytest.raises(ValueError, match="step"):
        stops(0, 1, 0)
    with pytest.raises(ValueError, match="high"):
        stops(1, 0, 0.1)


def test_controls_check_their_settings(line):
    with pytest.raises(ValueError, match="increasing"):
        Slider("a", (1.0, 0.5), 1.0)
    with pytest.raises(ValueError, match="not one of the site's values"):
        Slider("a", (0.0, 1.0), 0.5)
    with pytest.raises(ValueError, match="positive"):
        Slider("a", (0.0, 1.0), 0.0, log=True)
    with pytest.raises(TypeError, match="a values"):
        Slider("a", ("x", "y"), "x")
    with pytest.raises(ValueError, match="different strings"):
        Choice("c", ("x", "x"), "x")
    with pytest.raises(ValueError, match="not one of"):
        Choice("c", ("x", "y"), "z")
    with pytest.raises(TypeError, match="draw"):
        explorer(3, a=Slider("a", (0.0, 1.0), 0.0))
    with pytest.raises(TypeError, match="controls"):
        explorer(line)
    with pytest.raises(TypeError, match=r"controls\['slope'\]"):
        explorer(line, slope=(0.0, 1.0))
    with pytest.raises(ValueError, match="pad"):
        build(line, pad=("slope", "kind"))
    with pytest.raises(ValueError, match="no control named"):
        build(line).set(gradient=1.0)


def test_the_numbers_are_what_draw_returned_for_the_settings_on_show(line):
    shown = build(line)
    assert shown.settings == {"slope": 0.5, "intercept": 1.0}
    assert shown.values == pytest.approx({"value at 1": 1.5, "mean": 1.25})
    assert shown.readout() == "value at 1 1.5 · mean 1.25"
    assert shown.set(slope=-1.0) == pytest.approx({"value at 1": 0.0, "mean": 0.5})
    assert shown.settings == {"slope": -1.0, "intercept": 1.0}
    assert Image.open(io.BytesIO(shown.image)).size == (240, 160)  # 3 x 2 inches at 80 dpi


def test_in_a_kernel_each_control_is_a_live_widget_that_redraws(line):
    shown = explorer(
        line,
        figsize=(3, 2),
        slope=Slider("slope", stops(-1.0, 1.0, 0.5), 0.5, step=0.1),
        intercept=Slider("intercept", (0.1, 1.0, 10.0), 1.0, log=True),
        kind=Choice("kind", ("line", "dots"), "line"),
    )
    live = shown.widget()
    slope, intercept, kind = (live.controls[n] for n in ("slope", "intercept", "kind"))
    assert isinstance(slope, widgets.FloatSlider)
    assert (slope.min, slope.max, slope.step) == (-1.0, 1.0, 0.1)
    assert isinstance(intercept, widgets.FloatLogSlider)
    assert (intercept.min, intercept.max) == (-1.0, 1.0)
    assert isinstance(kind, widgets.Dropdown)
    assert kind.options == ("line", "dots")
    picture, numbers = live.children[-2:]
    for move, want in [
        (lambda: setattr(slope, "value", 0.3), 1.3),  # a value between the site's stops
        (lambda: setattr(intercept, "value", 3.0), 3.3),
        (lambda: setattr(kind, "value", "dots"), 3.3),
    ]:
        before = bytes(picture.value)
        move()
        assert bytes(picture.value) != before
        assert shown.values["value at 1"] == pytest.approx(want)
        assert f"value at 1 {want:.4g}" in html.unescape(numbers.value)
    bundle = shown._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "text/html" not in bundle


def test_the_combinations_run_the_last_control_fastest_from_the_starting_one(line):
    shown = explorer(
        line,
        figsize=(3, 2),
        slope=Slider("slope", stops(-1.0, 1.0, 0.5), 0.5),
        kind=Choice("kind", ("line", "dots"), "dots"),
    )
    combinations = shown.combinations()
    assert len(combinations) == 10
    assert combinations[:3] == [
        {"slope": -1.0, "kind": "line"},
        {"slope": -1.0, "kind": "dots"},
        {"slope": -0.5, "kind": "line"},
    ]
    assert combinations[shown.start()] == {"slope": 0.5, "kind": "dots"}
    fig, values = shown.figure(combinations[0])
    assert values == pytest.approx({"value at 1": 0.0, "mean": 0.5})
    assert len(fig.axes) == 1


def test_a_backdrop_names_only_controls(line):
    with pytest.raises(ValueError, match=r"backdrop's parameters after fig must name controls, got \['speed'\]"):
        explorer(line, backdrop=lambda fig, speed: None, slope=Slider("slope", (0.0, 1.0), 0.0))
    with pytest.raises(TypeError, match="backdrop"):
        explorer(line, backdrop="axes", slope=Slider("slope", (0.0, 1.0), 0.0))


def test_a_backdrop_is_drawn_before_each_setting_on_a_new_figure(line):
    calls = []

    def backdrop(fig, kind):
        calls.append(kind)
        fig.subplots().set(xlim=(-1, 2), ylim=(-2, 3))

    def draw(fig, slope, kind):
        (ax,) = fig.axes  # the backdrop's axes, no others
        ax.plot([0, 1], [0, slope], "o" if kind == "dots" else "-")
        return {"slope": slope}

    shown = explorer(
        draw, backdrop=backdrop, slope=Slider("slope", (0.0, 1.0), 0.0), kind=Choice("kind", ("line", "dots"), "line")
    )
    assert calls == ["line"]
    assert shown.set(kind="dots", slope=1.0) == {"slope": 1.0}
    assert calls == ["line", "dots"]
    assert shown.image.startswith(b"\x89PNG")
