"""lib.plots: the course style, animations as HTML, contours and paths."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.animation import FuncAnimation

from lib import plots


def _animation(frames, size=(3, 2), dpi=50):
    fig, ax = plt.subplots(figsize=size, dpi=dpi)
    (line,) = ax.plot([], [])
    ax.set_xlim(0, 1)
    ax.set_ylim(-1, 1)

    def draw(i):
        t = np.linspace(0, 1, 50)
        line.set_data(t, np.sin(2 * np.pi * (t + i / frames)))
        return (line,)

    return fig, FuncAnimation(fig, draw, frames=frames)


def test_animation_html_embeds_every_frame_and_closes_the_figure():
    fig, anim = _animation(frames=5)
    html = plots.animation_html(anim).data
    assert html.count("data:image/png;base64") == 5
    assert "animation" in html.lower()
    assert not plt.fignum_exists(fig.number)


def test_animation_frames_use_the_figure_dpi():
    import base64
    import io

    from PIL import Image

    _, anim = _animation(frames=2, size=(3, 2), dpi=40)
    html = plots.animation_html(anim).data
    frame = html.split("data:image/png;base64,")[1].split('"')[0].replace("\\n", "")
    width, height = Image.open(io.BytesIO(base64.b64decode(frame))).size
    assert (width, height) == (120, 80)


def test_animation_html_enforces_the_size_budget():
    _, anim = _animation(frames=10, size=(4, 3), dpi=60)
    with pytest.raises(ValueError, match="max_bytes"):
        plots.animation_html(anim, max_bytes=20_000)


def test_animation_html_rejects_bad_input():
    with pytest.raises(TypeError, match="anim"):
        plots.animation_html("not an animation")
    _, anim = _animation(frames=2)
    with pytest.raises(ValueError, match="default_mode"):
        plots.animation_html(anim, default_mode="bounce")
    with pytest.raises(ValueError, match="max_bytes"):
        plots.animation_html(anim, max_bytes=0)
    assert plots.animation_html(anim).data.count("data:image/png;base64") == 2


def bowl(p):
    return p[..., 0] ** 2 + 3 * p[..., 1] ** 2


def test_contour_draws_level_sets_and_labels():
    ax = plots.contour(bowl, (-2, 2), (-1, 1), levels=12, resolution=50)
    assert ax.collections, "no contour drawn"
    assert ax.get_xlim() == (-2, 2)
    assert ax.get_xlabel() == "$x_1$"
    plt.close("all")


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "name"),
    [
        (("f", (-1, 1), (-1, 1)), {}, TypeError, "f"),
        ((bowl, (1, -1), (-1, 1)), {}, ValueError, "xlim"),
        ((bowl, (-1, 1), (0,)), {}, TypeError, "ylim"),
        ((bowl, (-1, 1), (-1, float("inf"))), {}, ValueError, "ylim"),
        ((bowl, (-1, 1), (-1, 1)), {"levels": 1}, ValueError, "levels"),
        ((lambda p: p, (-1, 1), (-1, 1)), {}, ValueError, "shape"),
        ((lambda p: torch.log(p[..., 0]), (-1, 1), (-1, 1)), {}, ValueError, "non-finite"),
    ],
)
def test_contour_rejects_bad_input(args, kwargs, error, name):
    with pytest.raises(error, match=name):
        plots.contour(*args, resolution=20, **kwargs)
    plt.close("all")


def test_path_marks_start_and_end():
    fig, ax = plt.subplots()
    pts = torch.tensor([[0.0, 0.0], [1.0, 0.5], [2.0, 0.2]])
    line = plots.path(ax, pts, label="GD")
    assert np.allclose(line.get_xdata(), [0, 1, 2])
    assert len(ax.lines) == 3  # the path, the start square, the end star
    with pytest.raises(ValueError, match="points"):
        plots.path(ax, torch.zeros(3, 3))
    with pytest.raises(ValueError, match="points"):
        plots.path(ax, [[0.0, float("nan")]])
    plt.close(fig)


def _figure_with_small_text(size: float):
    fig, ax = plt.subplots(figsize=(4, 3), dpi=80)
    ax.plot([0, 1], [0, 1], label="line")
    ax.legend(fontsize=10)
    ax.annotate("note", (0.5, 0.5), fontsize=size)
    return fig, ax


def test_the_smallest_text_is_the_smallest_visible_one():
    with plt.rc_context(plots.STYLE):
        fig, ax = _figure_with_small_text(7)
        assert plots.smallest_text(fig) == (7.0, "note")
        assert plots.text_size_record(fig, 80) == {
            "pt": 7.0,
            "px": pytest.approx(7 * 80 / 72, abs=1e-3),
            "text": "note",
        }
        ax.texts[0].set_visible(False)  # hidden: the legend's 10 pt is now the smallest
        assert plots.smallest_text(fig) == (10.0, "line")
        ax.get_legend().remove()
        ax.tick_params(labelsize=6)
        ax.axis("off")  # no ticks drawn: their labels do not count
        ax.set_title("title")
        assert plots.smallest_text(fig) == (13.0, "title")
        plt.close(fig)
        fig = plt.figure()
        assert plots.smallest_text(fig)[0] == float("inf")
        assert plots.text_size_metadata(fig, 80) == {}
        plt.close(fig)


def test_the_course_style_reads_on_a_phone_at_its_default_size():
    with plt.rc_context(plots.STYLE):
        fig, ax = plt.subplots()
        ax.plot([0, 1], [0, 1])
        ax.set(xlabel="x", ylabel="y", title="a line")
        size = plots.phone_text_size(fig)
        assert size == pytest.approx(12 * 80 / 72 * 358 / 512)
        assert size >= plots.SMALLEST_READABLE
        ax.legend(["line"], fontsize=8)  # 8 pt on a 6.4 in figure: 6.2 px
        assert plots.phone_text_size(fig) == pytest.approx(8 * 80 / 72 * 358 / 512)
        assert plots.phone_text_size(fig, width=300) == pytest.approx(8 * 80 / 72)  # narrower than the column
        plt.close(fig)


def test_animation_frames_record_their_smallest_text():
    import base64
    import io
    import json
    import re

    from PIL import Image

    fig, anim = _animation(frames=3)
    fig.axes[0].set_title("small", fontsize=7)
    html = plots.animation_html(anim).data
    frames = re.findall(r'data:image/png;base64,((?:[^"\\]|\\\n)*)"', html)
    assert len(frames) == 3
    for frame in frames:
        with Image.open(io.BytesIO(base64.b64decode(frame.replace("\\\n", "")))) as image:
            assert json.loads(image.text[plots.TEXT_SIZE_KEY]) == {
                "pt": 7.0,
                "px": round(7 * 50 / 72, 3),
                "text": "small",
            }
