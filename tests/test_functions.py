"""lib.functions: values, gradients and minimizers checked against closed forms and finite differences."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from lib import functions as F
from tests.fuzzing import ALLOWED, FUNCTIONS, FUZZ, point, rate


def closed_form_gradients():
    """Gradients derived by hand, independent of the module's code."""

    def rosenbrock(p, a=1.0, b=100.0):
        x, y = p[..., 0], p[..., 1]
        return torch.stack([-2 * (a - x) - 4 * b * x * (y - x**2), 2 * b * (y - x**2)], -1)

    def beale(p):
        x, y = p[..., 0], p[..., 1]
        t1, t2, t3 = 1.5 - x + x * y, 2.25 - x + x * y**2, 2.625 - x + x * y**3
        gx = 2 * t1 * (y - 1) + 2 * t2 * (y**2 - 1) + 2 * t3 * (y**3 - 1)
        gy = 2 * t1 * x + 2 * t2 * 2 * x * y + 2 * t3 * 3 * x * y**2
        return torch.stack([gx, gy], -1)

    def himmelblau(p):
        x, y = p[..., 0], p[..., 1]
        u, v = x**2 + y - 11, x + y**2 - 7
        return torch.stack([4 * x * u + 2 * v, 2 * u + 4 * y * v], -1)

    def saddle(p):
        return torch.stack([2 * p[..., 0], -2 * p[..., 1]], -1)

    def ravine(p):
        x, y = p[..., 0], p[..., 1]
        r = y - 0.5 * torch.sin(x)
        return torch.stack([0.2 * x - 10 * r * torch.cos(x), 20 * r], -1)

    def bumpy(x):
        return 3 * torch.cos(3 * x) + 0.2 * x

    return {
        "rosenbrock": (F.rosenbrock(), rosenbrock),
        "rosenbrock(a=-0.5, b=3)": (F.rosenbrock(a=-0.5, b=3.0), lambda p: rosenbrock(p, -0.5, 3.0)),
        "beale": (F.beale(), beale),
        "himmelblau": (F.himmelblau(), himmelblau),
        "saddle": (F.saddle(), saddle),
        "ravine": (F.ravine(), ravine),
        "bumpy": (F.bumpy(), bumpy),
    }


CASES = closed_form_gradients()


def random_points(f, n, seed):
    g = torch.Generator().manual_seed(seed)
    shape = (n,) if f.dim == 1 else (n, 2)
    u = torch.rand(shape, generator=g, dtype=torch.float64)
    if f.dim == 1:
        return f.xlim[0] + (f.xlim[1] - f.xlim[0]) * u
    low = torch.tensor([f.xlim[0], f.ylim[0]], dtype=torch.float64)
    high = torch.tensor([f.xlim[1], f.ylim[1]], dtype=torch.float64)
    return low + (high - low) * u


@pytest.mark.parametrize("name", sorted(CASES))
def test_autograd_gradient_equals_closed_form(name):
    f, grad = CASES[name]
    for seed in range(5):
        x = random_points(f, 200, seed)
        torch.testing.assert_close(F.gradient(f, x), grad(x), rtol=1e-12, atol=1e-10)


@pytest.mark.parametrize("name", [*sorted(CASES), "quadratic"])
def test_gradient_matches_central_differences(name):
    f = F.quadratic(condition_number=30.0, angle=0.7, scale=0.5) if name == "quadratic" else CASES[name][0]
    x = random_points(f, 300, seed=11)
    h = 1e-6
    grad = F.gradient(f, x)
    if f.dim == 1:
        fd = (f(x + h) - f(x - h)) / (2 * h)
    else:
        fd = torch.stack([(f(x + h * e) - f(x - h * e)) / (2 * h) for e in torch.eye(2, dtype=torch.float64)], -1)
    scale = 1.0 + grad.abs()
    assert bool(((fd - grad).abs() / scale < 1e-4).all())


def test_quadratic_matches_its_matrix_and_eigenvalues():
    rng = np.random.default_rng(0)
    for _ in range(40):
        kappa, angle, scale = rng.uniform(1, 1000), rng.uniform(-np.pi, np.pi), rng.uniform(0.01, 10)
        f = F.quadratic(condition_number=kappa, angle=angle, scale=scale)
        c, s = np.cos(angle), np.sin(angle)
        r = np.array([[c, -s], [s, c]])
        a = r @ np.diag([scale, scale * kappa]) @ r.T
        x = rng.normal(size=(50, 2)) * 3
        expected = 0.5 * np.einsum("ni,ij,nj->n", x, a, x)
        np.testing.assert_allclose(f(torch.tensor(x)).numpy(), expected, rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(f.hessian.numpy(), a, rtol=1e-12, atol=1e-12 * scale * kappa)
        np.testing.assert_allclose(np.linalg.eigvalsh(f.hessian.numpy()), [scale, scale * kappa], rtol=1e-10)
        torch.testing.assert_close(F.hessian(f, x[0]), f.hessian, rtol=1e-10, atol=1e-10)
        torch.testing.assert_close(F.gradient(f, torch.tensor(x)), torch.tensor(x @ a.T), rtol=1e-10, atol=1e-10)


def test_chapter9_quadratic_is_a_scaled_diagonal():
    f = F.quadratic(condition_number=20, scale=0.2)
    x = torch.tensor([-5.0, -2.0], dtype=torch.float64)
    assert float(f(x)) == pytest.approx(0.1 * 25 + 2 * 4, rel=1e-14)


ALL = {
    "quadratic": F.quadratic(condition_number=50, angle=0.3),
    "rosenbrock": F.rosenbrock(),
    "rosenbrock(2, 10)": F.rosenbrock(a=2.0, b=10.0),
    "beale": F.beale(),
    "himmelblau": F.himmelblau(),
    "ravine": F.ravine(),
    "bumpy": F.bumpy(),
}


@pytest.mark.parametrize("name", sorted(ALL))
def test_gradient_vanishes_and_value_is_the_minimum_at_each_minimizer(name):
    f = ALL[name]
    assert f.minimizers
    for m in f.minimizers:
        assert F.gradient(f, m).abs().max() < 1e-10
        assert float(f(m)) == pytest.approx(f.minimum, abs=1e-12)
        assert F.classify_critical_point(f, m) == "minimum"
        assert f.xlim[0] < float(m.reshape(-1)[0]) < f.xlim[1]
        if f.dim == 2:
            assert f.ylim[0] < float(m[1]) < f.ylim[1]


@pytest.mark.parametrize("name", sorted(ALL))
def test_known_minimum_is_the_lowest_value_on_a_grid(name):
    f = ALL[name]
    if f.dim == 1:
        grid = torch.linspace(*f.xlim, 20001, dtype=torch.float64)
    else:
        xs = torch.linspace(*f.xlim, 401, dtype=torch.float64)
        ys = torch.linspace(*f.ylim, 401, dtype=torch.float64)
        grid = torch.stack(torch.meshgrid(xs, ys, indexing="ij"), -1)
    assert float(f(grid).min()) >= f.minimum - 1e-12


def test_himmelblau_has_four_distinct_minima_at_the_published_places():
    published = [(3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126)]
    f, grad = CASES["himmelblau"]
    assert len(f.minimizers) == 4
    for m, p in zip(f.minimizers, published, strict=True):
        assert torch.allclose(m, torch.tensor(p, dtype=torch.float64), atol=1e-6)
        assert float(grad(m).abs().max()) < 1e-12  # the hand-written gradient vanishes
    distances = torch.cdist(torch.stack(f.minimizers), torch.stack(f.minimizers))
    assert float((distances + 10 * torch.eye(4)).min()) > 1.0


def test_bumpy_global_minimizer_by_grid_and_newton():
    f = F.bumpy()
    x = np.linspace(-5, 5, 200001)
    values = np.sin(3 * x) + 0.1 * x**2
    inner = (values[1:-1] < values[:-2]) & (values[1:-1] < values[2:])
    local = x[1:-1][inner]
    assert len(local) >= 3  # several local minima
    best = x[np.argmin(values)]
    for _ in range(20):  # Newton on f'(x) = 3 cos 3x + 0.2 x, f''(x) = -9 sin 3x + 0.2
        best -= (3 * np.cos(3 * best) + 0.2 * best) / (-9 * np.sin(3 * best) + 0.2)
    assert abs(float(f.minimizers[0]) - best) < 1e-12
    assert abs(f.minimum - (np.sin(3 * best) + 0.1 * best**2)) < 1e-14
    assert f(torch.zeros(3, 4)).shape == (3, 4)


def test_classification_of_the_chapter_4_examples():
    bowl = lambda p: p[..., 0] ** 2 + p[..., 1] ** 2  # noqa: E731
    cap = lambda p: -(p[..., 0] ** 2) - p[..., 1] ** 2  # noqa: E731
    horse = lambda p: p[..., 0] ** 2 - p[..., 1] ** 2  # noqa: E731
    origin = torch.zeros(2, dtype=torch.float64)
    assert F.classify_critical_point(bowl, origin) == "minimum"
    assert F.classify_critical_point(cap, origin) == "maximum"
    assert F.classify_critical_point(horse, origin) == "saddle"
    assert F.classify_critical_point(F.saddle(), F.saddle().saddle_points[0]) == "saddle"
    assert F.classify_critical_point(lambda x: x**3 + 6, 0.0) == "degenerate"
    assert F.classify_critical_point(lambda x: x**2 + 3 * x + 4, -1.5) == "minimum"
    assert F.classify_critical_point(lambda x: -(x**2) + 3 * x + 4, 1.5) == "maximum"
    assert F.classify_critical_point(lambda p: p[..., 0] ** 2 + p[..., 1] ** 4, origin) == "degenerate"


def test_hessian_matches_closed_form():
    x, y = 0.3, -1.2
    expected = torch.tensor([[2 - 400 * (y - 3 * x**2), -400 * x], [-400 * x, 200.0]], dtype=torch.float64)
    torch.testing.assert_close(F.hessian(F.rosenbrock(), [x, y]), expected, rtol=1e-12, atol=1e-10)
    assert float(F.hessian(F.bumpy(), 0.2)) == pytest.approx(-9 * math.sin(0.6) + 0.2, rel=1e-12)


def test_batched_evaluation_equals_pointwise():
    for f in ALL.values():
        pts = random_points(f, 12, seed=3)
        batched = f(pts.reshape(3, 4, *pts.shape[1:]))
        assert batched.shape == (3, 4)
        torch.testing.assert_close(batched.reshape(-1), torch.stack([f(p) for p in pts]), rtol=0, atol=0)


def test_float32_and_autograd_pass_through():
    f = F.rosenbrock()
    x = torch.tensor([0.5, 0.5], requires_grad=True)
    value = f(x)
    value.backward()
    assert value.dtype == torch.float32
    assert x.grad is not None
    assert x.grad.shape == (2,)


@pytest.mark.parametrize(
    ("call", "error", "name"),
    [
        (lambda: F.rosenbrock()(torch.tensor([float("nan"), 1.0])), ValueError, "x"),
        (lambda: F.rosenbrock()(torch.tensor([1.0, 2.0, 3.0])), ValueError, "x"),
        (lambda: F.rosenbrock()(torch.tensor(1.0)), ValueError, "x"),
        (lambda: F.rosenbrock()("1, 2"), TypeError, "x"),
        (lambda: F.rosenbrock()(torch.tensor([1e200, 1e200], dtype=torch.float64)), F.NonFiniteValueError, "overflow"),
        (lambda: F.bumpy()(float("inf")), ValueError, "x"),
        (lambda: F.quadratic(condition_number=0.5), ValueError, "condition_number"),
        (lambda: F.quadratic(scale=0.0), ValueError, "scale"),
        (lambda: F.quadratic(angle=float("nan")), ValueError, "angle"),
        (lambda: F.quadratic(condition_number="10"), TypeError, "condition_number"),
        (lambda: F.rosenbrock(b=-1.0), ValueError, "b"),
        (lambda: F.rosenbrock(a=None), TypeError, "a"),
        (lambda: F.gradient("rosenbrock", [0.0, 0.0]), TypeError, "f"),
        (lambda: F.gradient(F.beale(), [0.0, float("nan")]), ValueError, "x"),
        (lambda: F.gradient(lambda x: 1.0, [0.0, 0.0]), TypeError, "tensor"),
        (lambda: F.hessian(F.beale(), torch.zeros(3, 2)), ValueError, "x"),
        (lambda: F.hessian(lambda p: p, torch.zeros(2)), ValueError, "one number"),
        (lambda: F.classify_critical_point(F.himmelblau(), [0.0, 0.0]), ValueError, "critical point"),
        (lambda: F.classify_critical_point(F.himmelblau(), [3.0, 2.0], tol=-1.0), ValueError, "tol"),
        (lambda: F.classify_critical_point(F.himmelblau(), [3.0, 2.0], grad_tol=float("inf")), ValueError, "grad_tol"),
    ],
)
def test_bad_input_is_named(call, error, name):
    with pytest.raises(error, match=name):
        call()


def test_nonfinite_value_error_is_a_value_error():
    assert issubclass(F.NonFiniteValueError, ValueError)


# Property tests: any arguments give finite numbers or a clear error.


@FUZZ
@given(name=st.sampled_from(sorted(FUNCTIONS)), a=rate, b=rate, x=point, tol=rate)
def test_functions_and_helpers_return_finite_values_or_raise(name, a, b, x, tol):
    try:
        f = FUNCTIONS[name](a, b)
    except ALLOWED:
        return
    for helper in (f, lambda x: F.gradient(f, x), lambda x: F.hessian(f, x)):
        try:
            out = helper(x)
        except ALLOWED:
            continue
        assert bool(torch.isfinite(out).all())
    try:
        kind = F.classify_critical_point(f, x, tol)
    except ALLOWED:
        return
    assert kind in ("minimum", "maximum", "saddle", "degenerate")
