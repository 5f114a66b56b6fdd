"""Checked exercises on second derivatives: chapter 4's Hessians, chapter 8's Newton step and Jacobian."""

from __future__ import annotations

import torch
from torch.autograd.functional import hessian, jacobian

from lib.exercises.feedback import Case, Feedback, Mistake, WrongResult, check_function, fresh, generator, randn

KINDS = ("minimum", "maximum", "saddle")


def check_quadratic_hessian(quadratic_hessian) -> Feedback:
    """Check ``quadratic_hessian(A)``: the Hessian of ``f(θ) = θᵀ A θ`` for a square ``A``."""
    data = []
    for seed, d in enumerate((2, 3, 4), start=40):
        data.append((f"for a {d} × {d} matrix A", randn(generator(seed), d, d)))
    gen = generator(43)
    sym = randn(gen, 3, 3)
    data.append(("for a symmetric A", sym + sym.T))
    cases = [Case(label, lambda f, A=A: f(*fresh(A))) for label, A in data]

    def autograd(A):
        return hessian(lambda theta: theta @ A @ theta, torch.ones(len(A), dtype=A.dtype))

    mistakes = [
        Mistake(
            lambda A: A,
            "returns A itself: θᵀAθ reads each product θ_iθ_j through both A_ij and A_ji, "
            "so the Hessian is A + Aᵀ (and a Hessian is always symmetric).",
        ),
        Mistake(
            lambda A: 2 * A,
            "returns 2A, which is right only when A is symmetric: in general the Hessian of θᵀAθ is A + Aᵀ.",
        ),
        Mistake(
            lambda A: (A + A.T) / 2,
            "returns half the Hessian: the second derivative of θᵀAθ is A + Aᵀ, not its average.",
        ),
    ]
    return check_function(
        quadratic_hessian,
        "quadratic_hessian",
        cases,
        autograd,
        mistakes,
        names=("the Hessian",),
        success="agrees with torch.autograd.functional.hessian",
    )


def check_classify_critical_point(classify_critical_point) -> Feedback:
    """Check ``classify_critical_point(H)``: ``"minimum"``, ``"maximum"`` or ``"saddle"``.

    ``H`` is the (symmetric) Hessian at a critical point, with no zero eigenvalue.
    """
    spectra = (
        (1.0, 3.0),
        (-2.0, -0.5),
        (-1.0, 3.0),
        (0.5, 2.0, 4.0),
        (-3.0, -1.0, -0.2),
        (-1.0, 0.5, 2.0),
        (-2.0, 1.0, 4.0, 5.0),
    )
    data = []
    for seed, eigenvalues in enumerate(spectra, start=50):
        q, _ = torch.linalg.qr(randn(generator(seed), len(eigenvalues), len(eigenvalues)))
        H = q @ torch.diag(torch.tensor(eigenvalues, dtype=torch.float64)) @ q.T
        data.append((f"for a {len(eigenvalues)} × {len(eigenvalues)} Hessian", (H + H.T) / 2))
    data.append(("for H = [[1, 2], [2, 1]]", torch.tensor([[1.0, 2.0], [2.0, 1.0]], dtype=torch.float64)))

    def answer(f, H):
        kind = f(*fresh(H))
        if kind is None:
            raise WrongResult("returns None: did you forget `return`?")
        if kind not in KINDS:
            raise WrongResult(f"returns {kind!r}; it should return one of {', '.join(map(repr, KINDS))}")
        return kind

    cases = [Case(label, lambda f, H=H: answer(f, H)) for label, H in data]

    def by_signs(values):
        return "minimum" if (values > 0).all() else "maximum" if (values < 0).all() else "saddle"

    def eigenvalues(H):
        return by_signs(torch.linalg.eigvalsh(H))

    mistakes = [
        Mistake(
            lambda H: "minimum" if torch.linalg.det(H) > 0 else "saddle",
            "decides by the sign of det H, which is positive at a maximum too (with two "
            "negative eigenvalues): look at the signs of the eigenvalues.",
        ),
        Mistake(
            lambda H: by_signs(torch.diagonal(H)),
            "looks at the diagonal of H, not at its eigenvalues: [[1, 2], [2, 1]] has a "
            "positive diagonal but eigenvalues 3 and −1, so it is a saddle.",
        ),
        Mistake(
            lambda H: {"minimum": "maximum", "maximum": "minimum"}.get(eigenvalues(H), "saddle"),
            "has minimum and maximum the wrong way round: positive eigenvalues curve the "
            "function upwards in every direction, a minimum.",
        ),
    ]
    return check_function(
        classify_critical_point,
        "classify_critical_point",
        cases,
        eigenvalues,
        mistakes,
        names=("the kind of point",),
        success="agrees with the signs of the eigenvalues",
    )


def check_newton_step(newton_step) -> Feedback:
    """Check ``newton_step(f, theta)``: ``θ − H⁻¹∇f(θ)``, the gradient and Hessian by autograd."""
    data = []
    for seed, d in enumerate((2, 3, 5), start=60):
        gen = generator(seed)
        root = randn(gen, d, d)
        A, b = root @ root.T + 0.5 * torch.eye(d, dtype=torch.float64), randn(gen, d)
        data.append(
            (
                f"on a quadratic in {d} dimensions, where one step lands on the minimum A⁻¹b",
                lambda theta, A=A, b=b: theta @ A @ theta / 2 - b @ theta,
                randn(gen, d),
                A,
                b,
            )
        )
    gen = generator(63)
    data.append(
        (
            "on f(θ) = Σ log cosh(θ_i) + (θ_1 θ_2)²",
            lambda theta: torch.log(torch.cosh(theta)).sum() + (theta[0] * theta[1]) ** 2,
            randn(gen, 3),
            None,
            None,
        )
    )
    cases = [Case(label, lambda f, g=g, theta=theta: f(g, *fresh(theta))) for label, g, theta, _, _ in data]

    def parts(f, theta):
        return jacobian(f, theta), hessian(f, theta)

    def solved(f, theta):  # the closed form on a quadratic, autograd's H and ∇f otherwise
        for _, g, _, A, b in data:
            if g is f and A is not None:
                return torch.linalg.solve(A, b)
        g, H = parts(f, theta)
        return theta - torch.linalg.solve(H, g)

    mistakes = [
        Mistake(
            lambda f, t: t - parts(f, t)[1] @ parts(f, t)[0],
            "multiplies the gradient by H; Newton's step solves H Δθ = −∇f, so it multiplies "
            "by H⁻¹ (torch.linalg.solve(H, g) computes H⁻¹g).",
        ),
        Mistake(
            lambda f, t: t + torch.linalg.solve(parts(f, t)[1], parts(f, t)[0]),
            "steps the wrong way: Newton's step is θ − H⁻¹∇f. Check the sign.",
        ),
        Mistake(
            lambda f, t: t - parts(f, t)[0] / torch.diagonal(parts(f, t)[1]),
            "divides the gradient by the diagonal of H only, which ignores how the coordinates "
            "interact: solve with the whole matrix H.",
        ),
        Mistake(
            lambda f, t: t - parts(f, t)[0], "takes a gradient step θ − ∇f: Newton's step rescales the gradient by H⁻¹."
        ),
    ]
    return check_function(
        newton_step,
        "newton_step",
        cases,
        solved,
        mistakes,
        names=("the new θ",),
        success="lands where the closed form and autograd say",
    )


def check_softmax_jacobian(softmax_jacobian) -> Feedback:
    """Check ``softmax_jacobian(z)``: the Jacobian of ``p = softmax(z)``, ``J_ij = ∂p_i/∂z_j``."""
    data = [(f"for {k} logits", randn(generator(seed), k)) for seed, k in enumerate((3, 2, 5, 4), start=70)]
    cases = [Case(label, lambda f, z=z: f(*fresh(z))) for label, z in data]

    def autograd(z):
        return jacobian(lambda z: torch.softmax(z, dim=0), z)

    def p(z):
        return torch.softmax(z, dim=0)

    mistakes = [
        Mistake(
            lambda z: torch.diag(p(z) * (1 - p(z))),
            "has the right diagonal, p_i(1 − p_i), but zeros elsewhere: every p_i also "
            "depends on the other logits through the sum in its denominator, so "
            "∂p_i/∂z_j = −p_i p_j for i ≠ j.",
        ),
        Mistake(lambda z: -autograd(z), "has the wrong sign: J = diag(p) − p pᵀ, positive on the diagonal."),
        Mistake(
            lambda z: torch.diag(p(z)) + torch.outer(p(z), p(z)),
            "has rows that do not sum to 0: the probabilities always sum to 1, so moving "
            "one logit cannot change their total. The off-diagonal entries are −p_i p_j.",
        ),
    ]
    return check_function(
        softmax_jacobian,
        "softmax_jacobian",
        cases,
        autograd,
        mistakes,
        names=("the Jacobian",),
        success="agrees with torch.autograd.functional.jacobian",
    )
