"""Adamax: Adam with the infinity norm in place of the root-mean-square.

Defined in chapter 10 (*Adaptive methods*).
"""

from __future__ import annotations

import torch

from lib.optimizers.base import BaseOptimizer, Workspace, scalar_dtype
from lib.optimizers.sgd import decayed_gradient


def adamax_update(
    param: torch.Tensor,
    grad: torch.Tensor,
    state: dict,
    workspace: Workspace,
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    maximize: bool,
) -> None:
    """One Adamax step on one parameter, in place."""
    step_t, exp_avg, exp_inf = state["step"], state["exp_avg"], state["exp_inf"]
    step_t += 1
    grad = decayed_gradient(param, grad, weight_decay, maximize, out=workspace.like(param, 0))
    exp_avg.lerp_(grad, 1 - beta1)
    torch.maximum(exp_inf.mul_(beta2), torch.abs(grad, out=workspace.like(param, 1)).add_(eps), out=exp_inf)
    clr = lr / (1 - beta1 ** step_t.item())
    param.addcdiv_(exp_avg, exp_inf, value=-clr)


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

    def _update_group(self, group: dict, params: list[torch.Tensor]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        weight_decay, maximize, workspace = group["weight_decay"], group["maximize"], self.workspace
        for param in params:
            state = self.state[param]
            if not state:
                state["step"] = torch.tensor(0.0, dtype=scalar_dtype())
                state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
                state["exp_inf"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            adamax_update(
                param,
                param.grad,
                state,
                workspace,
                lr=lr,
                beta1=beta1,
                beta2=beta2,
                eps=eps,
                weight_decay=weight_decay,
                maximize=maximize,
            )
