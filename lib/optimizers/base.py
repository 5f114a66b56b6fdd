"""What every ``lib`` optimizer shares: argument checks, the ``step`` loop, the
gradient with its weight-decay term, and the guard against silent NaN.

Defined in chapter 10 (*Adaptive methods*); the SGD of chapters 5 and 9 uses it too.

A subclass of :class:`BaseOptimizer` names its update rule (``update``, a plain
function next to the class, as in ``torch/optim``) and the state a parameter
starts with (``init_state``). ``step`` calls the rule once per parameter that has
a gradient, with the parameter group's hyper-parameters as keyword arguments.
The base class checks every hyper-parameter by its name.

No silent NaN: where the guard sits and what it costs
-----------------------------------------------------
torch.optim carries on when a parameter becomes NaN or infinite, and every later
step and loss is NaN too. A learner's own loop (``loss.backward()``,
``optimizer.step()``) may print nothing until the end, so ``step`` guards it:
``step`` is the one place such a loop is sure to pass through (the loss is the
loop's own), and a per-coordinate 0/0 (``eps = 0`` with a zero gradient) shows in
the parameters before it shows in the loss. The guard sums every parameter
updated since its last check (NaN and ±inf survive a sum) and reads the total
once; only when that is not finite does it look for the culprit, and it raises
``ValueError`` naming the parameter, the step (or the steps since its last
check) and whether the parameter's gradient is finite.

When it checks: after each of the first :data:`CHECK_EVERY` (twenty) steps,
then after every twentieth. One sum reads every parameter once, about half the
memory traffic of plain SGD's step (which reads two tensors and writes one),
and the small tensors' calls add to it: on ``benchmarks/optimizers.py`` a check
takes about 0.9 of torch's plain SGD step, and a check after every step made
lib's plain SGD 1.6× torch's, against a goal of 1.2×. Every twentieth step it
adds about 5 % to plain SGD's step and 1 % or less to Adam's. Nothing is missed
for good: a NaN or ±inf in a parameter stays non-finite under every update rule
here (``θ + anything``, ``(1 − ηω) θ``), so a check finds any that arose since
the one before, at most nineteen steps late. Short loops, and the first steps,
where ``eps = 0`` or a far too large learning rate fail, are checked step by
step. The one gap: a loop longer than twenty steps that stops between two
checks can end with a NaN the guard has not seen yet (its last losses show it).

``lib.train.fit`` and ``lib.trajectory.minimize`` check the loss and the
gradient at every step themselves and report divergence with the last finite
value, so they set ``optimizer.check_finite = False`` and do not pay twice.
"""

from __future__ import annotations

import inspect
import math

import torch
from torch.optim import Optimizer

from lib.validation import all_finite, check_real


def scalar_dtype() -> torch.dtype:
    """The dtype torch.optim uses for the ``step`` counters it keeps in the state."""
    return torch.float64 if torch.get_default_dtype() == torch.float64 else torch.float32


def gradient(param: torch.Tensor, grad: torch.Tensor, *, maximize: bool, weight_decay: float = 0.0) -> torch.Tensor:
    """``g_t = ∇f(θ_{t-1}) + ω θ_{t-1}``, with ``−∇f`` in place of ``∇f`` to maximize.

    The gradient every update rule starts from, with the L2 weight-decay term
    ``ω θ_{t-1}`` (none when ``weight_decay`` is 0). It is ``grad`` itself when
    there is nothing to add: the rules only read it.
    """
    if maximize:
        grad = -grad
    if weight_decay != 0:
        grad = grad.add(param, alpha=weight_decay)
    return grad


def decay_weights(param: torch.Tensor, lr: float, weight_decay: float) -> None:
    """Decoupled weight decay, in place: ``θ_{t-1} ← (1 − ηω) θ_{t-1}`` (AdamW, NAdamW)."""
    if weight_decay != 0:
        param.mul_(1 - lr * weight_decay)


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


def build_from(argument: str, spec, classes: dict, kinds, kind: str, example: str, /, *args, **kwargs):
    """``spec(*args, **kwargs)``, where ``spec`` is a name, a class or a factory.

    A name is a key of ``classes`` in any letter case; a class must derive from
    ``kinds`` (a ``kind`` class); anything else callable is a factory. Bad input
    raises ``ValueError`` or ``TypeError`` naming ``argument``; ``example`` is a
    class to suggest for a name not in ``classes``. :func:`lib.optimizers.create`
    and :func:`lib.schedules.create` are built on it.
    """
    if isinstance(spec, str):
        cls = {name.lower(): cls for name, cls in classes.items()}.get(spec.strip().lower())
        if cls is None:
            raise ValueError(
                f"{argument} must be one of the names {', '.join(classes)} (any letter case), got {spec!r}; "
                f"for another one pass its class, such as {example}"
            )
        return cls(*args, **kwargs)
    if isinstance(spec, type) and not issubclass(spec, kinds):
        raise TypeError(f"{argument} must be a {kind} class, got the class {spec.__name__}")
    if not callable(spec):
        example_name = next(iter(classes))
        raise TypeError(
            f"{argument} must be a name such as {example_name!r}, a class or a factory, got {type(spec).__name__}"
        )
    return spec(*args, **kwargs)


FLAGS = frozenset({"maximize", "amsgrad", "nesterov", "centered", "decoupled_weight_decay"})
"""The hyper-parameters that are switches."""


CHECK_EVERY = 20
"""The NaN guard checks every step up to this one, then every step that is a multiple of it."""


def checks_step(step: int) -> bool:
    """Whether the NaN guard checks the parameters after step ``step`` (counted from 1)."""
    return step <= CHECK_EVERY or step % CHECK_EVERY == 0


class BaseOptimizer(Optimizer):
    """A ``torch.optim.Optimizer`` whose hyper-parameters are checked and whose steps stay finite.

    * Every hyper-parameter, in the constructor and in each parameter group
      (``add_param_group``), is checked: a bad one raises ``ValueError`` or
      ``TypeError`` naming it.
    * Parameters whose ``.grad`` is ``None`` are skipped; sparse gradients and
      complex parameters are refused with a clear error.
    * The NaN guard: after each of the first twenty steps, and then after every
      twentieth, the parameters updated since the last check are checked. If one
      became NaN or infinite (a non-finite gradient, a step that overflowed,
      ``eps = 0`` with a zero gradient, ...), ``step`` raises ``ValueError``
      naming the parameter and the step, or the steps since the last check
      (the parameter has been updated by then). torch.optim carries on silently
      with NaN; set ``optimizer.check_finite = False`` to do the same. On finite
      values the results are torch.optim's, bit for bit, either way.
    """

    update = None
    """The update rule: ``update(param, grad, state, **hyper_parameters)``, in place."""
    hyperparameters: tuple[str, ...] = ()
    """The group's hyper-parameters ``update`` takes: its keyword-only arguments (set from it)."""
    unit_interval: tuple[str, ...] = ()
    """Hyper-parameters that must also be at most 1 (Adadelta's rho, RMSprop's alpha, SGD's dampening)."""
    check_finite: bool = True
    """Whether ``step`` checks that the parameters are still finite (set it per optimizer)."""
    _steps_taken: int = 0  # step() calls so far, for error messages
    _checked_at: int = 0  # the step of the guard's latest check
    _unchecked: list | None = None  # parameters updated since then (instance attributes, not state)

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if "update" in cls.__dict__:
            arguments = inspect.signature(cls.update).parameters.values()
            cls.hyperparameters = tuple(a.name for a in arguments if a.kind is a.KEYWORD_ONLY)

    def __init__(self, params, defaults: dict) -> None:
        super().__init__(params, self._check_hyperparameters(dict(defaults)))

    def init_state(self, param: torch.Tensor, group: dict) -> dict:
        """The state ``param`` starts with, under torch's keys (so that state dicts move between the two)."""
        raise NotImplementedError

    def keeps_state(self, group: dict) -> bool:
        """Whether the parameters of ``group`` keep a state (as in torch, SGD without momentum keeps none)."""
        return True

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

    @torch.no_grad()
    def step(self, closure=None):
        """Perform one optimization step; ``closure`` re-evaluates the model and returns the loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self._steps_taken += 1
        updated = []
        for index, group in enumerate(self.param_groups):
            params = [p for p in group["params"] if p.grad is not None]
            for p in params:
                if p.grad.is_sparse:
                    raise ValueError(
                        f"{type(self).__name__} does not support sparse gradients "
                        f"(parameter {_position(group, p)} of param group {index})"
                    )
            hyper = {key: group[key] for key in self.hyperparameters}
            update, states, keeps_state = self.update, self.state, self.keeps_state(group)
            try:
                for p in params:
                    state = (states.get(p) or self._start(p, group)) if keeps_state else {}
                    update(p, p.grad, state, **hyper)
            except RuntimeError as error:
                if "overflow" not in str(error):
                    raise
                raise ValueError(
                    f"{type(self).__name__}: a hyper-parameter of param group {index} (lr={group['lr']!r}) "
                    f"or a step size made from it does not fit in the parameters' dtype: {error}"
                ) from None
            updated += params
        if self.check_finite:
            self._guard(updated)
        return loss

    def _start(self, param: torch.Tensor, group: dict) -> dict:
        self.state[param] = state = self.init_state(param, group)
        return state

    def _guard(self, updated: list[torch.Tensor]) -> None:
        """The NaN guard: on a checking step, test every parameter updated since the last check."""
        if self._unchecked is None:
            self._unchecked = []
        self._unchecked += updated
        step = self._steps_taken
        if not checks_step(step):
            return
        params = list({id(p): p for p in self._unchecked}.values())
        last_check, self._unchecked, self._checked_at = self._checked_at, [], step
        if params and not _finite_by_sums(params):
            self._raise_non_finite(params, last_check)

    def _raise_non_finite(self, params: list[torch.Tensor], last_check: int) -> None:
        step = self._steps_taken
        when = f"at step {step}" if last_check == step - 1 else f"between step {last_check + 1} and step {step}"
        suspects = {id(p) for p in params}
        for index, group in enumerate(self.param_groups):
            for position, p in enumerate(group["params"]):
                if id(p) not in suspects or all_finite(p):
                    continue
                if p.grad is None:
                    cause = "it has no gradient now"
                elif all_finite(p.grad):
                    cause = "its gradient is finite"
                else:
                    cause = "its gradient is non-finite"
                raise ValueError(
                    f"{type(self).__name__}: parameter {position} of param group {index} "
                    f"(shape {tuple(p.shape)}) became NaN or infinite {when} ({cause}); "
                    "lower the learning rate, use eps > 0, or check the loss and its gradient"
                )


def _finite_by_sums(params: list[torch.Tensor]) -> bool:
    """Cheap test: one sum per tensor (NaN and ±inf survive a sum), read in one go.

    A sum can also overflow when every entry is finite; then each tensor is examined entry by entry.
    """
    sums = [p.sum(dtype=torch.float32) if p.element_size() < 4 else p.sum() for p in params]
    if sums[0].is_cpu:
        total = sum(s.item() for s in sums)
    else:  # one device synchronisation rather than one per tensor
        total = torch.stack([s.to(sums[0].device, torch.float64) for s in sums]).sum().item()
    return math.isfinite(total) or all_finite(*params)


def _position(group: dict, param: torch.Tensor) -> int:
    return next(i for i, p in enumerate(group["params"]) if p is param)
