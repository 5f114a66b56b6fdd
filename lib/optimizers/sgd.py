"""Stochastic gradient descent, with optional (Nesterov) momentum.

Defined in chapter 5 (*Gradient descent*: plain steps and ``maximize``) and
chapter 9 (*Momentum and Nesterov*).
"""

from __future__ import annotations

import torch

from lib.optimizers.base import BaseOptimizer, gradient


def sgd_update(
    param: torch.Tensor,
    grad: torch.Tensor,
    state: dict,
    *,
    lr: float,
    momentum: float,
    dampening: float,
    weight_decay: float,
    nesterov: bool,
    maximize: bool,
) -> None:
    """One step of the rule in :class:`SGD`'s docstring, on one parameter."""
    # g_t = ∇f(θ_{t-1}) + ω θ_{t-1}
    g = gradient(param, grad, maximize=maximize, weight_decay=weight_decay)
    d = g
    if momentum != 0:
        # b_1 = g_1,   b_t = β b_{t-1} + (1 − τ) g_t
        b = state.get("momentum_buffer")
        if b is None:
            b = state["momentum_buffer"] = g.clone()
        else:
            b.mul_(momentum).add_(g, alpha=1 - dampening)
        # d_t = g_t + β b_t  if nesterov,  b_t  otherwise
        d = g.add(b, alpha=momentum) if nesterov else b
    # θ_t = θ_{t-1} − η d_t
    param.add_(d, alpha=-lr)


class SGD(BaseOptimizer):
    """Stochastic gradient descent, optionally with momentum, as ``torch.optim.SGD`` computes it.

    With learning rate η, momentum β, dampening τ and weight decay ω, step t does::

        g_t = ∇f(θ_{t-1}) + ω θ_{t-1}             (−∇f(θ_{t-1}) + ω θ_{t-1} when maximize)
        b_1 = g_1,   b_t = β b_{t-1} + (1 − τ) g_t   (only when β ≠ 0)
        d_t = g_t + β b_t  if nesterov,  b_t  if β ≠ 0,  g_t  if β = 0
        θ_t = θ_{t-1} − η d_t

    Where papers differ: the heavy-ball method (Polyak, 1964) and Sutskever et al.
    (2013) keep the learning rate inside the velocity, ``v_t = β v_{t-1} − η g_t``,
    ``θ_t = θ_{t-1} + v_t``. Torch keeps η outside the buffer, so the two agree
    while η is constant but not when a schedule changes η. The buffer starts at
    ``b_1 = g_1`` (not at zero), so dampening only acts from the second step.
    With τ = β the buffer is an exponentially weighted average of the gradients started
    at g_1 rather than 0: the heavy ball with learning rate η(1 − β), except for a full
    first step η g_1.
    Torch's Nesterov step is the "look-ahead" rewritten to need the gradient at
    θ_{t-1} only: ``d_t = g_t + β b_t``.

    Arguments and defaults are torch's: ``SGD(params, lr=1e-3, momentum=0,
    dampening=0, weight_decay=0, nesterov=False, *, maximize=False)``.
    Nesterov needs ``momentum > 0`` and ``dampening = 0``.
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0,
        dampening: float = 0,
        weight_decay: float = 0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    unit_interval = ("dampening",)

    def _check_hyperparameters(self, hyper: dict) -> dict:
        hyper = super()._check_hyperparameters(hyper)
        if hyper["nesterov"] and (hyper["momentum"] == 0 or hyper["dampening"] != 0):
            raise ValueError("nesterov=True needs momentum > 0 and dampening = 0")
        return hyper

    update = staticmethod(sgd_update)

    def keeps_state(self, group: dict) -> bool:
        return group["momentum"] != 0

    def init_state(self, param: torch.Tensor, group: dict) -> dict:
        return {"momentum_buffer": None}  # b_1 = g_1 is set by the first step
