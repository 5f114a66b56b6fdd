"""Checking a learner's function, and saying what is wrong in a learner's words.

Every ``check_...`` function in ``lib.exercises`` is built on :func:`check_function`:
it calls the learner's function on several seeded random *cases*, calls a
reference (``torch.optim``, ``torch.autograd``, ``lib`` or a closed form) on the
same cases, and compares. When they disagree it looks for the reason, in order:

1. the function is not written yet (it raises ``NotImplementedError``), raises
   another error, returns ``None`` or the wrong number of values;
2. its results are those of a *typical mistake* (the sign flipped, a factor
   left out, the bias correction missing, ...): then the mistake's message;
3. a result has the wrong shape, is not finite, or simply differs: then the
   first case where it does, with the numbers but not the reference's code.

The answer is a :class:`Feedback`: it shows its message in a notebook and is
true when the function is right, so a hidden cell can ``assert`` it. A wrong
answer is not an exception: the learner reads the message and tries again.
"""

from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Callable, Sequence

import torch

from lib.validation import check_callable

RTOL, ATOL = 1e-6, 1e-9  # every case runs in float64, so this is far above rounding


@dataclasses.dataclass(frozen=True)
class Feedback:
    """The verdict on a learner's function: ``passed`` and a message to read."""

    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:  # what a notebook shows under the check cell
        return self.message

    __str__ = __repr__


@dataclasses.dataclass(frozen=True)
class Mistake:
    """A typical wrong version of the function, and what to tell a learner who wrote it."""

    version: Callable
    message: str


@dataclasses.dataclass(frozen=True)
class Case:
    """One test: ``run(fn)`` calls ``fn`` (perhaps many times) and returns what to compare.

    ``label`` says where the case is, for messages: "with θ of shape (3, 2)".
    """

    label: str
    run: Callable


class WrongResult(Exception):
    """Raised by a case's ``run`` when the function returned something unusable."""


def results(value, names: Sequence[str]) -> tuple:
    """``value``, a function's return value, as a tuple of float64 tensors (or strings).

    ``names`` names the values the function should return, for the messages.
    """
    if value is None:
        raise WrongResult("returns None: did you forget `return`?")
    if len(names) > 1:
        if not isinstance(value, tuple | list) or len(value) != len(names):
            count = len(value) if isinstance(value, tuple | list) else 1
            raise WrongResult(f"returns {count} value(s); it should return {len(names)}: {', '.join(names)}")
        return tuple(as_tensor(v, name) for v, name in zip(value, names, strict=True))
    return (as_tensor(value, names[0]),)


def as_tensor(value, name: str):
    if isinstance(value, str):
        return value
    if value is None:
        raise WrongResult(f"returns None for {name}")
    try:
        if isinstance(value, list | tuple) and value and isinstance(value[0], torch.Tensor):
            value = torch.stack(list(value))
        return torch.as_tensor(value).detach().to(torch.float64).cpu()
    except (TypeError, ValueError, RuntimeError):
        raise WrongResult(f"returns a {type(value).__name__} for {name}, not a number or a tensor") from None


def check_function(
    fn,
    argument: str,
    cases: Sequence[Case],
    reference,
    mistakes: Sequence[Mistake] = (),
    *,
    names: Sequence[str] = ("the result",),
    success: str = "",
    rtol: float = RTOL,
    atol: float = ATOL,
) -> Feedback:
    """Compare ``fn`` with ``reference`` on ``cases`` and explain any difference.

    ``reference`` is a function run through the cases like ``fn``, or the list of
    what each case must return (e.g. the path ``torch.optim`` takes).
    ``argument`` is the name of the check function's argument (for a ``TypeError``
    and the messages); ``names`` names the values the function returns;
    ``success`` ends the message of a right answer ("agrees with torch.optim.Adam").
    """
    check_callable(argument, fn)
    shown = f"`{getattr(fn, '__name__', argument)}`"
    got = []
    for case in cases:
        try:
            got.append(results(case.run(fn), names))
        except NotImplementedError:
            return not_written(shown)
        except WrongResult as err:
            return Feedback(False, wrap(f"✗ {shown} {err} ({case.label})."))
        except Exception as err:  # the learner's code failed: say how, and where
            return Feedback(False, wrap(f"✗ {shown} raised {type(err).__name__} {case.label}: {err}"))
    if callable(reference):
        want = [results(case.run(reference), names) for case in cases]
    else:
        want = [results(value, names) for value in reference]
    if all(same(g, w, rtol, atol) for g, w in zip(got, want, strict=True)):
        return Feedback(True, wrap(f"✓ {shown} is right: it {success} on all {len(cases)} cases."))
    for mistake in mistakes:
        if matches(got, cases, mistake.version, names, rtol, atol):
            return Feedback(False, wrap(f"✗ {shown} {mistake.message}"))
    return Feedback(False, wrap(f"✗ {shown} {difference(got, want, cases, names, rtol, atol)}"))


def matches(got, cases, version, names, rtol, atol) -> bool:
    """Whether ``got`` is what ``version`` returns on every case."""
    for g, case in zip(got, cases, strict=True):
        try:
            if not same(g, results(case.run(version), names), rtol, atol, nan_equal=True):
                return False
        except (ArithmeticError, RuntimeError, WrongResult):
            return False
    return True


def same(got: tuple, want: tuple, rtol: float, atol: float, *, nan_equal: bool = False) -> bool:
    for g, w in zip(got, want, strict=True):
        if isinstance(w, str) or isinstance(g, str):
            if g != w:
                return False
        elif g.shape != w.shape or not torch.allclose(g, w, rtol=rtol, atol=atol, equal_nan=nan_equal):
            return False
    return True


def difference(got, want, cases, names, rtol, atol) -> str:
    """The first difference between ``got`` and ``want``, in words."""
    for g, w, case in zip(got, want, cases, strict=True):
        for value, expected, name in zip(g, w, names, strict=True):
            if isinstance(expected, str):
                if value != expected:
                    return f"returns {value!r} {case.label}, where {expected!r} is right."
                continue
            if isinstance(value, str):
                return f"returns the text {value!r} for {name} {case.label}, where a number is expected."
            if value.shape != expected.shape:
                return (
                    f"returns {name} of shape {tuple(value.shape)}, where it should be "
                    f"{tuple(expected.shape)} ({case.label})."
                )
            if not torch.isfinite(value).all():
                return f"returns {name} with values that are not finite (inf or nan) {case.label}."
            if not torch.allclose(value, expected, rtol=rtol, atol=atol):
                return f"returns {name} = {brief(value)} {case.label}, where {brief(expected)} is right."
    return "differs from the right answer."  # not reached: some case differs


def brief(t: torch.Tensor) -> str:
    """A tensor in a few significant digits, its first entries only."""
    if t.ndim == 0:
        return f"{t.item():.6g}"
    flat = [f"{v:.4g}" for v in t.flatten()[:6].tolist()]
    more = ", ..." if t.numel() > 6 else ""
    return f"[{', '.join(flat)}{more}]" + (f" (shape {tuple(t.shape)})" if t.ndim > 1 else "")


def wrap(text: str) -> str:
    return textwrap.fill(text, width=79, break_on_hyphens=False, break_long_words=False)


def not_written(shown: str) -> Feedback:
    return Feedback(
        False,
        wrap(
            f"{shown} is not written yet: replace `raise NotImplementedError` with your "
            "code, run its cell, then run this check again."
        ),
    )


def torch_path(optimizer_class, grad, theta: torch.Tensor, steps: int, **hyper) -> torch.Tensor:
    """The points ``optimizer_class([θ], **hyper)`` visits from ``theta``, given ``∇f = grad``, start included."""
    param = theta.clone().requires_grad_(True)
    optimizer = optimizer_class([param], **hyper)
    points = [theta.clone()]
    for _ in range(steps):
        param.grad = grad(param.detach().clone())
        optimizer.step()
        points.append(param.detach().clone())
    return torch.stack(points)


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def randn(gen: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=gen, dtype=torch.float64)


def uniform(gen: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * torch.rand((), generator=gen, dtype=torch.float64).item()


def fresh(*tensors: torch.Tensor):
    """Copies to hand to a learner's function, which may change its inputs in place."""
    return tuple(t.clone() for t in tensors)
