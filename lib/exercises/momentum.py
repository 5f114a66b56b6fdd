"""Chapter 9's checked exercises: heavy ball and Nesterov, checked against ``torch.optim.SGD``.

Each check runs the learner's step eight times on a random ill-conditioned
quadratic and compares the whole path with the one torch's optimizer takes.
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

STEPS = 8


def valley(seed: int, d: int):
    """∇f of a random quadratic ``½θᵀAθ`` whose curvatures span 0.2 to 4, and a start."""
    gen = generator(seed)
    q, _ = torch.linalg.qr(randn(gen, d, d))
    A = q @ torch.diag(torch.linspace(0.2, 4.0, d, dtype=torch.float64)) @ q.T
    return (lambda theta: A @ theta), 3 * randn(gen, d)


SETTINGS = ((2, 0.3, 0.5), (3, 0.2, 0.9), (4, 0.4, 0.3))
PROBLEMS = [
    (f"on a quadratic in {d} dimensions with η = {eta}, β = {beta}", *valley(seed, d), eta, beta)
    for seed, (d, eta, beta) in enumerate(SETTINGS, start=110)
]


def sgd_path(grad, theta, eta, beta, nesterov):
    """The parameters ``torch.optim.SGD(momentum=β)`` visits, start included."""
    return torch_path(torch.optim.SGD, grad, theta, STEPS, lr=eta, momentum=beta, nesterov=nesterov)


def heavy_ball_path(step, grad, theta, eta, beta):
    """The points ``step`` visits from ``theta``, with θ_{−1} = θ_0."""
    points, previous = [theta], theta
    for _ in range(STEPS):
        (new,) = results(step(theta.clone(), previous.clone(), grad(theta), eta, beta), ["θ_t"])
        if new.shape != theta.shape:
            raise WrongResult(f"returns θ_t of shape {tuple(new.shape)}, where θ has shape {tuple(theta.shape)}")
        previous, theta = theta, new
        points.append(theta)
    return torch.stack(points)


def check_heavy_ball_step(heavy_ball_step) -> Feedback:
    """Check ``heavy_ball_step(theta, theta_prev, grad, eta, beta)``.

    It returns θ_t = θ_{t−1} − η ∇f(θ_{t−1}) + β (θ_{t−1} − θ_{t−2}), given
    ``theta`` = θ_{t−1}, ``theta_prev`` = θ_{t−2} and ``grad`` = ∇f(θ_{t−1}).
    """
    cases = [Case(label, lambda f, p=p: heavy_ball_path(f, *p)) for label, *p in PROBLEMS]
    torch_paths = [sgd_path(*p, nesterov=False) for _, *p in PROBLEMS]
    mistakes = [
        Mistake(
            lambda t, p, g, e, b: t - e * g - b * (t - p),
            "pulls the ball back: the momentum term adds β(θ_{t−1} − θ_{t−2}), a fraction "
            "of the last step, in the direction it was going.",
        ),
        Mistake(
            lambda t, p, g, e, b: t - (1 - b) * e * g + b * (t - p),
            "scales the gradient step by 1 − β, as in an average: the heavy ball takes the "
            "full step η∇f(θ_{t−1}) and adds β times the last step.",
        ),
        Mistake(
            lambda t, p, g, e, b: t - e * g,
            "ignores the previous point: that is plain gradient descent. Add β(θ_{t−1} − θ_{t−2}).",
        ),
        Mistake(
            lambda t, p, g, e, b: t + e * g + b * (t - p),
            "goes uphill: the gradient step is −η∇f(θ_{t−1}), with a minus sign.",
        ),
    ]
    return check_function(
        heavy_ball_step,
        "heavy_ball_step",
        cases,
        torch_paths,
        mistakes,
        names=("the path θ_0, ..., θ_8",),
        success="visits the points torch.optim.SGD(momentum=β) visits",
    )


def nesterov_path(step, grad, theta, eta, beta):
    """The look-ahead points θ_t + βΔθ_t of Sutskever's Nesterov: what torch stores as the parameter."""
    delta = torch.zeros_like(theta)
    points = [theta]
    for _ in range(STEPS):
        theta, delta = results(step(theta.clone(), delta.clone(), grad, eta, beta), ["θ_t", "Δθ_t"])
        if theta.shape != delta.shape or theta.shape != points[0].shape:
            raise WrongResult(
                f"returns θ_t of shape {tuple(theta.shape)} and Δθ_t of shape "
                f"{tuple(delta.shape)}, where θ has shape {tuple(points[0].shape)}"
            )
        points.append(theta + beta * delta)
    return torch.stack(points)


def check_nesterov_step(nesterov_step) -> Feedback:
    """Check ``nesterov_step(theta, delta, grad_f, eta, beta)``: Sutskever's form of Nesterov's method.

    Δθ_t = βΔθ_{t−1} − η∇f(θ_{t−1} + βΔθ_{t−1}), θ_t = θ_{t−1} + Δθ_t; it returns
    ``(θ_t, Δθ_t)``. ``grad_f`` is the function ∇f. The look-ahead points θ_t + βΔθ_t
    are compared with the parameters of ``torch.optim.SGD(nesterov=True)``.
    """
    cases = [Case(label, lambda f, p=p: nesterov_path(f, *p)) for label, *p in PROBLEMS]
    torch_paths = [sgd_path(*p, nesterov=True) for _, *p in PROBLEMS]

    def step(theta, delta, grad, eta, beta, *, at=1.0, sign=-1.0, keep=False):
        new = beta * delta + sign * eta * grad(theta + at * beta * delta)
        return theta + new, delta if keep else new

    mistakes = [
        Mistake(
            lambda t, d, g, e, b: step(t, d, g, e, b, at=0.0),
            "evaluates the gradient at θ_{t−1}, not at the look-ahead point "
            "θ_{t−1} + βΔθ_{t−1}: that is the heavy ball.",
        ),
        Mistake(
            lambda t, d, g, e, b: step(t, d, g, e, b, at=-1.0),
            "looks behind instead of ahead: evaluate the gradient at θ_{t−1} + βΔθ_{t−1}.",
        ),
        Mistake(
            lambda t, d, g, e, b: step(t, d, g, e, b, keep=True),
            "returns the old step Δθ_{t−1}: return the new one, Δθ_t = θ_t − θ_{t−1}, which the next step needs.",
        ),
        Mistake(
            lambda t, d, g, e, b: step(t, d, g, e, b, sign=1.0),
            "goes uphill: the step subtracts η∇f, with a minus sign.",
        ),
    ]
    return check_function(
        nesterov_step,
        "nesterov_step",
        cases,
        torch_paths,
        mistakes,
        names=("the look-ahead points θ_t + βΔθ_t",),
        success="visits the points torch.optim.SGD(nesterov=True) stores",
    )
