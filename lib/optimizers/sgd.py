"""Stochastic gradient descent, with optional (Nesterov) momentum.

Defined in chapter 5 (*Gradient descent*: plain steps and ``maximize``) and
chapter 9 (*Momentum and Nesterov*).
"""

from __future__ import annotations

import torch

from lib.optimizers.base import BaseOptimizer, Workspace


def decayed_gradient(
    param: torch.Tensor, grad: torch.Tensor, weight_decay: float, maximize: bool, out: torch.Tensor | None = None
) -> torch.Tensor:
    """``g = ±∇f + ωθ``: the gradient (negated to maximize) plus the L2 weight-decay term.

    Written into ``out`` (a new tensor when ``out`` is None), or ``grad`` itself when
    there is nothing to do: callers must not modify the result in place unless it is ``out``.
    """
    if maximize:
        grad = torch.neg(grad, out=out)
        if weight_decay != 0:
            grad.add_(param, alpha=weight_decay)
    elif weight_decay != 0:
        grad = torch.add(grad, param, alpha=weight_decay, out=out)
    return grad


def sgd_update(
    param: torch.Tensor,
    grad: torch.Tensor,
    state: dict,
    workspace: Workspace,
    *,
    lr: float,
    momentum: float,
    dampening: float,
    weight_decay: float,
    nesterov: bool,
    maximize: bool,
) -> None:
    """One SGD step on one parameter, in place (the momentum buffer lives in ``state``)."""
    raw = grad
    grad = decayed_gradient(param, grad, weight_decay, maximize, out=workspace.like(param))
    if momentum != 0:
        buf = state.get("momentum_buffer")
        if buf is None:
            buf = state["momentum_buffer"] = grad.detach().clone()
        else:
            buf.mul_(momentum).add_(grad, alpha=1 - dampening)
        if not nesterov:
            grad = buf
        elif grad is raw:  # p.grad itself: leave it alone
            grad = torch.add(grad, buf, alpha=momentum, out=workspace.like(param))
        else:  # already a scratch tensor
            grad.add_(buf, alpha=momentum)
    param.add_(grad, alpha=-lr)


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

    def _update_group(self, group: dict, params: list[torch.Tensor]) -> None:
        lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
        weight_decay, nesterov, maximize = group["weight_decay"], group["nesterov"], group["maximize"]
        state, workspace = self.state, self.workspace
        for param in params:
            sgd_update(
                param,
                param.grad,
                state[param] if momentum != 0 else {},  # torch keeps no state without momentum
                workspace,
                lr=lr,
                momentum=momentum,
                dampening=dampening,
                weight_decay=weight_decay,
                nesterov=nesterov,
                maximize=maximize,
            )
