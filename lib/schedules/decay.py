"""Schedules that lower the rate as training goes on.

Defined in chapter 7 (*Learning-rate schedules*). Each has the name, arguments and
learning rates of its ``torch.optim.lr_scheduler`` namesake. Step, multi-step,
exponential and polynomial decay are closed forms here (PyTorch: recursions);
cosine annealing and linear scaling follow PyTorch's recursion (see their docstrings).
"""

from __future__ import annotations

import math
from bisect import bisect_right

from lib.schedules.base import Schedule
from lib.validation import check_int, check_real


class StepLR(Schedule):
    r"""Multiply the learning rate by ``gamma`` every ``step_size`` steps.

    $$\eta_t = \eta_0\,\gamma^{\lfloor t / s \rfloor}$$ with $s$ = ``step_size``.
    """

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        self.step_size = check_int("step_size", step_size, low=1)
        self.gamma = check_real("gamma", gamma, low=0.0, low_open=True)
        super().__init__(optimizer, last_epoch)

    def _lr(self, base_lr, t):
        return base_lr * self.gamma ** (t // self.step_size)


class MultiStepLR(Schedule):
    r"""Multiply the learning rate by ``gamma`` at each milestone step.

    $$\eta_t = \eta_0\,\gamma^{\#\{m \in \text{milestones} : m \le t\}}$$
    (a milestone listed twice counts twice, as in PyTorch).
    """

    def __init__(self, optimizer, milestones, gamma: float = 0.1, last_epoch: int = -1) -> None:
        if isinstance(milestones, (str, bytes)) or not hasattr(milestones, "__iter__"):
            raise TypeError(f"milestones must be an iterable of integers, got {type(milestones).__name__}")
        self.milestones = sorted(check_int("milestones[]", m, low=0) for m in milestones)
        self.gamma = check_real("gamma", gamma, low=0.0, low_open=True)
        super().__init__(optimizer, last_epoch)

    def _lr(self, base_lr, t):
        return base_lr * self.gamma ** bisect_right(self.milestones, t)


class ExponentialLR(Schedule):
    r"""Multiply the learning rate by ``gamma`` every step.

    $$\eta_t = \eta_0\,\gamma^{t}$$
    """

    def __init__(self, optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = check_real("gamma", gamma, low=0.0, low_open=True)
        super().__init__(optimizer, last_epoch)

    def _lr(self, base_lr, t):
        return base_lr * self.gamma**t


class PolynomialLR(Schedule):
    r"""Decay to zero along a polynomial over ``total_iters`` steps, then stay there.

    $$\eta_t = \eta_0\,\bigl(1 - \min(t, T)/T\bigr)^{p}$$ with $T$ = ``total_iters``, $p$ = ``power``.
    """

    def __init__(self, optimizer, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1) -> None:
        self.total_iters = check_int("total_iters", total_iters, low=1)
        self.power = check_real("power", power, low=0.0, low_open=True)
        super().__init__(optimizer, last_epoch)

    def _lr(self, base_lr, t):
        return base_lr * (1.0 - min(self.total_iters, t) / self.total_iters) ** self.power


class CosineAnnealingLR(Schedule):
    r"""Follow half a cosine from the starting rate down to ``eta_min`` over ``T_max`` steps.

    $$\eta_t = \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})\bigl(1 + \cos(\pi t / T_{\max})\bigr)$$

    Past ``T_max`` the cosine goes on (the rate climbs back), as in PyTorch. Like
    PyTorch, the rate is updated *recursively*, which gives the closed form above
    up to rounding:

    $$\eta_t = \eta_{\min} + (\eta_{t-1} - \eta_{\min})\,
    \frac{1 + \cos(\pi t / T_{\max})}{1 + \cos(\pi (t - 1) / T_{\max})},$$

    except on the step after each minimum, where the denominator is zero and
    $\eta_t = \eta_{t-1} + \tfrac12(\eta_0 - \eta_{\min})(1 - \cos(\pi / T_{\max}))$.
    (Over the first ``T_max`` steps the recursion and the closed form differ by
    rounding errors of order $10^{-16}\eta_0$, which near $\eta_{\min}$ are more
    than $10^{-12}$ of the rate itself, so the recursion is kept to match PyTorch
    to the last digits. Past ``T_max`` its errors grow, to about $10^{-12}\eta_0$.)
    """

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        self.T_max = check_int("T_max", T_max, low=1)
        self.eta_min = check_real("eta_min", eta_min, low=0.0)
        super().__init__(optimizer, last_epoch)

    def _lrs(self):
        t, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        current = [float(group["lr"]) for group in self.optimizer.param_groups]
        if self._initial:
            return current
        if (t - 1 - T) % (2 * T) == 0:
            bump = [(base - eta_min) * (1 - math.cos(math.pi / T)) / 2 for base in self.base_lrs]
            return [lr + b for lr, b in zip(current, bump, strict=True)]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [ratio * (lr - eta_min) + eta_min for lr in current]


class LinearLR(Schedule):
    r"""Scale the rate by a factor that moves linearly from ``start_factor`` to ``end_factor``.

    $$\eta_t = \eta_0\,\Bigl(f_s + (f_e - f_s)\,\frac{\min(t, T)}{T}\Bigr)$$
    with $T$ = ``total_iters``. With ``start_factor < end_factor = 1`` it is a linear warm-up.

    Like PyTorch, the rate is updated *recursively*: $\eta_0 f_s$ at $t = 0$, then
    $$\eta_t = \eta_{t-1}\Bigl(1 + \frac{f_e - f_s}{T f_s + (t - 1)(f_e - f_s)}\Bigr)$$
    for $1 \le t \le T$, and unchanged afterwards. (With ``end_factor=0`` the
    closed form ends at exactly 0 while the recursion ends at a rounding error of
    order $10^{-17}\eta_0$, possibly negative; the recursion is kept to match PyTorch.)
    """

    def __init__(
        self,
        optimizer,
        start_factor: float = 1.0 / 3,
        end_factor: float = 1.0,
        total_iters: int = 5,
        last_epoch: int = -1,
    ) -> None:
        self.start_factor = check_real("start_factor", start_factor, low=0.0, high=1.0, low_open=True)
        self.end_factor = check_real("end_factor", end_factor, low=0.0, high=1.0)
        self.total_iters = check_int("total_iters", total_iters, low=1)
        super().__init__(optimizer, last_epoch)

    def _lrs(self):
        t, start, end, total = self.last_epoch, self.start_factor, self.end_factor, self.total_iters
        current = [float(group["lr"]) for group in self.optimizer.param_groups]
        if t == 0:
            return [lr * start for lr in current]
        if self._initial or t > total:
            return current
        return [lr * (1.0 + (end - start) / (total * start + (t - 1) * (end - start))) for lr in current]
