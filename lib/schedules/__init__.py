"""Learning-rate schedules written from scratch.

Defined in chapter 7 (*Learning-rate schedules*); :func:`lib.train.fit` steps them.
Each class takes any ``torch.optim.Optimizer`` and has the name, arguments and
behaviour of its ``torch.optim.lr_scheduler`` namesake: call ``.step()`` once
after each ``optimizer.step()``, read ``.get_last_lr()``, save and restore with
``state_dict()``/``load_state_dict()``. ``.last_epoch`` counts the steps taken.

Where PyTorch's numbers allow it, the learning rate at step ``t`` is computed
as a **closed form**: a function of ``t`` and the starting rate ``η₀`` (each
group's ``initial_lr``) alone. PyTorch computes ``StepLR``, ``MultiStepLR``,
``ExponentialLR``, ``PolynomialLR``, ``CosineAnnealingLR`` and ``LinearLR``
*recursively* instead: the next rate is the current ``group["lr"]`` times a
factor, so that several schedulers can be chained on one optimizer. For the
first four the closed form gives PyTorch's rates to a relative 1e-12 (over
thousands of steps), but a closed form does not compose with a second scheduler
editing the same rate. Near the end of ``CosineAnnealingLR`` and ``LinearLR`` the
recursion's rounding errors (about 1e-16 of ``η₀``) exceed 1e-12 of the small
rate itself, so these two use PyTorch's recursion; their docstrings give both
forms. ``OneCycleLR`` and the warm-ups are closed forms, as in PyTorch;
``ReduceLROnPlateau`` reacts to a measured metric, so it is recursive in both.

* Decays: :class:`StepLR`, :class:`MultiStepLR`, :class:`ExponentialLR`,
  :class:`PolynomialLR`, :class:`CosineAnnealingLR`, :class:`LinearLR`.
* Warm-ups: :class:`WarmupCosineLR`, :class:`InverseSqrtLR`, :class:`OneCycleLR`.
* Reacting to a metric: :class:`ReduceLROnPlateau`.
* :func:`create` — a schedule from a name in :data:`NAMES`, a class or a factory,
  the way :func:`lib.optimizers.create` builds an optimizer.
* :func:`is_plateau` and :func:`advance` — whether a schedule reacts to a
  metric, and one step of any schedule (given the metric when it does);
* :func:`lr_sequence` — the rates any schedule produces, for plotting.
"""

from __future__ import annotations

import torch

from lib.optimizers.base import build_from
from lib.schedules.base import Schedule, check_optimizer
from lib.schedules.decay import CosineAnnealingLR, ExponentialLR, LinearLR, MultiStepLR, PolynomialLR, StepLR
from lib.schedules.plateau import ReduceLROnPlateau
from lib.schedules.warmup import InverseSqrtLR, OneCycleLR, WarmupCosineLR
from lib.validation import check_callable, check_int, check_real

__all__ = [
    "NAMES",
    "CosineAnnealingLR",
    "ExponentialLR",
    "InverseSqrtLR",
    "LinearLR",
    "MultiStepLR",
    "OneCycleLR",
    "PolynomialLR",
    "ReduceLROnPlateau",
    "Schedule",
    "StepLR",
    "WarmupCosineLR",
    "advance",
    "create",
    "is_plateau",
    "lr_sequence",
]

_CLASSES = {
    cls.__name__: cls
    for cls in (
        StepLR,
        MultiStepLR,
        ExponentialLR,
        PolynomialLR,
        CosineAnnealingLR,
        LinearLR,
        WarmupCosineLR,
        InverseSqrtLR,
        OneCycleLR,
        ReduceLROnPlateau,
    )
}
NAMES: tuple[str, ...] = tuple(_CLASSES)
"""The schedule names :func:`create` accepts (in any letter case)."""

_SCHEDULE_CLASSES = (Schedule, ReduceLROnPlateau, torch.optim.lr_scheduler.LRScheduler)


def create(schedule, optimizer, **kwargs):
    """Build a learning-rate schedule on ``optimizer``, with ``kwargs`` its own arguments.

    ``schedule`` is one of :data:`NAMES` in any letter case (``"steplr"``), a
    schedule class (``lib.schedules.StepLR``, ``torch.optim.lr_scheduler.LambdaLR``)
    or a factory called as ``schedule(optimizer, **kwargs)``, such as
    ``lambda opt: StepLR(opt, step_size=10)``. For example
    ``create("CosineAnnealingLR", optimizer, T_max=100)``. The result must have a
    ``step`` method and be built on ``optimizer``.
    """
    check_optimizer(optimizer)
    kind, example = "learning-rate schedule", "torch.optim.lr_scheduler.LambdaLR"
    built = build_from("schedule", schedule, _CLASSES, _SCHEDULE_CLASSES, kind, example, optimizer, **kwargs)
    return _built_on("schedule", built, optimizer)


def _built_on(argument: str, scheduler, optimizer):
    """``scheduler`` after checking it is a schedule (it has ``step``) built on ``optimizer``."""
    if not callable(getattr(scheduler, "step", None)) or not hasattr(scheduler, "optimizer"):
        raise TypeError(f"{argument} must build a scheduler, got {type(scheduler).__name__}")
    if scheduler.optimizer is not optimizer:
        raise ValueError(f"{argument} must build its scheduler on the optimizer it is given")
    return scheduler


def is_plateau(schedule) -> bool:
    """Whether ``schedule`` is a ReduceLROnPlateau (lib's or torch's): its ``step`` takes the metric."""
    return isinstance(schedule, (ReduceLROnPlateau, torch.optim.lr_scheduler.ReduceLROnPlateau))


def advance(schedule, metric: float) -> None:
    """One ``schedule.step()``; a ReduceLROnPlateau is given ``metric``."""
    schedule.step(metric) if is_plateau(schedule) else schedule.step()


def lr_sequence(scheduler_factory, steps: int, lr: float = 1.0, *, metrics=None) -> list[float]:
    """The learning rates a schedule sets over ``steps`` steps, starting from ``lr``.

    ``scheduler_factory`` maps an optimizer to a scheduler (this module's or
    ``torch.optim.lr_scheduler``'s), e.g. ``lambda opt: StepLR(opt, step_size=10)``.
    It is given a plain SGD optimizer on one dummy parameter. Entry ``t`` of the
    result is the rate used by optimizer step ``t``; the first is the rate
    before any ``scheduler.step()``. A ``ReduceLROnPlateau`` needs ``metrics``,
    one value per step (the last one is not used).
    """
    check_callable("scheduler_factory", scheduler_factory)
    steps = check_int("steps", steps, low=0)
    lr = check_real("lr", lr, low=0.0)
    param = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([param], lr=lr, momentum=0.9)
    scheduler = _built_on("scheduler_factory", scheduler_factory(optimizer), optimizer)
    plateau = is_plateau(scheduler)
    if plateau:
        if metrics is None:
            raise TypeError("metrics (one value per step) are needed for a ReduceLROnPlateau schedule")
        metrics = [check_real(f"metrics[{i}]", m) for i, m in enumerate(metrics)]
        if len(metrics) < steps - 1:
            raise ValueError(f"metrics needs at least steps - 1 = {steps - 1} values, got {len(metrics)}")
    rates = []
    for t in range(steps):
        rates.append(float(optimizer.param_groups[0]["lr"]))
        if t < steps - 1:
            optimizer.step()  # no gradient, so nothing moves; it keeps PyTorch's order-of-calls check quiet
            advance(scheduler, metrics[t] if plateau else None)
    return rates
