"""What every ``lib`` optimizer shares: argument checks, the ``step`` loop and its safety net.

Defined in chapter 10 (*Adaptive methods*); the SGD of chapters 5 and 9 uses it too.

A subclass of :class:`BaseOptimizer` only says how to update the parameters of one
group (``_update_group``) and, where it has one, which hyper-parameters must lie in
[0, 1] (``unit_interval``); the base class checks every hyper-parameter by its name.
The arithmetic for one parameter lives in a plain function next to each class, as
in ``torch/optim``.
"""

from __future__ import annotations

import math

import torch
from torch.optim import Optimizer

from lib.validation import check_real


def scalar_dtype() -> torch.dtype:
    """The dtype torch.optim uses for the ``step`` counters it keeps in the state."""
    return torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32


def check_flag(name: str, value) -> bool:
    """Return ``value`` after checking it is ``True`` or ``False``."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__}")
    return value


def check_lr(value) -> float:
    """A learning rate: a finite real ``>= 0`` (a one-element tensor is accepted)."""
    return check_real("lr", value, low=0.0)


def check_betas(value) -> tuple[float, float]:
    """``betas``: a pair of finite reals, each in ``[0, 1)``."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or not hasattr(value, "__getitem__"):
        raise TypeError(f"betas must be a pair (beta1, beta2), got {type(value).__name__}")
    if len(value) != 2:
        raise ValueError(f"betas must be a pair (beta1, beta2), got {len(value)} values")
    return tuple(check_real(f"betas[{i}]", value[i], low=0.0, high=1.0, high_open=True) for i in range(2))


FLAGS = frozenset({"maximize", "amsgrad", "nesterov", "centered", "decoupled_weight_decay"})
"""The hyper-parameters that are switches."""


WORKSPACE_MIN_BYTES = 1 << 16
"""Tensors at least this large get their temporaries from a :class:`Workspace`."""


class Workspace:
    """Scratch tensors kept from one step to the next, so a step allocates no large temporaries.

    A fresh parameter-sized tensor can cost more than its arithmetic: when the
    allocator maps new memory, every page is faulted in on first write. With
    glibc's allocator that happens each step as soon as two large temporaries
    are alive at once (as in torch's Adam step with ``foreach=False``).
    ``like(tensor, slot)`` returns a tensor shaped like ``tensor`` to pass as
    ``out=``, one per slot, or ``None`` (plain allocation) for small tensors.
    It holds at most one buffer per slot, dtype and device, the size of the
    largest parameter.
    """

    def __init__(self) -> None:
        self._buffers: dict = {}

    def like(self, tensor: torch.Tensor, slot: int = 0) -> torch.Tensor | None:
        if tensor.numel() * tensor.element_size() < WORKSPACE_MIN_BYTES:
            return None
        key = (slot, tensor.dtype, tensor.device)
        buffer = self._buffers.get(key)
        if buffer is None or buffer.numel() < tensor.numel():
            buffer = self._buffers[key] = torch.empty(tensor.numel(), dtype=tensor.dtype, device=tensor.device)
        return buffer[: tensor.numel()].view(tensor.shape)


class BaseOptimizer(Optimizer):
    """A ``torch.optim.Optimizer`` whose hyper-parameters are checked and whose steps stay finite.

    * Every hyper-parameter, in the constructor and in each parameter group
      (``add_param_group``), is checked: a bad one raises ``ValueError`` or
      ``TypeError`` naming it.
    * Parameters whose ``.grad`` is ``None`` are skipped; sparse gradients and
      complex parameters are refused with a clear error.
    * After each step the updated parameters are checked: if one became NaN or
      infinite (a non-finite gradient, a step that overflowed, ``eps = 0`` with a
      zero gradient, ...), ``step`` raises ``ValueError`` naming the parameter and
      the step (the parameter has been updated by then). torch.optim carries on
      silently with NaN; set ``optimizer.check_finite = False`` to do the same and
      save the check's one pass over the parameters. On finite values the
      results are the same as torch.optim's either way.
    """

    check_finite: bool = True
    """Whether ``step`` checks that the parameters are still finite (set it per optimizer)."""
    _steps_taken: int = 0  # step() calls so far, for error messages
    _workspace: Workspace | None = None  # not part of the state: rebuilt after pickling

    @property
    def workspace(self) -> Workspace:
        """Scratch tensors for the temporaries of a step (see :class:`Workspace`)."""
        if self._workspace is None:
            self._workspace = Workspace()
        return self._workspace

    def __init__(self, params, defaults: dict) -> None:
        super().__init__(params, self._check_hyperparameters(dict(defaults)))

    unit_interval: tuple[str, ...] = ()
    """Hyper-parameters that must also be at most 1 (Adadelta's rho, RMSprop's alpha, SGD's dampening)."""

    def _check_hyperparameters(self, hyper: dict) -> dict:
        """Return ``hyper`` with every hyper-parameter checked and normalised.

        ``lr`` and ``betas`` have rules of their own; the names in :data:`FLAGS` must be
        ``True`` or ``False``; every other one is a finite real ``>= 0`` (and ``<= 1`` if it
        is in :attr:`unit_interval`). A subclass extends this for rules that tie several
        hyper-parameters together.
        """
        for key, value in hyper.items():
            if key == "lr":
                hyper[key] = check_lr(value)
            elif key == "betas":
                hyper[key] = check_betas(value)
            elif key in FLAGS:
                hyper[key] = check_flag(key, value)
            else:
                hyper[key] = check_real(key, value, low=0.0, high=1.0 if key in self.unit_interval else None)
        return hyper

    def add_param_group(self, param_group: dict) -> None:
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}")
        own = {key: value for key, value in param_group.items() if key != "params" and key in self.defaults}
        checked = self._check_hyperparameters({**self.defaults, **own})
        param_group = {**param_group, **{key: checked[key] for key in own}}
        super().add_param_group(param_group)
        for position, param in enumerate(self.param_groups[-1]["params"]):
            if not param.is_floating_point():
                raise TypeError(f"params[{position}] must be a real floating-point tensor, got dtype {param.dtype}")

    def _update_group(self, group: dict, params: list[torch.Tensor]) -> None:
        """Apply one step to ``params`` (the parameters of ``group`` that have a gradient)."""
        raise NotImplementedError

    @torch.no_grad()
    def step(self, closure=None):
        """Perform one optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self._steps_taken += 1
        for index, group in enumerate(self.param_groups):
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            for p in params:
                if p.grad.is_sparse:
                    raise ValueError(
                        f"{type(self).__name__} does not support sparse gradients "
                        f"(parameter {_position(group, p)} of param group {index})"
                    )
            try:
                self._update_group(group, params)
            except RuntimeError as error:
                if "overflow" not in str(error):
                    raise
                raise ValueError(
                    f"{type(self).__name__}: a hyper-parameter of param group {index} (lr={group['lr']!r}) "
                    f"or a step size made from it does not fit in the parameters' dtype: {error}"
                ) from None
            self._check_finite(index, group, params)
        return loss

    def _check_finite(self, index: int, group: dict, params: list[torch.Tensor]) -> None:
        if not self.check_finite or _all_finite(params):
            return
        for p in params:
            if not bool(torch.isfinite(p).all()):
                finite_grad = bool(torch.isfinite(p.grad).all())
                cause = "its gradient is finite" if finite_grad else "its gradient is non-finite"
                raise ValueError(
                    f"{type(self).__name__}: parameter {_position(group, p)} of param group {index} "
                    f"(shape {tuple(p.shape)}) became NaN or infinite at step {self._steps_taken} ({cause}); "
                    "lower the learning rate, use eps > 0, or check the loss and its gradient"
                )


def _all_finite(params: list[torch.Tensor]) -> bool:
    """Cheap test: one sum per tensor (NaN and ±inf survive a sum), one device synchronisation.

    A sum can also overflow when every entry is finite; then each tensor is examined entry by entry.
    """
    sums = [p.sum(dtype=torch.float32) if p.element_size() < 4 else p.sum() for p in params]
    if sums[0].is_cpu:
        if math.isfinite(sum(s.item() for s in sums)):
            return True
    elif bool(torch.isfinite(torch.stack([s.to(sums[0].device) for s in sums])).all()):
        return True
    return all(bool(torch.isfinite(p).all()) for p in params)


def _position(group: dict, param: torch.Tensor) -> int:
    return next(i for i, p in enumerate(group["params"]) if p is param)
