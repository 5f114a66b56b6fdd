"""lib.race: the optimizer race, checked against hand-written loops and closed forms."""

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.animation import FuncAnimation

from lib import functions
from lib.plots import animation_html
from lib.race import Contender, RaceResult, contender, hyper_parameters, leaderboard, race, tune
from lib.race_pictures import animate, explorer, plot, plot_values

pytestmark = pytest.mark.filterwarnings("ignore:Animation was deleted without rendering")


def gd_on_diagonal_quadratic(eigenvalues, x0, lr, steps):
    """Closed form of gradient descent on ½ Σ λ_i x_i²: x_k,i = (1 − lr λ_i)^k x0_i; returns (points, values)."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    k = np.arange(steps + 1)[:, None]
    points = (1 - lr * lam) ** k * np.asarray(x0, dtype=np.float64)
    values = 0.5 * (lam * points**2).sum(axis=1)
    return points, values


def torch_loop(f, x0, make_optimizer, steps):
    """A hand-written loop with a torch.optim optimizer; returns the points."""
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    opt = make_optimizer([x])
    points = [x.detach().clone()]
    for _ in range(steps):
        opt.zero_grad()
        f(x).backward()
        opt.step()
        points.append(x.detach().clone())
    return torch.stack(points)


@pytest.mark.parametrize("seed", range(5))
def test_gd_race_matches_the_closed_form_on_a_quadratic(seed):
    rng = np.random.default_rng(seed)
    kappa = float(rng.uniform(2, 100))
    x0 = rng.uniform(-5, 5, size=2).tolist()
    lr = float(rng.uniform(0.1, 1.9)) / kappa  # stable: lr * kappa < 2
    result = race(functions.quadratic(condition_number=kappa), [contender("SGD", "GD", lr=lr)], x0=x0, steps=60)
    points, values = gd_on_diagonal_quadratic([1.0, kappa], x0, lr, 60)
    np.testing.assert_allclose(result.trajectories["GD"].points.numpy(), points, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(result.trajectories["GD"].values.numpy(), values, rtol=1e-10, atol=1e-12)
    assert result.diverged_at == {"GD": None}


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("Adam", {"lr": 0.05}),
        ("RMSprop", {"lr": 0.01, "momentum": 0.5}),
        ("Adagrad", {"lr": 0.3}),
        ("SGD", {"lr": 1e-3, "momentum": 0.9, "nesterov": True}),
        ("NAdam", {"lr": 0.02}),
        ("Adadelta", {"lr": 1.0}),
    ],
)
@pytest.mark.parametrize("surface", [functions.rosenbrock, functions.ravine, functions.himmelblau])
def test_every_runner_follows_torch_optim(name, options, surface):
    f = surface()
    x0 = [-1.2, 1.3]
    result = race(f, [contender(name, "runner", **options)], x0=x0, steps=80)
    reference = torch_loop(f, x0, lambda p: getattr(torch.optim, name)(p, foreach=False, **options), 80)
    torch.testing.assert_close(result.trajectories["runner"].points, reference, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_steps_to_is_the_first_step_at_or_below_the_target(seed):
    rng = np.random.default_rng(seed)
    kappa = float(rng.uniform(5, 60))
    lr = float(rng.uniform(0.2, 1.8)) / kappa
    x0 = rng.uniform(-4, 4, size=2).tolist()
    result = race(functions.quadratic(condition_number=kappa), [contender("SGD", "GD", lr=lr)], x0=x0, steps=100)
    _, values = gd_on_diagonal_quadratic([1.0, kappa], x0, lr, 100)
    for target in (
        float(values[0]) + 1,
        float(values[0]) * (1 + 1e-9),
        float(values[7]) * (1 + 1e-9),
        1e-2,
        1e-6,
        -1.0,
    ):
        below = np.nonzero(values <= target)[0]
        expected = int(below[0]) if len(below) else None
        assert result.steps_to(target) == {"GD": expected}


def test_a_diverging_runner_is_recorded_not_raised():
    f = functions.quadratic(condition_number=10.0)
    lr = 0.5  # lr * 10 = 5 > 2: |1 - 5| = 4 per step along x2
    result = race(f, [contender("SGD", "wild", lr=lr), contender("SGD", "calm", lr=0.05)], x0=[1.0, 1.0], steps=1000)
    step = result.diverged_at["wild"]
    assert result.diverged_at["calm"] is None
    # The closed form overflows when 0.5 * 10 * 16^k * x2² is no longer finite: 16^k ≈ 3.6e307 / 5.
    with np.errstate(over="ignore"):
        _, values = gd_on_diagonal_quadratic([1.0, 10.0], [1.0, 1.0], lr, 300)
    first_inf = int(np.nonzero(~np.isfinite(values))[0][0])
    assert step == first_inf
    trajectory = result.trajectories["wild"]
    assert len(trajectory.values) == step  # points 0 .. step − 1, all finite
    assert bool(torch.isfinite(trajectory.values).all())
    np.testing.assert_allclose(trajectory.values.numpy(), values[:step], rtol=1e-9)
    rows = {row["optimizer"]: row for row in result.table(target=1e-6)}
    assert rows["wild"]["diverged at"] == step
    assert f"diverged at step {step}" in result.markdown(1e-6)
    assert "diverged" in leaderboard(result, [1e-6])


def brute_force_best_lr(kappa, x0, rates, steps, target):
    """The learning rate with the fewest steps to target (closed form), else the lowest final value."""
    ranked = []
    for i, lr in enumerate(sorted(rates)):
        with np.errstate(over="ignore", invalid="ignore"):
            _, values = gd_on_diagonal_quadratic([1.0, kappa], x0, lr, steps)
        if not np.isfinite(values).all():
            ranked.append(((2, 0.0, i), lr))
            continue
        below = np.nonzero(values <= target)[0]
        ranked.append(((0, int(below[0]), i) if len(below) else (1, float(values[-1]), i), lr))
    return min(ranked)[1]


@pytest.mark.parametrize("seed", range(6))
def test_tune_picks_what_a_brute_force_search_picks(seed):
    rng = np.random.default_rng(100 + seed)
    kappa = float(rng.uniform(5, 80))
    x0 = rng.uniform(-5, 5, size=2).tolist()
    rates = sorted(set(np.round(rng.uniform(0.0, 3.0, size=6) / kappa, 6).tolist()) - {0.0})
    target = float(rng.choice([1e-3, 1e-6]))
    chosen = tune(
        functions.quadratic(condition_number=kappa), contender("SGD", "GD"), rates, x0=x0, steps=400, target=target
    )
    assert chosen.options["lr"] == brute_force_best_lr(kappa, x0, rates, 400, target)
    assert chosen.label == "GD"
    assert chosen.optimizer == "SGD"


def test_tune_keeps_other_options_and_prefers_the_smaller_rate_on_a_tie():
    f = functions.quadratic(condition_number=4.0)
    # From the minimizer itself every rate reaches the target at step 0: a tie.
    chosen = tune(f, contender("SGD", "m", momentum=0.5), [0.3, 0.01, 0.1], x0=[0.0, 0.0], steps=5)
    assert chosen.options == {"momentum": 0.5, "lr": 0.01}


def test_tables_report_what_the_runs_did():
    f = functions.quadratic(condition_number=20.0)
    runners = [contender("SGD", "GD", lr=0.09), contender("Adam", "Adam", lr=0.1), contender("SGD", "slow", lr=1e-4)]
    result = race(f, runners, x0=[-4.0, 2.0], steps=120)
    rows = result.table()  # default target: f* + 1e-6
    assert [row["optimizer"] for row in rows] == ["GD", "Adam", "slow"]
    reached = result.steps_to(1e-6)
    for row in rows:
        values = result.trajectories[row["optimizer"]].values
        assert row["final value"] == float(values[-1])
        assert row["steps to target"] == reached[row["optimizer"]]
    assert reached["slow"] is None
    assert reached["GD"] is not None
    markdown = result.markdown()
    assert markdown.count("\n") == 1 + len(runners)
    assert f"| GD | lr=0.09 | {reached['GD']} |" in markdown
    assert "| slow | lr=0.0001 | — |" in markdown
    board = leaderboard([result, result], [1e-6, 1e-2])
    lines = board.splitlines()
    assert len(lines) == 2 + len(runners)
    assert lines[2].startswith(f"| GD | {reached['GD']} (lr=0.09) | {result.steps_to(1e-2)['GD']} (lr=0.09) |")
    assert "— (f=" in lines[4]


def test_saddle_has_no_default_target_and_uses_a_symlog_scale():
    result = race(functions.saddle(), [contender("Adam", lr=0.1)], x0=[1.0, 1e-3], steps=50)
    assert result.table()[0]["steps to target"] is None
    assert result.steps_to(-1.0)["Adam"] is not None
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


def test_animation_frames_follow_the_paths(four_races):
    anim = animate(four_races, frames=12)
    assert isinstance(anim, FuncAnimation)
    fig = anim._fig
    overlay = fig.axes[-1]
    lines = [line for line in overlay.get_lines() if line.get_marker() in ("None", None, "")]
    heads = [line for line in overlay.get_lines() if line.get_marker() == "o"]
    assert len(lines) == len(heads) == 4 * 3
    (counter,) = overlay.texts
    schedule = []
    for i in range(len(list(anim.new_frame_seq()))):
        anim._draw_frame(i)
        schedule.append(int(counter.get_text().split()[-1]))
        # The path drawn so far has one vertex per step taken (fewer only if it left the window).
        assert all(len(line.get_xdata()) <= schedule[-1] + 1 for line in lines)
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


def test_hyper_parameters_build_each_optimizer():
    from lib.optimizers import create

    x = torch.zeros(2, requires_grad=True)
    for name in ("sgd", "adagrad", "adadelta", "rmsprop", "adam", "adamw", "nadam", "adamax"):
        options = hyper_parameters(name, lr=0.02, beta1=0.8, beta2=0.95)
        group = create(name, [x], **options).param_groups[0]
        assert group["lr"] == 0.02
        if "betas" in group:
            assert tuple(group["betas"]) == (0.8, 0.95)
    assert hyper_parameters("SGD", lr=0.1, beta1=0.7)["momentum"] == 0.7
    assert hyper_parameters("rmsprop", lr=0.1, beta2=0.9)["alpha"] == 0.9
    assert hyper_parameters("adadelta", lr=1.0, beta2=0.9)["rho"] == 0.9


def _final_with_torch(surface, x0, optimizer, steps, **options):
    """``f`` after ``steps`` steps of the ``torch.optim`` optimizer, written out here."""
    x = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    opt = optimizer([x], **options)
    for _ in range(steps):
        opt.zero_grad()
        surface(x).backward()
        opt.step()
    return float(surface(x.detach()))


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
        (lambda: contender(3), TypeError, "optimizer"),
        (lambda: contender("adam", label=""), TypeError, "label"),
        (lambda: contender("nosuch"), ValueError, "name"),
        (lambda: contender("adam", lr=-1.0), ValueError, "lr"),
        (lambda: race(lambda x: x.sum(), [contender("adam")], x0=[0.0, 0.0]), TypeError, "surface"),
        (lambda: race(functions.saddle(), [], x0=[0.0, 0.0]), TypeError, "contenders"),
        (lambda: race(functions.saddle(), ["adam"], x0=[0.0, 0.0]), TypeError, "contenders"),
        (
            lambda: race(functions.saddle(), [contender("adam"), contender("sgd", "adam")], x0=[0, 0]),
            ValueError,
            "labels",
        ),
        (lambda: race(functions.saddle(), [contender("adam")], x0=[0.0, 0.0, 0.0]), ValueError, "x0"),
        (lambda: race(functions.saddle(), [contender("adam")], x0=[0.0, math.nan]), ValueError, "x0"),
        (lambda: race(functions.saddle(), [contender("adam")], x0=[0.0, 0.0], steps=0), ValueError, "steps"),
        (lambda: tune(functions.saddle(), "adam", [0.1], x0=[0.0, 0.0]), TypeError, "c"),
        (lambda: tune(functions.saddle(), contender("adam"), [], x0=[0.0, 0.0]), TypeError, "learning_rates"),
        (lambda: tune(functions.saddle(), contender("adam"), [0.1, -1.0], x0=[0, 0]), ValueError, "learning_rates"),
        (lambda: leaderboard("race"), TypeError, "results"),
        (lambda: hyper_parameters("lbfgs", lr=0.1), ValueError, "optimizer"),
        (lambda: hyper_parameters("adam", lr=0.1, beta1=1.0), ValueError, "beta1"),
        (lambda: hyper_parameters("adam", lr=0.0), ValueError, "lr"),
        (lambda: explorer({}), TypeError, "courses"),
        (lambda: explorer({"s": functions.saddle()}), TypeError, "courses"),
        (lambda: plot_values("result"), TypeError, "result"),
    ],
)
def test_bad_arguments_are_named(call, error, name):
    with pytest.raises(error, match=name):
        call()


def test_race_arguments_after_a_valid_race():
    result = race(functions.saddle(), [contender("adam", lr=0.1)], x0=[1.0, 0.1], steps=3)
    assert isinstance(result, RaceResult)
    assert isinstance(result.contenders[0], Contender)
    with pytest.raises(ValueError, match="targets"):
        leaderboard([result], [1.0, 2.0])
    with pytest.raises(ValueError, match="frames"):
        animate(result, frames=41)
    with pytest.raises(TypeError, match="target"):
        result.steps_to("low")
