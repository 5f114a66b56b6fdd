"""Second-order tools: Hessian-vector products, Newton's method and the Hessian's spectrum.

Defined in chapter 8 (*Jacobians, Hessians and second-order methods*); chapter 9
reads the condition number and the learning-rate limit of its quadratic from them.

A function ``f`` here maps a 1-D tensor ``x`` of ``d`` parameters to one number
(the functions in :mod:`lib.functions` do, for a single point of shape ``(2,)``).

* :func:`hessian_vector_product` — ``H v`` by differentiating ``∇f(x) · v`` once more
  (two backward passes, the Hessian is never formed);
* :func:`newton_step` — ``x − (H + δI)⁻¹ ∇f(x)``, one Newton step (damped when ``δ > 0``);
* :func:`newton` — the points of ``steps`` Newton steps from ``x0``;
* :func:`top_eigenvalue` — the largest-magnitude eigenvalue of ``H`` by power iteration
  on Hessian-vector products;
* :func:`largest_stable_learning_rate` — ``2 / λ_max``, the gradient-descent limit on a quadratic;
* :func:`condition_number` — ``κ = λ_max / λ_min`` of a positive-definite Hessian;
* :func:`strong_wolfe` — a step size along a descent direction that satisfies the strong
  Wolfe conditions, the line search of L-BFGS (Nocedal & Wright, Algorithms 3.5 and 3.6);
* :func:`cubic_minimizer` — the minimizer of the cubic through two points with their slopes.
"""

from __future__ import annotations

import math

import torch

from lib import autodiff
from lib.validation import all_finite, as_finite_tensor, check_callable, check_int, check_real

__all__ = [
    "condition_number",
    "cubic_minimizer",
    "hessian_vector_product",
    "largest_stable_learning_rate",
    "newton",
    "newton_step",
    "strong_wolfe",
    "top_eigenvalue",
]


def _point(name: str, x, *, batch: bool = False) -> torch.Tensor:
    x = as_finite_tensor(name, x)
    if x.ndim == 0 or (x.ndim > 1 and not batch):
        expected = "shape (d,) or (..., d)" if batch else "1 dimension"
        raise ValueError(f"{name} must have {expected}, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        x = x.to(torch.float64)
    if x.shape[-1] == 0:
        raise ValueError(f"{name} must hold at least one number")
    return x.detach().clone()


def _values(f, x: torch.Tensor) -> torch.Tensor:
    """``f(x)`` checked to hold one finite number per point of ``x`` (shape ``x.shape[:-1]``)."""
    value = f(x)
    if not isinstance(value, torch.Tensor):
        raise ValueError(f"f must return a tensor, got {type(value).__name__}")
    if value.shape != x.shape[:-1]:
        if x.ndim == 1 and value.numel() == 1:
            value = value.reshape(())
        else:
            expected = "one number" if x.ndim == 1 else f"one number per point, shape {tuple(x.shape[:-1])}"
            raise ValueError(f"f must return a tensor holding {expected}, got shape {tuple(value.shape)}")
    if not all_finite(value):
        raise ValueError("f returned a non-finite value")
    return value


def _gradient(f, x: torch.Tensor, *, create_graph: bool) -> torch.Tensor:
    """``∇f`` at each point of a leaf ``x`` that requires grad (see :func:`lib.autodiff.gradient`)."""
    return autodiff.gradient(_values(f, x), x, create_graph=create_graph)


def _gradient_and_hessian(f, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(∇f(x), ∇²f(x))`` with shapes ``(..., d)`` and ``(..., d, d)``."""
    x = x.detach().requires_grad_(True)
    grad = _gradient(f, x, create_graph=True)
    return grad.detach(), autodiff.hessian(grad, x).detach()


def hessian_vector_product(f, x, v) -> torch.Tensor:
    """Return ``H v``, the Hessian of ``f`` at ``x`` times ``v``, without forming ``H``.

    ``H v = ∇ₓ (∇f(x) · v)``: one backward pass builds ``∇f(x)`` with its own graph,
    a second differentiates the dot product with ``v``. It costs about two gradients,
    for any number of parameters.
    """
    check_callable("f", f)
    x = _point("x", x).requires_grad_(True)
    v = as_finite_tensor("v", v, dtype=x.dtype)
    if v.shape != x.shape:
        raise ValueError(f"v must have the shape of x, {tuple(x.shape)}, got {tuple(v.shape)}")
    grad = _gradient(f, x, create_graph=True)
    return autodiff.gradient(grad @ v.to(x.device), x).detach()


def newton_step(f, x, *, damping: float = 0.0) -> torch.Tensor:
    """Return ``x − (H + δI)⁻¹ ∇f(x)``, one Newton step from ``x`` (``δ = damping``).

    On a quadratic with positive-definite Hessian one step lands on the minimum;
    elsewhere the step jumps to the critical point of the local quadratic model,
    which is a saddle or a maximum when ``H`` is not positive definite.
    Raises ``ValueError`` when ``H + δI`` is singular.

    ``x`` may also be a batch of points, shape ``(..., d)``, when ``f`` maps such a batch
    to one value per point (as the functions of :mod:`lib.functions` do): every point
    then takes its own Newton step.
    """
    check_callable("f", f)
    x = _point("x", x, batch=True)
    damping = check_real("damping", damping, low=0.0)
    grad, hess = _gradient_and_hessian(f, x)
    hess = hess + damping * torch.eye(x.shape[-1], dtype=x.dtype, device=x.device)
    try:
        step = torch.linalg.solve(hess, grad.unsqueeze(-1)).squeeze(-1)
    except RuntimeError:
        raise ValueError(f"the Hessian{' plus damping' if damping else ''} is singular at x; use damping > 0") from None
    if not all_finite(step):
        raise ValueError("the Newton step is not finite: the Hessian is (nearly) singular at x; use damping > 0")
    return x - step


def newton(f, x0, *, steps: int = 10, damping: float = 0.0) -> torch.Tensor:
    """Return the points ``x0, x1, …`` of ``steps`` Newton steps, shape ``(steps + 1, d)``.

    Once the gradient is exactly zero the remaining points repeat the last one.
    Raises ``ValueError`` naming the step at which the Hessian is singular.
    A batch of starts ``x0`` of shape ``(..., d)`` gives points of shape ``(steps + 1, ..., d)``
    (see :func:`newton_step`).
    """
    check_callable("f", f)
    x = _point("x0", x0, batch=True)
    steps = check_int("steps", steps, low=0)
    damping = check_real("damping", damping, low=0.0)
    points = [x]
    for k in range(steps):
        try:
            x = newton_step(f, x, damping=damping)
        except ValueError as err:
            raise ValueError(f"Newton step {k + 1} failed: {err}") from None
        points.append(x)
    return torch.stack(points)


def top_eigenvalue(f, x, *, iterations: int = 100, seed: int = 0) -> float:
    """Largest-magnitude eigenvalue of the Hessian of ``f`` at ``x``, by power iteration.

    Repeats ``v ← H v / ‖H v‖`` from a seeded random ``v`` using only
    :func:`hessian_vector_product`, then returns the Rayleigh quotient ``vᵀ H v``.
    Converges like ``(|λ₂| / |λ₁|)^iterations``.
    """
    check_callable("f", f)
    x = _point("x", x)
    iterations = check_int("iterations", iterations, low=1)
    seed = check_int("seed", seed, low=0)
    generator = torch.Generator().manual_seed(seed)
    v = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
    v = v / v.norm()
    for _ in range(iterations):
        hv = hessian_vector_product(f, x, v)
        norm = hv.norm()
        if norm == 0:
            return 0.0
        v = hv / norm
    return float(v @ hessian_vector_product(f, x, v))


def _eigenvalues(hessian) -> torch.Tensor:
    hessian = as_finite_tensor("hessian", hessian, ndim=2)
    if not hessian.is_floating_point():
        hessian = hessian.to(torch.float64)
    if hessian.shape[0] != hessian.shape[1] or hessian.shape[0] == 0:
        raise ValueError(f"hessian must be a non-empty square matrix, got shape {tuple(hessian.shape)}")
    scale = hessian.abs().max().clamp_min(1.0)
    if not torch.allclose(hessian, hessian.T, rtol=0.0, atol=1e-10 * float(scale)):
        raise ValueError("hessian must be symmetric")
    return torch.linalg.eigvalsh(hessian)


def largest_stable_learning_rate(hessian) -> float:
    """``2 / λ_max``, the largest stable learning rate of gradient descent on ``½ θᵀ H θ``.

    When ``H`` is positive definite, gradient descent on ``½ θᵀ H θ`` converges
    from every start exactly when ``0 < η < 2 / λ_max``. When ``H`` has an
    eigenvalue ≤ 0 no learning rate converges from every start (the error along
    that eigenvector never shrinks), and ``2 / λ_max`` only bounds the rate at
    which the directions of positive curvature stay stable.

    Raises ``ValueError`` when ``H`` has no positive eigenvalue.
    """
    lam_max = float(_eigenvalues(hessian)[-1])
    if lam_max <= 0:
        raise ValueError(f"hessian must have a positive eigenvalue, its largest is {lam_max}")
    return 2.0 / lam_max


def condition_number(hessian) -> float:
    """``κ = λ_max / λ_min`` of a symmetric positive-definite ``hessian``."""
    eigenvalues = _eigenvalues(hessian)
    lam_min, lam_max = float(eigenvalues[0]), float(eigenvalues[-1])
    if lam_min <= 0:
        raise ValueError(f"hessian must be positive definite, its smallest eigenvalue is {lam_min}")
    return lam_max / lam_min


def cubic_minimizer(a, value_a, slope_a, b, value_b, slope_b, *, low=None, high=None) -> float:
    """Minimizer of the cubic through ``(a, φ(a))`` and ``(b, φ(b))`` with slopes ``φ'(a)``, ``φ'(b)``.

    Nocedal & Wright (2006), eq. (3.59), with ``b`` the larger of the two points::

        d₁ = φ'(a) + φ'(b) − 3 (φ(a) − φ(b)) / (a − b)
        d₂ = √(d₁² − φ'(a) φ'(b))
        t  = b − (b − a) (φ'(b) + d₂ − d₁) / (φ'(b) − φ'(a) + 2 d₂)

    clipped to ``[low, high]`` (by default the interval between ``a`` and ``b``).
    When ``d₁² < φ'(a) φ'(b)`` the cubic has no minimizer and the midpoint of
    ``[low, high]`` is returned.
    """
    a, value_a, slope_a = check_real("a", a), check_real("value_a", value_a), check_real("slope_a", slope_a)
    b, value_b, slope_b = check_real("b", b), check_real("value_b", value_b), check_real("slope_b", slope_b)
    if a == b:
        raise ValueError(f"a and b must differ, both are {a}")
    low = min(a, b) if low is None else check_real("low", low)
    high = max(a, b) if high is None else check_real("high", high, low=low)
    if b < a:  # name the points so that b is the larger
        a, value_a, slope_a, b, value_b, slope_b = b, value_b, slope_b, a, value_a, slope_a
    d1 = slope_a + slope_b - 3 * (value_a - value_b) / (a - b)
    d2_squared = d1 * d1 - slope_a * slope_b
    if d2_squared < 0:
        return (low + high) / 2.0
    # torch's float64 square root, as in torch.optim.LBFGS: it can differ from math.sqrt
    # in the last bit, and a step that differs in its last bit can drift along a run
    d2 = float(torch.tensor(d2_squared, dtype=torch.float64).sqrt())
    t = b - (b - a) * ((slope_b + d2 - d1) / (slope_b - slope_a + 2 * d2))
    return min(max(t, low), high)


def _away_from_ends(t, left, right, stalled: bool) -> tuple[float, bool]:
    """Zoom's safeguard: a trial ``t`` within a tenth of ``[left, right]`` of an end, twice in a
    row, or on or beyond an end, moves to a tenth from the nearer end. Returns ``(t, stalled)``."""
    margin = 0.1 * (right - left)
    if not min(right - t, t - left) < margin:
        return t, False
    if stalled or t >= right or t <= left:
        return (right - margin if abs(t - right) < abs(t - left) else left + margin), False
    return t, True


def strong_wolfe(
    evaluate,
    value,
    gradient,
    direction,
    step: float = 1.0,
    *,
    c1: float = 1e-4,
    c2: float = 0.9,
    tolerance_change: float = 1e-9,
    max_iterations: int = 25,
):
    """Line search for a step ``t`` along ``d`` that satisfies the strong Wolfe conditions.

    With ``φ(t) = f(θ + t d)`` and ``φ'(0) = ∇f(θ) · d < 0``, the conditions are

        φ(t) ≤ φ(0) + c₁ t φ'(0)        (sufficient decrease)
        |φ'(t)| ≤ c₂ |φ'(0)|             (the slope has flattened)

    with ``0 < c₁ < c₂ < 1``. Nocedal & Wright (2006), Algorithm 3.5: from ``t = step``,
    grow the step (to the minimizer of the cubic through the last two trials, kept in
    ``[t + 0.01 (t − t_prev), 10 t]``) until a trial satisfies both conditions or the
    interval back to the previous trial must contain such a step; then Algorithm 3.6
    (*zoom*) shrinks that bracket, trying the cubic minimizer of its two ends, moved to
    a tenth of the bracket's width from the nearer end when it falls within that distance
    twice in a row or lands on an end. It stops when the conditions hold, after
    ``max_iterations`` trials beyond the first, or when the bracket's width times
    ``max |dᵢ|`` is below ``tolerance_change``, and returns the lowest point found.
    Constants and safeguards are those of ``torch.optim.LBFGS(line_search_fn="strong_wolfe")``,
    which passes its remaining budget of evaluations as ``max_iterations``.

    ``evaluate(t)`` returns ``(f(θ + t d), ∇f(θ + t d))``; ``value`` and ``gradient``
    are ``f(θ)`` and ``∇f(θ)``; ``direction`` is ``d``. Returns
    ``(t, f(θ + t d), ∇f(θ + t d), number of evaluations)``.
    """
    check_callable("evaluate", evaluate)
    value = check_real("value", value)
    gradient = as_finite_tensor("gradient", gradient, ndim=1)
    direction = as_finite_tensor("direction", direction, ndim=1)
    if direction.shape != gradient.shape:
        raise ValueError(
            f"direction must have the shape of gradient, {tuple(gradient.shape)}, got {tuple(direction.shape)}"
        )
    step = check_real("step", step, low=0.0, low_open=True)
    c1 = check_real("c1", c1, low=0.0, low_open=True)
    c2 = check_real("c2", c2, low=c1, high=1.0, low_open=True, high_open=True)
    tolerance_change = check_real("tolerance_change", tolerance_change, low=0.0, low_open=True)
    max_iterations = check_int("max_iterations", max_iterations, low=0)
    slope = float(gradient.dot(direction))
    if not slope < 0:
        raise ValueError(f"direction must be a descent direction, but gradient · direction = {slope} >= 0")

    def trial(t):  # (t, φ(t), ∇f(θ + t d), φ'(t))
        value_t, gradient_t = evaluate(t)
        if not isinstance(gradient_t, torch.Tensor) or gradient_t.shape != direction.shape:
            raise ValueError(f"evaluate must return (value, gradient) with gradient of shape {tuple(direction.shape)}")
        if not math.isfinite(float(value_t)):
            raise ValueError(f"evaluate returned the non-finite value {float(value_t)} at step {t}")
        return t, float(value_t), gradient_t, float(gradient_t.dot(direction))

    def sufficient_decrease(t, value_t):
        return value_t <= value + c1 * t * slope

    def flat(slope_t):
        return abs(slope_t) <= -c2 * slope

    # Algorithm 3.5: grow the step until it satisfies the conditions or brackets a step that does
    previous, new, iterations = (0.0, value, gradient, slope), trial(step), 0
    bracket = None
    while iterations < max_iterations:
        t, value_t, _, slope_t = new
        # torch compares with the previous trial from the third trial on (N&W: from the second)
        if not sufficient_decrease(t, value_t) or (iterations > 1 and value_t >= previous[1]):
            bracket = [previous, new]
            break
        if flat(slope_t):
            return t, value_t, new[2], iterations + 1
        if slope_t >= 0:
            bracket = [previous, new]
            break
        t_previous, value_previous, _, slope_previous = previous
        cubic = (t_previous, value_previous, slope_previous, t, value_t, slope_t)
        larger = cubic_minimizer(*cubic, low=t + 0.01 * (t - t_previous), high=t * 10)
        previous, new, iterations = new, trial(larger), iterations + 1
    if bracket is None:  # out of iterations: the better of θ and the last trial
        low_end = (0.0, value, gradient, slope) if value <= new[1] else new
        return low_end[0], low_end[1], low_end[2], iterations + 1

    # Algorithm 3.6 (zoom): shrink the bracket; `low` is its end with the lower value
    d_norm = float(direction.abs().max())
    low, high = (0, 1) if bracket[0][1] <= bracket[1][1] else (1, 0)
    stalled = False
    while iterations < max_iterations:
        left, right = sorted((bracket[0][0], bracket[1][0]))
        if abs(bracket[1][0] - bracket[0][0]) * d_norm < tolerance_change:
            break
        (a, value_a, _, slope_a), (b, value_b, _, slope_b) = bracket
        t = cubic_minimizer(a, value_a, slope_a, b, value_b, slope_b)
        t, stalled = _away_from_ends(t, left, right, stalled)
        new, iterations = trial(t), iterations + 1
        _, value_t, _, slope_t = new
        if not sufficient_decrease(t, value_t) or value_t >= bracket[low][1]:
            bracket[high] = new
            low, high = (0, 1) if bracket[0][1] <= bracket[1][1] else (1, 0)
        else:
            done = flat(slope_t)
            if not done and slope_t * (bracket[high][0] - bracket[low][0]) >= 0:
                bracket[high] = bracket[low]
            bracket[low] = new
            if done:
                break
    t, value_t, gradient_t, _ = bracket[low]
    return t, value_t, gradient_t, iterations + 1
