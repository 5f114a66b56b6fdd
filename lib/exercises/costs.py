"""Chapter 3's checked exercises: costs, checked against ``torch.nn.functional``."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from lib.exercises.feedback import Case, Feedback, Mistake, check_function, fresh, generator, randn


def check_huber_cost(huber_cost) -> Feedback:
    """Check ``huber_cost(y_hat, y, delta)``: the mean Huber loss, as ``F.huber_loss``."""
    data = []
    for seed, (n, delta) in enumerate(((6, 1.0), (9, 0.5), (5, 2.0), (12, 1.5)), start=20):
        gen = generator(seed)
        y = randn(gen, n)
        data.append((f"on {n} points with δ = {delta}", y + 2 * delta * randn(gen, n), y, delta))
    cases = [Case(label, lambda f, y_hat=y_hat, y=y, d=d: f(*fresh(y_hat, y), d)) for label, y_hat, y, d in data]

    def torch_huber(y_hat, y, delta):
        return F.huber_loss(y_hat, y, delta=delta)

    def pieces(y_hat, y, delta, small, large):
        e = (y_hat - y).abs()
        return torch.where(e <= delta, small(e), large(e))

    mistakes = [
        Mistake(
            lambda yh, y, d: pieces(yh, y, d, lambda e: e**2, lambda e: d * (e - d / 2)).mean(),
            "gives twice Huber's loss on the errors smaller than δ: its quadratic part is ½e², not e².",
        ),
        Mistake(
            lambda yh, y, d: pieces(yh, y, d, lambda e: e**2 / 2, lambda e: d * e).mean(),
            "has two pieces that do not meet at |e| = δ: the linear part is δ(|e| − δ/2), not δ|e|.",
        ),
        Mistake(
            lambda yh, y, d: ((yh - y) ** 2 / 2).mean(),
            "never switches to the linear part: beyond |e| = δ Huber's loss grows like δ|e|, "
            "not like e², which is what makes it robust to outliers.",
        ),
        Mistake(
            lambda yh, y, d: F.huber_loss(yh, y, delta=d, reduction="sum"),
            "gives n times torch's value: the cost is the mean of the losses, not their sum.",
        ),
    ]
    return check_function(
        huber_cost,
        "huber_cost",
        cases,
        torch_huber,
        mistakes,
        names=("the cost",),
        success="agrees with torch.nn.functional.huber_loss",
    )


def check_cross_entropy(cross_entropy) -> Feedback:
    """Check ``cross_entropy(logits, y)``: the mean of ``-log p_{i, y_i}``, as ``F.cross_entropy``.

    ``logits`` has one row per example and one column per class; ``y`` holds class indices.
    """
    data = []
    for seed, (n, k, scale) in enumerate(((4, 3, 1.0), (6, 5, 3.0), (3, 2, 0.5), (5, 4, 1.0)), start=30):
        gen = generator(seed)
        logits = scale * randn(gen, n, k)
        data.append((f"on {n} examples and {k} classes", logits, torch.randint(k, (n,), generator=gen)))
    gen = generator(34)
    data.append(("on logits near 1000", 1000 + randn(gen, 3, 4), torch.tensor([0, 3, 1])))
    cases = [Case(label, lambda f, z=z, y=y: f(*fresh(z, y))) for label, z, y in data]

    def picked(log_p, y):
        return log_p[torch.arange(len(y)), y]

    overflow = (
        "overflows when the logits are large (about 1000 in one case): e^1000 is inf in "
        "floating point. Subtract each row's largest logit first (the log-sum-exp trick)."
    )
    mistakes = [
        Mistake(lambda z, y: -picked(torch.log(torch.exp(z) / torch.exp(z).sum(1, keepdim=True)), y).mean(), overflow),
        Mistake(lambda z, y: (torch.log(torch.exp(z).sum(1)) - picked(z, y)).mean(), overflow),
        Mistake(
            lambda z, y: -F.cross_entropy(z, y), "has the wrong sign: the cost is −log p_y, which is never negative."
        ),
        Mistake(
            lambda z, y: F.cross_entropy(z, y, reduction="sum"),
            "gives n times torch's value: the cost is the mean over the examples, not the sum.",
        ),
        Mistake(
            lambda z, y: -picked(torch.log_softmax(z, dim=0), y).mean(),
            "normalises each column instead of each row: the softmax runs over the classes of one example (dim=1).",
        ),
    ]
    return check_function(
        cross_entropy,
        "cross_entropy",
        cases,
        F.cross_entropy,
        mistakes,
        names=("the cost",),
        success="agrees with torch.nn.functional.cross_entropy",
    )
