"""lib.race_pictures: the race's animation, still figures and explorer, against torch.optim."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.animation import AbstractMovieWriter, FuncAnimation

from lib import functions
from lib.plots import animation_html
from lib.race import contender, race
from lib.race_pictures import animate, explorer, plot, plot_values

pytestmark = pytest.mark.filterwarnings("ignore:Animation was deleted without rendering")


class Recorder(AbstractMovieWriter):
    """A movie writer (matplotlib's public interface for saving) that shows each frame to ``look``."""

    def __init__(self, look):
        super().__init__(fps=5)
        self.look = look

    def setup(self, fig, outfile, dpi=None):
        self.fig, self.outfile, self.dpi = fig, outfile, dpi

    def grab_frame(self, **savefig_kwargs):
        self.look(self.fig)

    def finish(self):
        pass


def test_the_saddle_uses_a_symlog_scale():
    result = race(functions.saddle(), [contender("Adam", lr=0.1)], x0=[1.0, 1e-3], steps=50)
    ax = plot_values(result)
    assert ax.get_yscale() == "symlog"
    assert ax.get_ylabel() == "$f(x_k)$"
    plt.close(ax.figure)
    ax = plot_values(race(functions.ravine(), [contender("Adam", lr=0.1)], x0=[1.0, 1.0], steps=20))
    assert ax.get_yscale() == "log"
    assert ax.get_title()
    assert ax.get_xlabel() == "step $k$"
    plt.close(ax.figure)


@pytest.fixture(scope="module")
def four_races():
    runners = [contender("SGD", "GD", lr=0.01), contender("Adam", "Adam", lr=0.1), contender("RMSprop", lr=0.01)]
    courses = [
        (functions.quadratic(condition_number=50.0), [-5.0, 2.0]),
        (functions.rosenbrock(), [-1.5, 2.5]),
        (functions.saddle(), [1.0, 1e-3]),
        (functions.ravine(), [-3.5, 1.5]),
    ]
    return [race(f, runners, x0=x0, steps=150) for f, x0 in courses]


def test_animation_frames_follow_the_paths(four_races, tmp_path):
    anim = animate(four_races, frames=12)
    assert isinstance(anim, FuncAnimation)
    schedule, drawn = [], {}

    def look(fig):
        overlay = fig.axes[-1]
        lines = [line for line in overlay.get_lines() if line.get_marker() in ("None", None, "")]
        heads = [line for line in overlay.get_lines() if line.get_marker() == "o"]
        assert len(lines) == len(heads) == 4 * 3
        (counter,) = overlay.texts
        schedule.append(int(counter.get_text().split()[-1]))
        # The path drawn so far has one vertex per step taken (fewer only if it left the window).
        assert all(len(line.get_xdata()) <= schedule[-1] + 1 for line in lines)
        drawn.update(fig=fig, lines=lines, heads=heads)

    anim.save(tmp_path / "never-written", writer=Recorder(look))
    lines, heads, fig = drawn["lines"], drawn["heads"], drawn["fig"]
    assert schedule[0] == 0
    assert schedule[-1] == 150
    assert schedule == sorted(set(schedule))
    assert len(schedule) <= 12
    # GD on the quadratic never leaves the window: at the last frame all 151 points are drawn, and
    # the drawn head sits where the still figure's axes put the last point.
    gd = lines[0]
    assert len(gd.get_xdata()) == 151
    assert heads[0].get_xdata()[0] == gd.get_xdata()[-1]
    assert heads[0].get_ydata()[0] == gd.get_ydata()[-1]
    plt.close(fig)


def test_animation_fits_the_page_budget(four_races):
    html = animation_html(animate(four_races))
    assert 100_000 < len(html.data) < 1_200_000


def test_still_plot_has_one_panel_per_race(four_races):
    fig = plot(four_races)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 4
    assert [ax.get_title() for ax in visible] == [r.surface.name for r in four_races]
    for ax in visible:
        assert ax.get_xlabel()
        assert ax.get_ylabel()
    plt.close(fig)
    fig = plot(four_races[:3], ncols=2)
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 3
    plt.close(fig)


def _final_with_torch(surface, x0, optimizer, steps, **options):
    """``f`` after ``steps`` steps of the ``torch.optim`` optimizer, written out here."""
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    opt = optimizer([x], **options)
    for _ in range(steps):
        opt.zero_grad()
        surface(x).backward()
        opt.step()
    return float(surface(x.detach()))


def test_prepared_settings_show_what_each_setting_drawn_alone_shows():
    """The site prepares all its settings' races at once (side by side); each setting must show
    the numbers a kernel shows when it draws that setting alone."""
    courses = {
        "ravine": (functions.ravine(), [-3.5, 1.5]),
        "saddle": (functions.saddle(), [1.0, 0.01]),
    }
    prepared = explorer(courses, optimizers=("sgd", "adam"), steps=40)
    settings = prepared.combinations()
    prepared.prepare(settings)
    drawn_alone = explorer(courses, optimizers=("sgd", "adam"), steps=40)
    for setting in settings[:: max(1, len(settings) // 24)]:
        _, numbers = prepared.figure(setting)
        assert numbers == pytest.approx(drawn_alone.set(**setting), rel=1e-12, abs=1e-300), setting


def test_explorer_redraws_and_shows_what_torch_optim_computes():
    courses = {
        "quadratic": (functions.quadratic(condition_number=10.0), [-3.0, 1.0]),
        "saddle": (functions.saddle(), [1.0, 0.01]),
    }
    shown = explorer(courses, optimizers=("sgd", "adam"), steps=30)
    live = shown.widget()
    assert set(live.controls) == {"surface", "lineup", "lr", "beta1", "beta2"}
    assert live.controls["lineup"].options[0] == "SGD, Adam"
    before = live.children[-2].value
    for surface, (f, x0) in courses.items():
        live.controls["surface"].value = surface
        live.controls["lineup"].value = "SGD, RMSprop, Adam"
        live.controls["lr"].value = 0.1
        live.controls["beta1"].value = 0.5
        expected = {
            "SGD": _final_with_torch(f, x0, torch.optim.SGD, 30, lr=0.1, momentum=0.5),
            "RMSprop": _final_with_torch(f, x0, torch.optim.RMSprop, 30, lr=0.1, alpha=0.999),
            "Adam": _final_with_torch(f, x0, torch.optim.Adam, 30, lr=0.1, betas=(0.5, 0.999)),
        }
        assert shown.values == pytest.approx({f"{k} final f": v for k, v in expected.items()}, rel=1e-9, abs=1e-12)
        assert bytes(live.children[-2].value) != bytes(before)
        before = live.children[-2].value
    with pytest.raises(ValueError, match="optimizers"):
        explorer(courses, optimizers=("lbfgs",))


@pytest.mark.parametrize(
    ("call", "error", "name"),
    [
        (lambda: explorer({}), TypeError, "courses"),
        (lambda: explorer({"s": functions.saddle()}), TypeError, "courses"),
        (lambda: plot_values("result"), TypeError, "result"),
    ],
)
def test_bad_arguments_are_named(call, error, name):
    with pytest.raises(error, match=name):
        call()


def test_too_many_frames_are_refused():
    result = race(functions.saddle(), [contender("adam", lr=0.1)], x0=[1.0, 0.1], steps=3)
    with pytest.raises(ValueError, match="frames"):
        animate(result, frames=41)


def test_a_run_that_blows_up_keeps_the_progress_axis_readable():
    """SGD at lr 0.3 on chapter 10's quadratic diverges to f - f* near 1e307: the axis must not overflow."""
    import warnings

    courses = {
        "quadratic": (functions.quadratic(condition_number=50), [-5.0, 2.0]),
        "saddle": (functions.saddle(), [1.0, 1e-3]),
    }
    shown = explorer(courses, optimizers=("sgd", "rmsprop", "adam"), steps=150)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow in matplotlib's scale would be a RuntimeWarning
        fig, values = shown.figure(
            {"surface": "quadratic", "lineup": "SGD, RMSprop, Adam", "lr": 0.3, "beta1": 0.9, "beta2": 0.999}
        )
    assert values["SGD final f"] > 1e100  # the run did blow up
    low, high = fig.axes[1].get_ylim()
    assert high == pytest.approx(1e12)
    assert low < 1e-3  # the runs that converge stay on the axis, far below its top


def test_every_race_picture_reads_on_a_phone(four_races):
    """In the course style each picture's smallest text shows at 9 CSS px or more on a phone:
    the still plot, the progress plot, every frame of the animation (whose still part is a
    picture drawn into it: its frames record that picture's texts too) and the explorer."""
    import base64
    import io
    import json
    import re

    from PIL import Image

    from lib import plots

    with plt.rc_context(plots.STYLE):
        fig = plot(four_races)
        assert plots.phone_text_size(fig) >= plots.SMALLEST_READABLE
        plt.close(fig)
        ax = plot_values(four_races[0])
        assert plots.phone_text_size(ax.figure) >= plots.SMALLEST_READABLE
        plt.close(ax.figure)
        html = animation_html(animate(four_races, frames=4)).data
        for frame in re.findall(r'data:image/png;base64,((?:[^"\\]|\\\n)*)"', html):
            with Image.open(io.BytesIO(base64.b64decode(frame.replace("\\\n", "")))) as image:
                record = json.loads(image.text[plots.TEXT_SIZE_KEY])
                width = image.size[0]
            assert record["px"] * min(plots.PHONE_COLUMN, width) / width >= plots.SMALLEST_READABLE, record
        told = []  # what the animation tells a writer of the still picture drawn into its frames

        class Told(Recorder):
            def grab_frame(self, **savefig_kwargs):
                told.append(savefig_kwargs)

        animate(four_races, frames=3).save("never-written", writer=Told(None))
        still = json.loads(told[0]["metadata"][plots.TEXT_SIZE_KEY])
        assert still["pt"] == 12.0
        assert not still["text"].startswith("step")  # a label of the still picture, not the step counter
        courses = {
            "quadratic": (functions.quadratic(condition_number=10.0), [-3.0, 1.0]),
            "saddle": (functions.saddle(), [1.0, 0.01]),
        }
        shown = explorer(courses, optimizers=("sgd", "rmsprop", "adam"), steps=30)
        start = {name: control.value for name, control in shown.controls.items()}
        for surface in courses:
            for lineup in shown.controls["lineup"].values:
                fig, _ = shown.figure({**start, "surface": surface, "lineup": lineup})
                assert plots.phone_text_size(fig) >= plots.SMALLEST_READABLE, (surface, lineup)
                plt.close(fig)
