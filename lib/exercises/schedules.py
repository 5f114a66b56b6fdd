"""Chapter 7's checked exercises: schedules, checked against ``torch.optim.lr_scheduler`` and ``lib``.

Steps count from ``t = 1``, as in the chapter: the ``t``-th update uses the rate η_t.
"""

from __future__ import annotations

import math

import torch

from lib.exercises.feedback import Case, Feedback, Mistake, WrongResult, check_function
from lib.schedules import WarmupCosineLR, lr_sequence


def rates(fn, steps: int, *args) -> list[float]:
    """``fn(t, *args)`` for t = 1, ..., steps: the rate of each update."""
    values = []
    for t in range(1, steps + 1):
        rate = fn(t, *args)
        if isinstance(rate, torch.Tensor) and rate.numel() != 1:
            raise WrongResult("returns a tensor of several numbers: return the one rate η_t of step t")
        values.append(rate if rate is None else float(rate))
    if None in values:
        raise WrongResult("returns None: did you forget `return`?")
    return values


def check_step_decay(step_decay) -> Feedback:
    """Check ``step_decay(t, eta, gamma, step_size)``: η γ^⌊(t−1)/T_s⌋, as ``StepLR``."""
    settings = ((0.1, 0.5, 3), (1.0, 0.1, 5), (0.05, 0.8, 1), (0.3, 0.3, 4))
    cases = [
        Case(
            f"with η = {eta}, γ = {gamma}, T_s = {size}", lambda f, e=eta, g=gamma, s=size: rates(f, 4 * s + 2, e, g, s)
        )
        for eta, gamma, size in settings
    ]

    def torch_step_lr(t, eta, gamma, size):
        return lr_sequence(lambda opt: torch.optim.lr_scheduler.StepLR(opt, size, gamma), t, lr=eta)[-1]

    mistakes = [
        Mistake(
            lambda t, e, g, s: e * g ** (t // s),
            "cuts the rate one step early: at step t = T_s it should still be η. Steps count "
            "from t = 1, so the number of cuts is ⌊(t − 1)/T_s⌋.",
        ),
        Mistake(
            lambda t, e, g, s: e * g ** ((t - 1) / s),
            "decays smoothly, not in steps: round the number of cuts down, (t - 1) // step_size.",
        ),
        Mistake(
            lambda t, e, g, s: e * g * ((t - 1) // s),
            "multiplies η by γ times the number of cuts: each cut multiplies the rate by γ "
            "again, so raise γ to that power.",
        ),
        Mistake(
            lambda t, e, g, s: e * g ** (t - 1),
            "multiplies by γ at every step: that is exponential decay. Step decay cuts the rate "
            "only once every T_s steps.",
        ),
    ]
    return check_function(
        step_decay,
        "step_decay",
        cases,
        torch_step_lr,
        mistakes,
        names=("the rates",),
        success="sets the rates of torch.optim.lr_scheduler.StepLR",
    )


def check_warmup_cosine(warmup_cosine) -> Feedback:
    """Check ``warmup_cosine(t, eta, warmup_steps, total_steps, eta_min)`` against ``lib``'s ``WarmupCosineLR``."""
    settings = ((0.1, 5, 20, 0.0), (1.0, 3, 12, 0.1), (0.5, 10, 30, 0.05))
    cases = [
        Case(
            f"with η = {eta}, T_w = {w}, T = {T}, η_min = {low}",
            lambda f, e=eta, w=w, T=T, low=low: rates(f, T + 4, e, w, T, low),
        )
        for eta, w, T, low in settings
    ]

    def lib_rate(t, eta, w, T, low):
        return lr_sequence(lambda opt: WarmupCosineLR(opt, w, T, eta_min=low), t, lr=eta)[-1]

    def shape(t, e, w, T, low, *, start=1, origin=None, floor=True, bottom=None):
        step = t - start  # the chapter's t − 1
        bottom = low if bottom is None else bottom
        if step < w:
            return e * step / w
        if floor and step > T:
            return bottom
        progress = (step - (w if origin is None else origin)) / (T - (w if origin is None else origin))
        return bottom + (e - bottom) * (1 + math.cos(math.pi * progress)) / 2

    mistakes = [
        Mistake(
            lambda t, e, w, T, low: shape(t, e, w, T, low, start=0),
            "is one step ahead: the first update, t = 1, should have η_1 = 0. Steps count "
            "from 1, so use t − 1 in the formulas.",
        ),
        Mistake(
            lambda t, e, w, T, low: shape(t, e, w, T, low, origin=0),
            "starts the cosine part-way down instead of at the top where the warm-up ends: "
            "measure its progress from T_w, (t − 1 − T_w)/(T − T_w).",
        ),
        Mistake(
            lambda t, e, w, T, low: shape(t, e, w, T, low, bottom=0.0),
            "anneals to 0 instead of η_min: the cosine runs from η down to η_min.",
        ),
        Mistake(
            lambda t, e, w, T, low: shape(t, e, w, T, low, floor=False),
            "lets the rate rise again after step T + 1: the cosine has done its half turn "
            "there, so hold the rate at η_min.",
        ),
    ]
    return check_function(
        warmup_cosine,
        "warmup_cosine",
        cases,
        lib_rate,
        mistakes,
        names=("the rates",),
        success="sets the rates of lib.schedules.WarmupCosineLR",
    )
