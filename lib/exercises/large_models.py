"""Chapter 12's checked exercises: Adafactor's factored second moment and Muon's Newton–Schulz.

``check_adafactor_moments`` runs the learner's update for four steps and compares
the row and column means with the state ``torch.optim.Adafactor`` keeps, and the
rebuilt v̂_t with the rank-1 matrix built from that state. ``check_orthogonalize``
compares the learner's iteration with the same polynomial applied to the singular
values of an SVD, computed in float64.
"""

from __future__ import annotations

import torch

from lib.exercises.feedback import Case, Feedback, Mistake, check_function, fresh, generator, randn
from lib.optimizers.muon import NS_COEFFICIENTS

STEPS = 4
BETA2_DECAY = -0.8  # torch's default: β2_t = 1 − t^(−0.8)


def beta2(t: int) -> float:
    """Adafactor's decay rate at step ``t`` (counted from 1): 0 at the first step."""
    return 1 - t**BETA2_DECAY


def moments_rule(g, v_r, v_c, beta2, *, square=True, mean=True, divide=True, transpose=False):
    """Adafactor's second moment, or a typical mistake in it: returns ``(v^r_t, v^c_t, v̂_t)``."""
    g2 = g**2 if square else g
    reduce = torch.mean if mean else torch.sum
    v_r = beta2 * v_r + (1 - beta2) * reduce(g2, dim=1)
    v_c = beta2 * v_c + (1 - beta2) * reduce(g2, dim=0)
    v_hat = torch.outer(v_c, v_r) if transpose else torch.outer(v_r, v_c)
    return v_r, v_c, v_hat / v_r.mean() if divide else v_hat


def moments_path(fn, gradients):
    """``fn(g, v_r, v_c, beta2)`` over the gradients from zero state: every step's three values."""
    n, k = gradients[0].shape
    v_r, v_c = torch.zeros(n, dtype=torch.float64), torch.zeros(k, dtype=torch.float64)
    rows, columns, rebuilt = [], [], []
    for t, g in enumerate(gradients, start=1):
        new = fn(*fresh(g, v_r, v_c), beta2(t))
        if not isinstance(new, tuple | list) or len(new) != 3:
            return new  # ``results`` says what is wrong with it
        v_r, v_c, v_hat = (torch.as_tensor(value, dtype=torch.float64) for value in new)
        rows.append(v_r)
        columns.append(v_c)
        rebuilt.append(v_hat)
    return torch.stack(rows), torch.stack(columns), torch.stack(rebuilt)


def torch_adafactor_moments(gradients):
    """The row and column means ``torch.optim.Adafactor`` keeps at each step, and v̂_t rebuilt from them."""
    param = torch.zeros(gradients[0].shape, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.Adafactor([param], lr=0.01, beta2_decay=BETA2_DECAY, foreach=False)
    rows, columns, rebuilt = [], [], []
    for g in gradients:
        param.grad = g.clone()
        optimizer.step()
        state = optimizer.state[param]
        v_r, v_c = state["row_var"].flatten().clone(), state["col_var"].flatten().clone()
        rows.append(v_r)
        columns.append(v_c)
        rebuilt.append(torch.outer(v_r, v_c) / v_r.mean())
    return torch.stack(rows), torch.stack(columns), torch.stack(rebuilt)


def adafactor_cases():
    data = []
    for seed, (n, k) in enumerate(((3, 5), (6, 2), (4, 4), (2, 7)), start=170):
        gen = generator(seed)
        scale = 10 ** (2 * torch.rand(n, 1, generator=gen, dtype=torch.float64) - 1)  # busy and quiet rows
        data.append((f"with gradients of shape ({n}, {k})", [scale * randn(gen, n, k) for _ in range(STEPS)]))
    return data


def check_adafactor_moments(adafactor_moments) -> Feedback:
    """Check ``adafactor_moments(g, v_r, v_c, beta2)``, returning ``(v^r_t, v^c_t, v̂_t)``.

    v^r_t = β₂ v^r_{t−1} + (1 − β₂) (row means of g_t²), v^c_t likewise over the
    columns, v̂_t = v^r_t (v^c_t)ᵀ / mean(v^r_t); four steps from zero state with
    β_{2,t} = 1 − t^(−0.8), against ``torch.optim.Adafactor``'s state.
    """
    data = adafactor_cases()
    cases = [Case(label, lambda f, gs=gs: moments_path(f, gs)) for label, gs in data]
    expected = [torch_adafactor_moments(gs) for _, gs in data]
    mistakes = [
        Mistake(
            lambda *a: moments_rule(*a, divide=False),
            "does not divide by mean(v^r_t): row i of the outer product v^r_t (v^c_t)ᵀ "
            "alone averages to v^r_{t,i} mean(v^c_t), not v^r_{t,i}. Divided by "
            "mean(v^r_t), it is the rank-1 matrix with exactly the row and column means kept.",
        ),
        Mistake(
            lambda *a: moments_rule(*a, transpose=True),
            "builds v̂_t the wrong way round, (k × n): entry (i, j) of v̂_t is row i's "
            "mean times column j's, so v^r_t goes on the left of the outer product.",
        ),
        Mistake(
            lambda *a: moments_rule(*a, mean=False),
            "sums g_t² over each row and column: Adafactor keeps their means (torch "
            "divides the sums by the number of entries), so v̂_t is on the scale of g_t².",
        ),
        Mistake(
            lambda *a: moments_rule(*a, square=False),
            "averages g_t instead of g_t²: the second moment is a mean of squared gradients.",
        ),
    ]
    return check_function(
        adafactor_moments,
        "adafactor_moments",
        cases,
        expected,
        mistakes,
        names=("v^r_t at each step", "v^c_t at each step", "v̂_t at each step"),
        success="keeps the state torch.optim.Adafactor keeps, and rebuilds v̂_t from it,",
    )


def polynomial_of_singular_values(G, steps, coefficients=NS_COEFFICIENTS):
    """Newton–Schulz's result computed through an SVD: U p(p(...p(Σ/‖G‖_F))) Vᵀ, in float64."""
    a, b, c = coefficients
    U, S, Vh = torch.linalg.svd(G, full_matrices=False)
    s = S / G.norm()
    for _ in range(steps):
        s = a * s + b * s**3 + c * s**5
    return U @ torch.diag(s) @ Vh


def ns_rule(G, steps, *, normalise="frobenius", coefficients=NS_COEFFICIENTS, entrywise=False, back=True):
    """The iteration, or a typical mistake in it."""
    a, b, c = coefficients
    tall = G.shape[0] > G.shape[1]
    X = G.T if tall else G
    if normalise == "frobenius":
        X = X / X.norm()
    elif normalise == "spectral":
        X = X / torch.linalg.matrix_norm(X, ord=2)
    for _ in range(steps):
        A = X @ X.T
        A2 = A * A if entrywise else A @ A
        X = a * X + b * A @ X + c * A2 @ X
    return X.T if tall and back else X


def check_orthogonalize(orthogonalize) -> Feedback:
    """Check ``orthogonalize(G, steps)``: Muon's quintic iteration on G / ‖G‖_F, (a, b, c) = torch's."""
    data = []
    for seed, ((n, k), steps) in enumerate((((4, 6), 5), ((6, 3), 5), ((5, 5), 3), ((8, 2), 2)), start=180):
        gen = generator(seed)
        data.append((f"with G of shape ({n}, {k}) and {steps} steps", 3 * randn(gen, n, k), steps))
    cases = [Case(label, lambda f, G=G, steps=steps: f(G.clone(), steps)) for label, G, steps in data]
    a, b, c = NS_COEFFICIENTS
    mistakes = [
        Mistake(
            lambda G, steps: ns_rule(G, steps, normalise=None),
            "does not divide G by its Frobenius norm first: its singular values are then "
            "not in [0, 1], where the polynomial pushes them towards 1, and they blow up.",
        ),
        Mistake(
            lambda G, steps: ns_rule(G, steps, normalise="spectral"),
            "divides G by its largest singular value: Muon divides by the Frobenius norm "
            "‖G‖_F, which needs no SVD and also puts every singular value in [0, 1].",
        ),
        Mistake(
            lambda G, steps: ns_rule(G, steps, coefficients=(c, b, a)),
            "uses the coefficients in the wrong order: a = 3.4445 multiplies X, "
            "b = −4.7750 multiplies (X Xᵀ) X and c = 2.0315 multiplies (X Xᵀ)² X.",
        ),
        Mistake(
            lambda G, steps: ns_rule(G, steps, entrywise=True),
            "squares X Xᵀ entry by entry (A**2): (X Xᵀ)² is the matrix product A @ A.",
        ),
        Mistake(
            lambda G, steps: ns_rule(G, steps, back=False),
            "returns a tall matrix transposed: after iterating on Gᵀ, transpose the "
            "result back so that it has G's shape.",
        ),
    ]
    return check_function(
        orthogonalize,
        "orthogonalize",
        cases,
        polynomial_of_singular_values,
        mistakes,
        names=("the result",),
        success="applies the polynomial to every singular value, as an SVD does,",
        atol=1e-8,
    )
