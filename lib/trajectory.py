"""Run an optimizer on a function of a few variables and keep its path.

Defined in chapter 5 (*Gradient descent*). :func:`minimize` drives any
``torch.optim``-style optimizer (a name, a class or a factory for
:func:`lib.optimizers.create`) on a test function from :mod:`lib.functions` and returns a
:class:`Trajectory` with every point, value and gradient, for the path pictures
of chapters 5, 8, 9 and 10. A run whose iterates or values stop being finite
raises :class:`lib.loops.DivergenceError`.

:func:`minimize_together` takes many such runs side by side (chapter 10's race, the
explorers of chapters 8 and 10): each step it evaluates ``f`` and its gradient at all the
runs' points in one batch, so a hundred short runs cost little more than their optimizer
steps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from lib import autodiff, loops
from lib.validation import all_finite, as_finite_tensor, check_callable, check_int

__all__ = ["Trajectory", "minimize", "minimize_together"]


@dataclass(frozen=True, eq=False)
class Trajectory:
    """An optimizer's path: ``points[k]`` is the iterate after ``k`` steps (``points[0]`` is ``x0``).

    ``values[k] = f(points[k])`` and ``gradients[k] = ∇f(points[k])``. All are float64 CPU tensors;
    ``points`` and ``gradients`` have shape ``(steps + 1, *x0.shape)`` and ``values`` ``(steps + 1,)``.
    ``diverged_at`` is ``None``, or, for a run of :func:`minimize_together` that stopped being
    finite, the step it happened at: the trajectory then ends just before it.
    """

    points: torch.Tensor
    values: torch.Tensor
    gradients: torch.Tensor
    diverged_at: int | None = None

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


def minimize_together(f, runs, *, steps: int = 100) -> list[Trajectory]:
    """Several :func:`minimize` runs on one ``f``, taken side by side; their trajectories.

    ``runs`` lists ``(x0, optimizer, options)``: each run's start, its optimizer (as for
    :func:`minimize`) and the optimizer's keyword arguments (a dict, e.g. ``{"lr": 0.1}``);
    every ``x0`` has the same shape. ``f`` must take a batch of points, shaped
    ``(n, *x0.shape)``, and return one value per point, as the surfaces of
    :mod:`lib.functions` do: each step, the points of all the runs still going are evaluated
    in one call and differentiated in one backward pass (each point's own gradient).
    Runs whose optimizer is named (``"adam"``) share one optimizer of that kind, a parameter
    group each, so that one ``step()`` moves them all; each run's update is still its own.

    Each trajectory is the one :func:`minimize` gives that run alone, except that a run whose
    point, value or gradient stops being finite at step ``k`` does not raise: it ends at its last
    finite point, with ``diverged_at = k``, and the other runs go on. A run whose value is not
    finite at its start raises :class:`lib.loops.DivergenceError`, as :func:`minimize` does.
    """
    check_callable("f", f)
    steps = check_int("steps", steps, low=0)
    if isinstance(runs, (str, bytes)) or not isinstance(runs, Sequence) or not runs:
        raise TypeError("runs must be a non-empty list of (x0, optimizer, options)")
    paths = []
    for i, run in enumerate(runs):
        if isinstance(run, (str, bytes)) or not isinstance(run, Sequence) or len(run) != 3:
            raise TypeError(f"runs[{i}] must be a triple (x0, optimizer, options)")
        x0, optimizer, options = run
        if not isinstance(options, Mapping):
            raise TypeError(f"runs[{i}]'s options must be a dict of keyword arguments, got {type(options).__name__}")
        x0 = as_finite_tensor(f"runs[{i}]'s x0", x0, dtype=torch.float64, ndim=(0, 1))
        if paths and x0.shape != paths[0].x.shape:
            raise ValueError(
                f"every run's x0 must have the same shape: runs[0]'s is {tuple(paths[0].x.shape)}, "
                f"runs[{i}]'s {tuple(x0.shape)}"
            )
        x = x0.detach().clone().requires_grad_(True)
        paths.append(_Path(x, loops.build(optimizer, [x], dict(options))[0]))  # its options checked here
    shared = _share_optimizers(paths, runs)
    going = paths
    for k in range(steps + 1):
        for run in going:
            if not all_finite(run.x):
                run.diverged_at = k
        going = [run for run in going if run.diverged_at is None]
        if not going:
            break
        for run, outcome in zip(going, _values_and_gradients(f, going, k), strict=True):
            if isinstance(outcome, loops.DivergenceError):
                if k == 0:  # no finite point to end at
                    raise loops.DivergenceError(f"runs[{paths.index(run)}]: {outcome}", step=0) from None
                run.diverged_at = k
            else:
                run.keep(*outcome)
        for run in going:
            if run.diverged_at is not None:
                run.x.grad = None  # a shared optimizer passes over it from now on
        going = [run for run in going if run.diverged_at is None]
        if k == steps:
            break
        for run in going:
            run.x.grad = run.gradients[-1].clone()
        for opt in shared:
            opt.step()
        for run in going:
            if run.opt not in shared:
                try:
                    run.step(f)
                except loops.DivergenceError as err:  # an optimizer that evaluates f itself (L-BFGS)
                    run.diverged_at = err.step
    return [run.trajectory() for run in paths]


def _share_optimizers(paths: list, runs) -> list:
    """One optimizer for the runs whose optimizer is a name of :mod:`lib.optimizers`: a parameter
    group per run, with its options (already checked), stepped by one call; the optimizers."""
    from lib.optimizers import BaseOptimizer

    kinds = {}
    for run, (_, optimizer, options) in zip(paths, runs, strict=True):
        if isinstance(optimizer, str) and isinstance(run.opt, BaseOptimizer):
            kinds.setdefault(type(run.opt), []).append((run, options))
    shared = []
    for kind, group in kinds.items():
        if len(group) > 1:
            opt = kind([{**options, "params": [run.x]} for run, options in group])
            opt.check_finite = False  # as loops.build leaves it: the loop checks every value
            for run, _ in group:
                run.opt = opt
            shared.append(opt)
    return shared


class _Path:
    """One run of :func:`minimize_together`: its point, optimizer and what it has kept."""

    def __init__(self, x: torch.Tensor, opt) -> None:
        self.x, self.opt = x, opt
        self.points, self.values, self.gradients = [], [], []
        self.last, self.diverged_at = None, None

    def keep(self, value: torch.Tensor, grad: torch.Tensor) -> None:
        self.points.append(self.x.detach().clone())
        self.values.append(value)
        self.gradients.append(grad)
        self.last = float(value)

    def step(self, f) -> None:
        """One step of its own optimizer (its gradient already set, as for a shared one)."""
        x, opt = self.x, self.opt

        def closure():  # as in minimize
            opt.zero_grad()
            value, x.grad = _value_and_gradient(f, x, len(self.points), self.last)
            return value

        loops.step(opt, None, closure, self.last)

    def trajectory(self) -> Trajectory:
        return Trajectory(
            torch.stack(self.points).to("cpu", torch.float64),
            torch.stack(self.values).to("cpu", torch.float64),
            torch.stack(self.gradients).to("cpu", torch.float64),
            self.diverged_at,
        )


def _values_and_gradients(f, runs: list[_Path], step: int) -> list:
    """``(value, gradient)`` at each run's point, by one call of ``f`` on them all; a
    :class:`lib.loops.DivergenceError` in place of a run's pair if it is not finite there."""
    from lib.functions import NonFiniteValueError

    batch = torch.stack([run.x.detach() for run in runs]).requires_grad_(True)
    try:
        values = f(batch)
    except NonFiniteValueError:
        values = None
    except (RuntimeError, IndexError) as err:
        if isinstance(err, torch.OutOfMemoryError):
            raise
        raise ValueError(f"f failed on a batch of points shaped {tuple(batch.shape)}: {err}") from err
    if values is not None:
        if not isinstance(values, torch.Tensor) or values.shape != (len(runs),):
            shape = tuple(values.shape) if isinstance(values, torch.Tensor) else type(values).__name__
            raise ValueError(
                f"f must map a batch of points {tuple(batch.shape)} to one value per point ({len(runs)},), "
                f"got {shape}: minimize_together needs an f such as lib.functions' surfaces"
            )
        grads = autodiff.gradient(values, batch)
        if all_finite(values, grads):
            return list(zip(values.detach().unbind(), grads.detach().unbind(), strict=True))
    # Some point's value or gradient is not finite: find which, one point at a time.
    outcomes = []
    for run in runs:
        try:
            outcomes.append(_value_and_gradient(f, run.x, step, run.last))
        except loops.DivergenceError as err:
            outcomes.append(err)
    return outcomes
