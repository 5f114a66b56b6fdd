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
from lib.trajectory import minimize
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
