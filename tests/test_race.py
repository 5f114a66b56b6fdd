"""lib.race: the optimizer race, checked against hand-written loops and closed forms."""

import math

import numpy as np
import pytest
import torch

from lib import functions
from lib.race import Contender, RaceResult, contender, hyper_parameters, leaderboard, race, races, tune


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
    with pytest.raises(TypeError, match="target"):
        result.steps_to("low")


@pytest.mark.parametrize("seed", range(4))
def test_races_gives_each_contender_the_race_it_runs_alone(seed):
    generator = torch.Generator().manual_seed(seed)
    f = [functions.rosenbrock(), functions.ravine(), functions.saddle(), functions.quadratic(condition_number=20.0)][
        seed
    ]
    x0 = (torch.rand(2, generator=generator, dtype=torch.float64) * 2 - 1).tolist()
    names = ["sgd", "rmsprop", "adam", "adagrad", "adadelta", "adamax", "nadam"]
    field = []
    for _ in range(12):  # labels repeat, as the optimizers' names do in an explorer's settings
        name = names[int(torch.randint(len(names), (1,), generator=generator))]
        lr = float(10 ** (torch.rand(1, generator=generator) * 3 - 2.5))  # 0.003 to 3: some diverge
        beta1, beta2 = float(torch.rand(1, generator=generator) * 0.9), 0.99
        field.append(contender(name, name, **hyper_parameters(name, lr=lr, beta1=beta1, beta2=beta2)))
    for c, together in zip(field, races(f, field, x0=x0, steps=80), strict=True):
        by_itself = race(f, [c], x0=x0, steps=80)
        assert together.contenders == [c]
        assert together.diverged_at == by_itself.diverged_at
        for what in ("points", "values", "gradients"):
            torch.testing.assert_close(
                getattr(together.trajectories[c.label], what), getattr(by_itself.trajectories[c.label], what)
            )
        assert together.final_values() == pytest.approx(by_itself.final_values(), rel=1e-12, abs=1e-300)


def test_races_names_its_bad_arguments():
    with pytest.raises(TypeError, match="contenders"):
        races(functions.saddle(), [], x0=[1.0, 0.0])
    with pytest.raises(TypeError, match="Contender"):
        races(functions.saddle(), ["adam"], x0=[1.0, 0.0])
    with pytest.raises(ValueError, match="steps"):
        races(functions.saddle(), [contender("adam", lr=0.1)], x0=[1.0, 0.0], steps=0)
