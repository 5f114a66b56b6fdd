"""lib.trajectory: minimize against hand-written gradient descent, torch.optim, divergence and bad input."""

import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from lib import functions as F
from lib.loops import DivergenceError
from lib.optimizers import NAMES
from lib.schedules import StepLR
from lib.trajectory import minimize, minimize_together
from tests.fuzzing import ALLOWED, FUNCTIONS, FUZZ, anything, mostly, point, rate, small_int


def gd(grad, x0, lr, steps, momentum=0.0, schedule=None):
    x, v, points = torch.tensor(x0, dtype=torch.float64), None, []
    for k in range(steps + 1):
        points.append(x.clone())
        if k == steps:
            break
        g = grad(x)
        v = g if v is None else momentum * v + g
        x = x - (schedule(k) if schedule else lr) * v
    return torch.stack(points)


@pytest.mark.parametrize("name", ["rosenbrock", "beale", "himmelblau", "ravine"])
def test_minimize_equals_hand_written_gradient_descent(name):
    f, grad = {
        "rosenbrock": (
            F.rosenbrock(),
            lambda p: torch.stack([-2 * (1 - p[0]) - 400 * p[0] * (p[1] - p[0] ** 2), 200 * (p[1] - p[0] ** 2)]),
        ),
        "beale": (F.beale(), lambda p: F.gradient(F.beale(), p)),
        "himmelblau": (
            F.himmelblau(),
            lambda p: torch.stack(
                [
                    4 * p[0] * (p[0] ** 2 + p[1] - 11) + 2 * (p[0] + p[1] ** 2 - 7),
                    2 * (p[0] ** 2 + p[1] - 11) + 4 * p[1] * (p[0] + p[1] ** 2 - 7),
                ]
            ),
        ),
        "ravine": (F.ravine(), lambda p: F.gradient(F.ravine(), p)),
    }[name]
    x0, lr = [-1.0, 1.5], 1e-3
    traj = minimize(f, x0, optimizer=torch.optim.SGD, steps=200, lr=lr)
    expected = gd(grad, x0, lr, 200)
    torch.testing.assert_close(traj.points, expected, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(traj.values, f(expected), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(traj.gradients, torch.stack([grad(p) for p in expected]), rtol=1e-10, atol=1e-10)
    assert traj.points.dtype == traj.values.dtype == traj.gradients.dtype == torch.float64
    assert traj.points.shape == (201, 2)
    assert traj.values.shape == (201,)


def test_minimize_with_momentum_and_a_schedule_equals_the_hand_loop():
    f = F.quadratic(condition_number=20, scale=0.2)
    traj = minimize(
        f,
        [-5.0, -2.0],
        optimizer="SGD",
        steps=60,
        lr=0.6,
        momentum=0.5,
        scheduler=lambda o: StepLR(o, step_size=10, gamma=0.5),
    )
    expected = gd(
        lambda p: f.hessian @ p, [-5.0, -2.0], 0.6, 60, momentum=0.5, schedule=lambda k: 0.6 * 0.5 ** (k // 10)
    )
    torch.testing.assert_close(traj.points, expected, rtol=1e-12, atol=1e-14)


def test_chapter5_learning_rates_on_x_squared():
    f = lambda x: x**2  # noqa: E731
    ends = [float(minimize(f, 10.0, optimizer="SGD", steps=10, lr=lr).points[-1]) for lr in (0.05, 0.2, 1.1)]
    assert ends == pytest.approx([10 * 0.9**10, 10 * 0.6**10, 10 * (-1.2) ** 10], rel=1e-12)


def test_minimize_named_optimizers_match_torch_optim():
    from lib.optimizers import NAMES

    for name in NAMES:
        kwargs = {"lr": 1e-3 if name == "SGD" else 0.01}
        ours = minimize(F.rosenbrock(), [-1.2, 1.0], optimizer=name, steps=50, **kwargs)
        theirs = minimize(F.rosenbrock(), [-1.2, 1.0], optimizer=getattr(torch.optim, name), steps=50, **kwargs)
        torch.testing.assert_close(ours.points, theirs.points, rtol=1e-10, atol=1e-12, msg=name)


def test_minimize_one_dimensional_and_zero_steps():
    traj = minimize(F.bumpy(), 2.0, optimizer=torch.optim.SGD, steps=5, lr=0.01)
    assert traj.points.shape == (6,)
    assert len(traj) == 6
    zero = minimize(F.himmelblau(), [1.0, 1.0], steps=0)
    assert zero.points.tolist() == [[1.0, 1.0]]
    assert zero.values.tolist() == [float(F.himmelblau()(torch.tensor([1.0, 1.0], dtype=torch.float64)))]


def test_minimize_lbfgs_reaches_the_rosenbrock_minimum():
    traj = minimize(F.rosenbrock(), [-1.5, 2.0], optimizer=torch.optim.LBFGS, steps=30, line_search_fn="strong_wolfe")
    torch.testing.assert_close(traj.points[-1], F.rosenbrock().minimizers[0], rtol=0, atol=1e-5)


def test_minimize_divergence_names_the_first_non_finite_step():
    # On x² gradient descent with lr = 1.1 multiplies x by -1.2 each step until x² overflows.
    x, k = 10.0, 0
    while math.isfinite(x * x):
        x, k = x - 1.1 * 2 * x, k + 1
    with pytest.raises(DivergenceError, match=f"step {k}") as info:
        minimize(lambda p: (p**2).sum(), [10.0], optimizer=torch.optim.SGD, steps=5000, lr=1.1)
    assert info.value.step == k
    assert info.value.last_finite == pytest.approx((10 * 1.2 ** (k - 1)) ** 2, rel=1e-9)
    # the race in chapter 10 reruns up to the step before: that must succeed
    assert len(minimize(lambda p: (p**2).sum(), [10.0], optimizer=torch.optim.SGD, steps=k - 1, lr=1.1)) == k


@pytest.mark.parametrize("optimizer", ["SGD", torch.optim.SGD])
def test_minimize_divergence_on_a_test_function(optimizer):
    with pytest.raises(DivergenceError):
        minimize(F.quadratic(), [10.0, 1.0], optimizer=optimizer, steps=5000, lr=1.1)


@pytest.mark.parametrize(
    ("call", "error", "name"),
    [
        (lambda: minimize("f", [0.0, 0.0]), TypeError, "f"),
        (lambda: minimize(F.beale(), [0.0, float("nan")]), ValueError, "x0"),
        (lambda: minimize(F.beale(), [[0.0, 1.0]]), ValueError, "x0"),
        (lambda: minimize(F.beale(), "0, 1"), TypeError, "x0"),
        (lambda: minimize(F.beale(), [0.0, 1.0, 2.0]), ValueError, "x"),
        (lambda: minimize(F.beale(), [0.0, 1.0], steps=-1), ValueError, "steps"),
        (lambda: minimize(F.beale(), [0.0, 1.0], steps=1.5), TypeError, "steps"),
        (lambda: minimize(F.beale(), [0.0, 1.0], optimizer="newton"), ValueError, "newton"),
        (lambda: minimize(F.beale(), [0.0, 1.0], lr=-1.0), ValueError, "lr"),
        (lambda: minimize(F.beale(), [0.0, 1.0], scheduler=3), TypeError, "scheduler"),
        (lambda: minimize(F.beale(), [0.0, 1.0], scheduler=lambda o: 3), TypeError, "scheduler"),
        (lambda: minimize(lambda p: p, [0.0, 1.0]), ValueError, "one number"),
        (lambda: minimize(lambda p: p[..., 2], [0.0, 1.0]), ValueError, "f failed"),
    ],
)
def test_bad_input_is_named(call, error, name):
    with pytest.raises(error, match=name):
        call()


# Property tests: any arguments give finite numbers or a clear error.


@FUZZ
@given(
    name=st.sampled_from(sorted(FUNCTIONS)),
    x0=point,
    optimizer=mostly(st.sampled_from(NAMES), st.one_of(st.sampled_from(["sgd", "newton", ""]), anything)),
    lr=mostly(st.floats(1e-4, 0.05), rate),
    steps=mostly(st.integers(0, 30), small_int),
)
def test_minimize_returns_a_finite_trajectory_or_raises(name, x0, optimizer, lr, steps):
    f = getattr(F, name)()
    try:
        traj = minimize(f, x0, optimizer=optimizer, steps=steps, lr=lr)
    except ALLOWED:
        return
    assert traj.points.shape[0] == steps + 1
    for tensor in (traj.points, traj.values, traj.gradients):
        assert bool(torch.isfinite(tensor).all())


def test_the_property_runs_valid_calls_for_real():
    assert len(minimize(F.beale(), [1.0, 1.0], optimizer="Adam", steps=3, lr=0.1)) == 4
    with pytest.raises(ValueError, match="name"):
        minimize(F.beale(), [1.0, 1.0], optimizer="newton")


# minimize_together: many runs side by side, each the run minimize gives it alone.


def alone(f, x0, optimizer, options, steps):
    """What minimize gives one run, and where it diverged: a diverged run is taken again up to
    the step before (as chapter 10's race did it before runs went side by side)."""
    try:
        return minimize(f, x0, optimizer=optimizer, steps=steps, **options), None
    except DivergenceError as err:
        return minimize(f, x0, optimizer=optimizer, steps=max(err.step - 1, 0), **options), err.step


def assert_same_runs(f, runs, steps):
    together = minimize_together(f, runs, steps=steps)
    assert len(together) == len(runs)
    for (x0, optimizer, options), trajectory in zip(runs, together, strict=True):
        expected, diverged_at = alone(f, x0, optimizer, options, steps)
        assert trajectory.diverged_at == diverged_at, (optimizer, options)
        for field in ("points", "values", "gradients"):
            torch.testing.assert_close(
                getattr(trajectory, field), getattr(expected, field), rtol=0, atol=0, msg=f"{optimizer} {options}"
            )
    return together


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("name", ["rosenbrock", "himmelblau", "beale", "ravine", "saddle"])
def test_runs_side_by_side_are_the_runs_alone_bit_for_bit(name, seed):
    generator = torch.Generator().manual_seed(seed)
    f = getattr(F, name)()
    starts = (torch.rand(6, 2, generator=generator, dtype=torch.float64) * 3 - 1.5).tolist()
    choices = [
        ("SGD", {"lr": 1e-3}),
        ("sgd", {"lr": 3e-3, "momentum": 0.9}),
        ("Adam", {"lr": 0.05}),
        ("adam", {"lr": 0.3, "betas": (0.5, 0.99)}),
        ("RMSprop", {"lr": 0.01, "alpha": 0.9}),
        ("Adagrad", {"lr": 0.5}),
        ("SGD", {"lr": 0.2}),  # diverges on the steep surfaces
        (torch.optim.Adam, {"lr": 0.02}),  # a class: an optimizer of its own
        (lambda params, **kw: torch.optim.SGD(params, foreach=False, **kw), {"lr": 1e-3}),  # a factory
    ]
    picks = torch.randint(len(choices), (9,), generator=generator).tolist()
    runs = [(starts[i % len(starts)], *choices[c]) for i, c in enumerate(picks)]
    assert_same_runs(f, runs, steps=60)


def test_each_named_optimizer_side_by_side_follows_torch_optim():
    from lib.optimizers import NAMES

    f = F.rosenbrock()
    runs = [([-1.2, 1.0], name, {"lr": 1e-3 if name == "SGD" else 0.01}) for name in NAMES for _ in range(2)]
    for (_, name, options), trajectory in zip(runs, minimize_together(f, runs, steps=40), strict=True):
        theirs = minimize(f, [-1.2, 1.0], optimizer=getattr(torch.optim, name), steps=40, **options)
        torch.testing.assert_close(trajectory.points, theirs.points, rtol=1e-10, atol=1e-12, msg=name)


def test_a_diverging_run_stops_where_minimize_raises_and_the_others_go_on():
    # On x² gradient descent with lr = 1.1 multiplies x by -1.2 each step until x² overflows.
    x, k = 10.0, 0
    while math.isfinite(x * x):
        x, k = x - 1.1 * 2 * x, k + 1

    def square(p):  # one value per point of a batch
        return (p**2).sum(-1)

    runs = [([10.0], "SGD", {"lr": 1.1}), ([10.0], "SGD", {"lr": 0.1}), ([3.0], "Adam", {"lr": 0.1})]
    wild, calm, adam = assert_same_runs(square, runs, steps=k + 20)
    assert wild.diverged_at == k
    assert len(wild) == k
    assert calm.diverged_at is None
    assert len(calm) == adam.points.shape[0] == k + 21
    assert bool(torch.isfinite(wild.values).all())


def test_lbfgs_runs_alongside_and_stops_at_a_non_finite_line_search():
    runs = [
        ([-1.5, 2.0], torch.optim.LBFGS, {"line_search_fn": "strong_wolfe"}),
        ([-1.5, 2.0], torch.optim.LBFGS, {"lr": 1e6}),  # its first step leaves the finite numbers
        ([-1.5, 2.0], "Adam", {"lr": 0.05}),
    ]
    reached, blown, _ = assert_same_runs(F.rosenbrock(), runs, steps=20)
    torch.testing.assert_close(reached.points[-1], F.rosenbrock().minimizers[0], rtol=0, atol=1e-5)
    assert blown.diverged_at is not None


def test_a_run_not_finite_at_its_start_raises_as_minimize_does():
    with pytest.raises(DivergenceError, match=r"runs\[1\]: .* at step 0"):
        minimize_together(F.rosenbrock(), [([1.0, 1.0], "SGD", {}), ([1e200, 1.0], "SGD", {})], steps=3)


@pytest.mark.parametrize(
    ("call", "error", "name"),
    [
        (lambda: minimize_together("f", [([0.0, 0.0], "SGD", {})]), TypeError, "f"),
        (lambda: minimize_together(F.beale(), []), TypeError, "runs"),
        (lambda: minimize_together(F.beale(), "runs"), TypeError, "runs"),
        (lambda: minimize_together(F.beale(), [([0.0, 0.0], "SGD")]), TypeError, r"runs\[0\]"),
        (lambda: minimize_together(F.beale(), [([0.0, 0.0], "SGD", 0.1)]), TypeError, r"runs\[0\]'s options"),
        (lambda: minimize_together(F.beale(), [([0.0, float("nan")], "SGD", {})]), ValueError, r"runs\[0\]'s x0"),
        (
            lambda: minimize_together(F.beale(), [([0.0, 0.0], "SGD", {}), ([0.0], "SGD", {})]),
            ValueError,
            "same shape",
        ),
        (lambda: minimize_together(F.beale(), [([0.0, 0.0], "newton", {})]), ValueError, "newton"),
        (lambda: minimize_together(F.beale(), [([0.0, 0.0], "SGD", {"lr": -1.0})]), ValueError, "lr"),
        (lambda: minimize_together(F.beale(), [([0.0, 0.0], "SGD", {"momentun": 0.9})]), TypeError, "momentun"),
        (lambda: minimize_together(F.beale(), [([0.0, 0.0], "SGD", {})], steps=-1), ValueError, "steps"),
        (lambda: minimize_together(lambda p: p.sum(), [([0.0, 0.0], "SGD", {})]), ValueError, "one value per point"),
        (lambda: minimize_together(lambda p: p[..., 2], [([0.0, 0.0], "SGD", {})]), ValueError, "f failed"),
    ],
)
def test_bad_input_to_minimize_together_is_named(call, error, name):
    with pytest.raises(error, match=name):
        call()
