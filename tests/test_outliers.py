"""lib.outliers: the fits, the picture and the explorer, headless, against numbers recomputed here."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from scipy.optimize import linprog, minimize

from lib import outliers
from lib.data import RUNNING_X, RUNNING_Y


def _moved(index, height):
    y = np.array(RUNNING_Y)
    y[index] = height
    return np.array(RUNNING_X), y


def _l1_cost(x, y):
    """Smallest mean absolute error of a line, by linear programming (scipy's HiGHS)."""
    n = len(x)
    design = np.stack([x, np.ones(n)], axis=1)
    result = linprog(
        np.concatenate([[0.0, 0.0], np.ones(n)]),
        A_ub=np.block([[design, -np.eye(n)], [-design, -np.eye(n)]]),
        b_ub=np.concatenate([y, -y]),
        bounds=[(None, None)] * 2 + [(0, None)] * n,
        method="highs",
    )
    return result.fun / n


def _huber_line(x, y, delta):
    def cost(p):
        r = np.abs(p[0] * x + p[1] - y)
        return np.where(r <= delta, r**2 / 2, delta * (r - delta / 2)).mean()

    return minimize(cost, np.polyfit(x, y, 1), method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-14}).x


def _check_against_independent_numbers(explorer, index, height, delta):
    """The explorer's numbers are the best lines of the moved data, found here another way."""
    x, y = _moved(index, height)
    expected = {"MSE": np.polyfit(x, y, 1), "Huber": _huber_line(x, y, delta)}
    for label, (m, b) in expected.items():
        assert explorer.values[f"{label} slope"] == pytest.approx(m, abs=1e-6)
        assert explorer.values[f"{label} intercept"] == pytest.approx(b, abs=1e-6)
    mae_line = explorer.values["MAE slope"] * x + explorer.values["MAE intercept"]
    assert np.mean(np.abs(mae_line - y)) == pytest.approx(_l1_cost(x, y), rel=1e-9)
    names = {f"{loss} {part}" for loss in ("MSE", "Huber", "MAE") for part in ("slope", "intercept")}
    assert set(explorer.values) == names


def test_outlier_explorer_builds_with_the_running_example_and_an_outlier():
    explorer = outliers.outlier_explorer()
    assert explorer.settings == {"index": 7, "height": 6.0, "delta": 1.0}
    assert explorer.image.startswith(b"\x89PNG")
    _check_against_independent_numbers(explorer, 7, 6.0, 1.0)
    # The outlier drags the best MSE line's slope from −0.47 to positive; the MAE line keeps the clean trend.
    assert explorer.values["MSE slope"] > 0
    assert explorer.values["MAE slope"] < -0.4


@pytest.mark.parametrize("height", [-7.0, -1.37, 2.5, 9.9, 13.5])
def test_moving_the_height_slider_updates_the_picture_and_the_numbers(height):
    explorer = outliers.outlier_explorer()
    live = explorer.widget()
    before_image, before_slope = live.children[3].value, explorer.values["MSE slope"]
    live.controls["height"].value = height
    _check_against_independent_numbers(explorer, 7, height, 1.0)
    assert bytes(live.children[3].value) != bytes(before_image)
    assert explorer.values["MSE slope"] != pytest.approx(before_slope)


def test_moving_the_other_sliders_updates_the_numbers():
    explorer = outliers.outlier_explorer()
    explorer.set(index=3)
    _check_against_independent_numbers(explorer, 3, 6.0, 1.0)
    explorer.set(delta=0.3)
    _check_against_independent_numbers(explorer, 3, 6.0, 0.3)
    explorer.set(height=11.0)
    _check_against_independent_numbers(explorer, 3, 11.0, 0.3)


def test_mse_grows_faster_than_mae_as_the_outlier_moves_away():
    x = np.array(RUNNING_X)
    clean = outliers.outlier_fits(x, np.array(RUNNING_Y))
    far = outliers.outlier_fits(*_moved(7, 12.0))
    # squared, the outlier's error swamps the rest: a ~700-fold rise against ~16-fold
    assert far["mse"]["mse"] / clean["mse"]["mse"] > 20 * far["mae"]["mae"] / clean["mae"]["mae"]


def test_outlier_plot_draws_three_lines_and_moves_them_on_update():
    fig, ax = plt.subplots()
    x, y = _moved(2, 5.0)
    plot = outliers.OutlierPlot(ax, torch.tensor(x), torch.tensor(y), index=2, ylim=(-3, 8))
    assert len(ax.get_lines()) == 3
    assert ax.get_ylim() == (-3, 8)
    assert ax.get_title()
    assert ax.get_xlabel()
    assert ax.get_ylabel()
    np.testing.assert_allclose([plot.fits["mse"]["m"], plot.fits["mse"]["b"]], np.polyfit(x, y, 1), atol=1e-9)
    mse_line = plot.lines["mse"]
    np.testing.assert_allclose(mse_line.get_ydata(), np.polyval(np.polyfit(x, y, 1), mse_line.get_xdata()), atol=1e-9)
    np.testing.assert_allclose(plot.points.get_offsets(), np.column_stack([x, y]))
    x, y = _moved(5, -4.0)
    fits = plot.update(y, index=5, delta=0.5)
    np.testing.assert_allclose(mse_line.get_ydata(), np.polyval(np.polyfit(x, y, 1), mse_line.get_xdata()), atol=1e-9)
    np.testing.assert_allclose(plot.ring.get_offsets(), [[5.0, -4.0]])
    np.testing.assert_allclose([fits["huber"]["m"], fits["huber"]["b"]], _huber_line(x, y, 0.5), atol=1e-6)
    assert ax.get_ylim() == (-3, 8)
    plt.close(fig)


def test_outlier_plot_without_ylim_keeps_every_point_in_view():
    fig, ax = plt.subplots()
    x, y = _moved(7, 40.0)
    outliers.OutlierPlot(ax, x, y)
    low, high = ax.get_ylim()
    assert low < y.min()
    assert high > 40.0
    plt.close(fig)


def test_explorers_reject_bad_input():
    with pytest.raises(ValueError, match="index"):
        outliers.outlier_explorer(index=8)
    with pytest.raises(TypeError, match="index"):
        outliers.outlier_explorer(index=1.5)
    with pytest.raises(ValueError, match="height"):
        outliers.outlier_explorer(height=1e6)
    with pytest.raises(ValueError, match="delta"):
        outliers.outlier_explorer(delta=0.0)
    with pytest.raises(ValueError, match="same length"):
        outliers.outlier_explorer([0.0, 1.0, 2.0], [0.0, 1.0])
    with pytest.raises(ValueError, match="y must contain only finite"):
        outliers.outlier_fits([0.0, 1.0, 2.0], [0.0, float("nan"), 1.0])
    fig, ax = plt.subplots()
    with pytest.raises(ValueError, match="index"):
        outliers.OutlierPlot(ax, [0.0, 1.0, 2.0], [0.0, 1.0, 2.0], index=3)
    plot = outliers.OutlierPlot(ax, [0.0, 1.0, 2.0], [0.0, 1.0, 2.0], index=2)
    with pytest.raises(ValueError, match="same length"):
        plot.update([0.0, 1.0])
    with pytest.raises(ValueError, match="delta"):
        plot.update([0.0, 1.0, 2.0], delta=-1.0)
    plt.close(fig)


def test_the_explorers_fixed_margins_hold_every_label():
    """The explorer draws without a layout engine: at the extremes of its sliders, with the
    outlier at each point in turn, everything drawn stays inside the picture."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from lib import plots

    with matplotlib.rc_context(plots.STYLE):
        explorer = outliers.outlier_explorer()
        heights = explorer.controls["height"].values
        for index in explorer.controls["index"].values:
            for height in (heights[0], heights[-1]):
                fig, _ = explorer.figure({"index": index, "height": height, "delta": 5.0})
                box = fig.get_tightbbox(FigureCanvasAgg(fig).get_renderer())  # inches
                inside = (box.x0 >= 0, box.y0 >= 0, box.x1 <= fig.get_figwidth(), box.y1 <= fig.get_figheight())
                assert all(inside), (index, height, box)


def test_the_explorer_reads_on_a_phone():
    from lib import plots

    with matplotlib.rc_context(plots.STYLE):
        explorer = outliers.outlier_explorer()
        fig, _ = explorer.figure({name: control.value for name, control in explorer.controls.items()})
        assert plots.phone_text_size(fig) >= plots.SMALLEST_READABLE
        assert plots.smallest_text(fig)[0] >= 12  # the legend at the style's size
        plt.close(fig)
