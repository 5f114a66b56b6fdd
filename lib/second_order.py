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
* :func:`condition_number` — ``κ = λ_max / λ_min`` of a positive-definite Hessian.
"""

from __future__ import annotations

import torch

from lib import autodiff
from lib.validation import all_finite, as_finite_tensor, check_callable, check_int, check_real

__all__ = [
    "condition_number",
    "hessian_vector_product",
    "largest_stable_learning_rate",
    "newton",
    "newton_step",
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
