"""RMSProp: divide each gradient by a running root-mean-square of recent gradients.

Defined in chapter 10 (*Adaptive methods*).
"""

from __future__ import annotations

import torch

from lib.optimizers.base import BaseOptimizer, Workspace, scalar_dtype
from lib.optimizers.sgd import decayed_gradient


def rmsprop_update(
    param: torch.Tensor,
    grad: torch.Tensor,
    state: dict,
    workspace: Workspace,
    *,
    lr: float,
    alpha: float,
    eps: float,
    weight_decay: float,
    momentum: float,
    centered: bool,
    maximize: bool,
) -> None:
    """One RMSProp step on one parameter, in place."""
    square_avg = state["square_avg"]
    state["step"] += 1
    grad = decayed_gradient(param, grad, weight_decay, maximize, out=workspace.like(param, 0))
    square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
    if centered:
        grad_avg = state["grad_avg"]
        grad_avg.lerp_(grad, 1 - alpha)
        avg = torch.addcmul(square_avg, grad_avg, grad_avg, value=-1, out=workspace.like(param, 1)).sqrt_()
    else:
        avg = torch.sqrt(square_avg, out=workspace.like(param, 1))
    avg.add_(eps)
    if momentum > 0:
        buf = state["momentum_buffer"]
        buf.mul_(momentum).addcdiv_(grad, avg)
        param.add_(buf, alpha=-lr)
    else:
        param.addcdiv_(grad, avg, value=-lr)


class RMSprop(BaseOptimizer):
    """RMSProp (Hinton's 2012 lecture notes), as ``torch.optim.RMSprop`` computes it.

    With learning rate η, smoothing ρ, eps ε, weight decay ω and momentum β, step t does::

        g_t = ∇f(θ_{t-1}) + ω θ_{t-1}             (−∇f when maximize)
        v_t = ρ v_{t-1} + (1 − ρ) g_t²            (v_0 = 0)
        ṽ_t = v_t                                 (centered: ḡ_t = ρ ḡ_{t-1} + (1 − ρ) g_t, ṽ_t = v_t − ḡ_t²)
        if β > 0:  b_t = β b_{t-1} + g_t / (√ṽ_t + ε),  θ_t = θ_{t-1} − η b_t      (b_0 = 0)
        else:      θ_t = θ_{t-1} − η g_t / (√ṽ_t + ε)

    ``centered=True`` (Graves, 2013) divides by an estimate of the gradient's
    standard deviation instead of its root-mean-square. Where others differ:
    the lecture notes have no ε; torch adds ε outside the square root (some
    libraries put it inside), and with momentum keeps η outside the buffer. No bias correction:
    from v_0 = 0, v_1 = (1 − ρ) g_1², so the first step is η g_1 / √((1 − ρ) g_1²) =
    η / √(1 − ρ) in each coordinate (10η at ρ = 0.99); Adam's bias correction removes
    this start-up bias.

    Arguments and defaults are torch's: ``RMSprop(params, lr=1e-2, alpha=0.99,
    eps=1e-8, weight_decay=0, momentum=0, centered=False, *, maximize=False)``.
    """

    unit_interval = ("alpha",)

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum: float = 0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _update_group(self, group: dict, params: list[torch.Tensor]) -> None:
        lr, alpha, eps, weight_decay = group["lr"], group["alpha"], group["eps"], group["weight_decay"]
        momentum, centered, maximize = group["momentum"], group["centered"], group["maximize"]
        workspace = self.workspace
        for param in params:
            state = self.state[param]
            if not state:
                state["step"] = torch.zeros((), dtype=scalar_dtype())
                state["square_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
                if momentum > 0:
                    state["momentum_buffer"] = torch.zeros_like(param, memory_format=torch.preserve_format)
                if centered:
                    state["grad_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            rmsprop_update(
                param,
                param.grad,
                state,
                workspace,
                lr=lr,
                alpha=alpha,
                eps=eps,
                weight_decay=weight_decay,
                momentum=momentum,
                centered=centered,
                maximize=maximize,
            )
