"""What the two optimization loops share: :func:`lib.train.fit` (a model on data)
and :func:`lib.trajectory.minimize` (a test function from a point).

Defined in chapter 5 (*Gradient descent*); chapter 6 trains models with it.

* :func:`build` — the optimizer (by :func:`lib.optimizers.create`) and the
  learning-rate schedule (by :func:`lib.schedules.create`) a loop steps;
* :func:`step` — one optimizer step, then one schedule step;
* :class:`DivergenceError` and :func:`diverged` — how a loop stops when a
  value stops being finite: naming the step and the last finite value.
"""

from __future__ import annotations

import torch

from lib import optimizers, schedules

__all__ = ["DivergenceError", "build", "diverged", "step"]


class DivergenceError(ValueError):
    """An optimization produced a non-finite value: it diverged (a learning rate too large, most often).

    ``.step`` is where it happened and ``.last_finite`` the last finite value (loss) before it, or ``None``.
    """

    def __init__(self, message: str, *, step: int, last_finite: float | None = None) -> None:
        super().__init__(message)
        self.step = step
        self.last_finite = last_finite


def diverged(what: str, where: str, step: int, last: float | None, *, value: str = "value") -> DivergenceError:
    """The error for ``what`` (``"the loss became nan"``) at ``where`` (``"step 7"``).

    ``step`` is the step it happened at, ``last`` the last finite ``value`` (``"loss"``) before it, or ``None``.
    """
    before = f"last finite {value}: {last:.6g}" if last is not None else f"no finite {value} before it"
    return DivergenceError(
        f"diverged: {what} at {where}; {before}. Try a smaller learning rate", step=step, last_finite=last
    )


def build(optimizer, params, optimizer_kwargs: dict, scheduler=None):
    """``(optimizer, schedule)`` over ``params``; the schedule is ``None`` without ``scheduler``.

    ``optimizer`` goes to :func:`lib.optimizers.create` with ``optimizer_kwargs``,
    ``scheduler`` to :func:`lib.schedules.create`. A loop checks every value
    itself and reports divergence with the last finite one, so a ``lib``
    optimizer's own NaN guard is turned off.
    """
    opt = optimizers.create(optimizer, params, **optimizer_kwargs)
    if isinstance(opt, optimizers.BaseOptimizer):
        opt.check_finite = False
    sched = None if scheduler is None else _schedule(scheduler, opt)
    return opt, sched


def _schedule(scheduler, optimizer):
    try:
        return schedules.create(scheduler, optimizer)
    except (TypeError, ValueError) as err:  # name the loops' own argument
        kind = TypeError if isinstance(err, TypeError) else ValueError
        raise kind(f"scheduler: {err}") from None


def step(optimizer, schedule, closure, metric: float) -> None:
    """One ``optimizer.step()``, then one step of ``schedule`` (if any).

    ``closure`` re-evaluates the loss for an optimizer that needs it (L-BFGS);
    a ReduceLROnPlateau is given ``metric``.
    """
    optimizer.step(closure) if isinstance(optimizer, torch.optim.LBFGS) else optimizer.step()
    if schedule is not None:
        schedules.advance(schedule, metric)
