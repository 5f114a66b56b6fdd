"""lib.exercises: every check passes a right answer and names the mistake in typical wrong ones.

Each entry of ``EXERCISES`` holds a check, a right answer written as a learner
would write it, and wrong answers, each with a phrase its message must contain.
The chapters' own worked solutions are checked too, from the notebooks' text.
"""

from __future__ import annotations

import json
import math
import pathlib
import re

import pytest
import torch
import torch.nn.functional as F

from lib.exercises import (
    adaptive,
    costs,
    curvature,
    descent,
    gradients,
    large_models,
    momentum,
    networks,
    schedules,
)
from lib.exercises.feedback import Feedback

ROOT = pathlib.Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- chapter 2


def mse_gradient(theta, x, y):
    error = theta[0] * x + theta[1] - y
    return torch.stack([2 * (error * x).mean(), 2 * error.mean()])


def mse_gradient_sum(theta, x, y):
    error = theta[0] * x + theta[1] - y
    return torch.stack([2 * (error * x).sum(), 2 * error.sum()])


def mse_gradient_no_two(theta, x, y):
    error = theta[0] * x + theta[1] - y
    return torch.stack([(error * x).mean(), error.mean()])


def mse_gradient_y_minus(theta, x, y):
    error = y - (theta[0] * x + theta[1])
    return torch.stack([2 * (error * x).mean(), 2 * error.mean()])


def mse_gradient_b_times_x(theta, x, y):
    error = theta[0] * x + theta[1] - y
    return torch.stack([2 * (error * x).mean(), 2 * (error * x).mean()])


def sigmoid_backward(X, W, b, G):
    A = torch.sigmoid(X @ W.T + b)
    dZ = G * A * (1 - A)
    return dZ.T @ X, dZ.sum(dim=0), dZ @ W


def sigmoid_backward_linear(X, W, b, G):
    return G.T @ X, G.sum(dim=0), G @ W


def sigmoid_backward_tanh(X, W, b, G):
    A = torch.sigmoid(X @ W.T + b)
    dZ = G * (1 - A**2)
    return dZ.T @ X, dZ.sum(dim=0), dZ @ W


def sigmoid_backward_of_output(X, W, b, G):
    A = torch.sigmoid(X @ W.T + b)
    dZ = G * torch.sigmoid(A) * (1 - torch.sigmoid(A))
    return dZ.T @ X, dZ.sum(dim=0), dZ @ W


def sigmoid_backward_unsummed(X, W, b, G):
    A = torch.sigmoid(X @ W.T + b)
    dZ = G * A * (1 - A)
    return dZ.T @ X, dZ, dZ @ W


# ---------------------------------------------------------------- chapter 3


def huber(y_hat, y, delta):
    e = (y_hat - y).abs()
    return torch.where(e <= delta, 0.5 * e**2, delta * (e - 0.5 * delta)).mean()


def huber_no_half(y_hat, y, delta):
    e = (y_hat - y).abs()
    return torch.where(e <= delta, e**2, delta * (e - 0.5 * delta)).mean()


def huber_unshifted(y_hat, y, delta):
    e = (y_hat - y).abs()
    return torch.where(e <= delta, 0.5 * e**2, delta * e).mean()


def huber_always_square(y_hat, y, delta):
    return (0.5 * (y_hat - y) ** 2).mean()


def huber_sum(y_hat, y, delta):
    e = (y_hat - y).abs()
    return torch.where(e <= delta, 0.5 * e**2, delta * (e - 0.5 * delta)).sum()


def cross_entropy(logits, y):
    z = logits - logits.max(dim=1, keepdim=True).values
    log_p = z - z.exp().sum(dim=1, keepdim=True).log()
    return -log_p[torch.arange(len(y)), y].mean()


def cross_entropy_naive(logits, y):
    p = logits.exp() / logits.exp().sum(dim=1, keepdim=True)
    return -p[torch.arange(len(y)), y].log().mean()


def cross_entropy_positive_log(logits, y):
    z = logits - logits.max(dim=1, keepdim=True).values
    log_p = z - z.exp().sum(dim=1, keepdim=True).log()
    return log_p[torch.arange(len(y)), y].mean()


def cross_entropy_columns(logits, y):
    z = logits - logits.max(dim=0, keepdim=True).values
    log_p = z - z.exp().sum(dim=0, keepdim=True).log()
    return -log_p[torch.arange(len(y)), y].mean()


def cross_entropy_sum(logits, y):
    z = logits - logits.max(dim=1, keepdim=True).values
    log_p = z - z.exp().sum(dim=1, keepdim=True).log()
    return -log_p[torch.arange(len(y)), y].sum()


# ---------------------------------------------------------------- chapter 4


def classify(H):
    eigenvalues = torch.linalg.eigvalsh(H)
    if (eigenvalues > 0).all():
        return "minimum"
    if (eigenvalues < 0).all():
        return "maximum"
    return "saddle"


def classify_by_det(H):
    return "minimum" if torch.linalg.det(H) > 0 else "saddle"


def classify_by_diagonal(H):
    d = torch.diagonal(H)
    return "minimum" if (d > 0).all() else "maximum" if (d < 0).all() else "saddle"


def classify_swapped(H):
    eigenvalues = torch.linalg.eigvalsh(H)
    return "maximum" if (eigenvalues > 0).all() else "minimum" if (eigenvalues < 0).all() else "saddle"


# ---------------------------------------------------------------- chapter 5


def gradient_descent(grad, theta, eta, steps):
    points = [theta]
    for _ in range(steps):
        theta = theta - eta * grad(theta)
        points.append(theta)
    return torch.stack(points)


def gradient_descent_in_place(grad, theta, eta, steps):
    points = [theta]
    for _ in range(steps):
        theta -= eta * grad(theta)
        points.append(theta)
    return torch.stack(points)


def gradient_descent_no_start(grad, theta, eta, steps):
    points = []
    for _ in range(steps):
        theta = theta - eta * grad(theta)
        points.append(theta)
    return torch.stack(points)


def gradient_descent_stale(grad, theta, eta, steps):
    g = grad(theta)
    points = [theta]
    for _ in range(steps):
        theta = theta - eta * g
        points.append(theta)
    return torch.stack(points)


def gradient_ascent(grad, theta, eta, steps):
    points = [theta]
    for _ in range(steps):
        theta = theta + eta * grad(theta)
        points.append(theta)
    return torch.stack(points)


def backtracking(f, theta, g, c):
    eta = 1.0
    while f(theta - eta * g) > f(theta) - c * eta * (g @ g):
        eta = eta / 2
    return eta


def backtracking_any_decrease(f, theta, g, c):
    eta = 1.0
    while f(theta - eta * g) >= f(theta):
        eta = eta / 2
    return eta


def backtracking_norm(f, theta, g, c):
    eta = 1.0
    while f(theta - eta * g) > f(theta) - c * eta * g.norm():
        eta = eta / 2
    return eta


def backtracking_halves_first(f, theta, g, c):
    eta = 0.5
    while f(theta - eta * g) > f(theta) - c * eta * (g @ g):
        eta = eta / 2
    return eta


def backtracking_last_failure(f, theta, g, c):
    eta = 1.0
    while True:
        if f(theta - eta / 2 * g) <= f(theta) - c * eta / 2 * (g @ g) and f(theta - eta * g) > f(theta) - c * eta * (
            g @ g
        ):
            return eta
        if f(theta - eta * g) <= f(theta) - c * eta * (g @ g):
            return 2 * eta
        eta = eta / 2


# ---------------------------------------------------------------- chapter 6


def batch_gradient(theta, x, y, rows):
    xb, yb = x[rows], y[rows]
    error = theta[0] * xb + theta[1] - yb
    return torch.stack([2 * (error * xb).mean(), 2 * error.mean()])


def batch_gradient_all(theta, x, y, rows):
    error = theta[0] * x + theta[1] - y
    return torch.stack([2 * (error * x).mean(), 2 * error.mean()])


def batch_gradient_over_n(theta, x, y, rows):
    xb, yb = x[rows], y[rows]
    error = theta[0] * xb + theta[1] - yb
    return torch.stack([2 * (error * xb).sum(), 2 * error.sum()]) / len(x)


def batch_gradient_sum(theta, x, y, rows):
    xb, yb = x[rows], y[rows]
    error = theta[0] * xb + theta[1] - yb
    return torch.stack([2 * (error * xb).sum(), 2 * error.sum()])


def epoch_batches(n, batch_size, generator):
    order = torch.randperm(n, generator=generator)
    return [order[start : start + batch_size] for start in range(0, n - batch_size + 1, batch_size)]


def epoch_batches_in_order(n, batch_size, generator):
    order = torch.arange(n)
    return [order[start : start + batch_size] for start in range(0, n - batch_size + 1, batch_size)]


def epoch_batches_with_replacement(n, batch_size, generator):
    return [torch.randint(n, (batch_size,), generator=generator) for _ in range(n // batch_size)]


def epoch_batches_keep_last(n, batch_size, generator):
    order = torch.randperm(n, generator=generator)
    return [order[start : start + batch_size] for start in range(0, n, batch_size)]


def epoch_batches_reseeded(n, batch_size, generator):
    order = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    return [order[start : start + batch_size] for start in range(0, n - batch_size + 1, batch_size)]


def epoch_batches_global(n, batch_size, generator):
    order = torch.randperm(n)
    return [order[start : start + batch_size] for start in range(0, n - batch_size + 1, batch_size)]


# ---------------------------------------------------------------- chapter 7


def step_decay(t, eta, gamma, step_size):
    return eta * gamma ** ((t - 1) // step_size)


def warmup_cosine(t, eta, warmup_steps, total_steps, eta_min):
    if t - 1 < warmup_steps:
        return eta * (t - 1) / warmup_steps
    if t - 1 > total_steps:
        return eta_min
    progress = (t - 1 - warmup_steps) / (total_steps - warmup_steps)
    return eta_min + (eta - eta_min) * (1 + math.cos(math.pi * progress)) / 2


def warmup_cosine_from_t(t, eta, warmup_steps, total_steps, eta_min):
    if t < warmup_steps:
        return eta * t / warmup_steps
    if t > total_steps:
        return eta_min
    progress = (t - warmup_steps) / (total_steps - warmup_steps)
    return eta_min + (eta - eta_min) * (1 + math.cos(math.pi * progress)) / 2


def warmup_cosine_from_zero(t, eta, warmup_steps, total_steps, eta_min):
    if t - 1 < warmup_steps:
        return eta * (t - 1) / warmup_steps
    if t - 1 > total_steps:
        return eta_min
    return eta_min + (eta - eta_min) * (1 + math.cos(math.pi * (t - 1) / total_steps)) / 2


def warmup_cosine_to_zero(t, eta, warmup_steps, total_steps, eta_min):
    return warmup_cosine(t, eta, warmup_steps, total_steps, 0.0)


def warmup_cosine_unclamped(t, eta, warmup_steps, total_steps, eta_min):
    if t - 1 < warmup_steps:
        return eta * (t - 1) / warmup_steps
    progress = (t - 1 - warmup_steps) / (total_steps - warmup_steps)
    return eta_min + (eta - eta_min) * (1 + math.cos(math.pi * progress)) / 2


# ---------------------------------------------------------------- chapter 8


def newton_step(f, theta):
    g = torch.autograd.functional.jacobian(f, theta)
    H = torch.autograd.functional.hessian(f, theta)
    return theta - torch.linalg.solve(H, g)


def newton_step_times_h(f, theta):
    g = torch.autograd.functional.jacobian(f, theta)
    H = torch.autograd.functional.hessian(f, theta)
    return theta - H @ g


def newton_step_plus(f, theta):
    g = torch.autograd.functional.jacobian(f, theta)
    H = torch.autograd.functional.hessian(f, theta)
    return theta + torch.linalg.inv(H) @ g


def newton_step_diagonal(f, theta):
    g = torch.autograd.functional.jacobian(f, theta)
    H = torch.autograd.functional.hessian(f, theta)
    return theta - g / H.diagonal()


def softmax_jacobian(z):
    p = torch.softmax(z, dim=0)
    return torch.diag(p) - torch.outer(p, p)


def softmax_jacobian_diagonal(z):
    p = torch.softmax(z, dim=0)
    return torch.diag(p * (1 - p))


def softmax_jacobian_flipped(z):
    p = torch.softmax(z, dim=0)
    return torch.outer(p, p) - torch.diag(p)


def softmax_jacobian_plus(z):
    p = torch.softmax(z, dim=0)
    return torch.diag(p) + p[:, None] * p[None, :]


# ---------------------------------------------------------------- chapter 9


def heavy_ball(theta, theta_prev, grad, eta, beta):
    return theta - eta * grad + beta * (theta - theta_prev)


def nesterov(theta, delta, grad_f, eta, beta):
    delta = beta * delta - eta * grad_f(theta + beta * delta)
    return theta + delta, delta


def nesterov_at_theta(theta, delta, grad_f, eta, beta):
    delta = beta * delta - eta * grad_f(theta)
    return theta + delta, delta


def nesterov_behind(theta, delta, grad_f, eta, beta):
    delta = beta * delta - eta * grad_f(theta - beta * delta)
    return theta + delta, delta


def nesterov_old_delta(theta, delta, grad_f, eta, beta):
    new = beta * delta - eta * grad_f(theta + beta * delta)
    return theta + new, delta


# ---------------------------------------------------------------- chapter 10


def rmsprop(theta, g, v, eta, rho, eps):
    v = rho * v + (1 - rho) * g**2
    return theta - eta * g / (v.sqrt() + eps), v


def rmsprop_sum(theta, g, v, eta, rho, eps):
    v = rho * v + g**2
    return theta - eta * g / (v.sqrt() + eps), v


def rmsprop_no_root(theta, g, v, eta, rho, eps):
    v = rho * v + (1 - rho) * g**2
    return theta - eta * g / (v + eps), v


def rmsprop_of_g(theta, g, v, eta, rho, eps):
    v = rho * v + (1 - rho) * g
    return theta - eta * g / (v.sqrt() + eps), v


def adam(theta, g, m, v, t, eta, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return theta - eta * m_hat / (v_hat.sqrt() + eps), m, v


def adam_uncorrected(theta, g, m, v, t, eta, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    return theta - eta * m / (v.sqrt() + eps), m, v


def adam_m_uncorrected(theta, g, m, v, t, eta, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    return theta - eta * m / ((v / (1 - beta2**t)).sqrt() + eps), m, v


def adam_v_uncorrected(theta, g, m, v, t, eta, beta1, beta2, eps):
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    return theta - eta * m / (1 - beta1**t) / (v.sqrt() + eps), m, v


def adam_t_plus_one(theta, g, m, v, t, eta, beta1, beta2, eps):
    return adam(theta, g, m, v, t + 1, eta, beta1, beta2, eps)[0], *adam(theta, g, m, v, t, eta, beta1, beta2, eps)[1:]


def adamw(theta, g, m, v, t, eta, beta1, beta2, eps, omega):
    new, m, v = adam(theta, g, m, v, t, eta, beta1, beta2, eps)
    return new - eta * omega * theta, m, v


def adamw_l2(theta, g, m, v, t, eta, beta1, beta2, eps, omega):
    return adam(theta, g + omega * theta, m, v, t, eta, beta1, beta2, eps)


def adamw_unscaled(theta, g, m, v, t, eta, beta1, beta2, eps, omega):
    new, m, v = adam(theta, g, m, v, t, eta, beta1, beta2, eps)
    return new - omega * theta, m, v


def adamw_after(theta, g, m, v, t, eta, beta1, beta2, eps, omega):
    new, m, v = adam(theta, g, m, v, t, eta, beta1, beta2, eps)
    return new * (1 - eta * omega), m, v


def adamw_uncorrected(theta, g, m, v, t, eta, beta1, beta2, eps, omega):
    new, m, v = adam_uncorrected(theta, g, m, v, t, eta, beta1, beta2, eps)
    return new - eta * omega * theta, m, v


# ---------------------------------------------------------------- chapter 11


def layer_forward(x, W, b):
    return torch.sigmoid(W @ x + b)


def relu_net(X, layers):
    for k, (W, b) in enumerate(layers):
        X = X @ W.T + b
        if k < len(layers) - 1:
            X = torch.relu(X)
    return X


def relu_net_all(X, layers):
    for W, b in layers:
        X = torch.relu(X @ W.T + b)
    return X


def relu_net_linear(X, layers):
    for W, b in layers:
        X = X @ W.T + b
    return X


def relu_net_sigmoid(X, layers):
    for k, (W, b) in enumerate(layers):
        X = X @ W.T + b
        if k < len(layers) - 1:
            X = torch.sigmoid(X)
    return X


# check -> (its argument's name, a right answer, [(a wrong answer, a phrase of its message), ...])


# ---------------------------------------------------------------- chapter 12


def adafactor_moments(g, v_r, v_c, beta2):
    v_r = beta2 * v_r + (1 - beta2) * (g**2).mean(dim=1)
    v_c = beta2 * v_c + (1 - beta2) * (g**2).mean(dim=0)
    return v_r, v_c, torch.outer(v_r, v_c) / v_r.mean()


def adafactor_moments_undivided(g, v_r, v_c, beta2):
    v_r, v_c, v_hat = adafactor_moments(g, v_r, v_c, beta2)
    return v_r, v_c, v_hat * v_r.mean()


def adafactor_moments_transposed(g, v_r, v_c, beta2):
    v_r, v_c, _ = adafactor_moments(g, v_r, v_c, beta2)
    return v_r, v_c, torch.outer(v_c, v_r) / v_r.mean()


def adafactor_moments_sums(g, v_r, v_c, beta2):
    v_r = beta2 * v_r + (1 - beta2) * (g**2).sum(dim=1)
    v_c = beta2 * v_c + (1 - beta2) * (g**2).sum(dim=0)
    return v_r, v_c, torch.outer(v_r, v_c) / v_r.mean()


def adafactor_moments_of_g(g, v_r, v_c, beta2):
    v_r = beta2 * v_r + (1 - beta2) * g.mean(dim=1)
    v_c = beta2 * v_c + (1 - beta2) * g.mean(dim=0)
    return v_r, v_c, torch.outer(v_r, v_c) / v_r.mean()


def newton_schulz(G, steps, a=3.4445, b=-4.7750, c=2.0315, scale=True, back=True):
    tall = G.shape[0] > G.shape[1]
    X = G.T if tall else G
    X = X / X.norm() if scale else X
    for _ in range(steps):
        A = X @ X.T
        X = a * X + b * A @ X + c * A @ A @ X
    return X.T if tall and back else X


def newton_schulz_spectral(G, steps):
    return newton_schulz(G / torch.linalg.matrix_norm(G, ord=2), steps, scale=False)


def newton_schulz_entrywise(G, steps):
    X = G / G.norm() if G.shape[0] <= G.shape[1] else G.T / G.norm()
    for _ in range(steps):
        A = X @ X.T
        X = 3.4445 * X + -4.7750 * A @ X + 2.0315 * A**2 @ X
    return X if G.shape[0] <= G.shape[1] else X.T


EXERCISES = {
    gradients.check_mse_gradient: (
        "mse_gradient",
        mse_gradient,
        [
            (mse_gradient_no_two, "keep the factor 2"),
            (mse_gradient_sum, "divide the sum by n"),
            (mse_gradient_y_minus, "prediction minus the target"),
            (mse_gradient_b_times_x, "∂ŷ/∂b = 1, not x"),
            (lambda theta, x, y: mse_gradient(theta, x, y)[0], "of shape ()"),
        ],
    ),
    gradients.check_sigmoid_layer_backward: (
        "sigmoid_layer_backward",
        sigmoid_backward,
        [
            (sigmoid_backward_linear, "leaves out the sigmoid"),
            (sigmoid_backward_tanh, "the derivative of tanh"),
            (sigmoid_backward_of_output, "applies σ' to A"),
            (sigmoid_backward_unsummed, "dC/db of shape (5, 2), where it should be (2,)"),
        ],
    ),
    costs.check_huber_cost: (
        "huber_cost",
        huber,
        [
            (huber_no_half, "its quadratic part is ½e²"),
            (huber_unshifted, "do not meet at |e| = δ"),
            (huber_always_square, "never switches to the linear part"),
            (huber_sum, "not their sum"),
        ],
    ),
    costs.check_cross_entropy: (
        "cross_entropy",
        cross_entropy,
        [
            (cross_entropy_naive, "log-sum-exp trick"),
            (lambda z, y: (z.exp().sum(1).log() - z[torch.arange(len(y)), y]).mean(), "log-sum-exp trick"),
            (cross_entropy_positive_log, "the wrong sign"),
            (cross_entropy_columns, "normalises each column"),
            (cross_entropy_sum, "mean over the examples"),
        ],
    ),
    curvature.check_quadratic_hessian: (
        "quadratic_hessian",
        lambda A: A + A.T,
        [
            (lambda A: A, "returns A itself"),
            (lambda A: 2 * A, "right only when A is symmetric"),
            (lambda A: 0.5 * (A + A.T), "half the Hessian"),
        ],
    ),
    curvature.check_classify_critical_point: (
        "classify_critical_point",
        classify,
        [
            (classify_by_det, "the sign of det H"),
            (classify_by_diagonal, "looks at the diagonal of H"),
            (classify_swapped, "the wrong way round"),
            (lambda H: "min", "should return one of 'minimum', 'maximum', 'saddle'"),
        ],
    ),
    descent.check_gradient_descent: (
        "gradient_descent",
        gradient_descent,
        [
            (gradient_ascent, "goes uphill"),
            (gradient_descent_no_start, "include the start θ_0"),
            (gradient_descent_stale, "uses the gradient at θ_0 for every step"),
            (gradient_descent_in_place, "changed in place"),
        ],
    ),
    descent.check_backtracking: (
        "backtracking",
        backtracking,
        [
            (backtracking_any_decrease, "accepts any step that lowers f"),
            (backtracking_norm, "uses the squared norm"),
            (backtracking_halves_first, "never tries η = 1"),
            (backtracking_last_failure, "the last step that failed"),
        ],
    ),
    descent.check_batch_gradient: (
        "batch_gradient",
        batch_gradient,
        [
            (batch_gradient_all, "uses every point, not only the batch"),
            (batch_gradient_over_n, "B/n times the batch gradient"),
            (batch_gradient_sum, "B times the batch gradient"),
            (lambda theta, x, y, rows: -batch_gradient(theta, x, y, rows), "Check the sign"),
        ],
    ),
    descent.check_epoch_batches: (
        "epoch_batches",
        epoch_batches,
        [
            (epoch_batches_in_order, "in the stored order"),
            (epoch_batches_with_replacement, "without replacement"),
            (epoch_batches_keep_last, "drop the incomplete last batch"),
            (epoch_batches_reseeded, "two epochs in a row the same order"),
            (epoch_batches_global, "pass generator=generator"),
        ],
    ),
    schedules.check_step_decay: (
        "step_decay",
        step_decay,
        [
            (lambda t, eta, gamma, size: eta * gamma ** (t // size), "one step early"),
            (lambda t, eta, gamma, size: eta * gamma ** ((t - 1) / size), "decays smoothly"),
            (lambda t, eta, gamma, size: eta * gamma * ((t - 1) // size), "γ times the number of cuts"),
            (lambda t, eta, gamma, size: eta * gamma ** (t - 1), "exponential decay"),
        ],
    ),
    schedules.check_warmup_cosine: (
        "warmup_cosine",
        warmup_cosine,
        [
            (warmup_cosine_from_t, "one step ahead"),
            (warmup_cosine_from_zero, "measure its progress from T_w"),
            (warmup_cosine_to_zero, "instead of η_min"),
            (warmup_cosine_unclamped, "hold the rate at η_min"),
        ],
    ),
    curvature.check_newton_step: (
        "newton_step",
        newton_step,
        [
            (newton_step_times_h, "multiplies the gradient by H"),
            (newton_step_plus, "steps the wrong way"),
            (newton_step_diagonal, "the diagonal of H only"),
            (lambda f, theta: theta - torch.autograd.functional.jacobian(f, theta), "takes a gradient step"),
        ],
    ),
    curvature.check_softmax_jacobian: (
        "softmax_jacobian",
        softmax_jacobian,
        [
            (softmax_jacobian_diagonal, "zeros elsewhere"),
            (softmax_jacobian_flipped, "the wrong sign"),
            (softmax_jacobian_plus, "rows that do not sum to 0"),
            (lambda z: softmax_jacobian(z)[:, :1], "of shape"),
        ],
    ),
    momentum.check_heavy_ball_step: (
        "heavy_ball_step",
        heavy_ball,
        [
            (lambda t, p, g, eta, beta: t - eta * g + beta * (p - t), "pulls the ball back"),
            (lambda t, p, g, eta, beta: t - (1 - beta) * eta * g + beta * (t - p), "scales the gradient step by 1 − β"),
            (lambda t, p, g, eta, beta: t - eta * g, "plain gradient descent"),
            (lambda t, p, g, eta, beta: t + eta * g + beta * (t - p), "goes uphill"),
        ],
    ),
    momentum.check_nesterov_step: (
        "nesterov_step",
        nesterov,
        [
            (nesterov_at_theta, "that is the heavy ball"),
            (nesterov_behind, "looks behind"),
            (nesterov_old_delta, "returns the old step"),
            (
                lambda t, d, grad_f, eta, beta: nesterov(t, d, grad_f, eta, beta)[0],
                "returns 1 value(s); it should return 2",
            ),
        ],
    ),
    adaptive.check_rmsprop_step: (
        "rmsprop_step",
        rmsprop,
        [
            (rmsprop_sum, "leaves out the factor 1 − ρ"),
            (rmsprop_no_root, "not by its square root"),
            (rmsprop_of_g, "averages g_t instead of g_t²"),
            (
                lambda theta, g, v, eta, rho, eps: (
                    theta + (rmsprop(theta, g, v, eta, rho, eps)[0] - theta) * -1,
                    rmsprop(theta, g, v, eta, rho, eps)[1],
                ),
                "goes uphill",
            ),
        ],
    ),
    adaptive.check_adam_step: (
        "adam_step",
        adam,
        [
            (adam_uncorrected, "has no bias correction"),
            (adam_m_uncorrected, "(1 − β₁) times too small"),
            (adam_v_uncorrected, "corrects m_t but not v_t"),
            (adam_t_plus_one, "t already counts from 1"),
            (lambda *args: (adam(*args)[0].sum(0), *adam(*args)[1:]), "where θ has shape (3, 2)"),
        ],
    ),
    adaptive.check_adamw_step: (
        "adamw_step",
        adamw,
        [
            (adamw_l2, "Adam's L2 penalty"),
            (adamw_unscaled, "scaled by the learning rate too"),
            (adamw_after, "decays the weights after the Adam step"),
            (adamw_uncorrected, "has no bias correction"),
        ],
    ),
    networks.check_layer_forward: (
        "layer_forward",
        layer_forward,
        [
            (lambda x, W, b: torch.sigmoid(W @ x), "leaves out the bias"),
            (lambda x, W, b: W @ x + b, "pass it through the sigmoid"),
            (lambda x, W, b: torch.sigmoid(W @ x) + b, "adds the bias after the sigmoid"),
            (lambda x, W, b: torch.tanh(W @ x + b), "uses tanh"),
            (lambda x, W, b: torch.sigmoid(x @ W + b), "raised RuntimeError"),
        ],
    ),
    networks.check_relu_net_forward: (
        "relu_net_forward",
        relu_net,
        [
            (relu_net_all, "after the last layer too"),
            (relu_net_linear, "no ReLU between the layers"),
            (relu_net_sigmoid, "uses the sigmoid"),
        ],
    ),
    large_models.check_adafactor_moments: (
        "adafactor_moments",
        adafactor_moments,
        [
            (adafactor_moments_undivided, "does not divide by mean(v^r_t)"),
            (adafactor_moments_transposed, "the wrong way round"),
            (adafactor_moments_sums, "Adafactor keeps their means"),
            (adafactor_moments_of_g, "averages g_t instead of g_t²"),
            (lambda *args: adafactor_moments(*args)[:2], "returns 2 value(s); it should return 3"),
        ],
    ),
    large_models.check_orthogonalize: (
        "orthogonalize",
        newton_schulz,
        [
            (lambda G, steps: newton_schulz(G, steps, scale=False), "by its Frobenius norm first"),
            (newton_schulz_spectral, "divides G by its largest singular value"),
            (lambda G, steps: newton_schulz(G, steps, 2.0315, -4.7750, 3.4445), "in the wrong order"),
            (newton_schulz_entrywise, "entry by entry"),
            (lambda G, steps: newton_schulz(G, steps, back=False), "returns a tall matrix transposed"),
        ],
    ),
}
CHECKS = list(EXERCISES)
IDS = [check.__name__ for check in CHECKS]
WRONG = [(check, wrong, phrase) for check, (_, _, wrongs) in EXERCISES.items() for wrong, phrase in wrongs]


@pytest.mark.parametrize("check", CHECKS, ids=IDS)
def test_a_right_answer_passes(check):
    feedback = check(EXERCISES[check][1])
    assert isinstance(feedback, Feedback)
    assert feedback, feedback.message
    assert feedback.message.startswith("✓")
    assert repr(feedback) == feedback.message


@pytest.mark.parametrize("check", CHECKS, ids=IDS)
def test_at_least_three_typical_mistakes_each(check):
    assert len(EXERCISES[check][2]) >= 3


@pytest.mark.parametrize(("check", "wrong", "phrase"), WRONG, ids=[f"{c.__name__}-{p[:30]}" for c, _, p in WRONG])
def test_a_wrong_answer_fails_with_its_message(check, wrong, phrase):
    feedback = check(wrong)
    assert not feedback
    assert phrase in feedback.message.replace("\n", " "), feedback.message
    assert feedback.message.startswith("✗")


@pytest.mark.parametrize("check", CHECKS, ids=IDS)
def test_each_mistake_gets_its_own_message(check):
    messages = [check(wrong).message for wrong, _ in EXERCISES[check][2]]
    assert len(set(messages)) == len(messages)


@pytest.mark.parametrize("check", CHECKS, ids=IDS)
def test_a_stub_is_not_written_yet(check):
    def stub(*args):
        raise NotImplementedError

    feedback = check(stub)
    assert not feedback
    assert "is not written yet" in feedback.message
    assert "`stub`" in feedback.message


@pytest.mark.parametrize("check", CHECKS, ids=IDS)
def test_a_function_without_return_is_told_so(check):
    feedback = check(lambda *args: None)
    assert not feedback
    assert "returns None: did you forget `return`?" in feedback.message.replace("\n", " ")


@pytest.mark.parametrize("check", CHECKS, ids=IDS)
@pytest.mark.parametrize("bad", [None, 3, "adam_step", torch.zeros(2)])
def test_not_a_function_is_a_type_error_naming_the_argument(check, bad):
    with pytest.raises(TypeError, match=f"^{EXERCISES[check][0]} must be callable"):
        check(bad)


def test_an_error_in_the_learner_code_is_reported_not_raised():
    def adam_step(theta, g, m, v, t, eta, beta1, beta2, eps):
        return theta - eta * g / undefined_name  # noqa: F821

    feedback = adaptive.check_adam_step(adam_step)
    assert not feedback
    assert "raised NameError" in feedback.message


def test_messages_fit_the_column():
    for check, (_, right, wrongs) in EXERCISES.items():
        for fn in (right, *(wrong for wrong, _ in wrongs)):
            lines = check(fn).message.splitlines()
            assert all(len(line) <= 79 for line in lines), (check.__name__, lines)


def test_checks_do_not_change_the_global_random_state():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    for check, (_, right, _) in EXERCISES.items():
        if check is not descent.check_epoch_batches:
            check(right)
    assert torch.equal(torch.rand(3), expected)


def test_the_reference_paths_are_torch_s():
    # the closed-form mistakes' right relatives agree with torch.optim, so a path check means what it says
    grad = torch.tensor([[0.5, -2.0]], dtype=torch.float64)
    param = torch.tensor([[1.0, 1.0]], dtype=torch.float64, requires_grad=True)
    param.grad = grad.clone()
    torch.optim.Adam([param], lr=0.1).step()
    ours, _, _ = adam(torch.ones(1, 2, dtype=torch.float64), grad, 0 * grad, 0 * grad, 1, 0.1, 0.9, 0.999, 1e-8)
    assert torch.allclose(param.detach(), ours, rtol=0, atol=1e-12)
    assert torch.allclose(ours, 1 - 0.1 * grad.sign(), rtol=0, atol=1e-7)  # Adam's first step is η long
    assert torch.allclose(F.huber_loss(torch.tensor([3.0]), torch.tensor([0.0])), torch.tensor(2.5))


# ---------------------------------------------------------------- the chapters' worked solutions

CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]-*.ipynb"))
SOLUTION = re.compile(r"```\{solution\} (ch\d\d-code-[\w-]+)\n:class: dropdown\n.*?```python\n(.*?)```", re.S)


def solutions(path: pathlib.Path) -> list[tuple[str, str, list[dict]]]:
    """(label, the solution's code, the notebook's cells) of each checked exercise of a chapter."""
    cells = json.loads(path.read_text())["cells"]
    found = []
    for cell in cells:
        if cell["cell_type"] == "markdown":
            found += [(label, code, cells) for label, code in SOLUTION.findall("".join(cell["source"]))]
    return found


ALL_SOLUTIONS = [(path.name, *found) for path in CHAPTERS for found in solutions(path)]


def test_chapters_2_to_12_have_two_checked_exercises_each():
    per_chapter = {int(name[:2]) for name, *_ in ALL_SOLUTIONS}
    assert per_chapter >= set(range(2, 13))
    for number in range(2, 13):
        assert sum(name.startswith(f"{number:02d}") for name, *_ in ALL_SOLUTIONS) >= 2


@pytest.mark.parametrize(("name", "label", "code", "cells"), ALL_SOLUTIONS, ids=[f[1] for f in ALL_SOLUTIONS])
def test_each_worked_solution_passes_its_check_and_a_hidden_cell_proves_it(name, label, code, cells):
    signature = next(line for line in code.splitlines() if line.startswith("def "))
    function = re.match(r"def (\w+)\(", signature).group(1)
    namespace = {"torch": torch}
    exec(code, namespace)  # the solution as the page shows it
    sources = ["".join(cell["source"]) for cell in cells]
    stubs = [s for s in sources if s.startswith(signature) and s.rstrip().endswith("raise NotImplementedError")]
    assert len(stubs) == 1, f"{name}: the stub of {label} does not have the solution's signature"
    call = next(s for s in sources if re.fullmatch(rf"check_\w+\({function}\)", s))
    check = getattr(MODULES[label[:4]], call.split("(")[0])
    feedback = check(namespace[function])
    assert feedback, f"{name}: the worked solution of {label} fails: {feedback}"
    hidden = [
        s
        for s, cell in zip(sources, cells, strict=True)
        if "remove-cell" in cell["metadata"].get("tags", []) and f"{check.__name__}(worked_solution())" in s
    ]
    assert len(hidden) == 1, f"{name}: no hidden cell runs {check.__name__} on the worked solution"
    assert indented(code) in hidden[0], f"{name}: the hidden cell of {label} does not run the solution shown"


MODULES = {
    "ch02": gradients,
    "ch03": costs,
    "ch04": curvature,
    "ch05": descent,
    "ch06": descent,
    "ch07": schedules,
    "ch08": curvature,
    "ch09": momentum,
    "ch10": adaptive,
    "ch11": networks,
    "ch12": large_models,
}


def indented(code: str) -> str:
    return "".join(f"    {line}" if line.strip() else line for line in code.rstrip("\n").splitlines(True))


def test_a_message_never_shows_the_worked_solution():
    lines = {line.strip() for _, _, code, _ in ALL_SOLUTIONS for line in code.splitlines() if len(line.strip()) > 12}
    assert len(lines) > 40
    for check, (_, right, wrongs) in EXERCISES.items():
        for fn in (right, *(wrong for wrong, _ in wrongs)):
            message = " ".join(check(fn).message.split())
            assert not [line for line in lines if line in message], (check.__name__, message)


def test_adafactor_s_rebuilt_second_moment_is_the_one_torch_divides_by():
    # one step of torch.optim.Adafactor from θ_0 = 0, unclipped: θ_1 = −ε2 η g_1 / √v̂_1
    g = 10 ** torch.linspace(-1, 1, 3, dtype=torch.float64)[:, None] * torch.randn(
        3, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0)
    )
    param = torch.zeros(3, 5, dtype=torch.float64, requires_grad=True)
    param.grad = g.clone()
    torch.optim.Adafactor([param], lr=0.01, eps=(1e-30, 1e-3), d=1e9, foreach=False).step()
    _, _, v_hat = adafactor_moments(g, torch.zeros(3, dtype=torch.float64), torch.zeros(5, dtype=torch.float64), 0.0)
    assert torch.allclose(param.detach(), -1e-3 * 0.01 * g / v_hat.sqrt(), rtol=1e-10, atol=0)


def test_newton_schulz_in_float64_is_lib_s_and_torch_s_up_to_bfloat16():
    from lib.optimizers.muon import NS_COEFFICIENTS
    from lib.optimizers.muon import newton_schulz as lib_newton_schulz

    gen = torch.Generator().manual_seed(1)
    for shape in ((4, 6), (6, 3), (5, 5)):
        G = torch.randn(*shape, dtype=torch.float64, generator=gen)
        ours = newton_schulz(G, 5)
        assert torch.allclose(large_models.polynomial_of_singular_values(G, 5), ours, rtol=0, atol=1e-12)
        lib_result = lib_newton_schulz(G, NS_COEFFICIENTS, 5, 1e-7).double()
        assert (lib_result - ours).abs().max() < 0.05  # bfloat16 keeps 8 bits
        # torch's Muon step from zero momentum, with nesterov off, is −η' times the iteration
        param = torch.zeros(*shape, requires_grad=True)
        param.grad = G.float()
        torch.optim.Muon([param], lr=1.0, weight_decay=0.0, momentum=0.0, nesterov=False).step()
        scale = max(1, shape[0] / shape[1]) ** 0.5
        assert (-param.detach().double() / scale - ours).abs().max() < 0.05
