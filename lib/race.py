"""The optimizer race: several optimizers from :mod:`lib.optimizers` on one test surface.

Defined in chapter 10, *Adaptive methods*:

* :class:`Contender` (made with :func:`contender`) — an optimizer name for
  :func:`lib.optimizers.create`, its hyper-parameters and a label;
* :func:`race` — run every contender from the same start (side by side, with
  :func:`lib.trajectory.minimize_together`) and return a :class:`RaceResult`: each
  trajectory, where it diverged, and a results table (steps to reach a target value,
  final value) as rows or as Markdown; :func:`races` gives each contender a race of its own;
* :func:`leaderboard` — several races (one per surface) in one Markdown table;
* :func:`tune` — pick each contender's learning rate from a grid, so the race is fair;
* :func:`hyper_parameters` — an optimizer's options from a learning rate and two betas;
* :func:`course` and :func:`result_list` — the checks of a surface with its start, and
  of one result or several, that the pictures share.

The pictures of a race (still, animated, values per step, and the explorer) are in
:mod:`lib.race_pictures`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import torch

from lib import optimizers
from lib.validation import as_finite_tensor, check_int, check_real

__all__ = [
    "Contender",
    "RaceResult",
    "contender",
    "course",
    "hyper_parameters",
    "leaderboard",
    "race",
    "races",
    "result_list",
    "tune",
]


@dataclass(frozen=True)
class Contender:
    """One runner: ``optimizer`` is a name for :func:`lib.optimizers.create`, ``options`` its keyword arguments."""

    label: str
    optimizer: str
    options: Mapping = field(default_factory=dict)

    def describe(self) -> str:
        """The hyper-parameters as ``"lr=0.1, momentum=0.9"``."""
        return ", ".join(f"{key}={_short(value)}" for key, value in self.options.items())


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    if isinstance(value, tuple):
        return "(" + ", ".join(_short(v) for v in value) + ")"
    return str(value)


def contender(optimizer: str, label: str | None = None, **options) -> Contender:
    """``contender("adam", lr=0.1)`` → a :class:`Contender` labelled ``"adam"`` (or ``label``).

    The name and the options are checked at once by building the optimizer on a dummy parameter.
    """
    if not isinstance(optimizer, str):
        raise TypeError(f"optimizer must be a name such as 'adam', got {type(optimizer).__name__}")
    if label is None:
        label = optimizer
    if not isinstance(label, str) or not label:
        raise TypeError(f"label must be a non-empty string, got {label!r}")
    optimizers.create(optimizer, [torch.zeros(1, requires_grad=True)], **options)
    return Contender(label, optimizer, dict(options))


def _check_surface(surface):
    if not callable(surface):
        raise TypeError(f"surface must be a callable test function from lib.functions, got {type(surface).__name__}")
    for name in ("xlim", "ylim"):
        if not hasattr(surface, name):
            raise TypeError(f"surface must have .xlim and .ylim (a function from lib.functions); missing .{name}")
    return surface


def _check_contenders(contenders) -> list[Contender]:
    if isinstance(contenders, Contender):
        contenders = [contenders]
    if isinstance(contenders, (str, bytes)) or not isinstance(contenders, Sequence) or not contenders:
        raise TypeError("contenders must be a non-empty list of Contender (see lib.race.contender)")
    for i, c in enumerate(contenders):
        if not isinstance(c, Contender):
            raise TypeError(f"contenders[{i}] must be a Contender (see lib.race.contender), got {type(c).__name__}")
    labels = [c.label for c in contenders]
    if len(set(labels)) != len(labels):
        raise ValueError(f"contenders must have distinct labels, got {labels}")
    return list(contenders)


def _check_point(x0):
    x0 = as_finite_tensor("x0", x0, dtype=torch.float64, ndim=1)
    if x0.shape[0] != 2:
        raise ValueError(f"x0 must be a point (x1, x2), got shape {tuple(x0.shape)}")
    return x0


def course(surface, x0) -> tuple:
    """``(surface, x0)`` checked for a race: a test function of :mod:`lib.functions` and a start ``(x1, x2)``."""
    return _check_surface(surface), _check_point(x0)


def surface_minimum(surface) -> float | None:
    """The surface's minimum value ``f*``, or ``None`` when it has none (the saddle) or it is not finite."""
    value = getattr(surface, "minimum", None)
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


@dataclass
class RaceResult:
    """What :func:`race` returns.

    ``trajectories[label]`` is the :class:`lib.trajectory.Trajectory` of each contender (``.points``,
    ``.values``, ``.gradients``); ``diverged_at[label]`` is the first step whose value was not
    finite (the trajectory then stops just before it) or ``None``.
    """

    surface: object
    x0: torch.Tensor
    steps: int
    contenders: list[Contender]
    trajectories: dict
    diverged_at: dict

    @property
    def labels(self) -> list[str]:
        return [c.label for c in self.contenders]

    @property
    def minimum(self) -> float | None:
        """The surface's minimum value ``f*``, or ``None`` when it has none (the saddle)."""
        return surface_minimum(self.surface)

    def steps_to(self, target: float) -> dict:
        """For each label, the first step ``k`` with ``f(x_k) <= target``, or ``None`` if never reached."""
        target = check_real("target", target)
        out = {}
        for label, trajectory in self.trajectories.items():
            hits = torch.nonzero(trajectory.values <= target)
            out[label] = int(hits[0, 0]) if len(hits) else None
        return out

    def final_values(self) -> dict:
        """For each label, ``f`` at the last finite point of its run."""
        return {label: float(t.values[-1]) for label, t in self.trajectories.items()}

    def table(self, target: float | None = None) -> list[dict]:
        """One row per contender: label, settings, final value, steps to ``target`` and divergence.

        ``target`` defaults to ``f* + 1e-6`` on a surface with a known minimum ``f*``.
        """
        target = self._target(target)
        reached = self.steps_to(target) if target is not None else {}
        rows = []
        for c in self.contenders:
            rows.append(
                {
                    "optimizer": c.label,
                    "settings": c.describe(),
                    "final value": self.final_values()[c.label],
                    "steps to target": reached.get(c.label),
                    "diverged at": self.diverged_at[c.label],
                }
            )
        return rows

    def _target(self, target):
        if target is not None:
            return check_real("target", target)
        return None if self.minimum is None else self.minimum + 1e-6

    def markdown(self, target: float | None = None) -> str:
        """:meth:`table` as a Markdown table (show it with ``IPython.display.Markdown``)."""
        target = self._target(target)
        name = getattr(self.surface, "name", "surface")
        reach = f"steps to f ≤ {target:.3g}" if target is not None else "steps to target"
        lines = [f"| {name}: optimizer | settings | {reach} | final f |", "|---|---|---:|---:|"]
        for row in self.table(target):
            steps = "—" if row["steps to target"] is None else str(row["steps to target"])
            if row["diverged at"] is not None:
                steps = f"diverged at step {row['diverged at']}"
            lines.append(f"| {row['optimizer']} | {row['settings']} | {steps} | {row['final value']:.4g} |")
        return "\n".join(lines)


def race(surface, contenders, *, x0, steps: int = 100) -> RaceResult:
    """Run each contender ``steps`` steps on ``surface`` from ``x0`` and collect the results.

    A contender whose values stop being finite is recorded as diverged (its trajectory ends at
    the last finite point) instead of raising, so one bad learning rate does not stop the race.
    The contenders run side by side (:func:`lib.trajectory.minimize_together`): each one's
    trajectory is the one :func:`lib.trajectory.minimize` gives it alone.
    """
    surface, x0 = course(surface, x0)
    contenders = _check_contenders(contenders)
    steps = check_int("steps", steps, low=1)
    return _results(surface, x0, steps, contenders, _trajectories(surface, contenders, x0, steps))


def races(surface, contenders, *, x0, steps: int = 100) -> list[RaceResult]:
    """Each contender in a race of its own (labels may repeat), all of them run side by side.

    ``races(f, cs, ...)[i]`` is ``race(f, [cs[i]], ...)``: an explorer that shows one race per
    setting works out all its settings' races at once this way.
    """
    surface, x0 = course(surface, x0)
    if isinstance(contenders, (str, bytes)) or not isinstance(contenders, Sequence) or not contenders:
        raise TypeError("contenders must be a non-empty list of Contender (see lib.race.contender)")
    contenders = [_check_contenders([c])[0] for c in contenders]
    steps = check_int("steps", steps, low=1)
    trajectories = _trajectories(surface, contenders, x0, steps)
    return [_results(surface, x0, steps, [c], [t]) for c, t in zip(contenders, trajectories, strict=True)]


def _trajectories(surface, contenders, x0, steps):
    from lib.trajectory import minimize_together

    return minimize_together(surface, [(x0, c.optimizer, c.options) for c in contenders], steps=steps)


def _results(surface, x0, steps, contenders, trajectories) -> RaceResult:
    labels = [c.label for c in contenders]
    return RaceResult(
        surface,
        x0,
        steps,
        contenders,
        dict(zip(labels, trajectories, strict=True)),
        {label: t.diverged_at for label, t in zip(labels, trajectories, strict=True)},
    )


def tune(surface, c: Contender, learning_rates, *, x0, steps: int = 100, target: float | None = None) -> Contender:
    """Return ``c`` with the learning rate from ``learning_rates`` that does best on ``surface``.

    Best means fewest steps to ``target`` (default ``f* + 1e-6``); runs that never reach it are
    ranked by their final value, and diverged runs come last. Ties go to the smaller rate.
    """
    if not isinstance(c, Contender):
        raise TypeError(f"c must be a Contender, got {type(c).__name__}")
    if isinstance(learning_rates, (str, bytes)) or not isinstance(learning_rates, Sequence) or not learning_rates:
        raise TypeError("learning_rates must be a non-empty list of positive numbers")
    rates = sorted(check_real(f"learning_rates[{i}]", r, low=0.0, low_open=True) for i, r in enumerate(learning_rates))
    candidates = [Contender(f"{c.label} lr={r:g}", c.optimizer, {**c.options, "lr": r}) for r in rates]
    result = race(surface, candidates, x0=x0, steps=steps)
    target = result._target(target)
    reached = result.steps_to(target) if target is not None else {}

    def rank(i):
        label = candidates[i].label
        if result.diverged_at[label] is not None:
            return (2, 0.0, i)
        if reached.get(label) is not None:
            return (0, reached[label], i)
        return (1, result.final_values()[label], i)

    best = min(range(len(candidates)), key=rank)
    return Contender(c.label, c.optimizer, {**c.options, "lr": rates[best]})


def leaderboard(results, targets=None) -> str:
    """A Markdown table with one row per contender and one column per race (surface).

    Each cell reads ``"k (lr=…)"``: the steps to the race's target, or ``"— (f=…)"`` with the
    final value when it never got there. ``targets`` lists one target per race (``None`` entries
    mean ``f* + 1e-6``).
    """
    results = result_list(results)
    targets = [None] * len(results) if targets is None else list(targets)
    if len(targets) != len(results):
        raise ValueError(f"targets must have one entry per race ({len(results)}), got {len(targets)}")
    labels = []
    for r in results:
        labels += [label for label in r.labels if label not in labels]
    header = ["optimizer"]
    columns = []
    for r, target in zip(results, targets, strict=True):
        target = r._target(target)
        header.append(f"{getattr(r.surface, 'name', 'surface')}: steps to f ≤ {target:.3g}")
        reached, final = r.steps_to(target), r.final_values()
        options = {c.label: c.options for c in r.contenders}
        column = {}
        for label in r.labels:
            lr = options[label].get("lr")
            setting = f" (lr={_short(float(lr))})" if lr is not None else ""
            if r.diverged_at[label] is not None:
                column[label] = f"diverged{setting}"
            elif reached[label] is None:
                column[label] = f"— (f={final[label]:.2g}){setting}"
            else:
                column[label] = f"{reached[label]}{setting}"
        columns.append(column)
    lines = ["| " + " | ".join(header) + " |", "|---" + "|---:" * len(results) + "|"]
    for label in labels:
        lines.append("| " + " | ".join([label] + [column.get(label, "") for column in columns]) + " |")
    return "\n".join(lines)


def result_list(results) -> list[RaceResult]:
    """``results`` (one :class:`RaceResult` or a non-empty list of them) as a list."""
    if isinstance(results, RaceResult):
        return [results]
    if not isinstance(results, Sequence) or not results or not all(isinstance(r, RaceResult) for r in results):
        raise TypeError("results must be a RaceResult or a non-empty list of them")
    return list(results)


def hyper_parameters(optimizer: str, *, lr: float, beta1: float = 0.9, beta2: float = 0.999) -> dict:
    """Options for ``optimizer`` from three knobs shared by the explorer's sliders.

    ``beta1`` is the momentum (SGD's ``momentum``, Adam's ``β1``); ``beta2`` the decay of the
    squared-gradient average ρ (Adam's ``β2``, RMSprop's ``alpha``, Adadelta's ``rho``). AdaGrad
    takes only ``lr``. Which knob an optimizer takes is read from its hyper-parameters.
    """
    lr = check_real("lr", lr, low=0.0, low_open=True)
    beta1 = check_real("beta1", beta1, low=0.0, high=1.0, high_open=True)
    beta2 = check_real("beta2", beta2, low=0.0, high=1.0, high_open=True)
    classes = {name.lower(): getattr(optimizers, name) for name in optimizers.NAMES}
    cls = classes.get(optimizer.lower()) if isinstance(optimizer, str) else None
    if cls is None:
        raise ValueError(f"optimizer must be one of {sorted(classes)}, got {optimizer!r}")
    knobs = cls.hyperparameters
    if "betas" in knobs:
        return {"lr": lr, "betas": (beta1, beta2)}
    for decay in ("rho", "alpha"):  # Adadelta's ρ, RMSprop's α: they take β2's place
        if decay in knobs:
            return {"lr": lr, decay: beta2}
    if "momentum" in knobs:
        return {"lr": lr, "momentum": beta1}
    return {"lr": lr}
