"""Run an optimizer on a function of a few variables and keep its path.

Defined in chapter 5 (*Gradient descent*). :func:`minimize` drives any
``torch.optim``-style optimizer (by name from :mod:`lib.optimizers`, or a
callable) on a test function from :mod:`lib.functions` and returns a
:class:`Trajectory` with every point, value and gradient, for the path pictures
of chapters 5, 8, 9 and 10. A run whose iterates or values stop being finite
raises :class:`DivergenceError`. :mod:`lib.train` re-exports all three.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from lib.validation import as_finite_tensor, check_int

__all__ = ["DivergenceError", "Trajectory", "build_optimizer", "build_scheduler", "is_plateau", "minimize"]


class DivergenceError(ValueError):
    """An optimization produced a non-finite value: it diverged (a learning rate too large, most often).

    ``.step`` is where it happened and ``.last_finite`` the last finite value (loss) before it, or ``None``.
    """

    def __init__(self, message: str, *, step: int, last_finite: float | None = None) -> None:
        super().__init__(message)
        self.step = step
        self.last_finite = last_finite


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


def build_optimizer(optimizer, params, kwargs: dict) -> torch.optim.Optimizer:
    """``optimizer`` is a name for :func:`lib.optimizers.create` or a callable ``(params, **kwargs) -> Optimizer``."""
    if isinstance(optimizer, str):
        from lib.optimizers import create

        return create(optimizer, params, **kwargs)
    if not callable(optimizer):
        raise TypeError(f"optimizer must be a name such as 'SGD' or a callable, got {type(optimizer).__name__}")
    built = optimizer(params, **kwargs)
    if not isinstance(built, torch.optim.Optimizer):
        raise TypeError(f"optimizer must build a torch.optim.Optimizer, got {type(built).__name__}")
    return built


def build_scheduler(scheduler, optimizer):
    """``scheduler`` is ``None`` or a callable ``optimizer -> scheduler`` (with a ``step`` method)."""
    if scheduler is None:
        return None
    if not callable(scheduler):
        raise TypeError(f"scheduler must be a callable optimizer -> scheduler, got {type(scheduler).__name__}")
    built = scheduler(optimizer)
    if not callable(getattr(built, "step", None)):
        raise TypeError(f"scheduler must build an object with a step() method, got {type(built).__name__}")
    return built


def is_plateau(scheduler) -> bool:
    """Whether ``scheduler`` is a ReduceLROnPlateau (from lib or torch): its ``step`` takes the metric."""
    from lib.schedules import ReduceLROnPlateau

    return isinstance(scheduler, (ReduceLROnPlateau, torch.optim.lr_scheduler.ReduceLROnPlateau))


def _finite(tensor: torch.Tensor) -> bool:
    return bool(torch.isfinite(tensor).all())


def _diverged(what: str, step: int, last: float | None) -> DivergenceError:
    before = f"last finite value: {last:.6g} at step {step - 1}" if last is not None else "no finite value before it"
    return DivergenceError(
        f"diverged: {what} at step {step} ({before}); try a smaller learning rate", step=step, last_finite=last
    )


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
    if not _finite(value):
        raise _diverged(f"f(x) = {float(value.detach())}", step, last)
    grad = torch.autograd.grad(value, x, allow_unused=True)[0] if value.requires_grad else None
    grad = torch.zeros_like(x) if grad is None else grad
    if not _finite(grad):
        raise _diverged("the gradient is not finite", step, last)
    return value.detach(), grad.detach()


def minimize(f, x0, *, optimizer="SGD", steps: int = 100, scheduler=None, **optimizer_kwargs) -> Trajectory:
    """Take ``steps`` optimizer steps on ``f`` from ``x0`` and return the :class:`Trajectory`.

    ``f`` maps a point (a float64 tensor shaped like ``x0``: ``(d,)``, or ``()`` for a
    1-D function) to one number. ``optimizer`` is a name for :func:`lib.optimizers.create`
    (``"SGD"``, ``"Adam"``, ...) or a callable such as ``torch.optim.Adam``; it receives
    ``optimizer_kwargs`` (e.g. ``lr=0.1``). ``scheduler`` (optional) maps the optimizer to a
    learning-rate schedule stepped after every step (a ReduceLROnPlateau is given ``f``).
    Raises :class:`DivergenceError` when a point, value or gradient stops being finite.

    Example: ``minimize(rosenbrock(), [-1.5, 2.0], optimizer="Adam", steps=500, lr=0.05)``.
    """
    if not callable(f):
        raise TypeError(f"f must be callable, got {type(f).__name__}")
    x0 = as_finite_tensor("x0", x0, dtype=torch.float64, ndim=(0, 1))
    steps = check_int("steps", steps, low=0)
    x = x0.detach().clone().requires_grad_(True)
    opt = build_optimizer(optimizer, [x], optimizer_kwargs)
    if hasattr(opt, "check_finite"):
        opt.check_finite = False  # lib optimizers raise on non-finite parameters; here DivergenceError says it
    sched = build_scheduler(scheduler, opt)
    plateau = is_plateau(sched)
    points, values, gradients = [], [], []
    last = None

    def closure():  # for optimizers that re-evaluate f, such as L-BFGS
        opt.zero_grad()
        value, x.grad = _value_and_gradient(f, x, len(points), last)
        return value

    for k in range(steps + 1):
        if not _finite(x):
            raise _diverged("the iterate is not finite", k, last)
        value, grad = _value_and_gradient(f, x, k, last)
        points.append(x.detach().clone())
        values.append(value)
        gradients.append(grad)
        last = float(value)
        if k == steps:
            break
        x.grad = grad.clone()
        opt.step(closure) if isinstance(opt, torch.optim.LBFGS) else opt.step()
        if sched is not None:
            sched.step(last) if plateau else sched.step()
    return Trajectory(
        torch.stack(points).to("cpu", torch.float64),
        torch.stack(values).to("cpu", torch.float64),
        torch.stack(gradients).to("cpu", torch.float64),
    )
