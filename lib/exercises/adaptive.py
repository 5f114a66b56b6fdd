"""Chapter 10's checked exercises: RMSProp, Adam and AdamW, checked against ``torch.optim``.

Each check runs the learner's step six times from zero state, on a quadratic whose
curvatures span four orders of magnitude, and compares the path with torch's.
"""

from __future__ import annotations

import torch

from lib.exercises.feedback import (
    Case,
    Feedback,
    Mistake,
    WrongResult,
    check_function,
    generator,
    randn,
    results,
    torch_path,
)

STEPS = 6


def bowl(seed: int, shape: tuple[int, ...]):
    """∇f of ``f(θ) = ½ Σ a_i θ_i²`` with curvatures ``a`` from 0.01 to 100, and a start."""
    gen = generator(seed)
    a = 10 ** (4 * torch.rand(shape, generator=gen, dtype=torch.float64) - 2)
    return (lambda theta: a * theta), randn(gen, *shape)


def problems(settings, start):
    return [
        (f"with θ of shape {shape} and {', '.join(f'{k} = {v}' for k, v in hyper.items())}", *bowl(seed, shape), hyper)
        for seed, (shape, hyper) in enumerate(settings, start=start)
    ]


def path(step, grad, theta, hyper: dict, state_names: tuple[str, ...], *, counted: bool):
    """The points ``step`` visits: ``step(theta, g, *state, [t,] *hyper.values())`` returns ``(θ_t, *state)``."""
    state = [torch.zeros_like(theta) for _ in state_names]
    names = ("θ_t", *state_names)
    points = [theta]
    for t in range(1, STEPS + 1):
        clock = (t,) if counted else ()
        new = results(step(theta.clone(), grad(theta), *(s.clone() for s in state), *clock, *hyper.values()), names)
        for name, value in zip(names, new, strict=True):
            if value.shape != theta.shape:
                raise WrongResult(
                    f"returns {name} of shape {tuple(value.shape)}, where θ has shape {tuple(theta.shape)}"
                )
        theta, *state = new
        points.append(theta)
    return torch.stack(points)


RMSPROP = problems(
    (
        ((3, 2), {"eta": 0.01, "rho": 0.99, "eps": 1e-8}),
        ((4,), {"eta": 0.1, "rho": 0.9, "eps": 1e-6}),
        ((2, 2), {"eta": 0.05, "rho": 0.5, "eps": 1e-8}),
    ),
    start=120,
)


def check_rmsprop_step(rmsprop_step) -> Feedback:
    """Check ``rmsprop_step(theta, g, v, eta, rho, eps)``, returning ``(θ_t, v_t)``.

    v_t = ρ v_{t−1} + (1 − ρ) g_t², θ_t = θ_{t−1} − η g_t / (√v_t + ε), as ``torch.optim.RMSprop``.
    """
    cases = [
        Case(label, lambda f, g=g, t=t, h=h: path(f, g, t, h, ("v_t",), counted=False)) for label, g, t, h in RMSPROP
    ]
    expected = [
        torch_path(torch.optim.RMSprop, g, t, STEPS, lr=h["eta"], alpha=h["rho"], eps=h["eps"])
        for _, g, t, h in RMSPROP
    ]

    def rule(theta, g, v, eta, rho, eps, *, weight=None, square=True, root=True, sign=-1.0):
        v = rho * v + (1 - rho if weight is None else weight) * (g**2 if square else g)
        return theta + sign * eta * g / ((v.sqrt() if root else v) + eps), v

    mistakes = [
        Mistake(
            lambda *a: rule(*a, weight=1.0),
            "leaves out the factor 1 − ρ: v_t = ρ v_{t−1} + (1 − ρ) g_t², so that v_t is an "
            "average of the squared gradients, not a sum. Your first step is √(1 − ρ) times "
            "torch's.",
        ),
        Mistake(
            lambda *a: rule(*a, root=False), "divides by v_t, not by its square root: the step is η g_t / (√v_t + ε)."
        ),
        Mistake(
            lambda *a: rule(*a, square=False),
            "averages g_t instead of g_t²: square the gradient, so that √v_t is its root-mean-square.",
        ),
        Mistake(lambda *a: rule(*a, sign=1.0), "goes uphill: the step subtracts η g_t / (√v_t + ε)."),
    ]
    return check_function(
        rmsprop_step,
        "rmsprop_step",
        cases,
        expected,
        mistakes,
        names=("the path θ_0, ..., θ_6",),
        success="visits the points torch.optim.RMSprop visits",
    )


def adam_rule(theta, g, m, v, t, eta, beta1, beta2, eps, *, correct_m=True, correct_v=True, shift=0):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    m_hat = m / (1 - beta1 ** (t + shift)) if correct_m else m
    v_hat = v / (1 - beta2 ** (t + shift)) if correct_v else v
    return theta - eta * m_hat / (v_hat.sqrt() + eps), m, v


def bias_mistakes(rule) -> list[Mistake]:
    """The usual ways to get Adam's bias correction wrong, for Adam and AdamW alike."""
    return [
        Mistake(
            lambda *a: rule(*a, correct_m=False, correct_v=False),
            "has no bias correction: your first step is (1 − β₁)/√(1 − β₂) times η, about "
            "3.16 η at the defaults, instead of about η. Divide m_t by 1 − β₁^t and v_t by 1 − β₂^t.",
        ),
        Mistake(
            lambda *a: rule(*a, correct_v=False),
            "corrects m_t but not v_t: divide v_t by 1 − β₂^t as well (your first step is 1/√(1 − β₂) times too long).",
        ),
        Mistake(
            lambda *a: rule(*a, correct_m=False),
            "corrects v_t but not m_t: your first step is (1 − β₁) times too small. Divide m_t by 1 − β₁^t as well.",
        ),
        Mistake(
            lambda *a: rule(*a, shift=1),
            "corrects with 1 − β^(t+1): here t already counts from 1, so divide by 1 − β₁^t and 1 − β₂^t.",
        ),
    ]


ADAM = problems(
    (
        ((3, 2), {"eta": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}),
        ((4,), {"eta": 0.1, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6}),
        ((2, 2), {"eta": 0.05, "beta1": 0.5, "beta2": 0.9, "eps": 1e-8}),
    ),
    start=130,
)


def check_adam_step(adam_step) -> Feedback:
    """Check ``adam_step(theta, g, m, v, t, eta, beta1, beta2, eps)``, returning ``(θ_t, m_t, v_t)``.

    ``t`` counts the steps from 1; the rule is chapter 10's, with bias correction, as ``torch.optim.Adam``.
    """
    cases = [
        Case(label, lambda f, g=g, t=t, h=h: path(f, g, t, h, ("m_t", "v_t"), counted=True)) for label, g, t, h in ADAM
    ]
    expected = [
        torch_path(torch.optim.Adam, g, t, STEPS, lr=h["eta"], betas=(h["beta1"], h["beta2"]), eps=h["eps"])
        for _, g, t, h in ADAM
    ]
    mistakes = [
        *bias_mistakes(adam_rule),
        Mistake(
            lambda theta, g, m, v, t, eta, beta1, beta2, eps: adam_rule(theta, -g, m, v, t, eta, beta1, beta2, eps),
            "goes uphill: the step subtracts η m̂_t / (√v̂_t + ε).",
        ),
    ]
    return check_function(
        adam_step,
        "adam_step",
        cases,
        expected,
        mistakes,
        names=("the path θ_0, ..., θ_6",),
        success="visits the points torch.optim.Adam visits",
    )


ADAMW = problems(
    (
        ((3, 2), {"eta": 0.01, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "omega": 0.5}),
        ((4,), {"eta": 0.1, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6, "omega": 0.3}),
        ((2, 2), {"eta": 0.05, "beta1": 0.5, "beta2": 0.9, "eps": 1e-8, "omega": 2.0}),
    ),
    start=140,
)


def adamw_rule(theta, g, m, v, t, eta, beta1, beta2, eps, omega, *, where="before", scale=True, **adam):
    decay = eta * omega if scale else omega
    if where == "gradient":  # Adam's L2 penalty
        return adam_rule(theta, g + omega * theta, m, v, t, eta, beta1, beta2, eps, **adam)
    if where == "after":
        new, m, v = adam_rule(theta, g, m, v, t, eta, beta1, beta2, eps, **adam)
        return new - decay * new, m, v
    new, m, v = adam_rule(theta, g, m, v, t, eta, beta1, beta2, eps, **adam)
    return new - decay * theta, m, v


def check_adamw_step(adamw_step) -> Feedback:
    """Check ``adamw_step(theta, g, m, v, t, eta, beta1, beta2, eps, omega)``, returning ``(θ_t, m_t, v_t)``.

    θ_t = θ_{t−1} − ηωθ_{t−1} − η m̂_t / (√v̂_t + ε), as ``torch.optim.AdamW(weight_decay=ω)``.
    """
    cases = [
        Case(label, lambda f, g=g, t=t, h=h: path(f, g, t, h, ("m_t", "v_t"), counted=True)) for label, g, t, h in ADAMW
    ]
    expected = [
        torch_path(
            torch.optim.AdamW,
            g,
            t,
            STEPS,
            lr=h["eta"],
            betas=(h["beta1"], h["beta2"]),
            eps=h["eps"],
            weight_decay=h["omega"],
        )
        for _, g, t, h in ADAMW
    ]
    mistakes = [
        Mistake(
            lambda *a: adamw_rule(*a, where="gradient"),
            "adds ωθ to the gradient: that is Adam's L2 penalty, which the division by √v̂_t "
            "then shrinks. AdamW's decoupled decay subtracts ηωθ_{t−1} from the weights "
            "directly, beside the Adam step.",
        ),
        Mistake(
            lambda *a: adamw_rule(*a, scale=False),
            "decays the weights by ωθ_{t−1}: the decay is scaled by the learning rate too, ηωθ_{t−1}.",
        ),
        Mistake(
            lambda *a: adamw_rule(*a, where="after"),
            "decays the weights after the Adam step: AdamW decays θ_{t−1}, the weights before this step.",
        ),
        Mistake(
            lambda theta, g, m, v, t, eta, beta1, beta2, eps, omega: adamw_rule(
                theta, g, m, v, t, eta, beta1, beta2, eps, -omega
            ),
            "grows the weights: weight decay subtracts ηωθ_{t−1}, pulling them towards zero.",
        ),
        *bias_mistakes(adamw_rule),
    ]
    return check_function(
        adamw_step,
        "adamw_step",
        cases,
        expected,
        mistakes,
        names=("the path θ_0, ..., θ_6",),
        success="visits the points torch.optim.AdamW visits",
    )
