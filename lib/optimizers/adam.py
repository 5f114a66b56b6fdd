"""Adam, its AMSGrad variant, and AdamW (decoupled weight decay).

Defined in chapter 10 (*Adaptive methods*); chapter 11 trains a network with them.
"""

from __future__ import annotations

import torch

from lib.optimizers.base import BaseOptimizer, decay_weights, gradient, scalar_dtype


def adam_update(
    param: torch.Tensor,
    grad: torch.Tensor,
    state: dict,
    *,
    lr: float,
    betas: tuple[float, float],
    eps: float,
    weight_decay: float,
    amsgrad: bool,
    maximize: bool,
    decoupled_weight_decay: bool,
) -> None:
    """One step of the rule in :class:`Adam`'s docstring, on one parameter."""
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
    # m_t = β1 m_{t-1} + (1 − β1) g_t, computed as m + (1 − β1)(g − m)
    m.lerp_(g, 1 - beta1)
    # v_t = β2 v_{t-1} + (1 − β2) g_t²
    v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
    if amsgrad:
        # v_t^max = max(v_{t-1}^max, v_t), used in place of v_t
        v_max = state["max_exp_avg_sq"]
        v = torch.maximum(v_max, v, out=v_max)
    # θ_t = θ_{t-1} − η m̂_t / (√v̂_t + ε),
    # with m̂_t = m_t / (1 − β1^t) and √v̂_t = √v_t / √(1 − β2^t)
    denominator = v.sqrt().div_((1 - beta2**t) ** 0.5).add_(eps)
    param.addcdiv_(m, denominator, value=-lr / (1 - beta1**t))


class Adam(BaseOptimizer):
    """Adam (Kingma & Ba, 2015), as ``torch.optim.Adam`` computes it.

    With learning rate η, betas (β1, β2), eps ε and weight decay ω, step t does::

        g_t = ∇f(θ_{t-1}) + ω θ_{t-1}             (−∇f when maximize; no ω term if decoupled)
        m_t = β1 m_{t-1} + (1 − β1) g_t           (m_0 = 0)
        v_t = β2 v_{t-1} + (1 − β2) g_t²          (v_0 = 0)
        m̂_t = m_t / (1 − β1^t)
        v̂_t = v_t / (1 − β2^t)
        θ_t = θ_{t-1} − η m̂_t / (√v̂_t + ε)

    The bias corrections undo the pull of the zero start. Without them both
    moments start near zero, the second more so (β2 > β1), and the first steps
    come out too long: m_1/√v_1 = (1−β1)/√(1−β2) ≈ 3.16 times the corrected
    step with the default betas.

    ``amsgrad=True`` (Reddi et al., 2018) keeps the running maximum of the raw
    second moment, ``v_t^max = max(v_{t-1}^max, v_t)``, and uses
    ``v̂_t = v_t^max / (1 − β2^t)``. Where the paper differs: AMSGrad as
    published has no bias correction at all; torch bias-corrects both m_t and
    the maximum. Because the maximum is divided by 1 − β2^t, the effective
    learning rate η / (√v̂_t + ε) grows while the maximum stays put, by up to a factor
    1/√(1 − β2) (≈ 31.6 at β2 = 0.999); only the paper's uncorrected version never
    increases it.

    ``decoupled_weight_decay=True`` gives AdamW (see :class:`AdamW`): the
    gradient carries no ω term and the step starts with
    ``θ_{t-1} ← (1 − ηω) θ_{t-1}``.

    Arguments and defaults are torch's: ``Adam(params, lr=1e-3, betas=(0.9, 0.999),
    eps=1e-8, weight_decay=0, amsgrad=False, *, maximize=False,
    decoupled_weight_decay=False)``.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            decoupled_weight_decay=decoupled_weight_decay,
        )
        super().__init__(params, defaults)

    update = staticmethod(adam_update)

    def init_state(self, param: torch.Tensor, group: dict) -> dict:
        state = {
            "step": torch.tensor(0.0, dtype=scalar_dtype()),
            "exp_avg": torch.zeros_like(param, memory_format=torch.preserve_format),
            "exp_avg_sq": torch.zeros_like(param, memory_format=torch.preserve_format),
        }
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
        return state


class AdamW(Adam):
    """AdamW (Loshchilov & Hutter, 2019): Adam with decoupled weight decay, as ``torch.optim.AdamW``.

    Step t first shrinks the parameters, then takes a plain Adam step whose
    gradient carries no weight-decay term::

        θ_{t-1} ← (1 − ηω) θ_{t-1}
        g_t = ∇f(θ_{t-1})                         (−∇f when maximize)
        m_t = β1 m_{t-1} + (1 − β1) g_t
        v_t = β2 v_{t-1} + (1 − β2) g_t²
        θ_t = θ_{t-1} − η m̂_t / (√v̂_t + ε),   m̂_t = m_t / (1 − β1^t),  v̂_t = v_t / (1 − β2^t)

    With Adam's L2 form the decay ωθ passes through the adaptive scaling, so
    large weights with large gradients are barely decayed; decoupling applies
    it evenly. Where the paper differs: Loshchilov & Hutter scale ω by their
    schedule multiplier only (``θ ← θ − s_t ω θ``, s_t the multiplier); torch
    multiplies it by the learning rate η, so the decay follows any schedule.

    Arguments and defaults are torch's: ``AdamW(params, lr=1e-3, betas=(0.9, 0.999),
    eps=1e-8, weight_decay=1e-2, amsgrad=False, *, maximize=False)``.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize, decoupled_weight_decay=True)

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
