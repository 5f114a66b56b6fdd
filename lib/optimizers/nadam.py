"""NAdam: Adam with a Nesterov look-ahead on the first moment.

Defined in chapter 10 (*Adaptive methods*).
"""

from __future__ import annotations

import torch

from lib.optimizers.base import BaseOptimizer, Workspace, scalar_dtype
from lib.optimizers.sgd import decayed_gradient


def nadam_update(
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
    momentum_decay: float,
    decoupled_weight_decay: bool,
    maximize: bool,
) -> None:
    """One NAdam step on one parameter, in place."""
    step_t, mu_product, exp_avg, exp_avg_sq = state["step"], state["mu_product"], state["exp_avg"], state["exp_avg_sq"]
    step_t += 1
    step = step_t.item()
    if decoupled_weight_decay:
        if weight_decay != 0:
            param.mul_(1 - lr * weight_decay)
        weight_decay = 0
    grad = decayed_gradient(param, grad, weight_decay, maximize, out=workspace.like(param, 0))

    mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
    mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
    mu_product *= mu  # a scalar tensor, as in torch: its dtype sets the rounding
    mu_product = mu_product.item()
    mu_product_next = mu_product * mu_next

    exp_avg.lerp_(grad, 1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    denom = torch.div(exp_avg_sq, 1 - beta2**step, out=workspace.like(param, 1)).sqrt_().add_(eps)
    param.addcdiv_(grad, denom, value=(-lr * (1.0 - mu) / (1.0 - mu_product)))
    param.addcdiv_(exp_avg, denom, value=(-lr * mu_next) / (1.0 - mu_product_next))


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
    β1/2 towards β1 (ψ = 0.004 = 1/250 by default). Torch keeps the product
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

    def _update_group(self, group: dict, params: list[torch.Tensor]) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        weight_decay, momentum_decay = group["weight_decay"], group["momentum_decay"]
        decoupled, maximize = group["decoupled_weight_decay"], group["maximize"]
        workspace = self.workspace
        for param in params:
            state = self.state[param]
            if not state:
                state["step"] = torch.tensor(0.0, dtype=scalar_dtype())
                state["mu_product"] = torch.tensor(1.0, dtype=scalar_dtype())
                state["exp_avg"] = torch.zeros_like(param, memory_format=torch.preserve_format)
                state["exp_avg_sq"] = torch.zeros_like(param, memory_format=torch.preserve_format)
            nadam_update(
                param,
                param.grad,
                state,
                workspace,
                lr=lr,
                beta1=beta1,
                beta2=beta2,
                eps=eps,
                weight_decay=weight_decay,
                momentum_decay=momentum_decay,
                decoupled_weight_decay=decoupled,
                maximize=maximize,
            )
