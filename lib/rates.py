"""Convergence rates of gradient descent, heavy ball and Nesterov on a quadratic.

Defined in chapter 9 (*Momentum and Nesterov*). On ``f(x) = ½ xᵀ A x`` every method
here is linear in the iterates, so along each eigenvector of ``A`` (eigenvalue ``λ``)
the error shrinks by a fixed factor per step: the method's *rate* is the worst such
factor over the eigenvalues, i.e. the spectral radius of its iteration matrix.

* :func:`gd_rate` — gradient descent ``x ← x − η∇f``: ``max |1 − ηλ|``;
* :func:`heavy_ball_rate` — ``x_{k+1} = x_k − η∇f(x_k) + β(x_k − x_{k−1})``: the largest
  root modulus of ``z² − (1 + β − ηλ) z + β``;
* :func:`nesterov_rate` — look-ahead momentum: the largest root modulus of
  ``z² − (1 + β)(1 − ηλ) z + β(1 − ηλ)``;
* :func:`gd_optimal` — ``η = 2 / (λ₁ + λₙ)``, rate ``(κ − 1) / (κ + 1)``;
* :func:`heavy_ball_optimal` — ``η = (2 / (√λ₁ + √λₙ))²``,
  ``β = ((√λₙ − √λ₁) / (√λₙ + √λ₁))²``, rate ``(√κ − 1) / (√κ + 1)``;
* :func:`contraction_rate` — the rate measured from a run: the geometric mean of
  ``e_{k+1} / e_k`` over the late steps of a sequence of errors.

``λ₁`` is the smallest eigenvalue, ``λₙ`` the largest and ``κ = λₙ / λ₁``.
"""

from __future__ import annotations

import cmath
import math
from typing import NamedTuple

import torch

from lib.validation import as_finite_tensor, check_real

__all__ = [
    "Settings",
    "contraction_rate",
    "gd_optimal",
    "gd_rate",
    "heavy_ball_optimal",
    "heavy_ball_rate",
    "nesterov_rate",
]


class Settings(NamedTuple):
    """Step size ``lr``, momentum ``momentum`` and the rate they achieve."""

    lr: float
    momentum: float
    rate: float


def _eigenvalues(eigenvalues) -> list[float]:
    if isinstance(eigenvalues, (int, float)) and not isinstance(eigenvalues, bool):
        eigenvalues = [eigenvalues]
    values = as_finite_tensor("eigenvalues", eigenvalues, dtype=torch.float64, ndim=(0, 1)).reshape(-1)
    if values.numel() == 0:
        raise ValueError("eigenvalues must hold at least one number")
    if bool((values < 0).any()):
        raise ValueError("eigenvalues must be >= 0 (the quadratic must be convex)")
    return values.tolist()


def _root_modulus(b: float, c: float) -> float:
    """Largest ``|z|`` over the roots of ``z² − b z + c``."""
    disc = cmath.sqrt(b * b - 4 * c)
    return max(abs((b + disc) / 2), abs((b - disc) / 2))


def gd_rate(lr: float, eigenvalues) -> float:
    """Rate of gradient descent with step ``lr``: ``max over λ of |1 − lr·λ|``."""
    lr = check_real("lr", lr, low=0.0)
    return max(abs(1 - lr * lam) for lam in _eigenvalues(eigenvalues))


def heavy_ball_rate(lr: float, momentum: float, eigenvalues) -> float:
    """Rate of the heavy-ball method (Polyak momentum; torch's ``SGD(momentum=β)``)."""
    lr = check_real("lr", lr, low=0.0)
    beta = check_real("momentum", momentum, low=0.0)
    return max(_root_modulus(1 + beta - lr * lam, beta) for lam in _eigenvalues(eigenvalues))


def nesterov_rate(lr: float, momentum: float, eigenvalues) -> float:
    """Rate of Nesterov's method (torch's ``SGD(momentum=β, nesterov=True)``)."""
    lr = check_real("lr", lr, low=0.0)
    beta = check_real("momentum", momentum, low=0.0)
    return max(_root_modulus((1 + beta) * (1 - lr * lam), beta * (1 - lr * lam)) for lam in _eigenvalues(eigenvalues))


def _extremes(lambda_min, lambda_max) -> tuple[float, float]:
    lambda_min = check_real("lambda_min", lambda_min, low=0.0, low_open=True)
    lambda_max = check_real("lambda_max", lambda_max, low=0.0, low_open=True)
    if lambda_max < lambda_min:
        raise ValueError(f"lambda_max must be >= lambda_min, got {lambda_max} < {lambda_min}")
    return lambda_min, lambda_max


def gd_optimal(lambda_min: float, lambda_max: float) -> Settings:
    """Best constant step for gradient descent: ``η = 2 / (λ₁ + λₙ)``, rate ``(κ − 1) / (κ + 1)``."""
    lambda_min, lambda_max = _extremes(lambda_min, lambda_max)
    kappa = lambda_max / lambda_min
    return Settings(lr=2 / (lambda_min + lambda_max), momentum=0.0, rate=(kappa - 1) / (kappa + 1))


def heavy_ball_optimal(lambda_min: float, lambda_max: float) -> Settings:
    """Best heavy-ball settings (Polyak, 1964) and their rate ``(√κ − 1) / (√κ + 1)``."""
    lambda_min, lambda_max = _extremes(lambda_min, lambda_max)
    lo, hi = math.sqrt(lambda_min), math.sqrt(lambda_max)
    root_kappa = hi / lo
    return Settings(
        lr=(2 / (lo + hi)) ** 2,
        momentum=((hi - lo) / (hi + lo)) ** 2,
        rate=(root_kappa - 1) / (root_kappa + 1),
    )


def contraction_rate(errors, *, start: float = 0.5) -> float:
    """Measured rate: ``(e_K / e_S)^(1 / (K − S))`` for errors ``e_0 … e_K`` and ``S = ⌊start·K⌋``.

    That is the geometric mean of the per-step ratios ``e_{k+1} / e_k`` over the last
    ``1 − start`` of the run, where the slowest mode dominates. The errors must be positive.
    """
    errors = as_finite_tensor("errors", errors, dtype=torch.float64, ndim=1)
    if errors.numel() < 2:
        raise ValueError(f"errors must hold at least two values, got {errors.numel()}")
    if bool((errors <= 0).any()):
        raise ValueError("errors must be positive (stop the run before they underflow to 0)")
    start = check_real("start", start, low=0.0, high=1.0, high_open=True)
    last = errors.numel() - 1
    first = min(math.floor(start * last), last - 1)
    return float((errors[last] / errors[first]) ** (1.0 / (last - first)))
