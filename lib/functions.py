"""Test functions with known minimizers, and calculus helpers.

Defined in chapter 4 (*Critical points*); chapters 5, 8, 9 and 10 draw optimizer
paths on them. Each function is an :class:`Objective`: a torch-differentiable
callable that maps points of shape ``(..., 2)`` to values of shape ``(...)``
(the 1-D :func:`bumpy` maps ``(...)`` to ``(...)``), with ``.name``,
``.formula`` (LaTeX), ``.minimizers`` (a list of float64 tensors), ``.minimum``
(the value there), and ``.xlim``/``.ylim`` (a good plotting window).

* :func:`quadratic` (a chosen condition number, optionally rotated),
  :func:`rosenbrock`, :func:`beale`, :func:`himmelblau` (four minima),
  :func:`saddle`, :func:`ravine`, :func:`bumpy` (several local minima).
* :func:`gradient` (autograd), :func:`hessian` and
  :func:`classify_critical_point` (from the signs of the Hessian's eigenvalues).
"""

from __future__ import annotations

import math

import torch

from lib import autodiff
from lib.validation import all_finite, check_callable, check_real

__all__ = [
    "NonFiniteValueError",
    "Objective",
    "beale",
    "bumpy",
    "classify_critical_point",
    "gradient",
    "hessian",
    "himmelblau",
    "quadratic",
    "ravine",
    "rosenbrock",
    "saddle",
]


class NonFiniteValueError(ValueError):
    """An objective's value (or gradient) overflowed to infinity or NaN at finite points."""


def _as_points(name: str, x, dim: int) -> torch.Tensor:
    """``x`` as a floating tensor (autograd intact) of points: shape ``(..., 2)``, or any shape when ``dim == 1``."""
    if isinstance(x, torch.Tensor):
        tensor = x if x.is_floating_point() else x.to(torch.float64)
    elif isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be a tensor or a sequence of numbers, got {type(x).__name__}")
    else:
        try:
            tensor = torch.as_tensor(x, dtype=torch.float64)
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(f"{name} must be a tensor or a sequence of numbers: {err}") from None
    if tensor.is_complex():
        raise TypeError(f"{name} must hold real numbers, got dtype {tensor.dtype}")
    if dim == 2 and (tensor.ndim == 0 or tensor.shape[-1] != 2):
        raise ValueError(f"{name} must have shape (..., 2): one point (x1, x2) per row, got {tuple(tensor.shape)}")
    if not all_finite(tensor):
        raise ValueError(f"{name} must contain only finite values")
    return tensor


class Objective:
    """A test function with known minimizers; call it on a tensor of points.

    ``f(x)`` checks that ``x`` is finite with the right shape and raises
    :class:`NonFiniteValueError` (a ``ValueError``) if the value overflows.
    """

    def __init__(self, name, formula, fn, *, minimizers, minimum, xlim, ylim, dim=2, saddle_points=()):
        self.name, self.formula, self.dim = name, formula, dim
        self._fn = fn
        self.minimizers = [torch.tensor(m, dtype=torch.float64) for m in minimizers]
        self.minimum = float(minimum)
        self.saddle_points = [torch.tensor(s, dtype=torch.float64) for s in saddle_points]
        self.xlim, self.ylim = tuple(map(float, xlim)), tuple(map(float, ylim))

    def __call__(self, x) -> torch.Tensor:
        x = _as_points("x", x, self.dim)
        value = self._fn(x)
        if not all_finite(value):
            raise NonFiniteValueError(f"{self.name}: the value overflowed (is not finite) at some of the points x")
        return value

    def __repr__(self) -> str:
        return f"<Objective {self.name}: minimum {self.minimum:g} at {[m.tolist() for m in self.minimizers]}>"


def quadratic(condition_number: float = 10.0, angle: float = 0.0, scale: float = 1.0) -> Objective:
    r"""$f(x) = \tfrac12 x^\top A x$ with $A = R_\varphi \operatorname{diag}(s, s\kappa) R_\varphi^\top$.

    $\kappa$ = ``condition_number`` (≥ 1) is the ratio of the Hessian's eigenvalues
    $s$ = ``scale`` and $s\kappa$; $R_\varphi$ rotates by ``angle`` radians (0: the
    steep direction is $x_2$). Minimum 0 at the origin; ``.hessian`` is $A$.
    Chapter 9's $0.1x_1^2 + 2x_2^2$ is ``quadratic(condition_number=20, scale=0.2)``.
    """
    kappa = check_real("condition_number", condition_number, low=1.0)
    angle = check_real("angle", angle)
    scale = check_real("scale", scale, low=0.0, low_open=True)
    c, s = math.cos(angle), math.sin(angle)
    rotation = torch.tensor([[c, -s], [s, c]], dtype=torch.float64)
    matrix = rotation @ torch.diag(torch.tensor([scale, scale * kappa], dtype=torch.float64)) @ rotation.T
    matrix = (matrix + matrix.T) / 2

    def fn(x):
        a = matrix.to(device=x.device, dtype=x.dtype)
        return 0.5 * torch.einsum("...i,ij,...j->...", x, a, x)

    f = Objective(
        f"quadratic (κ = {kappa:g})",
        r"\tfrac12 x^\top A x",
        fn,
        minimizers=[(0.0, 0.0)],
        minimum=0.0,
        xlim=(-6, 6),
        ylim=(-4, 4),
    )
    f.hessian = matrix
    return f


def rosenbrock(a: float = 1.0, b: float = 100.0) -> Objective:
    r"""Rosenbrock's banana valley $f(x, y) = (a - x)^2 + b\,(y - x^2)^2$; minimum 0 at $(a, a^2)$."""
    a = check_real("a", a)
    b = check_real("b", b, low=0.0, low_open=True)
    return Objective(
        "Rosenbrock",
        r"(a - x_1)^2 + b\,(x_2 - x_1^2)^2",
        lambda p: (a - p[..., 0]) ** 2 + b * (p[..., 1] - p[..., 0] ** 2) ** 2,
        minimizers=[(a, a * a)],
        minimum=0.0,
        xlim=(min(-2.0, a - 1.0), max(2.0, a + 1.0)),
        ylim=(-1.0, max(3.0, a * a + 1.0)),
    )


def beale() -> Objective:
    r"""Beale's function $(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2$; minimum 0 at $(3, 0.5)$."""

    def fn(p):
        x, y = p[..., 0], p[..., 1]
        return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y**2) ** 2 + (2.625 - x + x * y**3) ** 2

    return Objective(
        "Beale",
        r"(1.5 - x_1 + x_1x_2)^2 + (2.25 - x_1 + x_1x_2^2)^2 + (2.625 - x_1 + x_1x_2^3)^2",
        fn,
        minimizers=[(3.0, 0.5)],
        minimum=0.0,
        xlim=(-4.5, 4.5),
        ylim=(-4.5, 4.5),
    )


HIMMELBLAU_MINIMIZERS = [
    (3.0, 2.0),
    (-2.805118086952745, 3.131312518250573),
    (-3.779310253377747, -3.2831859912861696),
    (3.5844283403304917, -1.8481265269644036),
]
"""The four minimizers of Himmelblau's function, to double precision (roots of its gradient)."""


def himmelblau() -> Objective:
    r"""Himmelblau's function $(x^2 + y - 11)^2 + (x + y^2 - 7)^2$: four minima, each of value 0."""
    return Objective(
        "Himmelblau",
        r"(x_1^2 + x_2 - 11)^2 + (x_1 + x_2^2 - 7)^2",
        lambda p: (p[..., 0] ** 2 + p[..., 1] - 11) ** 2 + (p[..., 0] + p[..., 1] ** 2 - 7) ** 2,
        minimizers=HIMMELBLAU_MINIMIZERS,
        minimum=0.0,
        xlim=(-5, 5),
        ylim=(-5, 5),
    )


def saddle() -> Objective:
    r"""The saddle $f(x, y) = x^2 - y^2$: a critical point at the origin that is no minimum.

    It is unbounded below, so ``.minimizers`` is empty and ``.minimum`` is $-\infty$;
    ``.saddle_points`` holds the origin.
    """
    return Objective(
        "saddle",
        r"x_1^2 - x_2^2",
        lambda p: p[..., 0] ** 2 - p[..., 1] ** 2,
        minimizers=[],
        minimum=-math.inf,
        xlim=(-2, 2),
        ylim=(-2, 2),
        saddle_points=[(0.0, 0.0)],
    )


def ravine() -> Objective:
    r"""A narrow, curved ravine $f(x, y) = 0.1\,x^2 + 10\,(y - \tfrac12 \sin x)^2$; minimum 0 at the origin.

    Across the ravine the walls are 100 times steeper than along its floor, and the
    floor $y = \tfrac12 \sin x$ bends, so the steep direction changes from place to place.
    """
    return Objective(
        "ravine",
        r"0.1\,x_1^2 + 10\,(x_2 - \tfrac12\sin x_1)^2",
        lambda p: 0.1 * p[..., 0] ** 2 + 10.0 * (p[..., 1] - 0.5 * torch.sin(p[..., 0])) ** 2,
        minimizers=[(0.0, 0.0)],
        minimum=0.0,
        xlim=(-4, 4),
        ylim=(-2, 2),
    )


BUMPY_MINIMIZER = -0.5122140283561128
BUMPY_MINIMUM = -0.9731804794973067


def bumpy() -> Objective:
    r"""A 1-D function with several local minima: $f(x) = \sin 3x + 0.1\,x^2$.

    It maps a tensor of any shape to one of the same shape. On ``xlim = (-5, 5)``
    it has five local minima; the global one is at $x^* \approx -0.51221$ with
    $f(x^*) \approx -0.97318$ (``.minimizers``, ``.minimum``). ``.ylim`` is a
    window for the values.
    """
    return Objective(
        "bumpy",
        r"\sin 3x + 0.1\,x^2",
        lambda x: torch.sin(3 * x) + 0.1 * x**2,
        minimizers=[BUMPY_MINIMIZER],
        minimum=BUMPY_MINIMUM,
        xlim=(-5, 5),
        ylim=(-1.5, 3.5),
        dim=1,
    )


def _values(f, x: torch.Tensor) -> torch.Tensor:
    value = f(x)
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"f must return a tensor, got {type(value).__name__}")
    if not all_finite(value):
        raise NonFiniteValueError("f is not finite at x")
    return value


def gradient(f, x) -> torch.Tensor:
    r"""$\nabla f(x)$ by autograd, with the shape of ``x``.

    ``x`` may hold many points (shape ``(..., 2)`` for a 2-D function): each gets its own gradient.
    """
    check_callable("f", f)
    x = _as_points("x", x, dim=1).detach().clone().requires_grad_(True)
    grad = autodiff.gradient(_values(f, x), x)
    if not all_finite(grad):
        raise NonFiniteValueError("the gradient of f is not finite at x")
    return grad.detach()


def _single_point(x) -> torch.Tensor:
    x = _as_points("x", x, dim=1)
    if x.ndim > 1:
        raise ValueError(f"x must be one point: a number or a vector, got shape {tuple(x.shape)}")
    return x.detach()


def hessian(f, x) -> torch.Tensor:
    r"""The Hessian $\nabla^2 f(x)$ at one point ``x`` (shape ``()`` or ``(d,)``), by autograd (:mod:`lib.autodiff`).

    Returns shape ``()`` for a scalar ``x`` and ``(d, d)`` for a vector.
    """
    check_callable("f", f)
    x = _single_point(x)
    z = x.reshape(-1).clone().requires_grad_(True)  # shape (d,), or (1,) for one variable
    value = _values(f, z.reshape(x.shape))
    if value.ndim != 0:
        raise ValueError(f"f must map one point to one number, got a value of shape {tuple(value.shape)}")
    h = autodiff.hessian(autodiff.gradient(value, z, create_graph=True), z).detach().reshape(x.shape * 2)
    if not all_finite(h):
        raise NonFiniteValueError("the Hessian of f is not finite at x")
    return h


def classify_critical_point(f, x, tol: float = 1e-8, *, grad_tol: float = 1e-6) -> str:
    """Classify the critical point ``x`` of ``f`` by the signs of the Hessian's eigenvalues.

    Returns ``"minimum"`` (all eigenvalues > ``tol``), ``"maximum"`` (all < ``-tol``),
    ``"saddle"`` (some of each sign) or ``"degenerate"`` (an eigenvalue within ``tol``
    of 0, where the second-derivative test says nothing). Raises ``ValueError`` if
    the gradient at ``x`` is larger than ``grad_tol``: ``x`` is not a critical point.
    """
    check_callable("f", f)
    tol = check_real("tol", tol, low=0.0)
    grad_tol = check_real("grad_tol", grad_tol, low=0.0)
    x = _single_point(x)
    slope = float(gradient(f, x).abs().max()) if x.numel() else 0.0
    if slope > grad_tol:
        raise ValueError(f"x is not a critical point of f: the gradient has size {slope:.3g} > grad_tol={grad_tol}")
    h = hessian(f, x)
    eigenvalues = h.reshape(1) if h.ndim == 0 else torch.linalg.eigvalsh((h + h.T) / 2)
    if bool((eigenvalues > tol).all()):
        return "minimum"
    if bool((eigenvalues < -tol).all()):
        return "maximum"
    if bool((eigenvalues > tol).any()) and bool((eigenvalues < -tol).any()):
        return "saddle"
    return "degenerate"
