"""lib.rates against iteration-matrix spectra, grid searches and torch.optim runs."""

import math

import pytest
import torch

from lib.rates import (
    contraction_rate,
    gd_optimal,
    gd_rate,
    heavy_ball_optimal,
    heavy_ball_rate,
    nesterov_rate,
)

SEEDS = range(15)


def random_problem(seed):
    """Random symmetric positive-definite A, its eigenvalues, and random (lr, momentum)."""
    g = torch.Generator().manual_seed(seed)
    d = 2 + seed % 4
    eigenvalues = torch.sort(0.1 + 10 * torch.rand(d, generator=g, dtype=torch.float64)).values
    q, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
    a = q @ torch.diag(eigenvalues) @ q.T
    lr = 0.4 * torch.rand((), generator=g, dtype=torch.float64).item()
    momentum = 0.95 * torch.rand((), generator=g, dtype=torch.float64).item()
    return a, eigenvalues, lr, momentum


def spectral_radius(m):
    return torch.linalg.eigvals(m).abs().max().item()


@pytest.mark.parametrize("seed", SEEDS)
def test_gd_rate_is_spectral_radius_of_iteration_matrix(seed):
    a, eigenvalues, lr, _ = random_problem(seed)
    identity = torch.eye(a.shape[0], dtype=torch.float64)
    assert math.isclose(gd_rate(lr, eigenvalues), spectral_radius(identity - lr * a), rel_tol=1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_heavy_ball_rate_is_spectral_radius_of_iteration_matrix(seed):
    # State (x_k, x_{k-1}) -> (x_{k+1}, x_k) with x_{k+1} = ((1 + β)I − αA) x_k − β x_{k−1}.
    a, eigenvalues, lr, beta = random_problem(seed)
    d = a.shape[0]
    identity = torch.eye(d, dtype=torch.float64)
    m = torch.zeros(2 * d, 2 * d, dtype=torch.float64)
    m[:d, :d] = (1 + beta) * identity - lr * a
    m[:d, d:] = -beta * identity
    m[d:, :d] = identity
    assert math.isclose(heavy_ball_rate(lr, beta, eigenvalues), spectral_radius(m), rel_tol=1e-6)


@pytest.mark.parametrize("seed", SEEDS)
def test_nesterov_rate_is_spectral_radius_of_iteration_matrix(seed):
    # x_{k+1} = (I − αA)((1 + β) x_k − β x_{k−1}): a gradient step from the look-ahead point.
    a, eigenvalues, lr, beta = random_problem(seed)
    d = a.shape[0]
    identity = torch.eye(d, dtype=torch.float64)
    m = torch.zeros(2 * d, 2 * d, dtype=torch.float64)
    m[:d, :d] = (1 + beta) * (identity - lr * a)
    m[:d, d:] = -beta * (identity - lr * a)
    m[d:, :d] = identity
    assert math.isclose(nesterov_rate(lr, beta, eigenvalues), spectral_radius(m), rel_tol=1e-6)


def quadratic_run(optimizer_factory, a, x0, steps):
    """Errors ‖x_k‖ of a torch optimizer on f = ½ xᵀAx (minimum at 0)."""
    x = x0.clone().requires_grad_(True)
    opt = optimizer_factory([x])
    errors = [x.detach().norm().item()]
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * x @ a @ x).backward()
        opt.step()
        errors.append(x.detach().norm().item())
    return errors


def measurable_settings(seed, rate_of):
    """A random problem and settings whose predicted rate is in (0.5, 0.97): slow enough that ‖x‖² does
    not underflow in 400 steps, fast enough to measure in them."""
    g = torch.Generator().manual_seed(1000 + seed)
    a, eigenvalues, _, _ = random_problem(seed)
    while True:
        lr = (2.0 / eigenvalues[-1].item()) * torch.rand((), generator=g, dtype=torch.float64).item()
        momentum = 0.9 * torch.rand((), generator=g, dtype=torch.float64).item()
        predicted = rate_of(lr, momentum, eigenvalues)
        if 0.5 < predicted < 0.97:
            return a, lr, momentum, predicted


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("nesterov", [False, True])
def test_rates_predict_torch_sgd(seed, nesterov):
    a, lr, beta, predicted = measurable_settings(seed, nesterov_rate if nesterov else heavy_ball_rate)
    x0 = torch.randn(a.shape[0], generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    errors = quadratic_run(lambda p: torch.optim.SGD(p, lr=lr, momentum=beta, nesterov=nesterov), a, x0, 400)
    # Complex roots make ‖x_k‖ oscillate around the envelope ρ^k: compare over a long window.
    assert abs(contraction_rate(errors, start=0.25) - predicted) < 0.01


@pytest.mark.parametrize("seed", SEEDS)
def test_gd_rate_predicts_torch_sgd(seed):
    a, lr, _, predicted = measurable_settings(seed, lambda lr, momentum, eigenvalues: gd_rate(lr, eigenvalues))
    x0 = torch.randn(a.shape[0], generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    errors = quadratic_run(lambda p: torch.optim.SGD(p, lr=lr), a, x0, 300)
    assert abs(contraction_rate(errors) - predicted) < 1e-3


@pytest.mark.parametrize("kappa", [1.0, 2.0, 10.0, 100.0, 1000.0])
def test_gd_optimal_beats_every_other_step(kappa):
    lam_min, lam_max = 0.5, 0.5 * kappa
    best = gd_optimal(lam_min, lam_max)
    assert math.isclose(best.rate, gd_rate(best.lr, [lam_min, lam_max]), rel_tol=1e-12, abs_tol=1e-15)
    grid = torch.linspace(1e-4, 2.5 / lam_max, 2001, dtype=torch.float64)
    assert min(gd_rate(lr.item(), [lam_min, lam_max]) for lr in grid) >= best.rate - 1e-12
    assert best.momentum == 0.0


@pytest.mark.parametrize("kappa", [2.0, 10.0, 100.0, 1000.0])
def test_heavy_ball_optimal_beats_a_grid_of_settings(kappa):
    lam_min, lam_max = 2.0, 2.0 * kappa
    best = heavy_ball_optimal(lam_min, lam_max)
    # At the optimum the roots are double (a zero discriminant): rounding moves them by ~√ε.
    assert abs(best.rate - heavy_ball_rate(best.lr, best.momentum, [lam_min, lam_max])) < 1e-6
    assert abs(best.rate - math.sqrt(best.momentum)) < 1e-12
    for lr in torch.linspace(0.2, 1.8, 33).tolist():
        for beta in torch.linspace(0.0, 0.999, 60).tolist():
            assert heavy_ball_rate(lr * best.lr, beta, [lam_min, lam_max]) >= best.rate - 1e-7


def test_heavy_ball_beats_gd_and_matches_it_without_momentum():
    for kappa in [4.0, 25.0, 400.0]:
        assert heavy_ball_optimal(1.0, kappa).rate < gd_optimal(1.0, kappa).rate
        assert math.isclose(heavy_ball_optimal(1.0, kappa).rate, (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1))
    assert heavy_ball_rate(0.3, 0.0, [1.0, 2.0, 6.0]) == pytest.approx(gd_rate(0.3, [1.0, 2.0, 6.0]), abs=1e-15)


def test_contraction_rate_of_geometric_and_jordan_sequences():
    r = 0.8
    assert math.isclose(contraction_rate([3.0 * r**k for k in range(50)]), r, rel_tol=1e-12)
    # e_k = (1 + k) r^k: over steps S..K the measured rate is r·((1 + K)/(1 + S))^(1/(K − S)).
    errors = [(1 + k) * r**k for k in range(101)]
    assert math.isclose(contraction_rate(errors, start=0.5), r * (101 / 51) ** (1 / 50), rel_tol=1e-12)
    assert math.isclose(contraction_rate([1.0, 0.5]), 0.5)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="lr"):
        gd_rate(-0.1, [1.0])
    with pytest.raises(ValueError, match="momentum"):
        heavy_ball_rate(0.1, -0.5, [1.0])
    with pytest.raises(ValueError, match="eigenvalues must be >= 0"):
        nesterov_rate(0.1, 0.5, [1.0, -2.0])
    with pytest.raises(ValueError, match="at least one"):
        gd_rate(0.1, [])
    with pytest.raises(ValueError, match="lambda_max must be >= lambda_min"):
        gd_optimal(2.0, 1.0)
    with pytest.raises(ValueError, match="lambda_min"):
        heavy_ball_optimal(0.0, 1.0)
    with pytest.raises(ValueError, match="errors must be positive"):
        contraction_rate([1.0, 0.0])
    with pytest.raises(ValueError, match="at least two"):
        contraction_rate([1.0])
    with pytest.raises(ValueError, match="start"):
        contraction_rate([1.0, 0.5], start=1.0)
    with pytest.raises(TypeError, match="lr"):
        gd_rate("0.1", [1.0])
