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
