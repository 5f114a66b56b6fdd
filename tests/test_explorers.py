"""lib.explorers: one definition, live in a kernel and precomputed for the site; and the build's rewrite."""

from __future__ import annotations

import html
import io
import json
import re

import ipywidgets as widgets
import matplotlib
import numpy as np
import pytest
from PIL import Image

from lib import explorers, plots
from lib.explorers import Choice, Slider, explorer, stops


def line(fig, slope, intercept=1.0, kind="line"):
    """Draws y = slope x + intercept on [0, 1]; its numbers are closed forms."""
    ax = fig.subplots()
    xs = np.linspace(0.0, 1.0, 5)
    ax.plot(xs, slope * xs + intercept, "o-" if kind == "line" else "s:")
    ax.set(xlim=(-1.0, 2.0), ylim=(-4.0, 4.0))
    return {"value at 1": slope + intercept, "mean": slope / 2 + intercept}


def build(**extra):
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


def test_controls_check_their_settings():
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
        build(pad=("slope", "kind"))
    with pytest.raises(ValueError, match="no control named"):
        build().set(gradient=1.0)
    many = Slider("a", tuple(float(k) for k in range(21)), 0.0)
    with pytest.raises(ValueError, match="more than 400"):
        explorer(lambda fig, a, b: None, a=many, b=many)


def test_the_numbers_are_what_draw_returned_for_the_settings_on_show():
    shown = build()
    assert shown.settings == {"slope": 0.5, "intercept": 1.0}
    assert shown.values == pytest.approx({"value at 1": 1.5, "mean": 1.25})
    assert shown.readout() == "value at 1 1.5 · mean 1.25"
    assert shown.set(slope=-1.0) == pytest.approx({"value at 1": 0.0, "mean": 0.5})
    assert shown.settings == {"slope": -1.0, "intercept": 1.0}
    assert Image.open(io.BytesIO(shown.image)).size == (240, 160)  # 3 x 2 inches at 80 dpi


def test_in_a_kernel_each_control_is_a_live_widget_that_redraws():
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


def site_data(markup: str) -> dict:
    return json.loads(html.unescape(re.search(r'data-explorer="([^"]*)"', markup)[1]))


def test_on_the_site_every_setting_is_drawn_in_advance(monkeypatch):
    monkeypatch.setenv(explorers.SITE, "1")
    shown = explorer(
        line,
        figsize=(3, 2),
        slope=Slider("slope", stops(-1.0, 1.0, 0.5), 0.5),
        kind=Choice("kind", ("line", "dots"), "dots"),
        pad=None,
    )
    bundle = shown._repr_mimebundle_()
    assert set(bundle) == {"text/html", "text/plain"}  # no widget: nothing for a widget manager to load
    markup = bundle["text/html"]
    data = site_data(markup)
    assert [c["name"] for c in data["controls"]] == ["slope", "kind"]
    assert data["controls"][0]["texts"] == ["-1.00", "-0.50", "0.00", "0.50", "1.00"]
    assert len(data["frames"]) == len(data["values"]) == 10
    images = set()
    for k, slope in enumerate(s for s in (-1.0, -0.5, 0.0, 0.5, 1.0) for _ in ("line", "dots")):
        assert data["values"][k] == pytest.approx({"value at 1": slope + 1.0, "mean": slope / 2 + 1.0}), k
        frame = data["frames"][k]
        assert frame.startswith("data:image/png;base64,")
        images.add(frame)
    assert len(images) == 10  # every setting draws a different figure
    start = int(re.search(r'data-frame="(\d+)"', markup)[1])
    assert start == 3 * 2 + 1  # slope 0.5, kind "dots"
    assert json.loads(html.unescape(re.search(r'data-values="([^"]*)"', markup)[1])) == data["values"][start]
    assert f'src="{data["frames"][start]}"' in markup
    assert len(re.findall(r'<input id="explorer-\w+-0" type="range" min="0" max="4" step="1" value="3"', markup)) == 1
    assert '<option value="1" selected>dots</option>' in markup
    for ident in re.findall(r'id="([^"]+)"', markup):  # each control has its label
        assert f'<label for="{ident}">' in markup


def test_on_the_site_a_setting_that_fails_fails_at_once(monkeypatch):
    def fragile(fig, a):
        if a > 0.5:
            raise FloatingPointError("the run blew up")
        fig.subplots().plot([0, 1], [0, a])

    explorer(fragile, a=Slider("a", (0.0, 1.0), 0.0))  # in a kernel only the setting on show is drawn
    monkeypatch.setenv(explorers.SITE, "1")
    with pytest.raises(FloatingPointError, match="blew up"):
        explorer(fragile, a=Slider("a", (0.0, 1.0), 0.0))


def test_a_pad_maps_its_axes_to_the_picture(monkeypatch):
    monkeypatch.setenv(explorers.SITE, "1")
    shown = build(pad=("slope", "intercept"))
    box = site_data(shown.site)["pad"]["box"]
    assert 0 < box["left"] < box["right"] < 1
    assert 0 < box["top"] < box["bottom"] < 1
    assert box["xlim"] == [-1.0, 2.0]
    assert box["ylim"] == [-4.0, 4.0]
    # the axes' edges, found independently in the picture: the frame of the axes is drawn in black
    image = np.asarray(Image.open(io.BytesIO(shown.image)).convert("L"))
    height, width = image.shape
    row = round((box["top"] + box["bottom"]) / 2 * height)
    dark = np.flatnonzero(image[row] < 80)
    for edge in (box["left"], box["right"]):
        assert np.abs(dark - edge * width).min() <= 1.5, (edge * width, dark)
    column = round((box["left"] + box["right"]) / 2 * width)
    dark = np.flatnonzero(image[:, column] < 80)
    for edge in (box["top"], box["bottom"]):
        assert np.abs(dark - edge * height).min() <= 1.5, (edge * height, dark)


def test_without_a_layout_engine_the_drawing_sets_the_margins(monkeypatch):
    def margins(fig, slope, intercept=1.0):
        fig.subplots_adjust(left=0.25, right=0.9, top=0.8, bottom=0.3)
        return line(fig, slope, intercept)

    monkeypatch.setenv(explorers.SITE, "1")
    common = {"figsize": (3, 2), "pad": ("slope", "intercept")}
    controls = {"slope": Slider("slope", (0.0, 1.0), 0.0), "intercept": Slider("intercept", (1.0, 2.0), 1.0)}
    with matplotlib.rc_context(plots.STYLE):  # the course's style asks for a tight layout by default
        fixed = site_data(explorer(margins, layout=None, **common, **controls).site)["pad"]["box"]
    assert [fixed[side] for side in ("left", "right", "top", "bottom")] == pytest.approx([0.25, 0.9, 0.2, 0.7])
    tight = site_data(explorer(margins, **common, **controls).site)["pad"]["box"]
    assert tight["left"] != pytest.approx(0.25)  # the default, tight layout, moves them


def test_the_build_saves_the_figures_as_files_and_the_page_loads_one(monkeypatch, tmp_path):
    import explorer_frames

    monkeypatch.setenv(explorers.SITE, "1")
    markup = build().site
    rewritten = explorer_frames.rewrite(markup, tmp_path, "../_images/explorers")
    data = site_data(rewritten)
    assert "data:image" not in rewritten
    assert len(data["frames"]) == 15
    assert all(f.startswith("../_images/explorers/") for f in data["frames"])
    for url in data["frames"]:
        with Image.open(tmp_path / url.rsplit("/", 1)[1]) as image:
            assert image.format == "WEBP"
            assert image.size == (240, 160)
    start = int(re.search(r'data-frame="(\d+)"', rewritten)[1])
    assert f'<img src="{data["frames"][start]}" loading="lazy" decoding="async"' in rewritten
    assert explorer_frames.rewrite("<p>no explorer</p>", tmp_path, "x") is None


def test_the_build_deletes_the_figures_no_page_names_any_more(tmp_path):
    from lazy_animations import prune

    folder = tmp_path / "_images" / "explorers"
    folder.mkdir(parents=True)
    for name in ("kept.webp", "also-kept.webp", "stale.webp"):
        (folder / name).write_bytes(b"RIFF")
    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters" / "a.html").write_text('<div data-explorer="[&quot;../_images/explorers/kept.webp&quot;]">')
    (tmp_path / "b.html").write_text('<img src="_images/explorers/also-kept.webp">')
    assert prune(tmp_path, "_images/explorers") == ["stale.webp"]
    assert sorted(f.name for f in folder.iterdir()) == ["also-kept.webp", "kept.webp"]
    assert prune(tmp_path, "_images/missing") == []
