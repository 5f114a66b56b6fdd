"""RAdam: Adam whose adaptive step is switched on, and scaled, by the variance of v̂_t.

Defined in chapter 10 (*Adaptive methods*).
"""

from __future__ import annotations

import torch

from lib.optimizers.base import BaseOptimizer, decay_weights, gradient, scalar_dtype


def radam_update(
    param: torch.Tensor,
    grad: torch.Tensor,
    state: dict,
    *,
    lr: float,
    betas: tuple[float, float],
    eps: float,
    weight_decay: float,
    decoupled_weight_decay: bool,
    maximize: bool,
) -> None:
    """One step of the rule in :class:`RAdam`'s docstring, on one parameter."""
    beta1, beta2 = betas
    m, v = state["exp_avg"], state["exp_avg_sq"]
    state["step"] += 1
    t = state["step"].item()
    if decoupled_weight_decay:
        # θ_{t-1} ← (1 − ηω) θ_{t-1},   g_t = ∇f(θ_{t-1})
        decay_weights(param, lr, weight_decay)
        g = gradient(param, grad, maximize=maximize)
    else:
        # g_t = ∇f(θ_{t-1}) + ω θ_{t-1}
        g = gradient(param, grad, maximize=maximize, weight_decay=weight_decay)
    # m_t = β1 m_{t-1} + (1 − β1) g_t,   v_t = β2 v_{t-1} + (1 − β2) g_t²
    m.lerp_(g, 1 - beta1)
    v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
    # m̂_t = m_t / (1 − β1^t)
    m_hat = m / (1 - beta1**t)
    # ρ_∞ = 2 / (1 − β2) − 1,   ρ_t = ρ_∞ − 2 t β2^t / (1 − β2^t)
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
    if rho_t > 5:
        # r_t = √((ρ_t − 4)(ρ_t − 2) ρ_∞ / ((ρ_∞ − 4)(ρ_∞ − 2) ρ_t))
        r = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
        # θ_t = θ_{t-1} − η m̂_t · √(1 − β2^t) / (√v_t + ε) · r_t
        param.add_(m_hat * lr * ((1 - beta2**t) ** 0.5 / v.sqrt().add_(eps)) * r, alpha=-1.0)
    else:
        # θ_t = θ_{t-1} − η m̂_t
        param.add_(m_hat * lr, alpha=-1.0)


class RAdam(BaseOptimizer):
    """RAdam (Liu et al., 2020), as ``torch.optim.RAdam`` computes it.

    With learning rate η, betas (β1, β2), eps ε and weight decay ω, step t does::

        g_t = ∇f(θ_{t-1}) + ω θ_{t-1}             (−∇f when maximize; no ω term if decoupled)
        m_t = β1 m_{t-1} + (1 − β1) g_t           (m_0 = 0)
        v_t = β2 v_{t-1} + (1 − β2) g_t²          (v_0 = 0)
        m̂_t = m_t / (1 − β1^t)
        ρ_∞ = 2 / (1 − β2) − 1,   ρ_t = ρ_∞ − 2 t β2^t / (1 − β2^t)
        if ρ_t > 5:
            r_t = √((ρ_t − 4)(ρ_t − 2) ρ_∞ / ((ρ_∞ − 4)(ρ_∞ − 2) ρ_t))
            θ_t = θ_{t-1} − η m̂_t · √(1 − β2^t) / (√v_t + ε) · r_t
        else:
            θ_t = θ_{t-1} − η m̂_t

    ρ_t is the length of the simple moving average that the exponential
    average v_t stands for after t steps; it grows from 1 towards ρ_∞ (1999 at
    β2 = 0.999). While it is short the variance of the adaptive factor
    √(1 − β2^t)/√v_t is undefined or huge, and RAdam takes a plain momentum
    step; after that, r_t (below 1, rising towards 1) scales the adaptive step
    down by that variance: a warm-up built into the rule. Where the paper
    differs: Liu et al. switch the adaptive step on when ρ_t > 4 and write no
    ε; torch (like the authors' code) adds ε to √v_t, not to √v̂_t as Adam
    does, and switches at ρ_t > 5. ``decoupled_weight_decay=True`` starts the
    step with ``θ_{t-1} ← (1 − ηω) θ_{t-1}`` (RAdamW).

    Arguments and defaults are torch's: ``RAdam(params, lr=1e-3, betas=(0.9, 0.999),
    eps=1e-8, weight_decay=0, decoupled_weight_decay=False, *, maximize=False)``.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    update = staticmethod(radam_update)

    def init_state(self, param: torch.Tensor, group: dict) -> dict:
        return {
            "step": torch.tensor(0.0, dtype=scalar_dtype()),
            "exp_avg": torch.zeros_like(param, memory_format=torch.preserve_format),
            "exp_avg_sq": torch.zeros_like(param, memory_format=torch.preserve_format),
        }
