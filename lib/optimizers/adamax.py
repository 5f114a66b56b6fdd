"""Adamax: Adam with the infinity norm in place of the root-mean-square.

Defined in chapter 10 (*Adaptive methods*).
"""

from __future__ import annotations

import torch

from lib.optimizers.base import BaseOptimizer, gradient, scalar_dtype


def adamax_update(
    param: torch.Tensor,
    grad: torch.Tensor,
    state: dict,
    *,
    lr: float,
    betas: tuple[float, float],
    eps: float,
    weight_decay: float,
    maximize: bool,
) -> None:
    """One step of the rule in :class:`Adamax`'s docstring, on one parameter."""
    beta1, beta2 = betas
    m, u = state["exp_avg"], state["exp_inf"]
    state["step"] += 1
    t = state["step"].item()
    # g_t = ∇f(θ_{t-1}) + ω θ_{t-1}
    g = gradient(param, grad, maximize=maximize, weight_decay=weight_decay)
    # m_t = β1 m_{t-1} + (1 − β1) g_t
    m.lerp_(g, 1 - beta1)
    # u_t = max(β2 u_{t-1}, |g_t| + ε)
    torch.maximum(u.mul_(beta2), g.abs().add_(eps), out=u)
    # θ_t = θ_{t-1} − η m_t / ((1 − β1^t) u_t)
    param.addcdiv_(m, u, value=-lr / (1 - beta1**t))


class Adamax(BaseOptimizer):
    """Adamax (Kingma & Ba, 2015, section 7), as ``torch.optim.Adamax`` computes it.

    With learning rate η, betas (β1, β2), eps ε and weight decay ω, step t does::

        g_t = ∇f(θ_{t-1}) + ω θ_{t-1}             (−∇f when maximize)
        m_t = β1 m_{t-1} + (1 − β1) g_t           (m_0 = 0)
        u_t = max(β2 u_{t-1}, |g_t| + ε)          (u_0 = 0)
        θ_t = θ_{t-1} − η m_t / ((1 − β1^t) u_t)

    u_t is an exponentially weighted infinity norm of past gradients: it needs
    no bias correction. Where the paper differs: it has no ε
    (``u_t = max(β2 u_{t-1}, |g_t|)``); torch puts ε inside the maximum so that
    u_t > 0.

    Arguments and defaults are torch's: ``Adamax(params, lr=2e-3, betas=(0.9, 0.999),
    eps=1e-8, weight_decay=0, *, maximize=False)``.
    """

    def __init__(
        self,
        params,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    update = staticmethod(adamax_update)

    def init_state(self, param: torch.Tensor, group: dict) -> dict:
        return {
            "step": torch.tensor(0.0, dtype=scalar_dtype()),
            "exp_avg": torch.zeros_like(param, memory_format=torch.preserve_format),
            "exp_inf": torch.zeros_like(param, memory_format=torch.preserve_format),
        }
