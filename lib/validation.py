"""Argument checks shared by every public function in ``lib``.

Each check raises ``TypeError`` for the wrong kind of value and ``ValueError``
for a value of the right kind that is out of range, and names the argument.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np
import torch


def check_real(name: str, value, *, low=None, high=None, low_open=False, high_open=False) -> float:
    """Return ``value`` as a float after checking it is a finite real in range.

    ``low``/``high`` bound the value (inclusive unless ``low_open``/``high_open``).
    """
    if isinstance(value, bool) or not isinstance(value, Real):
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = value.item()
        else:
            raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if low is not None and (value < low or (low_open and value == low)):
        op = ">" if low_open else ">="
        raise ValueError(f"{name} must be {op} {low}, got {value}")
    if high is not None and (value > high or (high_open and value == high)):
        op = "<" if high_open else "<="
        raise ValueError(f"{name} must be {op} {high}, got {value}")
    return value


def check_callable(name: str, value):
    """Return ``value`` after checking it can be called (a function, a class, a module, ...)."""
    if not callable(value):
        raise TypeError(f"{name} must be callable, got {type(value).__name__}")
    return value


def check_int(name: str, value, *, low=None, high=None) -> int:
    """Return ``value`` as an int after checking it is an integer in ``[low, high]``."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {value}")
    return value


def all_finite(*tensors: torch.Tensor) -> bool:
    """Whether every entry of every tensor is finite (no NaN, no ±inf)."""
    return all(_finite(t) for t in tensors)


def _finite(t: torch.Tensor) -> bool:
    # A handful of numbers on the CPU (a point of a 2-D surface, a loss) is read faster as
    # Python floats than by two tensor operations; training runs check this every step.
    if t.numel() <= 8 and t.device.type == "cpu" and not t.is_complex():
        return all(map(math.isfinite, t.detach().reshape(-1).tolist()))
    return bool(torch.isfinite(t).all())


def as_finite_tensor(name: str, value, *, dtype=None, ndim=None) -> torch.Tensor:
    """Convert ``value`` (tensor, array or sequence of numbers) to a finite tensor.

    ``ndim`` (an int or a tuple of ints) restricts the number of dimensions.
    """
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be a tensor, array or sequence of numbers, got {type(value).__name__}")
    try:
        if isinstance(value, torch.Tensor):
            tensor = value if dtype is None else value.to(dtype)
        else:
            tensor = torch.as_tensor(np.asarray(value), dtype=dtype)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(f"{name} must be a tensor, array or sequence of numbers: {err}") from None
    if not (
        tensor.is_floating_point() or tensor.dtype in (torch.int32, torch.int64, torch.int16, torch.int8, torch.uint8)
    ):
        raise TypeError(f"{name} must hold real numbers, got dtype {tensor.dtype}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if tensor.ndim not in allowed:
            raise ValueError(
                f"{name} must have {' or '.join(map(str, allowed))} dimension(s), got shape {tuple(tensor.shape)}"
            )
    if tensor.is_floating_point() and not all_finite(tensor):
        raise ValueError(f"{name} must contain only finite values")
    return tensor
