"""lib.second_order against torch.autograd and closed forms."""

import math

import pytest
import torch

from lib.second_order import (
    condition_number,
    cubic_minimizer,
    hessian_vector_product,
    largest_stable_learning_rate,
    newton,
    newton_step,
    strong_wolfe,
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


# --- the strong-Wolfe line search --------------------------------------------


def value_and_gradient(f, x):
    x = x.detach().requires_grad_(True)
    value = f(x)
    (gradient,) = torch.autograd.grad(value, x)
    return value.item(), gradient


def quadratic_with_condition(d, kappa, seed):
    """½ (x − x*)ᵀ A (x − x*) with eigenvalues spread geometrically over [1, κ]."""
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
    a = q @ torch.diag(torch.logspace(0, math.log10(kappa), d, dtype=torch.float64)) @ q.T
    minimum = torch.randn(d, generator=g, dtype=torch.float64)
    return lambda x: 0.5 * (x - minimum) @ a @ (x - minimum)


def rosenbrock_nd(x):
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def line_search_problems():
    """(name, f, d) for quadratics of condition number 1 to 10⁴, Rosenbrock and a wavy bowl."""
    problems = [(f"quadratic kappa={k:g}", quadratic_with_condition(5, k, 7), 5) for k in (1, 10, 1e3, 1e4)]
    problems.append(("rosenbrock 2-d", rosenbrock_nd, 2))
    problems.append(("rosenbrock 6-d", rosenbrock_nd, 6))
    problems.append(("wavy bowl 4-d", wavy_bowl(4, 3), 4))
    return [pytest.param(*problem, id=problem[0]) for problem in problems]


def wavy_bowl(d, seed):
    """A smooth non-convex function bounded below: ripples on a quartic bowl."""
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(3, d, generator=g, dtype=torch.float64)
    return lambda x: torch.sin(2 * a @ x).sum() + 0.1 * (x @ x) ** 2 + torch.nn.functional.softplus(a @ x).sum()


@pytest.mark.parametrize(("name", "f", "d"), line_search_problems())
@pytest.mark.parametrize("seed", range(8))
def test_line_search_step_satisfies_sufficient_decrease_and_curvature(name, f, d, seed):
    g = torch.Generator().manual_seed(100 + seed)
    x = torch.randn(d, generator=g, dtype=torch.float64) * 1.5
    value, gradient = value_and_gradient(f, x)
    # a descent direction: -P g for a random positive-definite P (P = I for even seeds)
    p = random_spd(d, seed, low=0.1, high=3.0)[0] if seed % 2 else torch.eye(d, dtype=torch.float64)
    direction = -p @ gradient
    first_step = [1.0, 1e-3, 20.0, 0.3][seed % 4]
    evaluations = []

    def evaluate(t):
        evaluations.append(t)
        return value_and_gradient(f, x + t * direction)

    t, value_t, gradient_t, count = strong_wolfe(evaluate, value, gradient, direction, first_step)
    slope = float(gradient @ direction)
    # recompute φ(t) and φ'(t) independently of what the search returned
    value_check, gradient_check = value_and_gradient(f, x + t * direction)
    slope_t = float(gradient_check @ direction)
    assert t > 0, name
    assert value_check <= value + 1e-4 * t * slope, f"{name}: no sufficient decrease"
    assert abs(slope_t) <= 0.9 * abs(slope), f"{name}: slope not flat enough"
    assert math.isclose(value_t, value_check, rel_tol=1e-12, abs_tol=1e-300)
    assert torch.allclose(gradient_t, gradient_check, rtol=1e-12, atol=1e-300)
    assert count == len(evaluations)
    assert t in evaluations


def test_line_search_respects_other_constants():
    f = quadratic_with_condition(4, 100.0, 1)
    x = torch.ones(4, dtype=torch.float64)
    value, gradient = value_and_gradient(f, x)
    direction = -gradient

    def evaluate(t):
        return value_and_gradient(f, x + t * direction)

    for c1, c2 in [(0.1, 0.2), (1e-4, 0.1), (0.3, 0.5)]:
        t, _, gradient_t, _ = strong_wolfe(evaluate, value, gradient, direction, 5.0, c1=c1, c2=c2)
        slope = float(gradient @ direction)
        assert f(x + t * direction).item() <= value + c1 * t * slope
        assert abs(float(gradient_t @ direction)) <= c2 * abs(slope)


def test_line_search_out_of_trials_returns_the_lower_of_start_and_trial():
    def f(x):
        return (x**2).sum()

    x = torch.tensor([1.0, -2.0], dtype=torch.float64)
    value, gradient = value_and_gradient(f, x)
    direction = -gradient

    def evaluate(t):
        return value_and_gradient(f, x + t * direction)

    # t = 10 overshoots (f rises), so the start is kept; t = 0.05 falls but is too short
    assert strong_wolfe(evaluate, value, gradient, direction, 10.0, max_iterations=0)[::3] == (0.0, 1)
    t, value_t, _, count = strong_wolfe(evaluate, value, gradient, direction, 0.05, max_iterations=0)
    assert (t, count) == (0.05, 1)
    assert math.isclose(value_t, 5.0 * 0.9**2, rel_tol=1e-12)


@pytest.mark.parametrize("seed", range(20))
def test_cubic_minimizer_is_the_minimizer_of_the_fitted_cubic(seed):
    g = torch.Generator().manual_seed(seed)
    a, b = sorted(float(v) for v in torch.rand(2, generator=g) * 4 - 2)
    coefficients = torch.randn(4, generator=g, dtype=torch.float64)
    coefficients[3] = coefficients[3].abs() + 0.1  # a cubic c0 + c1 t + c2 t² + c3 t³
    c0, c1, c2, c3 = coefficients.tolist()
    value = lambda t: c0 + c1 * t + c2 * t**2 + c3 * t**3  # noqa: E731
    slope = lambda t: c1 + 2 * c2 * t + 3 * c3 * t**2  # noqa: E731
    # its local minimizer, where the slope is zero and the curvature positive
    disc = (2 * c2) ** 2 - 12 * c3 * c1
    if disc < 0:
        expected = (a + b) / 2  # no minimizer: the midpoint
    else:
        expected = min(max((-2 * c2 + math.sqrt(disc)) / (6 * c3), a), b)
    for ends in [(a, b), (b, a)]:
        got = cubic_minimizer(ends[0], value(ends[0]), slope(ends[0]), ends[1], value(ends[1]), slope(ends[1]))
        assert math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-9)


def test_cubic_minimizer_clips_to_the_given_bounds():
    # φ(t) = (t − 3)², sampled at 0 and 1: the minimizer 3 lies beyond [1.01, 2]
    args = (0.0, 9.0, -6.0, 1.0, 4.0, -4.0)
    assert math.isclose(cubic_minimizer(*args), 1.0)
    assert math.isclose(cubic_minimizer(*args, low=1.01, high=10.0), 3.0)
    assert cubic_minimizer(*args, low=1.01, high=2.0) == 2.0


def test_line_search_bad_arguments_are_named():
    x = torch.tensor([1.0, 2.0], dtype=torch.float64)

    def evaluate(t):
        return value_and_gradient(lambda y: (y**2).sum(), x - t * 2 * x)

    value, gradient, direction = 5.0, 2 * x, -2 * x
    with pytest.raises(TypeError, match="evaluate must be callable"):
        strong_wolfe(None, value, gradient, direction)
    with pytest.raises(TypeError, match="value must be a real"):
        strong_wolfe(evaluate, "5", gradient, direction)
    with pytest.raises(ValueError, match="direction must have the shape of gradient"):
        strong_wolfe(evaluate, value, gradient, torch.ones(3))
    with pytest.raises(ValueError, match="gradient must have 1"):
        strong_wolfe(evaluate, value, torch.ones(2, 2), direction)
    with pytest.raises(ValueError, match="descent direction"):
        strong_wolfe(evaluate, value, gradient, -direction)
    with pytest.raises(ValueError, match="step must be > 0"):
        strong_wolfe(evaluate, value, gradient, direction, 0.0)
    with pytest.raises(ValueError, match=r"c2 must be > 0\.5"):
        strong_wolfe(evaluate, value, gradient, direction, c1=0.5, c2=0.4)
    with pytest.raises(ValueError, match="c2 must be < 1"):
        strong_wolfe(evaluate, value, gradient, direction, c2=1.0)
    with pytest.raises(ValueError, match="tolerance_change must be > 0"):
        strong_wolfe(evaluate, value, gradient, direction, tolerance_change=0.0)
    with pytest.raises(TypeError, match="max_iterations must be an integer"):
        strong_wolfe(evaluate, value, gradient, direction, max_iterations=2.0)
    with pytest.raises(ValueError, match="evaluate must return"):
        strong_wolfe(lambda t: (1.0, torch.ones(3)), value, gradient, direction)
    with pytest.raises(ValueError, match="non-finite value"):
        strong_wolfe(lambda t: (math.inf, gradient), value, gradient, direction)
    with pytest.raises(ValueError, match="a and b must differ"):
        cubic_minimizer(1.0, 0.0, -1.0, 1.0, 0.0, 1.0)
    with pytest.raises(ValueError, match="high must be >="):
        cubic_minimizer(0.0, 0.0, -1.0, 1.0, 0.0, 1.0, low=2.0, high=1.0)


def lbfgs_evaluated_points(
    f, theta, *, lr=1.0, max_iter=20, history_size=100, tolerance_grad=1e-7, tolerance_change=1e-9
):
    """The L-BFGS loop of chapter 8 with our line search; returns every point it evaluates."""
    loss, g = value_and_gradient(f, theta)
    evaluated, pairs, scale = [theta.clone()], [], 1.0
    max_eval = max_iter * 5 // 4
    g_previous = step = None  # set by the first iteration

    def along(start, d):
        def evaluate(t):
            evaluated.append(start.add(d, alpha=t))
            return value_and_gradient(f, evaluated[-1])

        return evaluate

    for iteration in range(1, max_iter + 1):
        if iteration > 1:
            change = g - g_previous
            if change.dot(step) > 1e-10:
                pairs = [*pairs, (step, change)][-history_size:]
                scale = change.dot(step) / change.dot(change)
        if iteration == 1:
            d = -g
        else:  # the two-loop recursion, in torch's order of arithmetic
            q, alphas = -g, []
            for s, y in reversed(pairs):
                alpha = s.dot(q) * (1.0 / y.dot(s))
                q = q.add(y, alpha=-alpha)
                alphas.append(alpha)
            d = q * scale
            for (s, y), alpha in zip(pairs, reversed(alphas), strict=True):
                d = d.add(s, alpha=alpha - y.dot(d) * (1.0 / y.dot(s)))
        g_previous, loss_previous = g, loss
        t = lr * (min(1.0, 1.0 / g.abs().sum()) if iteration == 1 else 1.0)
        if g.dot(d) > -tolerance_change:
            break
        t, loss, g, _ = strong_wolfe(along(theta, d), loss, g, d, t, max_iterations=max_eval - len(evaluated))
        theta = theta.add(d, alpha=t)
        step = d.mul(t)
        if iteration == max_iter or len(evaluated) >= max_eval or g.abs().max() <= tolerance_grad:
            break
        if step.abs().max() <= tolerance_change or abs(loss - loss_previous) < tolerance_change:
            break
    return evaluated


def torch_lbfgs_evaluated_points(f, theta, **options):
    point = theta.clone().requires_grad_(True)
    optimizer = torch.optim.LBFGS([point], line_search_fn="strong_wolfe", **options)
    evaluated = []

    def closure():
        optimizer.zero_grad()
        loss = f(point)
        loss.backward()
        evaluated.append(point.detach().clone())
        return loss

    optimizer.step(closure)
    return evaluated


@pytest.mark.parametrize(("name", "f", "d"), line_search_problems())
@pytest.mark.parametrize("seed", range(10))
def test_lbfgs_with_our_line_search_visits_torchs_points(name, f, d, seed):
    g = torch.Generator().manual_seed(seed)
    theta = torch.randn(d, generator=g, dtype=torch.float64) * 1.5
    options = [
        dict(max_iter=100, tolerance_grad=1e-10, tolerance_change=1e-14),
        dict(max_iter=20),
        dict(lr=0.5, max_iter=60, history_size=3),
        dict(max_iter=8),  # a budget of 10 evaluations
        dict(lr=2.0, max_iter=40, history_size=5),
    ][seed % 5]
    ours = lbfgs_evaluated_points(f, theta, **options)
    theirs = torch_lbfgs_evaluated_points(f, theta, **options)
    assert len(ours) == len(theirs) > 1
    gap = max(float((a - b).abs().max()) for a, b in zip(ours, theirs, strict=True))
    # Most runs agree to the last bit. torch divides a float by a 0-dim tensor as a
    # product with its reciprocal, which can differ from a division in the last bit;
    # a last-bit change in a step can then grow a little along the run.
    assert gap < 1e-11, f"{name}: points differ by {gap:.1e}"
