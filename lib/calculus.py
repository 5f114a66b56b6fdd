"""Derivatives from function values alone: finite differences and the gradient check.

Defined in chapter 2 (*Gradients and automatic differentiation*), which uses them to
check hand-derived and autograd gradients; chapter 4 uses :func:`derivative` and
:func:`second_derivative` for the second-derivative test, and chapter 8 checks
Hessians against :func:`numerical_hessian`.

Every function takes ``f`` and a point ``x`` and only ever *evaluates* ``f``:

* :func:`derivative` — ``f'(x) ≈ (f(x + h) − f(x − h)) / 2h`` for ``f: ℝ → ℝ``;
* :func:`second_derivative` — ``f''(x) ≈ (f(x + h) − 2f(x) + f(x − h)) / h²``;
* :func:`numerical_gradient` — the central difference along each coordinate;
* :func:`directional_derivative` — ``D_u f(x) ≈ (f(x + hu) − f(x − hu)) / 2h``;
* :func:`numerical_hessian` — the second mixed differences ``∂²f/∂x_i∂x_j``;
* :func:`gradient_check` — compares a gradient (by hand or by autograd) with
  :func:`numerical_gradient` and returns their relative error.

Points are handed to ``f`` as float64 tensors (0-d for the one-variable helpers), so
``f`` may use torch functions or plain arithmetic; ``f`` must return one real number.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch

from lib import autodiff
from lib.validation import as_finite_tensor, check_callable, check_real

__all__ = [
    "GradientCheck",
    "derivative",
    "directional_derivative",
    "gradient_check",
    "numerical_gradient",
    "numerical_hessian",
    "second_derivative",
]


def _step(h) -> float:
    return check_real("h", h, low=0.0, low_open=True)


def _value(f, x: torch.Tensor) -> float:
    """``f(x)`` as a Python float; ``f`` must return one finite real number."""
    value = f(x)
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"f must return a single number, got a tensor of shape {tuple(value.shape)}")
        value = value.detach().item()
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"f must return a real number, got {type(value).__name__}") from None
    if not math.isfinite(value):
        raise ValueError(f"f returned a non-finite value ({value}) near x")
    return value


def _point(x) -> torch.Tensor:
    return as_finite_tensor("x", x, dtype=torch.float64).detach().clone()


def derivative(f, x, *, h: float = 1e-6, method: str = "central") -> float:
    """Finite-difference estimate of ``f'(x)`` for a function of one variable.

    ``method="central"``: ``(f(x + h) − f(x − h)) / 2h``, error of order ``h²``;
    ``"forward"``: ``(f(x + h) − f(x)) / h`` and ``"backward"``: ``(f(x) − f(x − h)) / h``,
    error of order ``h``.
    """
    check_callable("f", f)
    x = torch.tensor(check_real("x", x), dtype=torch.float64)
    h = _step(h)
    if method == "central":
        return (_value(f, x + h) - _value(f, x - h)) / (2 * h)
    if method == "forward":
        return (_value(f, x + h) - _value(f, x)) / h
    if method == "backward":
        return (_value(f, x) - _value(f, x - h)) / h
    raise ValueError(f"method must be 'central', 'forward' or 'backward', got {method!r}")


def second_derivative(f, x, *, h: float = 1e-4) -> float:
    """Finite-difference estimate ``f''(x) ≈ (f(x + h) − 2f(x) + f(x − h)) / h²``."""
    check_callable("f", f)
    x = torch.tensor(check_real("x", x), dtype=torch.float64)
    h = _step(h)
    return (_value(f, x + h) - 2 * _value(f, x) + _value(f, x - h)) / h**2


def numerical_gradient(f, x, *, h: float = 1e-6) -> torch.Tensor:
    """Central-difference gradient of a scalar function ``f`` at ``x`` (any shape).

    Entry ``i`` is ``(f(x + h e_i) − f(x − h e_i)) / 2h``: two evaluations of ``f`` per
    coordinate. Returns a float64 tensor shaped like ``x``, on ``x``'s device.
    """
    check_callable("f", f)
    x = _point(x)
    h = _step(h)
    grad = torch.zeros_like(x)
    flat_x, flat_grad = x.view(-1), grad.view(-1)
    for i in range(flat_x.numel()):
        original = flat_x[i].item()
        flat_x[i] = original + h
        plus = _value(f, x)
        flat_x[i] = original - h
        minus = _value(f, x)
        flat_x[i] = original
        flat_grad[i] = (plus - minus) / (2 * h)
    return grad


def directional_derivative(f, x, direction, *, h: float = 1e-6, normalize: bool = True) -> float:
    """Finite-difference estimate of the rate of change of ``f`` at ``x`` along ``direction``.

    ``D_u f(x) ≈ (f(x + h u) − f(x − h u)) / 2h`` with ``u = direction / ‖direction‖``
    (or ``u = direction`` itself when ``normalize=False``). For a differentiable ``f``
    this equals ``∇f(x) · u``.
    """
    check_callable("f", f)
    x = _point(x)
    u = as_finite_tensor("direction", direction, dtype=torch.float64).to(x.device)
    if u.shape != x.shape:
        raise ValueError(f"direction must have the shape of x, {tuple(x.shape)}, got {tuple(u.shape)}")
    if not isinstance(normalize, bool):
        raise TypeError(f"normalize must be True or False, got {type(normalize).__name__}")
    h = _step(h)
    norm = torch.linalg.vector_norm(u).item()
    if norm == 0.0:
        raise ValueError("direction must not be the zero vector")
    if normalize:
        u = u / norm
    return (_value(f, x + h * u) - _value(f, x - h * u)) / (2 * h)


def numerical_hessian(f, x, *, h: float = 1e-4) -> torch.Tensor:
    """Finite-difference Hessian of a scalar function ``f`` at a vector ``x`` of length ``d``.

    Diagonal: ``(f(x + h e_i) − 2f(x) + f(x − h e_i)) / h²``; off the diagonal:
    ``(f(x + h e_i + h e_j) − f(x + h e_i − h e_j) − f(x − h e_i + h e_j) + f(x − h e_i − h e_j)) / 4h²``.
    Returns a symmetric ``(d, d)`` float64 tensor.
    """
    check_callable("f", f)
    x = _point(x)
    if x.ndim != 1 or x.numel() == 0:
        raise ValueError(f"x must be a non-empty vector, got shape {tuple(x.shape)}")
    h = _step(h)
    d = x.numel()
    eye = torch.eye(d, dtype=torch.float64, device=x.device) * h
    center = _value(f, x)
    hessian = torch.zeros(d, d, dtype=torch.float64, device=x.device)
    for i in range(d):
        hessian[i, i] = (_value(f, x + eye[i]) - 2 * center + _value(f, x - eye[i])) / h**2
        for j in range(i):
            corners = (
                _value(f, x + eye[i] + eye[j])
                - _value(f, x + eye[i] - eye[j])
                - _value(f, x - eye[i] + eye[j])
                + _value(f, x - eye[i] - eye[j])
            )
            hessian[i, j] = hessian[j, i] = corners / (4 * h**2)
    return hessian


class GradientCheck(NamedTuple):
    """What :func:`gradient_check` found: both gradients and their relative error."""

    analytic: torch.Tensor
    numerical: torch.Tensor
    relative_error: float


def _autograd_gradient(f, x: torch.Tensor) -> torch.Tensor:
    point = x.clone().requires_grad_(True)
    value = f(point)
    if not isinstance(value, torch.Tensor) or value.numel() != 1 or not value.requires_grad:
        raise TypeError("f must return a scalar tensor that depends on x through torch operations; or pass grad=")
    return autodiff.gradient(value, point).detach()


def gradient_check(f, x, *, grad=None, h: float = 1e-6) -> GradientCheck:
    """Compare a gradient of ``f`` at ``x`` with :func:`numerical_gradient`.

    ``grad`` is the gradient to test (e.g. derived by hand); when it is ``None`` the
    gradient comes from ``torch.autograd``. The relative error is
    ``‖g − ĝ‖ / max(‖g‖, ‖ĝ‖)`` (0 when both are zero); values around ``1e-8`` or
    below mean the gradient is right, values near 1 mean it is wrong.
    """
    check_callable("f", f)
    x = _point(x)
    if grad is None:
        analytic = _autograd_gradient(f, x)
    else:
        analytic = as_finite_tensor("grad", grad, dtype=torch.float64).to(x.device)
        if analytic.shape != x.shape:
            raise ValueError(f"grad must have the shape of x, {tuple(x.shape)}, got {tuple(analytic.shape)}")
    numerical = numerical_gradient(f, x, h=h)
    scale = max(torch.linalg.vector_norm(analytic).item(), torch.linalg.vector_norm(numerical).item())
    error = 0.0 if scale == 0.0 else torch.linalg.vector_norm(analytic - numerical).item() / scale
    return GradientCheck(analytic, numerical, error)
