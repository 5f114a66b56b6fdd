"""Adafactor: Adam's second moment kept as a row and a column per matrix.

Defined in chapter 12 (*Optimizers for large models*).
"""

from __future__ import annotations

import torch

from lib.optimizers.base import BaseOptimizer, gradient, scalar_dtype
from lib.validation import check_real


def adafactor_update(
    param: torch.Tensor,
    grad: torch.Tensor,
    state: dict,
    *,
    lr: float,
    beta2_decay: float,
    eps: tuple[float | None, float],
    d: float,
    weight_decay: float,
    maximize: bool,
) -> None:
    """The rule in :class:`Adafactor`'s docstring: one step, one parameter."""
    eps1, eps2 = eps
    if eps1 is None:
        eps1 = torch.finfo(param.dtype).eps
    g = gradient(param, grad, maximize=maximize)
    state["step"] += 1
    t = state["step"].item()
    # 1 − β2_t = t^beta2_decay,   η_t = min(η, 1/√t)
    one_minus_beta2 = t**beta2_decay
    eta_t = min(lr, 1 / t**0.5)
    # α_t = max(ε2, RMS(θ_{t-1})) η_t
    rms = param.norm(2).item() / param.numel() ** 0.5
    alpha = max(eps2, rms) * eta_t
    # θ_{t-1} ← (1 − ηω) θ_{t-1}
    if weight_decay != 0:
        param.mul_(1 - lr * weight_decay)
    if g.dim() > 1:
        row_var, col_var = state["row_var"], state["col_var"]
        # v^r_t = β2_t v^r_{t-1} + (1 − β2_t) (row means of g_t²)
        row_mean = torch.norm(g, dim=-1, keepdim=True).square_()
        row_var.lerp_(row_mean.div_(g.size(-1)), one_minus_beta2)
        # v^c_t = β2_t v^c_{t-1} + (1 − β2_t) (column means of g_t²)
        col_mean = torch.norm(g, dim=-2, keepdim=True).square_()
        col_var.lerp_(col_mean.div_(g.size(-2)), one_minus_beta2)
        # v̂_t = v^r_t v^c_t / max(mean(v^r_t), ε1)
        v_hat = row_var @ col_var
        v_hat.div_(row_var.mean(dim=-2, keepdim=True).clamp_(min=eps1))
    else:
        # v̂_t = β2_t v̂_{t-1} + (1 − β2_t) g_t²
        state["variance"].lerp_(g * g, one_minus_beta2)
        v_hat = state["variance"].clone()
    # u_t = g_t / max(√v̂_t, ε1)
    u = v_hat.clamp_(min=eps1 * eps1).rsqrt_().mul_(g)
    # θ_t = θ_{t-1} − α_t u_t / max(1, RMS(u_t) / d)
    clip = max(1.0, u.norm(2).item() / (u.numel() ** 0.5 * d))
    param.add_(u, alpha=-alpha / clip)


class Adafactor(BaseOptimizer):
    """Adafactor (Shazeer & Stern, 2018), as ``torch.optim.Adafactor`` computes it.

    With learning rate η, decay exponent c (``beta2_decay``, c ≤ 0), eps
    (ε1, ε2), clipping threshold d and weight decay ω, step t does, for a
    matrix parameter θ of n rows and k columns::

        g_t = ∇f(θ_{t-1})                         (−∇f when maximize)
        β2_t = 1 − t^c                            (0 at t = 1, rising towards 1)
        η_t = min(η, 1/√t),   α_t = max(ε2, RMS(θ_{t-1})) η_t
        θ_{t-1} ← (1 − ηω) θ_{t-1}
        v^r_t = β2_t v^r_{t-1} + (1 − β2_t) (g_t² averaged over each row)       (n numbers)
        v^c_t = β2_t v^c_{t-1} + (1 − β2_t) (g_t² averaged over each column)    (k numbers)
        v̂_t = v^r_t v^c_t / max(mean(v^r_t), ε1)                               (n × k, never stored)
        u_t = g_t / max(√v̂_t, ε1)
        θ_t = θ_{t-1} − α_t u_t / max(1, RMS(u_t) / d)

    RMS(x) is the root mean square of the entries of x. A parameter of one
    dimension (a bias) or none keeps the full average instead,
    ``v̂_t = β2_t v̂_{t-1} + (1 − β2_t) g_t²``; one of more than two dimensions
    is factored over its last two, a row and a column per leading index.

    v̂_t is Adam's v_t rebuilt from its row and column averages: the outer
    product of the two, divided by their common mean, is the rank-1 matrix
    with exactly those row and column averages. The state is n + k numbers
    per matrix instead of Adam's 2nk. There is no first moment (Adafactor's
    β1 = 0), no bias correction (β2_1 = 0 makes v̂_1 = g_1² exactly), and the
    step is relative: α_t scales it to the size of the parameter itself,
    and the clipping keeps its RMS at most d times α_t.

    Where the paper differs: Shazeer & Stern fix η_t = min(0.01, 1/√t), add
    ε1 to g_t² before averaging, and take sums where torch takes means (the
    same v̂_t); torch uses η as the cap on η_t and for decoupled weight decay,
    and applies ε1 to mean(v^r_t) and to √v̂_t. ``eps[0] = None`` takes ε1
    from the parameter's dtype (``torch.finfo(dtype).eps``).

    Arguments and defaults are torch's: ``Adafactor(params, lr=1e-2,
    beta2_decay=-0.8, eps=(None, 1e-3), d=1.0, weight_decay=0.0, *,
    maximize=False)``.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        beta2_decay: float = -0.8,
        eps: tuple[float | None, float] = (None, 1e-3),
        d: float = 1.0,
        weight_decay: float = 0.0,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(lr=lr, beta2_decay=beta2_decay, eps=eps, d=d, weight_decay=weight_decay, maximize=maximize)
        super().__init__(params, defaults)

    update = staticmethod(adafactor_update)

    def _check_hyperparameters(self, hyper: dict) -> dict:
        eps = hyper.pop("eps")
        beta2_decay = hyper.pop("beta2_decay")
        d = hyper.pop("d")
        hyper = super()._check_hyperparameters(hyper)
        hyper["beta2_decay"] = check_real("beta2_decay", beta2_decay, high=0.0)
        hyper["eps"] = _check_eps_pair(eps)
        hyper["d"] = check_real("d", d, low=1.0)
        return hyper

    def init_state(self, param: torch.Tensor, group: dict) -> dict:
        state = {"step": torch.tensor(0.0, dtype=scalar_dtype())}
        if param.dim() > 1:
            state["row_var"] = param.new_zeros((*param.shape[:-1], 1))
            state["col_var"] = param.new_zeros((*param.shape[:-2], 1, param.shape[-1]))
        else:
            state["variance"] = torch.zeros_like(param, memory_format=torch.preserve_format)
        return state


def _check_eps_pair(value) -> tuple[float | None, float]:
    """``eps``: a pair (ε1, ε2), ε1 ``None`` or a finite real ``>= 0``, ε2 a finite real ``>= 0``."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or not hasattr(value, "__getitem__"):
        raise TypeError(f"eps must be a pair (eps1, eps2), got {type(value).__name__}")
    if len(value) != 2:
        raise ValueError(f"eps must be a pair (eps1, eps2), got {len(value)} values")
    eps1 = None if value[0] is None else check_real("eps[0]", value[0], low=0.0)
    return eps1, check_real("eps[1]", value[1], low=0.0)
