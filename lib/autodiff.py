"""Gradients and Hessians by ``torch.autograd``: the one place ``lib`` calls it.

Defined in chapter 2 (*Gradients and automatic differentiation*);
:mod:`lib.functions`, :mod:`lib.calculus`, :mod:`lib.second_order` and
:mod:`lib.trajectory` differentiate through it.

* :func:`gradient` — ``∂ value / ∂x``, shaped like ``x``, zeros where ``value``
  does not depend on ``x``; for a batch of points, each point's own gradient;
* :func:`hessian` — the Jacobian of such a gradient: ``∇²f``, one backward
  pass per row.
"""

from __future__ import annotations

import torch

__all__ = ["gradient", "hessian"]


def gradient(value: torch.Tensor, x: torch.Tensor, *, create_graph: bool = False, retain_graph=None) -> torch.Tensor:
    """``∂ value.sum() / ∂x`` for a leaf ``x`` that requires grad, shaped like ``x``.

    Zeros where ``value`` does not depend on ``x``. When ``value`` holds one number
    per point of a batch ``x`` (the points independent), the gradient of the sum is
    every point's own gradient. ``create_graph=True`` keeps the graph of the result,
    to differentiate it again (:func:`hessian`).
    """
    if not value.requires_grad:
        return torch.zeros_like(x)
    (grad,) = torch.autograd.grad(
        value.sum(), x, create_graph=create_graph, retain_graph=retain_graph, allow_unused=True
    )
    return torch.zeros_like(x) if grad is None else grad


def hessian(grad: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """``∇²f`` from ``grad = gradient(f(x), x, create_graph=True)``.

    Shape ``(..., d, d)`` for ``x`` of shape ``(..., d)``. Row ``i`` is the
    gradient of ``∂f/∂x_i``: one backward pass per row.
    """
    rows = [gradient(grad[..., i], x, retain_graph=True) for i in range(x.shape[-1])]
    return torch.stack(rows, dim=-2)
