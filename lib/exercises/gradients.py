"""Chapter 2's checked exercises: gradients by hand, checked against ``torch.autograd``."""

from __future__ import annotations

import torch

from lib.data import RUNNING_START, running_example
from lib.exercises.feedback import Case, Feedback, Mistake, check_function, fresh, generator, randn


def check_mse_gradient(mse_gradient) -> Feedback:
    """Check ``mse_gradient(theta, x, y)``: the gradient of the running example's MSE.

    ``theta = (m, b)``; the cost is ``C = mean((m x + b - y)**2)``, and the function
    returns the tensor ``(dC/dm, dC/db)``.
    """
    x, y = running_example()
    data = [
        (
            "on the running example at m = 0.9, b = 0.1",
            torch.tensor([RUNNING_START["m"], RUNNING_START["b"]], dtype=torch.float64),
            x,
            y,
        )
    ]
    for seed, n in ((1, 5), (2, 13), (3, 3)):
        gen = generator(seed)
        data.append((f"on {n} random points", randn(gen, 2), randn(gen, n), randn(gen, n)))
    cases = [Case(label, lambda f, args=args: f(*fresh(*args))) for label, *args in data]

    def autograd(theta, x, y):
        theta = theta.clone().requires_grad_(True)
        ((theta[0] * x + theta[1] - y) ** 2).mean().backward()
        return theta.grad

    def error(theta, x, y):
        return theta[0] * x + theta[1] - y

    mistakes = [
        Mistake(
            lambda t, x, y: autograd(t, x, y) / 2,
            "gives half of autograd's gradient: the derivative of (ŷ − y)² is 2(ŷ − y), so keep the factor 2.",
        ),
        Mistake(
            lambda t, x, y: autograd(t, x, y) * len(x),
            "gives n times autograd's gradient: the cost is the mean of the losses, so divide the sum by n.",
        ),
        Mistake(
            lambda t, x, y: -autograd(t, x, y),
            "points the opposite way to autograd's gradient: the error is the "
            "prediction minus the target, ŷ − y. Check the sign.",
        ),
        Mistake(
            lambda t, x, y: torch.stack([(2 * error(t, x, y) * x).mean()] * 2),
            "gets ∂C/∂m right but not ∂C/∂b: ŷ = m x + b changes with b at rate 1, so ∂ŷ/∂b = 1, not x.",
        ),
        Mistake(
            lambda t, x, y: autograd(t, x, y).flip(0),
            "returns (∂C/∂b, ∂C/∂m): put ∂C/∂m first, in the order of θ = (m, b).",
        ),
    ]
    return check_function(
        mse_gradient,
        "mse_gradient",
        cases,
        autograd,
        mistakes,
        names=("the gradient",),
        success="agrees with torch.autograd",
    )


def check_sigmoid_layer_backward(sigmoid_layer_backward) -> Feedback:
    """Check ``sigmoid_layer_backward(X, W, b, G)``: the backward pass of ``A = σ(X Wᵀ + b)``.

    ``G`` is ``dC/dA``; the function returns ``(dC/dW, dC/db, dC/dX)``.
    """
    data = []
    for seed, (n, d_in, d_out) in enumerate(((5, 3, 2), (4, 2, 4), (7, 6, 3)), start=10):
        gen = generator(seed)
        data.append(
            (
                f"with X of shape ({n}, {d_in}) and W of shape ({d_out}, {d_in})",
                randn(gen, n, d_in),
                randn(gen, d_out, d_in),
                randn(gen, d_out),
                randn(gen, n, d_out),
            )
        )
    cases = [Case(label, lambda f, args=args: f(*fresh(*args))) for label, *args in data]

    def autograd(X, W, b, G):
        X, W, b = (t.clone().requires_grad_(True) for t in (X, W, b))
        torch.sigmoid(X @ W.T + b).backward(G)
        return W.grad, b.grad, X.grad

    def through(dZ, X, W):  # the linear layer's backward pass, from dC/dZ
        return dZ.T @ X, dZ.sum(dim=0), dZ @ W

    def output(X, W, b):
        return torch.sigmoid(X @ W.T + b)

    mistakes = [
        Mistake(
            lambda X, W, b, G: through(G, X, W),
            "leaves out the sigmoid: multiply G by σ'(Z) = A(1 − A), entry by entry, "
            "before the linear layer's backward pass.",
        ),
        Mistake(
            lambda X, W, b, G: through(G * (1 - output(X, W, b) ** 2), X, W),
            "multiplies by 1 − A², the derivative of tanh; the sigmoid's derivative is σ'(Z) = A(1 − A).",
        ),
        Mistake(
            lambda X, W, b, G: through(G * torch.sigmoid(output(X, W, b)) * (1 - torch.sigmoid(output(X, W, b))), X, W),
            "applies σ' to A, the layer's output: σ' takes Z = X Wᵀ + b, and σ'(Z) = A(1 − A).",
        ),
    ]
    return check_function(
        sigmoid_layer_backward,
        "sigmoid_layer_backward",
        cases,
        autograd,
        mistakes,
        names=("dC/dW", "dC/db", "dC/dX"),
        success="agrees with torch.autograd",
    )
