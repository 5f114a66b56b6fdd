"""Models: the running example's line, Xavier- and He-initialised dense layers, a multi-layer perceptron, accuracy.

* :class:`Line` — the running example's model ``y_hat = m*x + b`` as a ``torch.nn.Module``
  (defined in chapter 6, *Stochastic and mini-batch gradient descent*; chapter 7 trains it).

Defined in chapter 11, *Neurons and a deep net*:

* :func:`xavier_dense` — a dense layer ``y = W x + b`` whose weights are drawn from the
  Xavier-normal (Glorot) distribution ``W_ij ~ N(0, 2 / (fan_in + fan_out))`` with a seeded
  generator, and zero bias. Chapter 11 builds its 784 → 128 sigmoid layer with it.
* :func:`he_dense` — the same with He-normal weights, ``W_ij ~ N(0, 2 / fan_in)``, the
  variance that keeps the signal's size through ReLU layers.
* :func:`mlp` — a multi-layer perceptron from a list of layer widths, e.g. ``(64, 64, 64, 10)``,
  Xavier- (or He-) initialised from one seed, with an activation after every layer but the last.
* :func:`accuracy` — the fraction of rows whose largest output is the target class; it has the
  ``metric(outputs, targets)`` form that :func:`lib.train.fit` accepts in ``metrics``.
* :func:`count_parameters` — the number of trainable numbers in a model.
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn

from lib.validation import check_int, check_real

ACTIVATIONS = {"relu": nn.ReLU, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh}
"""Activation names :func:`mlp` accepts."""


class Line(torch.nn.Module):
    """The line ``y_hat = m*x + b``; its one parameter is ``weights = [m, b]``."""

    def __init__(self, m: float = 0.9, b: float = 0.1, dtype: torch.dtype = torch.float32):
        super().__init__()
        self.weights = torch.nn.Parameter(torch.tensor([check_real("m", m), check_real("b", b)], dtype=dtype))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.weights[0] * x + self.weights[1]


def _check_generator_or_seed(seed, generator):
    if generator is not None:
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
        return generator
    seed = check_int("seed", seed, low=0)
    return torch.Generator().manual_seed(seed)


def _check_dtype(dtype):
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
    return dtype


def xavier_std(fan_in: int, fan_out: int) -> float:
    """Standard deviation of Xavier-normal weights: ``sqrt(2 / (fan_in + fan_out))``."""
    fan_in = check_int("fan_in", fan_in, low=1)
    fan_out = check_int("fan_out", fan_out, low=1)
    return math.sqrt(2.0 / (fan_in + fan_out))


def _normal_dense(in_features, out_features, std, generator, dtype, device) -> nn.Linear:
    """``nn.Linear(in_features, out_features)``: weights ``std * N(0, 1)`` drawn in float64 on the CPU, zero bias."""
    layer = nn.Linear(in_features, out_features, dtype=dtype, device="meta")
    weight = torch.randn(out_features, in_features, generator=generator, dtype=torch.float64)
    weight *= std
    layer.weight = nn.Parameter(weight.to(dtype=dtype, device=device))
    layer.bias = nn.Parameter(torch.zeros(out_features, dtype=dtype, device=device))
    return layer


def xavier_dense(
    in_features: int = 784,
    out_features: int = 128,
    *,
    seed: int = 42,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
    device="cpu",
) -> nn.Linear:
    """Return an ``nn.Linear(in_features, out_features)`` with Xavier-normal weights and zero bias.

    ``W_ij ~ N(0, σ²)`` with ``σ = sqrt(2 / (in_features + out_features))`` (Glorot and Bengio, 2010),
    drawn on the CPU from ``generator`` or, when it is ``None``, from a new generator seeded
    with ``seed`` — so the same seed gives the same layer on every machine and device.
    """
    in_features = check_int("in_features", in_features, low=1)
    out_features = check_int("out_features", out_features, low=1)
    generator = _check_generator_or_seed(seed, generator)
    dtype = _check_dtype(dtype)
    return _normal_dense(in_features, out_features, xavier_std(in_features, out_features), generator, dtype, device)


def he_std(fan_in: int) -> float:
    """Standard deviation of He-normal weights: ``sqrt(2 / fan_in)``.

    A ReLU zeroes half of a symmetric input, so ``E[ReLU(z)²] = Var(z) / 2``; a layer
    with ``fan_in`` inputs then keeps the size of the signal when
    ``fan_in · Var(W) / 2 = 1`` (He et al., 2015).
    """
    fan_in = check_int("fan_in", fan_in, low=1)
    return math.sqrt(2.0 / fan_in)


def he_dense(
    in_features: int,
    out_features: int,
    *,
    seed: int = 42,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
    device="cpu",
) -> nn.Linear:
    """Return an ``nn.Linear(in_features, out_features)`` with He-normal weights and zero bias.

    ``W_ij ~ N(0, σ²)`` with ``σ = sqrt(2 / in_features)``, drawn as :func:`xavier_dense`
    draws (so it equals ``nn.init.kaiming_normal_(w, nonlinearity="relu")`` with the same
    generator).
    """
    in_features = check_int("in_features", in_features, low=1)
    out_features = check_int("out_features", out_features, low=1)
    generator = _check_generator_or_seed(seed, generator)
    dtype = _check_dtype(dtype)
    return _normal_dense(in_features, out_features, he_std(in_features), generator, dtype, device)


INITS = {"xavier": xavier_dense, "he": he_dense}
"""Weight initialisations :func:`mlp` accepts."""


def mlp(
    sizes,
    *,
    activation: str = "relu",
    init: str = "xavier",
    seed: int = 0,
    dtype: torch.dtype = torch.float32,
    device="cpu",
) -> nn.Sequential:
    """A multi-layer perceptron with layer widths ``sizes`` (inputs first, outputs last).

    ``mlp((64, 64, 64, 10))`` is ``Linear(64, 64), ReLU, Linear(64, 64), ReLU, Linear(64, 10)``.
    Every dense layer comes from :func:`xavier_dense` (``init="he"``: :func:`he_dense`),
    all drawn from one generator seeded with ``seed``. The last layer has no activation: it returns logits, ready for
    ``nn.CrossEntropyLoss``.
    """
    if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__"):
        raise TypeError(f"sizes must be a sequence of layer widths, got {type(sizes).__name__}")
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least an input and an output width, got {list(sizes)}")
    sizes = [check_int(f"sizes[{i}]", s, low=1) for i, s in enumerate(sizes)]
    if not isinstance(activation, str) or activation.lower() not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    if not isinstance(init, str) or init.lower() not in INITS:
        raise ValueError(f"init must be one of {sorted(INITS)}, got {init!r}")
    generator = _check_generator_or_seed(seed, None)
    dtype = _check_dtype(dtype)
    layers = []
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(INITS[init.lower()](fan_in, fan_out, generator=generator, dtype=dtype, device=device))
        if i < len(sizes) - 2:
            layers.append(ACTIVATIONS[activation.lower()]())
    return nn.Sequential(*layers)


def accuracy(outputs, targets) -> float:
    """Fraction of rows of ``outputs`` (shape ``(n, classes)``) whose arg-max equals ``targets`` (shape ``(n,)``)."""
    if not isinstance(outputs, torch.Tensor) or not isinstance(targets, torch.Tensor):
        raise TypeError("outputs and targets must be tensors")
    if outputs.ndim != 2 or outputs.shape[0] == 0:
        raise ValueError(f"outputs must have shape (n, classes) with n >= 1, got {tuple(outputs.shape)}")
    if targets.ndim != 1 or targets.shape[0] != outputs.shape[0]:
        raise ValueError(f"targets must have shape ({outputs.shape[0]},), got {tuple(targets.shape)}")
    if targets.is_floating_point() or targets.is_complex() or targets.dtype == torch.bool:
        raise TypeError(f"targets must hold integer class indices, got dtype {targets.dtype}")
    predictions = outputs.detach().argmax(dim=1)
    return float((predictions == targets.to(predictions.device)).double().mean())


def count_parameters(model: nn.Module) -> int:
    """Number of trainable numbers in ``model`` (the entries of every parameter that requires grad)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
