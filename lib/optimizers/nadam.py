"""NAdam: Adam with a Nesterov look-ahead on the first moment.

Defined in chapter 10 (*Adaptive methods*).
"""

from __future__ import annotations

import torch

from lib.optimizers.base import BaseOptimizer, decay_weights, gradient, scalar_dtype


def nadam_update(
    param: torch.Tensor,
    grad: torch.Tensor,
    state: dict,
    *,
    lr: float,
    betas: tuple[float, float],
    eps: float,
    weight_decay: float,
    momentum_decay: float,
    decoupled_weight_decay: bool,
    maximize: bool,
) -> None:
    """One step of the rule in :class:`NAdam`'s docstring, on one parameter."""
    (beta1, beta2), psi = betas, momentum_decay
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
    # μ_t = β1 (1 − ½ · 0.96^{t ψ}),   μ_{t+1} = β1 (1 − ½ · 0.96^{(t+1) ψ})
    mu = beta1 * (1.0 - 0.5 * (0.96 ** (t * psi)))
    mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((t + 1) * psi)))
    # μ_1⋯μ_t (kept, as torch keeps it, in a scalar tensor whose dtype sets the rounding) and μ_1⋯μ_{t+1}
    state["mu_product"] *= mu
    mu_product = state["mu_product"].item()
    mu_product_next = mu_product * mu_next
    # m_t = β1 m_{t-1} + (1 − β1) g_t,   v_t = β2 v_{t-1} + (1 − β2) g_t²
    m.lerp_(g, 1 - beta1)
    v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
    # √v̂_t + ε = √(v_t / (1 − β2^t)) + ε
    denominator = v.div(1 - beta2**t).sqrt_().add_(eps)
    # θ_t = θ_{t-1} − η (1 − μ_t) g_t / ((1 − μ_1⋯μ_t)(√v̂_t + ε))
    #               − η μ_{t+1} m_t / ((1 − μ_1⋯μ_{t+1})(√v̂_t + ε))
    param.addcdiv_(g, denominator, value=-lr * (1.0 - mu) / (1.0 - mu_product))
    param.addcdiv_(m, denominator, value=(-lr * mu_next) / (1.0 - mu_product_next))


class NAdam(BaseOptimizer):
    """NAdam (Dozat, 2016), as ``torch.optim.NAdam`` computes it.

    With learning rate η, betas (β1, β2), eps ε, weight decay ω and momentum
    decay ψ, step t does::

        g_t = ∇f(θ_{t-1}) + ω θ_{t-1}             (−∇f when maximize; decoupled: θ_{t-1} ← (1 − ηω) θ_{t-1})
        μ_t = β1 (1 − ½ · 0.96^{t ψ}),   μ_{t+1} = β1 (1 − ½ · 0.96^{(t+1) ψ})
        m_t = β1 m_{t-1} + (1 − β1) g_t           (m_0 = 0)
        v_t = β2 v_{t-1} + (1 − β2) g_t²          (v_0 = 0)
        v̂_t = v_t / (1 − β2^t)
        θ_t = θ_{t-1} − η (1 − μ_t) g_t / ((1 − μ_1⋯μ_t)(√v̂_t + ε))
                      − η μ_{t+1} m_t / ((1 − μ_1⋯μ_{t+1})(√v̂_t + ε))

    The second line of the update uses next step's momentum μ_{t+1}: that is
    the Nesterov look-ahead. Where others differ: many textbook statements use
    a constant β1 (``θ_t = θ_{t-1} − η (β1 m̂_t + (1 − β1) g_t / (1 − β1^t)) / (√v̂_t + ε)``);
    torch uses Dozat's momentum schedule μ_t, which warms the momentum up from
    β1/2 towards β1 (ψ = 0.004 = 1/250 by default). Dozat's Algorithm 2 also
    builds the buffer with the schedule, m_t = μ_t m_{t-1} + (1 − μ_t) g_t;
    torch keeps the constant β1 there. Torch keeps the product
    μ_1⋯μ_t as a scalar tensor of the default dtype (float32 unless changed),
    and so does this class, to stay equal to torch.
    ``decoupled_weight_decay=True`` gives NAdamW.

    Arguments and defaults are torch's: ``NAdam(params, lr=2e-3, betas=(0.9, 0.999),
    eps=1e-8, weight_decay=0, momentum_decay=4e-3, decoupled_weight_decay=False,
    *, maximize=False)``.
    """

    def __init__(
        self,
        params,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            momentum_decay=momentum_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    update = staticmethod(nadam_update)

    def init_state(self, param: torch.Tensor, group: dict) -> dict:
        return {
            "step": torch.tensor(0.0, dtype=scalar_dtype()),
            "mu_product": torch.tensor(1.0, dtype=scalar_dtype()),
            "exp_avg": torch.zeros_like(param, memory_format=torch.preserve_format),
            "exp_avg_sq": torch.zeros_like(param, memory_format=torch.preserve_format),
        }
