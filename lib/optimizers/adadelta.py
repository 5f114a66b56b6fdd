"""AdaDelta: RMSProp whose step size comes from a running average of past steps.

Defined in chapter 10 (*Adaptive methods*).
"""

from __future__ import annotations

import torch

from lib.optimizers.base import BaseOptimizer, gradient, scalar_dtype


def adadelta_update(
    param: torch.Tensor,
    grad: torch.Tensor,
    state: dict,
    *,
    lr: float,
    rho: float,
    eps: float,
    weight_decay: float,
    maximize: bool,
) -> None:
    """One step of the rule in :class:`Adadelta`'s docstring, on one parameter."""
    v, v_delta = state["square_avg"], state["acc_delta"]
    state["step"] += 1
    # g_t = ∇f(θ_{t-1}) + ω θ_{t-1}
    g = gradient(param, grad, maximize=maximize, weight_decay=weight_decay)
    # v_t = ρ v_{t-1} + (1 − ρ) g_t²
    v.mul_(rho).addcmul_(g, g, value=1 - rho)
    # Δ_t = √(v^Δ_{t-1} + ε) / √(v_t + ε) · g_t
    delta = v_delta.add(eps).sqrt_().div_(v.add(eps).sqrt_()).mul_(g)
    # v^Δ_t = ρ v^Δ_{t-1} + (1 − ρ) Δ_t²
    v_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho)
    # θ_t = θ_{t-1} − η Δ_t
    param.add_(delta, alpha=-lr)


class Adadelta(BaseOptimizer):
    """AdaDelta (Zeiler, 2012), as ``torch.optim.Adadelta`` computes it.

    With learning rate η, decay ρ, eps ε and weight decay ω, step t does::

        g_t = ∇f(θ_{t-1}) + ω θ_{t-1}             (−∇f when maximize)
        v_t = ρ v_{t-1} + (1 − ρ) g_t²            (v_0 = 0)
        Δ_t = √(v^Δ_{t-1} + ε) / √(v_t + ε) · g_t (v^Δ_0 = 0)
        v^Δ_t = ρ v^Δ_{t-1} + (1 − ρ) Δ_t²
        θ_t = θ_{t-1} − η Δ_t

    The ratio of two root-mean-squares gives each coordinate a step with the
    units of θ. Where the paper differs: Zeiler's AdaDelta has no learning
    rate at all; torch multiplies the step by η, and its default ``lr=1.0``
    gives the paper's method.

    Arguments and defaults are torch's: ``Adadelta(params, lr=1.0, rho=0.9,
    eps=1e-6, weight_decay=0, *, maximize=False)``.
    """

    unit_interval = ("rho",)

    def __init__(
        self,
        params,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    update = staticmethod(adadelta_update)

    def init_state(self, param: torch.Tensor, group: dict) -> dict:
        return {
            "step": torch.zeros((), dtype=scalar_dtype()),
            "square_avg": torch.zeros_like(param, memory_format=torch.preserve_format),
            "acc_delta": torch.zeros_like(param, memory_format=torch.preserve_format),
        }
