"""lib.second_order against torch.autograd and closed forms."""

import math

import pytest
import torch

from lib.second_order import (
    condition_number,
    hessian_vector_product,
    largest_stable_learning_rate,
    newton,
    newton_step,
    top_eigenvalue,
)

SEEDS = range(12)


def random_spd(d, seed, low=0.5, high=20.0):
    """A random symmetric positive-definite matrix with eigenvalues spread over [low, high]."""
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
    eigenvalues = torch.linspace(low, high, d, dtype=torch.float64)
    return q @ torch.diag(eigenvalues) @ q.T, eigenvalues


def smooth_function(d, seed):
    """A non-quadratic smooth function of d variables with random coefficients."""
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(3, d, generator=g, dtype=torch.float64)
    b = torch.randn(d, d, generator=g, dtype=torch.float64)

    def f(x):
        return torch.sin(a @ x).sum() + (x @ b @ x) ** 2 / 10 + torch.exp(0.1 * x).sum() * x[0]

    return f


@pytest.mark.parametrize("seed", SEEDS)
def test_hessian_vector_product_matches_autograd_hessian(seed):
    d = 2 + seed % 5
    f = smooth_function(d, seed)
    g = torch.Generator().manual_seed(100 + seed)
    x = torch.randn(d, generator=g, dtype=torch.float64)
    v = torch.randn(d, generator=g, dtype=torch.float64)
    expected = torch.autograd.functional.hessian(f, x) @ v
    torch.testing.assert_close(hessian_vector_product(f, x, v), expected, rtol=1e-10, atol=1e-10)


def test_hessian_vector_product_of_linear_function_is_zero():
    c = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
    hv = hessian_vector_product(lambda x: c @ x, torch.ones(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64))
    assert torch.equal(hv, torch.zeros(3, dtype=torch.float64))


def test_hessian_vector_product_float32_input_keeps_dtype():
    a, _ = random_spd(3, 0)
    a = a.float()
    hv = hessian_vector_product(lambda x: 0.5 * x @ a @ x, torch.ones(3), torch.tensor([1.0, 0.0, 0.0]))
    assert hv.dtype == torch.float32
    torch.testing.assert_close(hv, a[:, 0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("seed", SEEDS)
def test_one_newton_step_solves_a_positive_definite_quadratic(seed):
    d = 1 + seed % 6
    a, _ = random_spd(d, seed)
    g = torch.Generator().manual_seed(200 + seed)
    x_star = torch.randn(d, generator=g, dtype=torch.float64)
    b = a @ x_star

    def f(x):
        return 0.5 * x @ a @ x - b @ x + 3.0

    x0 = 10 * torch.randn(d, generator=g, dtype=torch.float64)
    torch.testing.assert_close(newton_step(f, x0), x_star, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_damped_newton_step_matches_its_formula(seed):
    d = 2 + seed % 4
    f = smooth_function(d, seed)
    x = torch.randn(d, generator=torch.Generator().manual_seed(300 + seed), dtype=torch.float64)
    damping = 0.5 + seed
    grad = torch.autograd.functional.jacobian(f, x)
    hess = torch.autograd.functional.hessian(f, x) + damping * torch.eye(d, dtype=torch.float64)
    expected = x - torch.linalg.solve(hess, grad)
    torch.testing.assert_close(newton_step(f, x, damping=damping), expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize(("x0", "limit"), [(0.3, 0.0), (-0.4, 0.0), (-0.5, 1.0), (2.0, 1.0), (-3.0, -1.0)])
def test_newton_goes_to_the_nearest_critical_point_even_a_maximum(x0, limit):
    # f = x⁴/4 − x²/2: minima at ±1, maximum at 0; Newton's update is x − (x³ − x) / (3x² − 1).
    points = newton(lambda x: (x**4 / 4 - x**2 / 2).sum(), torch.tensor([x0], dtype=torch.float64), steps=8)
    x = x0
    for k in range(1, 9):
        x = x - (x**3 - x) / (3 * x**2 - 1)
        assert abs(points[k, 0].item() - x) < 1e-12
    assert abs(points[-1, 0].item() - limit) < 1e-10


def test_newton_lands_on_a_saddle_in_one_step():
    points = newton(lambda p: p[0] ** 2 - p[1] ** 2, torch.tensor([3.0, -2.0], dtype=torch.float64), steps=3)
    assert points.shape == (4, 2)
    assert torch.equal(points[1:], torch.zeros(3, 2, dtype=torch.float64))


def test_newton_solves_rosenbrock():
    def rosenbrock(p):
        return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2

    points = newton(rosenbrock, torch.tensor([-1.2, 1.0], dtype=torch.float64), steps=12)
    torch.testing.assert_close(points[-1], torch.ones(2, dtype=torch.float64), rtol=0, atol=1e-10)


def test_singular_hessian_raises_and_damping_fixes_it():
    def f(p):
        return p[0] ** 2 + p[1]

    x = torch.tensor([1.0, 1.0], dtype=torch.float64)
    with pytest.raises(ValueError, match="singular"):
        newton_step(f, x)
    with pytest.raises(ValueError, match="step 1"):
        newton(f, x, steps=2)
    damped = newton_step(f, x, damping=1.0)  # (H + I)⁻¹ g = (2/3, 1)
    torch.testing.assert_close(damped, torch.tensor([1 / 3, 0.0], dtype=torch.float64))


@pytest.mark.parametrize("seed", SEEDS)
def test_top_eigenvalue_by_power_iteration(seed):
    d = 3 + seed % 5
    a, eigenvalues = random_spd(d, seed, low=1.0, high=10.0)
    estimate = top_eigenvalue(lambda x: 0.5 * x @ a @ x, torch.zeros(d, dtype=torch.float64), iterations=300)
    assert abs(estimate - eigenvalues[-1].item()) < 1e-8


def test_top_eigenvalue_finds_largest_magnitude_of_indefinite_hessian():
    def f(p):
        return p[0] ** 2 - 3 * p[1] ** 2

    assert abs(top_eigenvalue(f, [0.3, 0.4], iterations=60) - (-6.0)) < 1e-10


@pytest.mark.parametrize("seed", SEEDS)
def test_largest_stable_learning_rate_separates_convergence_from_divergence(seed):
    d = 2 + seed % 4
    a, _ = random_spd(d, seed)
    limit = largest_stable_learning_rate(a)
    x0 = torch.randn(d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    for factor, converges in [(0.98, True), (1.02, False)]:
        x = x0.clone()
        for _ in range(2000):
            x = x - factor * limit * (a @ x)
        assert (x.norm() < 1e-3 * x0.norm()) == converges


@pytest.mark.parametrize("seed", SEEDS)
def test_condition_number_from_known_eigenvalues(seed):
    a, eigenvalues = random_spd(2 + seed % 5, seed, low=0.25, high=0.25 + 10 * (seed + 1))
    assert math.isclose(condition_number(a), (eigenvalues[-1] / eigenvalues[0]).item(), rel_tol=1e-9)
    assert math.isclose(largest_stable_learning_rate(a), 2 / eigenvalues[-1].item(), rel_tol=1e-9)


def test_bad_arguments_are_named():
    def f(x):
        return (x**2).sum()

    with pytest.raises(TypeError, match="f must be callable"):
        newton_step(3.0, [1.0])
    with pytest.raises(ValueError, match="x must have 1"):
        hessian_vector_product(f, torch.zeros(2, 2), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="v must have the shape"):
        hessian_vector_product(f, torch.zeros(2), torch.zeros(3))
    with pytest.raises(ValueError, match="damping"):
        newton_step(f, [1.0], damping=-1.0)
    with pytest.raises(ValueError, match="steps"):
        newton(f, [1.0], steps=-1)
    with pytest.raises(ValueError, match="x0 must contain only finite"):
        newton(f, [float("nan")])
    with pytest.raises(ValueError, match="one number"):
        newton_step(lambda x: x, [1.0, 2.0])
    with pytest.raises(ValueError, match="symmetric"):
        condition_number([[1.0, 2.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="positive definite"):
        condition_number([[1.0, 0.0], [0.0, -1.0]])
    with pytest.raises(ValueError, match="positive eigenvalue"):
        largest_stable_learning_rate([[-1.0, 0.0], [0.0, -2.0]])
    with pytest.raises(ValueError, match="square"):
        largest_stable_learning_rate([[1.0, 0.0, 0.0]])
    with pytest.raises(TypeError, match="iterations"):
        top_eigenvalue(f, [1.0], iterations=2.5)


def himmelblau(p):
    return (p[..., 0] ** 2 + p[..., 1] - 11) ** 2 + (p[..., 0] + p[..., 1] ** 2 - 7) ** 2


def test_batched_newton_equals_newton_from_each_start():
    g = torch.Generator().manual_seed(0)
    starts = 8 * torch.rand(4, 3, 2, generator=g, dtype=torch.float64) - 4
    batched = newton(himmelblau, starts, steps=5)
    assert batched.shape == (6, 4, 3, 2)
    for i in range(4):
        for j in range(3):
            alone = newton(himmelblau, starts[i, j], steps=5)
            torch.testing.assert_close(batched[:, i, j], alone, rtol=1e-12, atol=1e-12)


def test_batched_newton_step_matches_autograd_hessian():
    starts = torch.tensor([[0.5, -1.0], [3.5, 2.5], [-2.0, 3.0]], dtype=torch.float64)
    for point, stepped in zip(starts, newton_step(himmelblau, starts), strict=True):
        grad = torch.autograd.functional.jacobian(himmelblau, point)
        hess = torch.autograd.functional.hessian(himmelblau, point)
        torch.testing.assert_close(stepped, point - torch.linalg.solve(hess, grad), rtol=1e-10, atol=1e-10)


def test_batch_needs_one_value_per_point():
    with pytest.raises(ValueError, match="one number per point"):
        newton_step(lambda p: (p**2).sum(), torch.ones(3, 2, dtype=torch.float64))
