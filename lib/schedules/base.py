"""The base class of the schedules in :mod:`lib.schedules`, and the checks they share.

Defined in chapter 7 (*Learning-rate schedules*).
"""

from __future__ import annotations

import math

import torch

from lib.validation import check_int, check_real


def check_optimizer(optimizer) -> None:
    """Raise ``TypeError`` unless ``optimizer`` is a ``torch.optim.Optimizer`` with finite, non-negative rates."""
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, got {type(optimizer).__name__}")
    for i, group in enumerate(optimizer.param_groups):
        check_real(f"optimizer.param_groups[{i}]['lr']", group["lr"], low=0.0)


def set_lr(group: dict, value: float) -> None:
    """Write ``value`` into a parameter group, in place when its ``lr`` is a tensor."""
    if isinstance(group["lr"], torch.Tensor):
        group["lr"].fill_(value)
    else:
        group["lr"] = value


class Schedule:
    """Base class: a schedule is ``lr(η₀, t)``, evaluated after each ``step()``.

    Subclasses implement ``_lr(base_lr, t)`` (a closed form) or ``_lrs()`` (a
    recursion from the current rates). ``last_epoch=-1`` starts a new
    schedule (it records each group's ``initial_lr``); a larger value resumes one
    whose optimizer already holds ``initial_lr``.
    """

    def __init__(self, optimizer, last_epoch: int = -1) -> None:
        check_optimizer(optimizer)
        last_epoch = check_int("last_epoch", last_epoch, low=-1)
        self.optimizer = optimizer
        for i, group in enumerate(optimizer.param_groups):
            if last_epoch == -1:
                group.setdefault("initial_lr", float(group["lr"]))
            elif "initial_lr" not in group:
                raise ValueError(f"last_epoch={last_epoch} resumes a schedule, but param_groups[{i}] has no initial_lr")
        self.base_lrs = [
            check_real(f"param_groups[{i}]['initial_lr']", g["initial_lr"], low=0.0)
            for i, g in enumerate(optimizer.param_groups)
        ]
        self.last_epoch = last_epoch
        self._initial = True  # the step taken here sets the starting rate
        self.step()
        self._initial = False

    def _lr(self, base_lr: float, t: int) -> float:
        raise NotImplementedError

    def _lrs(self) -> list[float]:
        return [self._lr(base, self.last_epoch) for base in self.base_lrs]

    def step(self) -> None:
        """Advance one step and write the new learning rates into the optimizer."""
        self.last_epoch += 1
        try:
            try:
                lrs = self._lrs()
            except OverflowError:
                lrs = [math.inf]
            for i, lr in enumerate(lrs):
                if not math.isfinite(lr):
                    raise ValueError(f"{type(self).__name__} produced a non-finite learning rate {lr} for group {i}")
        except ValueError:
            self.last_epoch -= 1  # the step did not happen
            raise
        for group, lr in zip(self.optimizer.param_groups, lrs, strict=True):
            set_lr(group, lr)
        self._last_lr = lrs

    def get_last_lr(self) -> list[float]:
        """The learning rate of each parameter group after the latest ``step()``."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Everything but the optimizer, as in PyTorch."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a state saved by :meth:`state_dict`."""
        if not isinstance(state_dict, dict):
            raise TypeError(f"state_dict must be a dict, got {type(state_dict).__name__}")
        self.__dict__.update(state_dict)


def per_group(name: str, value, optimizer, *, low=None, high=None, low_open=False) -> list[float]:
    """``value`` (a number or one number per parameter group) as a list of floats."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{name} must have one value per parameter group ({n}), got {len(value)}")
        return [check_real(f"{name}[{i}]", v, low=low, high=high, low_open=low_open) for i, v in enumerate(value)]
    return [check_real(name, value, low=low, high=high, low_open=low_open)] * n
