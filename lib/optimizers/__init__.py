"""Optimizers written from scratch, step for step equal to ``torch.optim``.

Defined in chapter 10 (*Adaptive methods*), with SGD from chapters 5 and 9;
the training loops and the race build them with :func:`create`, which takes
a name from :data:`NAMES`, an optimizer class or a factory. Chapter 12
(*Optimizers for large models*) adds :class:`Adafactor` and :class:`Muon`;
they are not in :data:`NAMES`, the per-coordinate methods that chapters 10
and 11 race on any parameter (Muon takes matrices only): pass their class.

Each class is a ``torch.optim.Optimizer`` with torch's name, argument names and
defaults, so it drops into any training loop and works with
``torch.optim.lr_scheduler``; its docstring states the update rule and where
torch and the paper differ, and the plain function next to it (``adam_update``
in ``adam.py``, ...) is that rule line for line, with torch's in-place
operations in torch's order: the results equal torch.optim's bit for bit.
Its state uses torch's keys, so ``state_dict()`` can be loaded into the
matching ``torch.optim`` class and back.

Differences from torch.optim, all on purpose:

* every hyper-parameter is checked (also per parameter group): a bad one
  raises ``ValueError`` or ``TypeError`` naming it; flags must be ``bool``, and
  two ranges are narrower than torch's: SGD's ``dampening`` and RMSprop's
  ``alpha`` must lie in [0, 1];
* ``step()`` raises ``ValueError`` naming the parameter and the step when a
  parameter becomes NaN or infinite, where torch carries on silently. The
  guard checks after each of the first twenty steps and then after every
  twentieth, at most nineteen steps late (non-finite values never heal),
  because a check after every step would cost plain SGD half its step again; see
  :mod:`lib.optimizers.base` for the measurements and the one gap (a loop that
  stops between two checks). ``optimizer.check_finite = False`` turns it off;
  ``lib.train`` and ``lib.trajectory`` do, and report divergence themselves;
* no ``foreach``/``fused``/``capturable``/``differentiable`` switches: one
  plain implementation; no sparse gradients and no complex parameters.
"""

from __future__ import annotations

from torch.optim import Optimizer

from lib.optimizers.adadelta import Adadelta
from lib.optimizers.adafactor import Adafactor
from lib.optimizers.adagrad import Adagrad
from lib.optimizers.adam import Adam, AdamW
from lib.optimizers.adamax import Adamax
from lib.optimizers.base import BaseOptimizer, build_from
from lib.optimizers.muon import Muon
from lib.optimizers.nadam import NAdam
from lib.optimizers.radam import RAdam
from lib.optimizers.rmsprop import RMSprop
from lib.optimizers.sgd import SGD

__all__ = [
    "NAMES",
    "SGD",
    "Adadelta",
    "Adafactor",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "BaseOptimizer",
    "Muon",
    "NAdam",
    "RAdam",
    "RMSprop",
    "create",
]

_CLASSES = {cls.__name__: cls for cls in (SGD, Adagrad, Adadelta, RMSprop, Adam, AdamW, NAdam, RAdam, Adamax)}
NAMES: tuple[str, ...] = tuple(_CLASSES)
"""The optimizer names :func:`create` accepts (in any letter case)."""


def create(optimizer, params, **kwargs) -> Optimizer:
    """Build an optimizer over ``params``, with ``kwargs`` its own arguments.

    ``optimizer`` is one of :data:`NAMES` in any letter case (``"adam"``), an
    optimizer class (``lib.optimizers.Adam``, ``torch.optim.LBFGS``) or a factory
    called as ``optimizer(params, **kwargs)`` that returns a ``torch.optim.Optimizer``
    (``lambda params, **kw: torch.optim.SGD(params, foreach=False, **kw)``). For
    example ``create("sgd", model.parameters(), lr=0.1, momentum=0.9)``.
    """
    built = build_from(
        "optimizer", optimizer, _CLASSES, Optimizer, "torch.optim.Optimizer", "torch.optim.LBFGS", params, **kwargs
    )
    if not isinstance(built, Optimizer):
        raise TypeError(f"optimizer must build a torch.optim.Optimizer, got {type(built).__name__}")
    return built
