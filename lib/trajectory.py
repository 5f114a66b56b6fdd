"""Run an optimizer on a function of a few variables and keep its path.

Defined in chapter 5 (*Gradient descent*). :func:`minimize` drives any
``torch.optim``-style optimizer (a name, a class or a factory for
:func:`lib.optimizers.create`) on a test function from :mod:`lib.functions` and returns a
:class:`Trajectory` with every point, value and gradient, for the path pictures
of chapters 5, 8, 9 and 10. A run whose iterates or values stop being finite
raises :class:`lib.loops.DivergenceError`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lib import autodiff, loops
from lib.validation import all_finite, as_finite_tensor, check_callable, check_int

__all__ = ["Trajectory", "minimize"]


@dataclass(frozen=True, eq=False)
class Trajectory:
    """An optimizer's path: ``points[k]`` is the iterate after ``k`` steps (``points[0]`` is ``x0``).

    ``values[k] = f(points[k])`` and ``gradients[k] = ∇f(points[k])``. All are float64 CPU tensors;
    ``points`` and ``gradients`` have shape ``(steps + 1, *x0.shape)`` and ``values`` ``(steps + 1,)``.
    """

    points: torch.Tensor
    values: torch.Tensor
    gradients: torch.Tensor

    def __len__(self) -> int:
        return self.points.shape[0]


def _diverged(what: str, step: int, last: float | None) -> loops.DivergenceError:
    return loops.diverged(what, f"step {step}", step, last)


def _value_and_gradient(f, x: torch.Tensor, step: int, last: float | None):
    from lib.functions import NonFiniteValueError

    try:
        value = f(x)
    except NonFiniteValueError:
        raise _diverged("f(x) is not finite", step, last) from None
    except (RuntimeError, IndexError) as err:
        if isinstance(err, torch.OutOfMemoryError):
            raise
        raise ValueError(f"f failed on a point shaped like x0 {tuple(x.shape)}: {err}") from err
    if not isinstance(value, torch.Tensor) or value.numel() != 1:
        shape = tuple(value.shape) if isinstance(value, torch.Tensor) else type(value).__name__
        raise ValueError(f"f must map the point x0 to one number (a tensor), got {shape}")
    value = value.reshape(())
    if not all_finite(value):
        raise _diverged(f"f(x) = {float(value.detach())}", step, last)
    grad = autodiff.gradient(value, x)
    if not all_finite(grad):
        raise _diverged("the gradient is not finite", step, last)
    return value.detach(), grad.detach()


def minimize(f, x0, *, optimizer="SGD", steps: int = 100, scheduler=None, **optimizer_kwargs) -> Trajectory:
    """Take ``steps`` optimizer steps on ``f`` from ``x0`` and return the :class:`Trajectory`.

    ``f`` maps a point (a float64 tensor shaped like ``x0``: ``(d,)``, or ``()`` for a
    1-D function) to one number. ``optimizer`` is a name (``"SGD"``, ``"Adam"``, ...), a
    class such as ``torch.optim.Adam`` or a factory, built by :func:`lib.optimizers.create`
    with ``optimizer_kwargs`` (e.g. ``lr=0.1``). ``scheduler`` (optional) is a schedule
    class or a factory ``optimizer -> schedule`` for :func:`lib.schedules.create`, stepped
    after every step (a ReduceLROnPlateau is given ``f``). Raises
    :class:`lib.loops.DivergenceError` when a point, value or gradient stops being finite.

    Example: ``minimize(rosenbrock(), [-1.5, 2.0], optimizer="Adam", steps=500, lr=0.05)``.
    """
    check_callable("f", f)
    x0 = as_finite_tensor("x0", x0, dtype=torch.float64, ndim=(0, 1))
    steps = check_int("steps", steps, low=0)
    x = x0.detach().clone().requires_grad_(True)
    opt, sched = loops.build(optimizer, [x], optimizer_kwargs, scheduler)
    points, values, gradients = [], [], []
    last = None

    def closure():  # for optimizers that re-evaluate f, such as L-BFGS
        opt.zero_grad()
        value, x.grad = _value_and_gradient(f, x, len(points), last)
        return value

    for k in range(steps + 1):
        if not all_finite(x):
            raise _diverged("the iterate is not finite", k, last)
        value, grad = _value_and_gradient(f, x, k, last)
        points.append(x.detach().clone())
        values.append(value)
        gradients.append(grad)
        last = float(value)
        if k == steps:
            break
        x.grad = grad.clone()
        loops.step(opt, sched, closure, last)
    return Trajectory(
        torch.stack(points).to("cpu", torch.float64),
        torch.stack(values).to("cpu", torch.float64),
        torch.stack(gradients).to("cpu", torch.float64),
    )
