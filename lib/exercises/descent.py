"""Checked exercises on gradient descent: chapter 5's loop and line search, chapter 6's mini-batches."""

from __future__ import annotations

import math

import torch

from lib.exercises.feedback import (
    Case,
    Feedback,
    Mistake,
    WrongResult,
    check_function,
    fresh,
    generator,
    not_written,
    randn,
    torch_path,
    wrap,
)
from lib.validation import check_callable


def quadratic(seed: int, d: int):
    """A random convex quadratic ``f(θ) = ½θᵀAθ − bᵀθ``: ``(f, ∇f, A)``."""
    gen = generator(seed)
    root = randn(gen, d, d)
    A, b = root @ root.T / d + 0.2 * torch.eye(d, dtype=torch.float64), randn(gen, d)
    return (lambda theta: theta @ A @ theta / 2 - b @ theta), (lambda theta: A @ theta - b), A


def check_gradient_descent(gradient_descent) -> Feedback:
    """Check ``gradient_descent(grad, theta, eta, steps)``: the points θ_0, ..., θ_T as one tensor.

    ``grad(θ)`` returns ∇f(θ); the result has ``steps + 1`` rows, the start first.
    """
    data = []
    for seed, (d, steps) in enumerate(((2, 10), (3, 5), (4, 8)), start=80):
        _, grad, A = quadratic(seed, d)
        eta = 1.5 / torch.linalg.eigvalsh(A).max().item()
        data.append(
            (f"on a quadratic in {d} dimensions, {steps} steps", grad, randn(generator(seed + 10), d), eta, steps)
        )
    cases = [Case(label, lambda f, g=g, t=t, e=e, s=s: f(g, *fresh(t), e, s)) for label, g, t, e, s in data]

    def torch_sgd(grad, theta, eta, steps):
        return torch_path(torch.optim.SGD, grad, theta, steps, lr=eta)

    def first_gradient(grad, theta, eta, steps):
        g = grad(theta)
        return torch.stack([theta - k * eta * g for k in range(steps + 1)])

    mistakes = [
        Mistake(
            lambda g, t, e, s: torch_sgd(lambda x: -g(x), t, e, s),
            "goes uphill: the step is θ − η∇f(θ), with a minus sign.",
        ),
        Mistake(
            lambda g, t, e, s: torch_sgd(g, t, e, s)[1:],
            "returns `steps` points: include the start θ_0 as the first row, so that there are steps + 1 in all.",
        ),
        Mistake(
            first_gradient, "uses the gradient at θ_0 for every step: compute ∇f again at the current point each time."
        ),
        Mistake(
            lambda g, t, e, s: torch_sgd(g, t, e, s)[-1:].expand(s + 1, -1),
            "returns the final point in every row: your list holds the same tensor each time, "
            "changed in place by `-=`. Append theta.clone(), or write theta = theta - eta * grad(theta).",
        ),
    ]
    return check_function(
        gradient_descent,
        "gradient_descent",
        cases,
        torch_sgd,
        mistakes,
        names=("the points",),
        success="takes the steps torch.optim.SGD takes",
    )


def check_backtracking(backtracking) -> Feedback:
    """Check ``backtracking(f, theta, g, c)``: the step Armijo's rule accepts, trying 1, 1/2, 1/4, ..."""
    data = []
    for seed, (d, c, scale) in enumerate(
        ((2, 0.5, 1.0), (3, 0.1, 4.0), (2, 0.8, 0.3), (4, 0.3, 2.0), (3, 0.5, 0.2)), start=90
    ):
        f, grad, A = quadratic(seed, d)

        def f_scaled(theta, f=f, s=scale):
            return s * f(theta)

        theta = randn(generator(seed + 10), d)
        data.append(
            (f"on a quadratic in {d} dimensions with c = {c}", f_scaled, theta, scale * grad(theta), c, scale * A)
        )

    def run(fn, f, theta, g, c):
        rate = fn(f, *fresh(theta, g), c)
        if isinstance(rate, torch.Tensor) and rate.numel() != 1:
            raise WrongResult("returns a tensor: return the learning rate η it accepts, one number")
        return rate

    cases = [Case(label, lambda fn, f=f, t=t, g=g, c=c: run(fn, f, t, g, c)) for label, f, t, g, c, _ in data]
    curvature = {id(f): H for _, f, _, _, _, H in data}

    def closed_form(f, theta, g, c):
        # On a quadratic the rule holds exactly when η ≤ 2(1 − c) gᵀg / gᵀHg.
        limit = 2 * (1 - c) * (g @ g) / (g @ curvature[id(f)] @ g)
        return min(1.0, 2.0 ** math.floor(math.log2(limit.item())))

    def rule(f, theta, g, test):
        lr = 1.0
        while not test(f(theta - lr * g), f(theta), lr):
            lr /= 2
        return lr

    mistakes = [
        Mistake(
            lambda f, t, g, c: rule(f, t, g, lambda new, old, lr: new < old),
            "accepts any step that lowers f: Armijo's rule asks for a decrease of at least "
            "c η ‖g‖², what the gradient promises, scaled by c.",
        ),
        Mistake(
            lambda f, t, g, c: rule(f, t, g, lambda new, old, lr: new <= old - c * lr * g.norm()),
            "compares with c η ‖g‖; the rule uses the squared norm, c η ‖g‖² = c η gᵀg.",
        ),
        Mistake(
            lambda f, t, g, c: min(closed_form(f, t, g, c), 0.5),
            "never tries η = 1: start the search at η = 1, and halve only while the rule fails.",
        ),
        Mistake(
            lambda f, t, g, c: closed_form(f, t, g, c) * 2,
            "returns the last step that failed the test, twice the one that passes: return η once the rule holds.",
        ),
    ]
    return check_function(
        backtracking,
        "backtracking",
        cases,
        closed_form,
        mistakes,
        names=("η",),
        success="returns the step the closed form on a quadratic gives",
    )


def check_batch_gradient(batch_gradient) -> Feedback:
    """Check ``batch_gradient(theta, x, y, rows)``: the MSE gradient of the line on the batch ``rows``."""
    data = []
    for seed, (n, B) in enumerate(((40, 8), (100, 32), (12, 5)), start=100):
        gen = generator(seed)
        x = 8 * torch.rand(n, generator=gen, dtype=torch.float64)
        y = -0.5 * x + 2 + randn(gen, n)
        data.append((f"with n = {n} and a batch of B = {B}", randn(gen, 2), x, y, torch.randperm(n, generator=gen)[:B]))
    cases = [Case(label, lambda f, t=t, x=x, y=y, r=r: f(*fresh(t, x, y, r))) for label, t, x, y, r in data]

    def autograd(theta, x, y, rows):
        theta = theta.clone().requires_grad_(True)
        ((theta[0] * x[rows] + theta[1] - y[rows]) ** 2).mean().backward()
        return theta.grad

    mistakes = [
        Mistake(
            lambda t, x, y, r: autograd(t, x, y, torch.arange(len(x))),
            "uses every point, not only the batch: pick the batch's points with x[rows] and y[rows] first.",
        ),
        Mistake(
            lambda t, x, y, r: autograd(t, x, y, r) * len(r) / len(x),
            "is B/n times the batch gradient: average over the B points of the batch, not over all n.",
        ),
        Mistake(
            lambda t, x, y, r: autograd(t, x, y, r) * len(r),
            "is B times the batch gradient: divide the sum over the batch by the batch size B.",
        ),
        Mistake(
            lambda t, x, y, r: -autograd(t, x, y, r),
            "points the opposite way to autograd's gradient: the error is ŷ − y. Check the sign.",
        ),
    ]
    return check_function(
        batch_gradient,
        "batch_gradient",
        cases,
        autograd,
        mistakes,
        names=("the gradient",),
        success="agrees with torch.autograd",
    )


def check_epoch_batches(epoch_batches) -> Feedback:
    """Check ``epoch_batches(n, batch_size, generator)``: one epoch's batches of row indices.

    A fresh shuffle of ``range(n)`` drawn from ``generator``, cut into full batches
    (an incomplete last batch is dropped). Checked by what it must do: every row at most
    once, ``n // batch_size`` batches, shuffled, a new order each epoch, repeatable.
    """
    check_callable("epoch_batches", epoch_batches)
    shown = f"`{getattr(epoch_batches, '__name__', 'epoch_batches')}`"

    def epoch(n, size, gen):
        batches = epoch_batches(n, size, gen)
        if batches is None:
            raise WrongResult("returns None: did you forget `return`?")
        return [torch.as_tensor(batch).flatten().tolist() for batch in batches]

    try:
        for n, size in ((12, 4), (10, 3), (50, 8)):
            gen = generator(n)
            first, second = epoch(n, size, gen), epoch(n, size, gen)
            again = epoch(n, size, generator(n))
            rows = [row for batch in first for row in batch]
            if [len(batch) for batch in first] != [size] * (n // size):
                message = (
                    f"returns batches of sizes {[len(b) for b in first]} for n = {n}, B = {size}; "
                    f"an epoch has {n // size} batches of {size}"
                    + (" (drop the incomplete last batch)." if len(rows) >= n else ".")
                )
            elif len(set(rows)) < len(rows) or not set(rows) <= set(range(n)):
                repeated = next((r for r in rows if rows.count(r) > 1), None)
                message = (
                    f"has row {repeated} twice in one epoch: draw the rows without replacement, with torch.randperm."
                    if repeated is not None
                    else f"returns rows outside 0 .. {n - 1}."
                )
            elif rows == sorted(rows):
                message = (
                    "returns the rows in the stored order: shuffle them with "
                    "torch.randperm(n, generator=generator) first."
                )
            elif first == second:
                message = (
                    "gives two epochs in a row the same order: draw from the generator it is "
                    "given, and do not seed it (or make a new one) inside the function."
                )
            elif first != again:
                message = (
                    "gave different batches for two generators seeded alike: pass "
                    "generator=generator to torch.randperm, so that a run can be repeated."
                )
            else:
                continue
            return Feedback(False, wrap(f"✗ {shown} {message}"))
    except NotImplementedError:
        return not_written(shown)
    except WrongResult as err:
        return Feedback(False, wrap(f"✗ {shown} {err}"))
    except Exception as err:
        return Feedback(False, wrap(f"✗ {shown} raised {type(err).__name__}: {err}"))
    return Feedback(
        True,
        wrap(
            f"✓ {shown} is right: every epoch visits each row at most once, in full "
            "batches, in a new order that the generator's seed repeats."
        ),
    )
