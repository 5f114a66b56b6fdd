"""AdaGrad: per-coordinate step sizes from the sum of all squared gradients so far.

Defined in chapter 10 (*Adaptive methods*).
"""

from __future__ import annotations

import torch

from lib.optimizers.base import BaseOptimizer, gradient, scalar_dtype


def adagrad_update(
    param: torch.Tensor,
    grad: torch.Tensor,
    state: dict,
    *,
    lr: float,
    lr_decay: float,
    weight_decay: float,
    eps: float,
    maximize: bool,
) -> None:
    """One step of the rule in :class:`Adagrad`'s docstring, on one parameter."""
    s = state["sum"]
    state["step"] += 1
    t = state["step"].item()
    # g_t = ∇f(θ_{t-1}) + ω θ_{t-1}
    g = gradient(param, grad, maximize=maximize, weight_decay=weight_decay)
    # η_t = η / (1 + (t − 1) ν)
    lr_t = lr / (1 + (t - 1) * lr_decay)
    # s_t = s_{t-1} + g_t²
    s.addcmul_(g, g, value=1)
    # θ_t = θ_{t-1} − η_t g_t / (√s_t + ε)
    param.addcdiv_(g, s.sqrt().add_(eps), value=-lr_t)


class Adagrad(BaseOptimizer):
    """AdaGrad (Duchi, Hazan & Singer, 2011), as ``torch.optim.Adagrad`` computes it.

    With learning rate η, learning-rate decay ν, weight decay ω and eps ε, step t does::

        g_t = ∇f(θ_{t-1}) + ω θ_{t-1}             (−∇f when maximize)
        η_t = η / (1 + (t − 1) ν)
        s_t = s_{t-1} + g_t²                      (s_0 = initial_accumulator_value)
        θ_t = θ_{t-1} − η_t g_t / (√s_t + ε)

    Coordinates that have seen large gradients take small steps; since s_t only
    grows, every step size shrinks for ever. Where the paper differs: Duchi et
    al. have no learning-rate decay (ν = 0 here) and call ε δ. One torch.optim
    quirk is not copied: torch starts every group's s_0 at the constructor's
    ``initial_accumulator_value`` even when a group sets its own; here each
    group's own value is used.

    Arguments and defaults are torch's: ``Adagrad(params, lr=1e-2, lr_decay=0,
    weight_decay=0, initial_accumulator_value=0, eps=1e-10, *, maximize=False)``.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        lr_decay: float = 0,
        weight_decay: float = 0,
        initial_accumulator_value: float = 0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            eps=eps,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            maximize=maximize,
        )
        super().__init__(params, defaults)
        # Like torch.optim, the state exists from the start, so state_dict() has it before any step.
        for group in self.param_groups:
            for param in group["params"]:
                self.state[param] = self.init_state(param, group)

    update = staticmethod(adagrad_update)

    def init_state(self, param: torch.Tensor, group: dict) -> dict:
        return {
            "step": torch.tensor(0.0, dtype=scalar_dtype()),
            "sum": torch.full_like(param, group["initial_accumulator_value"], memory_format=torch.preserve_format),
        }
