"""Reduce the rate when a monitored metric stalls.

Defined in chapter 7 (*Learning-rate schedules*); :func:`lib.train.fit` feeds it the validation loss.
"""

from __future__ import annotations

import math

from lib.schedules.base import Schedule, check_optimizer, per_group, set_lr
from lib.validation import check_int, check_real


class ReduceLROnPlateau:
    r"""Cut the learning rate by ``factor`` when a metric stops improving for ``patience`` steps.

    Call ``step(metrics)`` with the monitored value (say the validation loss) after
    each epoch. In ``mode="min"`` a value $v$ is an improvement on the best so far
    $b$ when $v < b(1 - \theta)$ (``threshold_mode="rel"``) or $v < b - \theta$
    (``"abs"``), with $\theta$ = ``threshold``; ``mode="max"`` mirrors this. After
    more than ``patience`` steps without improvement every group's rate becomes
    $\max(\eta\cdot$``factor``$, $``min_lr``$)$ (skipped when that changes it by
    ``eps`` or less), and the count restarts after ``cooldown`` quiet steps.
    Unlike PyTorch, a non-finite metric is an error: it means training diverged.
    """

    def __init__(
        self,
        optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr=0.0,
        eps: float = 1e-8,
    ) -> None:
        check_optimizer(optimizer)
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        self.optimizer = optimizer
        self.mode, self.threshold_mode = mode, threshold_mode
        self.factor = check_real("factor", factor, low=0.0, high=1.0, low_open=True, high_open=True)
        self.patience = check_int("patience", patience, low=0)
        self.threshold = check_real("threshold", threshold, low=0.0)
        self.cooldown = check_int("cooldown", cooldown, low=0)
        self.min_lrs = per_group("min_lr", min_lr, optimizer, low=0.0)
        self.eps = check_real("eps", eps, low=0.0)
        self.last_epoch = 0
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self._last_lr = [float(group["lr"]) for group in optimizer.param_groups]

    def _is_better(self, value: float) -> bool:
        if self.mode == "min":
            bound = self.best * (1.0 - self.threshold) if self.threshold_mode == "rel" else self.best - self.threshold
            return value < bound
        bound = self.best * (1.0 + self.threshold) if self.threshold_mode == "rel" else self.best + self.threshold
        return value > bound

    def step(self, metrics) -> None:
        """Record one value of the monitored metric and cut the rate if it has stalled."""
        value = check_real("metrics", metrics)
        self.last_epoch += 1
        if self._is_better(value):
            self.best, self.num_bad_epochs = value, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs, strict=True):
                old = float(group["lr"])
                new = max(old * self.factor, min_lr)
                if old - new > self.eps:
                    set_lr(group, new)
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [float(group["lr"]) for group in self.optimizer.param_groups]

    get_last_lr = Schedule.get_last_lr
    state_dict = Schedule.state_dict
    load_state_dict = Schedule.load_state_dict
