"""RMSProp: divide each gradient by a running root-mean-square of recent gradients.

Defined in chapter 10 (*Adaptive methods*).
"""

from __future__ import annotations

import torch

from lib.optimizers.base import BaseOptimizer, gradient, scalar_dtype


def rmsprop_update(
    param: torch.Tensor,
    grad: torch.Tensor,
    state: dict,
    *,
    lr: float,
    alpha: float,
    eps: float,
    weight_decay: float,
    momentum: float,
    centered: bool,
    maximize: bool,
) -> None:
    """One step of the rule in :class:`RMSprop`'s docstring, on one parameter (ρ is torch's ``alpha``)."""
    rho, v = alpha, state["square_avg"]
    state["step"] += 1
    # g_t = ∇f(θ_{t-1}) + ω θ_{t-1}
    g = gradient(param, grad, maximize=maximize, weight_decay=weight_decay)
    # v_t = ρ v_{t-1} + (1 − ρ) g_t²
    v.mul_(rho).addcmul_(g, g, value=1 - rho)
    if centered:
        # ḡ_t = ρ ḡ_{t-1} + (1 − ρ) g_t,   √ṽ_t + ε = √(v_t − ḡ_t²) + ε
        g_avg = state["grad_avg"]
        g_avg.lerp_(g, 1 - rho)
        denominator = v.addcmul(g_avg, g_avg, value=-1).sqrt_().add_(eps)
    else:
        # √ṽ_t + ε = √v_t + ε
        denominator = v.sqrt().add_(eps)
    if momentum > 0:
        # b_t = β b_{t-1} + g_t / (√ṽ_t + ε),   θ_t = θ_{t-1} − η b_t
        b = state["momentum_buffer"]
        b.mul_(momentum).addcdiv_(g, denominator)
        param.add_(b, alpha=-lr)
    else:
        # θ_t = θ_{t-1} − η g_t / (√ṽ_t + ε)
        param.addcdiv_(g, denominator, value=-lr)


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

    update = staticmethod(rmsprop_update)

    def init_state(self, param: torch.Tensor, group: dict) -> dict:
        state = {
            "step": torch.zeros((), dtype=scalar_dtype()),
            "square_avg": torch.zeros_like(param, memory_format=torch.preserve_format),
        }
        if group["momentum"] > 0:
            state["momentum_buffer"] = torch.zeros_like(param, memory_format=torch.preserve_format)
        if group["centered"]:
            state["grad_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
        return state
