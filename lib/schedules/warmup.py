"""Schedules that warm up before they decay.

Defined in chapter 7 (*Learning-rate schedules*). :class:`WarmupCosineLR` and
:class:`InverseSqrtLR` are the course's own (PyTorch spells them with
``LambdaLR``); :class:`OneCycleLR` matches PyTorch's class.
"""

from __future__ import annotations

import math

from lib.schedules.base import Schedule, check_optimizer, per_group
from lib.validation import check_int, check_real


class WarmupCosineLR(Schedule):
    r"""Warm up linearly from 0 over ``warmup_steps`` steps, then anneal along a cosine to ``eta_min``.

    With $w$ = ``warmup_steps`` and $T$ = ``total_steps``:

    $$\eta_t = \begin{cases}
    \eta_0\, t / w & t < w,\\
    \eta_{\min} + \tfrac12(\eta_0 - \eta_{\min})\bigl(1 + \cos(\pi\,\tfrac{t - w}{T - w})\bigr) & w \le t \le T,\\
    \eta_{\min} & t > T.
    \end{cases}$$

    ``warmup_steps=0`` gives plain cosine annealing. The first step has rate 0 when $w > 0$.
    """

    def __init__(
        self, optimizer, warmup_steps: int, total_steps: int, eta_min: float = 0.0, last_epoch: int = -1
    ) -> None:
        self.warmup_steps = check_int("warmup_steps", warmup_steps, low=0)
        self.total_steps = check_int("total_steps", total_steps, low=self.warmup_steps + 1)
        self.eta_min = check_real("eta_min", eta_min, low=0.0)
        super().__init__(optimizer, last_epoch)

    def _lr(self, base_lr, t):
        w, total = self.warmup_steps, self.total_steps
        if t < w:
            return base_lr * t / w
        progress = min(t - w, total - w) / (total - w)
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * progress)) / 2


class InverseSqrtLR(Schedule):
    r"""Warm up linearly over ``warmup_steps`` steps, then decay like one over the square root of the step.

    $$\eta_t = \eta_0 \min\Bigl(\frac{t + 1}{w},\ \sqrt{\frac{w}{t + 1}}\Bigr)$$
    with $w$ = ``warmup_steps``: the rate peaks at $\eta_0$ on step $t = w - 1$.
    ``warmup_steps=1`` means no warm-up: $\eta_t = \eta_0/\sqrt{t + 1}$.
    """

    def __init__(self, optimizer, warmup_steps: int, last_epoch: int = -1) -> None:
        self.warmup_steps = check_int("warmup_steps", warmup_steps, low=1)
        super().__init__(optimizer, last_epoch)

    def _lr(self, base_lr, t):
        w = self.warmup_steps
        return base_lr * min((t + 1) / w, math.sqrt(w / (t + 1)))


class OneCycleLR(Schedule):
    r"""The 1cycle policy: warm up to ``max_lr``, then anneal far below the start.

    With $\eta_{\max}$ = ``max_lr``, $\eta_0 = \eta_{\max}/$``div_factor``,
    $\eta_{\mathrm{end}} = \eta_0/$``final_div_factor``, $p$ = ``pct_start`` and
    $T$ = ``total_steps`` (or ``epochs * steps_per_epoch``), the rate follows

    * phase 1, up to step $pT - 1$: from $\eta_0$ to $\eta_{\max}$;
    * phase 2, up to step $T - 1$: from $\eta_{\max}$ to $\eta_{\mathrm{end}}$
      (``three_phase=True``: back to $\eta_0$ at step $2pT - 2$, then to $\eta_{\mathrm{end}}$).

    Within a phase from step $a$ to $b$ the rate moves from $u$ to $v$ as
    $v + \tfrac12(u - v)(1 + \cos \pi q)$ (``anneal_strategy="cos"``) or $u + (v - u)q$
    (``"linear"``), with $q = (t - a)/(b - a)$. With ``cycle_momentum=True`` the momentum
    (SGD's ``momentum`` or Adam's $\beta_1$) moves the opposite way, between
    ``max_momentum`` and ``base_momentum``. Stepping past ``total_steps`` is an error.
    """

    def __init__(
        self,
        optimizer,
        max_lr,
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum=0.85,
        max_momentum=0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ) -> None:
        check_optimizer(optimizer)
        last_epoch = check_int("last_epoch", last_epoch, low=-1)
        if total_steps is not None:
            self.total_steps = check_int("total_steps", total_steps, low=1)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = check_int("epochs", epochs, low=1) * check_int("steps_per_epoch", steps_per_epoch, low=1)
        else:
            raise ValueError("give total_steps, or both epochs and steps_per_epoch")
        pct_start = check_real("pct_start", pct_start, low=0.0, high=1.0)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.anneal_strategy = anneal_strategy
        for name, flag in (("cycle_momentum", cycle_momentum), ("three_phase", three_phase)):
            if not isinstance(flag, bool):
                raise TypeError(f"{name} must be a bool, got {type(flag).__name__}")
        div_factor = check_real("div_factor", div_factor, low=0.0, low_open=True)
        final_div_factor = check_real("final_div_factor", final_div_factor, low=0.0, low_open=True)
        max_lrs = per_group("max_lr", max_lr, optimizer, low=0.0)
        t = self.total_steps
        ends = [pct_start * t - 1, 2 * pct_start * t - 2, t - 1] if three_phase else [pct_start * t - 1, t - 1]
        keys = ["initial_lr", "max_lr", "initial_lr", "min_lr"] if three_phase else ["initial_lr", "max_lr", "min_lr"]
        moms = ["max_momentum", "base_momentum", "max_momentum", "max_momentum"]
        self.phases = [(float(ends[i]), keys[i], keys[i + 1], moms[i], moms[i + 1]) for i in range(len(ends))]
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError("cycle_momentum=True needs an optimizer with momentum or betas")
            self.use_beta1 = "betas" in optimizer.defaults
            max_moms = per_group("max_momentum", max_momentum, optimizer, low=0.0, high=1.0)
            base_moms = per_group("base_momentum", base_momentum, optimizer, low=0.0, high=1.0)
        if last_epoch != -1 and any("max_lr" not in group for group in optimizer.param_groups):
            raise ValueError(f"last_epoch={last_epoch} resumes a schedule, but the optimizer has no OneCycleLR state")
        if last_epoch == -1:
            for i, group in enumerate(optimizer.param_groups):
                group["initial_lr"] = max_lrs[i] / div_factor
                group["max_lr"] = max_lrs[i]
                group["min_lr"] = group["initial_lr"] / final_div_factor
                if cycle_momentum:
                    group["max_momentum"], group["base_momentum"] = max_moms[i], base_moms[i]
                    self._set_momentum(group, max_moms[i])
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group: dict, value: float) -> None:
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _anneal(self, start: float, end: float, q: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * q) + 1)
        return (end - start) * q + start

    def step(self) -> None:
        """Advance one step; also sets each group's momentum when ``cycle_momentum`` is on."""
        if self.last_epoch + 1 > self.total_steps:
            raise ValueError(f"OneCycleLR stepped {self.last_epoch + 1} times, past total_steps={self.total_steps}")
        super().step()

    def _group_values(self, group: dict, t: int) -> tuple[float, float | None]:
        start = 0.0
        for i, (end, lr_from, lr_to, mom_from, mom_to) in enumerate(self.phases):
            if t <= end or i == len(self.phases) - 1:
                if end == start:
                    raise ValueError("pct_start * total_steps gives a phase of zero length; change pct_start")
                q = (t - start) / (end - start)
                lr = self._anneal(group[lr_from], group[lr_to], q)
                mom = self._anneal(group[mom_from], group[mom_to], q) if self.cycle_momentum else None
                return lr, mom
            start = end
        raise AssertionError("unreachable")

    def _lrs(self):
        lrs = []
        for group in self.optimizer.param_groups:
            lr, momentum = self._group_values(group, self.last_epoch)
            if momentum is not None:
                self._set_momentum(group, momentum)
            lrs.append(lr)
        return lrs
