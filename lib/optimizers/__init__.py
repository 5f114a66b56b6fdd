"""Optimizers written from scratch, step for step equal to ``torch.optim``.

Defined in chapter 10 (*Adaptive methods*), with SGD from chapters 5 and 9;
``lib.train`` and the widgets build them with :func:`create`.

Each class is a ``torch.optim.Optimizer`` with torch's name, argument names and
defaults, so it drops into any training loop and works with
``torch.optim.lr_scheduler``; its docstring states the update rule and where
torch and the paper differ. Its state uses torch's keys, so ``state_dict()``
can be loaded into the matching ``torch.optim`` class and back.

Differences from torch.optim, all on purpose:

* every hyper-parameter is checked (also per parameter group): a bad one
  raises ``ValueError`` or ``TypeError`` naming it; flags must be ``bool``, and
  two ranges are narrower than torch's: SGD's ``dampening`` and RMSprop's
  ``alpha`` must lie in [0, 1];
* ``step()`` raises ``ValueError`` naming the parameter and the step when a
  parameter becomes NaN or infinite, where torch carries on silently
  (``optimizer.check_finite = False`` turns the check off; ``lib.train`` does,
  and reports divergence itself);
* large temporaries live in a workspace reused from step to step, so a step
  allocates no parameter-sized memory (the arithmetic is the same);
* no ``foreach``/``fused``/``capturable``/``differentiable`` switches: one
  plain implementation; no sparse gradients and no complex parameters.
"""

from __future__ import annotations

from lib.optimizers.adadelta import Adadelta
from lib.optimizers.adagrad import Adagrad
from lib.optimizers.adam import Adam, AdamW
from lib.optimizers.adamax import Adamax
from lib.optimizers.base import BaseOptimizer
from lib.optimizers.nadam import NAdam
from lib.optimizers.rmsprop import RMSprop
from lib.optimizers.sgd import SGD

__all__ = [
    "NAMES",
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "BaseOptimizer",
    "NAdam",
    "RMSprop",
    "create",
]

_CLASSES = {cls.__name__: cls for cls in (SGD, Adagrad, Adadelta, RMSprop, Adam, AdamW, NAdam, Adamax)}
NAMES: tuple[str, ...] = tuple(_CLASSES)
"""The optimizer names :func:`create` accepts (in any letter case)."""


def create(name: str, params, **kwargs) -> BaseOptimizer:
    """Build the optimizer called ``name`` (case-insensitive, e.g. ``"adam"``) over ``params``.

    ``kwargs`` are the class's own arguments, e.g. ``create("sgd", model.parameters(), lr=0.1, momentum=0.9)``.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string such as 'Adam', got {type(name).__name__}")
    by_lower = {key.lower(): cls for key, cls in _CLASSES.items()}
    cls = by_lower.get(name.strip().lower())
    if cls is None:
        raise ValueError(f"name must be one of {', '.join(NAMES)} (any letter case), got {name!r}")
    return cls(params, **kwargs)
