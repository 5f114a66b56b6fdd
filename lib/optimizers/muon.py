"""Muon: momentum whose step, a matrix, is orthogonalized by a Newton–Schulz iteration.

Defined in chapter 12 (*Optimizers for large models*).
"""

from __future__ import annotations

import math

import torch

from lib.optimizers.base import BaseOptimizer
from lib.validation import check_int, check_real

NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
"""Torch's (a, b, c), from Jordan et al. (2024): the polynomial a σ + b σ³ + c σ⁵."""

ADJUST_LR_FNS = (None, "original", "match_rms_adamw")
"""The values of ``adjust_lr_fn`` (``None`` is ``"original"``)."""


def newton_schulz(
    matrix: torch.Tensor,
    coefficients: tuple[float, float, float],
    steps: int,
    eps: float,
) -> torch.Tensor:
    """About U Vᵀ for ``matrix`` = U Σ Vᵀ, by ``steps`` rounds of
    X ← a X + b (X Xᵀ) X + c (X Xᵀ)² X, in bfloat16 as torch computes it.

    X starts as the matrix divided by its Frobenius norm (at least ε), so
    every singular value lies in [0, 1]; each round maps each singular
    value σ to a σ + b σ³ + c σ⁵ and keeps the singular vectors. A tall
    matrix is iterated as its transpose: X Xᵀ is then the smaller one.
    """
    a, b, c = coefficients
    x = matrix.bfloat16()
    tall = matrix.size(0) > matrix.size(1)
    if tall:
        x = x.T
    x.div_(x.norm().clamp(min=eps))
    for _ in range(steps):
        gram = x @ x.T
        # b A + c A²,  then  a X + (b A + c A²) X,  with A = X Xᵀ
        poly = torch.addmm(gram, gram, gram, beta=b, alpha=c)
        x = torch.addmm(x, poly, x, beta=a)
    return x.T if tall else x


def adjusted_lr(lr: float, adjust_lr_fn: str | None, shape: torch.Size) -> float:
    """η scaled for a matrix of ``shape`` (n, k): η √max(1, n/k), or 0.2 η √max(n, k) to match AdamW's RMS."""
    rows, cols = shape[:2]
    if adjust_lr_fn == "match_rms_adamw":
        return lr * (0.2 * math.sqrt(max(rows, cols)))
    return lr * math.sqrt(max(1, rows / cols))


def muon_update(
    param: torch.Tensor,
    grad: torch.Tensor,
    state: dict,
    *,
    lr: float,
    weight_decay: float,
    momentum: float,
    nesterov: bool,
    ns_coefficients: tuple[float, float, float],
    eps: float,
    ns_steps: int,
    adjust_lr_fn: str | None,
) -> None:
    """One step of the rule in :class:`Muon`'s docstring, on one parameter."""
    b = state["momentum_buffer"]
    # b_t = β b_{t-1} + (1 − β) g_t
    b.lerp_(grad, 1 - momentum)
    # d_t = (1 − β) g_t + β b_t  if nesterov,  b_t  otherwise
    direction = grad.lerp(b, momentum) if nesterov else b
    # O_t = NS(d_t)
    orthogonal = newton_schulz(direction, ns_coefficients, ns_steps, eps)
    # θ_t = (1 − ηω) θ_{t-1} − η' O_t
    step_size = adjusted_lr(lr, adjust_lr_fn, param.shape)
    param.mul_(1 - lr * weight_decay)
    param.add_(orthogonal, alpha=-step_size)


class Muon(BaseOptimizer):
    """Muon (Jordan et al., 2024), as ``torch.optim.Muon`` computes it: for matrices only.

    With learning rate η, momentum β, weight decay ω, Newton–Schulz
    coefficients (a, b, c), eps ε and K steps, step t does, for a weight
    matrix θ of n rows and k columns::

        g_t = ∇f(θ_{t-1})
        b_t = β b_{t-1} + (1 − β) g_t            (b_0 = 0)
        d_t = (1 − β) g_t + β b_t  if nesterov,  b_t  otherwise
        X_0 = d_t / max(‖d_t‖_F, ε)               (in bfloat16)
        X_j = a X_{j-1} + b (X_{j-1} X_{j-1}ᵀ) X_{j-1} + c (X_{j-1} X_{j-1}ᵀ)² X_{j-1},   j = 1..K
        O_t = X_K                                 (≈ U Vᵀ where d_t = U Σ Vᵀ)
        η' = η √max(1, n/k)                       (0.2 η √max(n, k) for "match_rms_adamw")
        θ_t = (1 − ηω) θ_{t-1} − η' O_t

    O_t is the momentum with every singular value pushed towards 1: the
    direction of steepest descent when a step's size is measured by its
    spectral norm, its largest singular value. The iteration needs only
    matrix products, and with torch's coefficients five rounds send every
    singular value of X_0 from 0.002 up into [0.68, 1.21] rather than to 1
    (smaller ones grow about a⁵ ≈ 485-fold but stay below): fast, and enough.
    A tall matrix (n > k) is iterated as its transpose.

    Only 2-D parameters are accepted: biases, gains and embeddings go to
    another optimizer (AdamW, as Muon is used). Where the paper differs:
    Jordan et al. write b_t = β b_{t-1} + g_t; torch averages (1 − β)
    g_t in, which scales the buffer by 1 − β and changes nothing after the
    normalisation. Torch decays the weights by ηω, not η'ω.

    Arguments and defaults are torch's: ``Muon(params, lr=1e-3,
    weight_decay=0.1, momentum=0.95, nesterov=True,
    ns_coefficients=(3.4445, -4.7750, 2.0315), eps=1e-7, ns_steps=5,
    adjust_lr_fn=None)``.
    """

    unit_interval = ("momentum",)

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        weight_decay: float = 0.1,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_coefficients: tuple[float, float, float] = NS_COEFFICIENTS,
        eps: float = 1e-7,
        ns_steps: int = 5,
        adjust_lr_fn: str | None = None,
    ) -> None:
        defaults = dict(
            lr=lr,
            weight_decay=weight_decay,
            momentum=momentum,
            nesterov=nesterov,
            ns_coefficients=ns_coefficients,
            eps=eps,
            ns_steps=ns_steps,
            adjust_lr_fn=adjust_lr_fn,
        )
        super().__init__(params, defaults)

    update = staticmethod(muon_update)

    def _check_hyperparameters(self, hyper: dict) -> dict:
        coefficients = hyper.pop("ns_coefficients")
        steps = hyper.pop("ns_steps")
        adjust = hyper.pop("adjust_lr_fn")
        hyper = super()._check_hyperparameters(hyper)
        hyper["ns_coefficients"] = _check_coefficients(coefficients)
        hyper["ns_steps"] = check_int("ns_steps", steps, low=0, high=99)
        if adjust not in ADJUST_LR_FNS:
            raise ValueError(f"adjust_lr_fn must be None, 'original' or 'match_rms_adamw', got {adjust!r}")
        hyper["adjust_lr_fn"] = adjust
        return hyper

    def add_param_group(self, param_group: dict) -> None:
        super().add_param_group(param_group)
        for position, param in enumerate(self.param_groups[-1]["params"]):
            if param.dim() != 2:
                del self.param_groups[-1]
                raise ValueError(
                    f"params[{position}] must be a matrix (2-D) for Muon, got shape {tuple(param.shape)}; "
                    "give biases and other parameters to another optimizer such as AdamW"
                )

    def init_state(self, param: torch.Tensor, group: dict) -> dict:
        return {"momentum_buffer": torch.zeros_like(param, memory_format=torch.preserve_format)}


def _check_coefficients(value) -> tuple[float, float, float]:
    """``ns_coefficients``: three finite reals (a, b, c)."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or not hasattr(value, "__getitem__"):
        raise TypeError(f"ns_coefficients must be three numbers (a, b, c), got {type(value).__name__}")
    if len(value) != 3:
        raise ValueError(f"ns_coefficients must be three numbers (a, b, c), got {len(value)} values")
    return tuple(check_real(f"ns_coefficients[{i}]", value[i]) for i in range(3))
