"""Data sets used across the course.

* :func:`running_example` — the 8-point regression problem every Part I and
  Part II chapter returns to (defined in chapter 1, *Why optimize iteratively*),
  and :func:`running_cost`, its mean squared error at ``(m, b)`` (chapters 1, 5,
  8 and 10).
* :func:`synthetic_line` — a seeded noisy line of any size (chapter 6).
* :func:`train_validation_split` — a seeded random split.
* :func:`load_digits` — scikit-learn's bundled 8×8 handwritten digits (chapter 11),
  which ship with the package and so work offline.
"""

from __future__ import annotations

import torch

from lib.validation import as_finite_tensor, check_int, check_real

RUNNING_X = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
RUNNING_Y = [1.86, 1.31, 0.62, 0.33, 0.09, -0.67, -1.23, -1.37]
RUNNING_START = {"m": 0.9, "b": 0.1}
"""Where gradient descent starts on the running example: ``y_hat = m*x + b``."""


def _check_dtype(dtype) -> torch.dtype:
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch.dtype, got {dtype!r}")
    return dtype


def running_example(dtype: torch.dtype = torch.float64, device="cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(x, y)``, the course's 8-point regression data, as 1-D tensors.

    Model: ``y_hat = m*x + b``; start from ``m = 0.9, b = 0.1``; cost: mean squared error.
    """
    dtype = _check_dtype(dtype)
    x = torch.tensor(RUNNING_X, dtype=dtype, device=device)
    y = torch.tensor(RUNNING_Y, dtype=dtype, device=device)
    return x, y


def running_cost(theta) -> torch.Tensor:
    r"""The running example's cost, the mean squared error of ``y_hat = m*x + b``:
    $C(m, b) = \frac{1}{n} \sum_{i=1}^{n} (m x_i + b - y_i)^2$.

    ``theta`` is ``(m, b)``: a pair of numbers or tensors, or a tensor whose last
    dimension holds ``(m, b)``, so that a batch of shape ``(..., 2)`` (a grid for
    a contour plot) gives one cost each, shape ``(...)``. Gradients flow back to
    ``theta``; the data are float64, on ``theta``'s device.
    """
    if not isinstance(theta, torch.Tensor):
        if isinstance(theta, (str, bytes)) or not hasattr(theta, "__len__") or len(theta) != 2:
            raise TypeError(f"theta must be a pair (m, b) or a tensor of shape (..., 2), got {type(theta).__name__}")
        theta = torch.stack([torch.as_tensor(value, dtype=torch.float64) for value in theta])
    if theta.ndim == 0 or theta.shape[-1] != 2:
        raise ValueError(f"theta must hold (m, b) in its last dimension, got shape {tuple(theta.shape)}")
    x, y = running_example(device=theta.device)
    slope, intercept = theta[..., :1], theta[..., 1:]
    return ((slope * x + intercept - y) ** 2).mean(dim=-1)


def synthetic_line(
    n: int,
    *,
    slope: float = -0.5,
    intercept: float = 2.0,
    noise: float = 1.0,
    low: float = 0.0,
    high: float = 8.0,
    seed: int = 42,
    dtype: torch.dtype = torch.float32,
    device="cpu",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(x, y)`` with ``x`` evenly spaced on ``[low, high]`` and
    ``y = slope*x + intercept + noise*ε``, ``ε ~ N(0, 1)`` drawn from a generator seeded by ``seed``.

    Chapter 6 uses ``n = 8_000_000``; float32 keeps that at 64 MB for both arrays.
    """
    n = check_int("n", n, low=1)
    slope = check_real("slope", slope)
    intercept = check_real("intercept", intercept)
    noise = check_real("noise", noise, low=0.0)
    low = check_real("low", low)
    high = check_real("high", high)
    if not high > low:
        raise ValueError(f"high must be greater than low, got low={low}, high={high}")
    seed = check_int("seed", seed, low=0)
    dtype = _check_dtype(dtype)
    generator = torch.Generator().manual_seed(seed)
    x = torch.linspace(low, high, n, dtype=dtype)
    y = torch.randn(n, generator=generator, dtype=dtype).mul_(noise).add_(x, alpha=slope).add_(intercept)
    return x.to(device), y.to(device)


def train_validation_split(x, y, *, validation_fraction: float = 0.2, seed: int = 0):
    """Shuffle ``(x, y)`` with a seeded permutation and split off a validation set.

    Returns ``(x_train, y_train, x_val, y_val)``. ``x`` and ``y`` must have the same
    length along their first dimension.
    """
    x = as_finite_tensor("x", x)
    y = as_finite_tensor("y", y)
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError("x and y must have at least one dimension")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y must have the same length, got {x.shape[0]} and {y.shape[0]}")
    fraction = check_real("validation_fraction", validation_fraction, low=0.0, high=1.0, low_open=True, high_open=True)
    seed = check_int("seed", seed, low=0)
    n = x.shape[0]
    n_val = round(n * fraction)
    if n_val < 1 or n_val > n - 1:
        raise ValueError(f"validation_fraction={fraction} leaves an empty train or validation set for {n} samples")
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).to(x.device)
    val, train = order[:n_val], order[n_val:]
    return x[train], y[train], x[val], y[val]


def load_digits(*, test_fraction: float = 0.25, seed: int = 0, dtype: torch.dtype = torch.float32):
    """scikit-learn's 1,797 8×8 digit images, flattened to 64 features scaled to [0, 1].

    Returns ``(x_train, y_train, x_test, y_test)``; labels are ``int64`` class indices 0–9.
    The split is seeded, so every run sees the same test images.
    """
    from sklearn.datasets import load_digits as sklearn_digits

    dtype = _check_dtype(dtype)
    bunch = sklearn_digits()
    x = torch.as_tensor(bunch.data, dtype=dtype) / 16.0
    y = torch.as_tensor(bunch.target, dtype=torch.int64)
    x_train, y_train, x_test, y_test = train_validation_split(x, y, validation_fraction=test_fraction, seed=seed)
    return x_train, y_train, x_test, y_test
