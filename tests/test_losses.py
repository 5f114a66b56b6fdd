"""lib.losses: every loss and gradient against torch.nn.functional and torch.autograd."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy.optimize import linprog, minimize

from lib import losses

SEEDS = range(12)
SHAPES = [(1,), (7,), (3, 4), (2, 3, 5)]
REDUCTIONS = ["mean", "sum", "none"]

# name -> (our loss, our gradient, torch's loss)
REGRESSION = {
    "mae": (losses.mae, losses.mae_grad, F.l1_loss),
    "mse": (losses.mse, losses.mse_grad, F.mse_loss),
    "huber": (losses.huber, losses.huber_grad, F.huber_loss),
}


def _torch_gradient(loss_fn, first, *rest, **kwargs):
    """Gradient w.r.t. ``first`` of torch's loss (summed, for reduction='none'), by autograd."""
    first = first.detach().clone().requires_grad_(True)
    loss_fn(first, *rest, **kwargs).sum().backward()
    return first.grad


def _tol(dtype):
    return {"rtol": 1e-5, "atol": 1e-6} if dtype == torch.float32 else {"rtol": 1e-11, "atol": 1e-12}


# ---------------------------------------------------------------- regression


@pytest.mark.parametrize("name", list(REGRESSION))
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_regression_losses_and_gradients_match_torch(name, shape, reduction, dtype):
    ours, ours_grad, theirs = REGRESSION[name]
    for seed in SEEDS:
        g = torch.Generator().manual_seed(seed)
        y_hat = 3 * torch.randn(shape, generator=g, dtype=dtype)
        y = 3 * torch.randn(shape, generator=g, dtype=dtype)
        kwargs = {"reduction": reduction}
        if name == "huber":
            kwargs["delta"] = float(torch.rand((), generator=g) * 3 + 0.05)
        torch.testing.assert_close(ours(y_hat, y, **kwargs), theirs(y_hat, y, **kwargs), **_tol(dtype))
        expected = _torch_gradient(theirs, y_hat, y, **kwargs)
        torch.testing.assert_close(ours_grad(y_hat, y, **kwargs), expected, **_tol(dtype))


@pytest.mark.parametrize("name", list(REGRESSION))
def test_regression_losses_are_differentiable_and_agree_with_their_gradient(name):
    ours, ours_grad, _ = REGRESSION[name]
    for seed in SEEDS:
        g = torch.Generator().manual_seed(seed)
        y_hat = torch.randn(10, generator=g, dtype=torch.float64, requires_grad=True)
        y = torch.randn(10, generator=g, dtype=torch.float64)
        ours(y_hat, y).backward()
        torch.testing.assert_close(y_hat.grad, ours_grad(y_hat.detach(), y))


def test_regression_gradients_at_kinks_follow_torch():
    y_hat = torch.tensor([0.0, 1.0, -1.0, 2.5], dtype=torch.float64)
    y = torch.tensor([0.0, 0.0, 0.0, 0.0], dtype=torch.float64)  # residuals 0, ±δ and beyond
    for name, (_, ours_grad, theirs) in REGRESSION.items():
        kwargs = {"delta": 1.0} if name == "huber" else {}
        torch.testing.assert_close(ours_grad(y_hat, y, **kwargs), _torch_gradient(theirs, y_hat, y, **kwargs))


def test_textbook_numbers():
    y = torch.tensor([7.0, 3.0])
    y_hat = torch.tensor([2.0, 8.0])
    assert float((y - y_hat).sum()) == 0.0
    assert float(losses.mae(y_hat, y)) == pytest.approx(5.0)
    assert float(losses.mse(y_hat, y)) == pytest.approx(25.0)
    x = torch.arange(8, dtype=torch.float64)
    y = torch.tensor([1.86, 1.31, 0.62, 0.33, 0.09, -0.67, -1.23, -1.37], dtype=torch.float64)
    y_hat = 0.9 * x + 0.1
    assert float(losses.mse(y_hat, y)) == pytest.approx(19.6755, abs=1e-4)
    grad = losses.mse_grad(y_hat, y)
    assert float((grad * x).sum()) == pytest.approx(36.305, abs=1e-3)
    assert float(grad.sum()) == pytest.approx(6.265, abs=1e-3)


def test_huber_is_half_mse_inside_delta_and_linear_outside():
    r = torch.linspace(-0.9, 0.9, 19, dtype=torch.float64)
    torch.testing.assert_close(losses.huber(r, torch.zeros_like(r), reduction="none"), r**2 / 2)
    r = torch.tensor([3.0, -5.0], dtype=torch.float64)
    torch.testing.assert_close(losses.huber(r, torch.zeros_like(r), delta=2.0, reduction="none"), 2 * (r.abs() - 1))


def test_integer_and_mixed_dtype_inputs_are_promoted():
    assert float(losses.mse([1, 2], [3, 5])) == pytest.approx(6.5)
    value = losses.mae(torch.tensor([1.0], dtype=torch.float32), torch.tensor([0.5], dtype=torch.float64))
    assert value.dtype == torch.float64


# ---------------------------------------------------------------- classification


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_matches_torch(shape, reduction):
    for seed in SEEDS:
        g = torch.Generator().manual_seed(seed)
        p = torch.rand(shape, generator=g, dtype=torch.float64) * 0.98 + 0.01
        soft = torch.rand(shape, generator=g, dtype=torch.float64)
        hard = torch.randint(0, 2, shape, generator=g).to(torch.float64)
        for y in (soft, hard):
            expected = F.binary_cross_entropy(p, y, reduction=reduction)
            torch.testing.assert_close(losses.binary_cross_entropy(p, y, reduction=reduction), expected)
            expected_grad = _torch_gradient(F.binary_cross_entropy, p, y, reduction=reduction)
            torch.testing.assert_close(losses.binary_cross_entropy_grad(p, y, reduction=reduction), expected_grad)


def test_binary_cross_entropy_clamps_like_torch_at_zero_and_one():
    p = torch.tensor([0.0, 1.0, 0.0, 1.0], dtype=torch.float64)
    y = torch.tensor([1.0, 0.0, 0.0, 1.0], dtype=torch.float64)
    torch.testing.assert_close(losses.binary_cross_entropy(p, y), F.binary_cross_entropy(p, y))
    assert float(losses.binary_cross_entropy(p, y)) == pytest.approx(50.0)  # two logs clamped at −100, over 4
    torch.testing.assert_close(
        losses.binary_cross_entropy_grad(p, y), _torch_gradient(F.binary_cross_entropy, p, y), rtol=1e-6, atol=0
    )


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_with_logits_matches_torch_even_for_huge_logits(shape, reduction):
    for seed in SEEDS:
        g = torch.Generator().manual_seed(seed)
        scale = [1.0, 30.0, 1000.0][seed % 3]
        z = scale * torch.randn(shape, generator=g, dtype=torch.float64)
        y = torch.rand(shape, generator=g, dtype=torch.float64)
        ours = losses.binary_cross_entropy_with_logits(z, y, reduction=reduction)
        assert bool(torch.isfinite(ours).all())
        torch.testing.assert_close(ours, F.binary_cross_entropy_with_logits(z, y, reduction=reduction))
        expected = _torch_gradient(F.binary_cross_entropy_with_logits, z, y, reduction=reduction)
        torch.testing.assert_close(losses.binary_cross_entropy_with_logits_grad(z, y, reduction=reduction), expected)


@pytest.mark.parametrize("n_classes", [2, 3, 10])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_matches_torch(n_classes, reduction):
    for seed in SEEDS:
        g = torch.Generator().manual_seed(seed)
        n = 1 + seed
        scale = [1.0, 10.0, 500.0][seed % 3]
        logits = scale * torch.randn(n, n_classes, generator=g, dtype=torch.float64)
        y = torch.randint(0, n_classes, (n,), generator=g)
        ours = losses.cross_entropy(logits, y, reduction=reduction)
        torch.testing.assert_close(ours, F.cross_entropy(logits, y, reduction=reduction))
        expected = _torch_gradient(F.cross_entropy, logits, y, reduction=reduction)
        torch.testing.assert_close(losses.cross_entropy_grad(logits, y, reduction=reduction), expected)


def test_cross_entropy_is_differentiable_and_equals_the_categorical_negative_log_likelihood():
    for seed in SEEDS:
        g = torch.Generator().manual_seed(seed)
        logits = torch.randn(6, 4, generator=g, dtype=torch.float64, requires_grad=True)
        y = torch.randint(0, 4, (6,), generator=g)
        loss = losses.cross_entropy(logits, y)
        loss.backward()
        torch.testing.assert_close(logits.grad, losses.cross_entropy_grad(logits.detach(), y))
        nll = -torch.distributions.Categorical(logits=logits.detach()).log_prob(y).mean()
        torch.testing.assert_close(loss.detach(), nll)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_log_softmax_and_sigmoid_match_torch(dim):
    for seed in SEEDS:
        g = torch.Generator().manual_seed(seed)
        z = [1.0, 50.0, 2000.0][seed % 3] * torch.randn(4, 5, generator=g, dtype=torch.float64)
        torch.testing.assert_close(losses.softmax(z, dim=dim), torch.softmax(z, dim=dim))
        torch.testing.assert_close(losses.log_softmax(z, dim=dim), torch.log_softmax(z, dim=dim))
        torch.testing.assert_close(losses.sigmoid(z), torch.sigmoid(z))


def test_softmax_rows_sum_to_one():
    z = torch.tensor([[2.0, 1.0, 0.1], [1000.0, 0.0, -1000.0]], dtype=torch.float64)
    torch.testing.assert_close(losses.softmax(z).sum(dim=1), torch.ones(2, dtype=torch.float64))


# ---------------------------------------------------------------- best_line


def _data(seed, n=12, outliers=2):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-3, 5, n)
    y = rng.normal(0.7, 1) * x + rng.normal() + 0.3 * rng.standard_normal(n)
    y[rng.choice(n, outliers, replace=False)] += rng.uniform(5, 20, outliers)
    return x, y


def test_best_line_mse_is_numpys_least_squares():
    for seed in SEEDS:
        x, y = _data(seed)
        m, b = losses.best_line(torch.tensor(x), torch.tensor(y), "mse")
        np.testing.assert_allclose([m, b], np.polyfit(x, y, 1), rtol=1e-9, atol=1e-9)


def _l1_line_by_linear_programming(x, y):
    """min Σ t_i subject to −t_i ≤ m x_i + b − y_i ≤ t_i, solved by scipy's HiGHS."""
    n = len(x)
    cost = np.concatenate([[0.0, 0.0], np.ones(n)])
    design = np.stack([x, np.ones(n)], axis=1)
    a_ub = np.block([[design, -np.eye(n)], [-design, -np.eye(n)]])
    b_ub = np.concatenate([y, -y])
    result = linprog(cost, A_ub=a_ub, b_ub=b_ub, bounds=[(None, None)] * 2 + [(0, None)] * n, method="highs")
    assert result.success
    return result.fun / n


def test_best_line_mae_reaches_the_linear_programming_optimum():
    for seed in SEEDS:
        x, y = _data(seed, n=9 + seed)
        m, b = losses.best_line(x.tolist(), y.tolist(), "mae")
        ours = np.abs(m * x + b - y).mean()
        assert ours == pytest.approx(_l1_line_by_linear_programming(x, y), rel=1e-9, abs=1e-12)


def test_best_line_mae_ignores_how_far_an_outlier_moves_on_its_side():
    x = np.arange(8.0)
    y = np.array([1.86, 1.31, 0.62, 0.33, 0.09, -0.67, -1.23, -1.37])
    lines = set()
    for height in (2.0, 6.0, 50.0):
        y[7] = height
        lines.add(tuple(round(v, 12) for v in losses.best_line(x, y, "mae")))
    assert len(lines) == 1


@pytest.mark.parametrize("delta", [0.1, 1.0, 3.0])
def test_best_line_huber_minimises_torchs_huber_loss(delta):
    for seed in SEEDS:
        x, y = _data(seed)
        m, b = losses.best_line(x, y, "huber", delta=delta)
        tx, ty = torch.tensor(x), torch.tensor(y)

        def cost(params, tx=tx, ty=ty):
            params = torch.tensor(params, dtype=torch.float64, requires_grad=True)
            value = F.huber_loss(params[0] * tx + params[1], ty, delta=delta)
            value.backward()
            return float(value.detach()), params.grad.numpy()

        reference = minimize(cost, np.polyfit(x, y, 1), jac=True, method="BFGS", options={"gtol": 1e-12})
        assert cost([m, b])[0] <= reference.fun + 1e-12
        assert np.abs(cost([m, b])[1]).max() < 1e-9  # stationary, so the global minimum of a convex cost
        np.testing.assert_allclose([m, b], reference.x, atol=1e-5)


def test_best_line_huber_tends_to_least_squares_for_large_delta():
    x, y = _data(3)
    np.testing.assert_allclose(losses.best_line(x, y, "huber", delta=1e6), np.polyfit(x, y, 1), atol=1e-9)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("name", list(REGRESSION))
def test_regression_losses_reject_bad_input(name):
    ours, ours_grad, _ = REGRESSION[name]
    for fn in (ours, ours_grad):
        with pytest.raises(ValueError, match="y must have the same shape"):
            fn(torch.zeros(3), torch.zeros(4))
        with pytest.raises(ValueError, match="y_hat must contain only finite"):
            fn(torch.tensor([1.0, float("nan")]), torch.zeros(2))
        with pytest.raises(ValueError, match="y must contain only finite"):
            fn(torch.zeros(2), torch.tensor([1.0, float("inf")]))
        with pytest.raises(ValueError, match="y_hat must not be empty"):
            fn(torch.zeros(0), torch.zeros(0))
        with pytest.raises(TypeError, match="y_hat"):
            fn("1, 2", torch.zeros(2))
        with pytest.raises(ValueError, match="reduction"):
            fn(torch.zeros(2), torch.zeros(2), reduction="average")
        with pytest.raises(TypeError, match="reduction"):
            fn(torch.zeros(2), torch.zeros(2), reduction=None)


def test_huber_rejects_bad_delta():
    for fn in (losses.huber, losses.huber_grad):
        for bad in (0.0, -1.0, float("inf")):
            with pytest.raises(ValueError, match="delta"):
                fn(torch.zeros(2), torch.zeros(2), delta=bad)
        with pytest.raises(TypeError, match="delta"):
            fn(torch.zeros(2), torch.zeros(2), delta="1")


def test_binary_cross_entropy_rejects_values_outside_the_unit_interval():
    for fn in (losses.binary_cross_entropy, losses.binary_cross_entropy_grad):
        with pytest.raises(ValueError, match="p must lie in"):
            fn(torch.tensor([1.2]), torch.tensor([1.0]))
        with pytest.raises(ValueError, match="y must lie in"):
            fn(torch.tensor([0.5]), torch.tensor([-1.0]))
    for fn in (losses.binary_cross_entropy_with_logits, losses.binary_cross_entropy_with_logits_grad):
        with pytest.raises(ValueError, match="y must lie in"):
            fn(torch.tensor([3.0]), torch.tensor([2.0]))
        with pytest.raises(ValueError, match="y must have the same shape"):
            fn(torch.zeros(2), torch.zeros(3))


def test_cross_entropy_rejects_bad_labels_and_shapes():
    logits = torch.zeros(3, 4)
    for fn in (losses.cross_entropy, losses.cross_entropy_grad):
        with pytest.raises(ValueError, match="class indices in"):
            fn(logits, torch.tensor([0, 4, 1]))
        with pytest.raises(ValueError, match="class indices in"):
            fn(logits, torch.tensor([0, -1, 1]))
        with pytest.raises(TypeError, match="integer class indices"):
            fn(logits, torch.tensor([0.0, 1.0, 2.0]))
        with pytest.raises(ValueError, match=r"y must have shape \(3,\)"):
            fn(logits, torch.tensor([0, 1]))
        with pytest.raises(ValueError, match=r"logits must have shape \(n, k\)"):
            fn(torch.zeros(4), torch.tensor(1))
        with pytest.raises(ValueError, match="logits must contain only finite"):
            fn(torch.full((3, 4), float("nan")), torch.tensor([0, 1, 2]))


def test_softmax_rejects_bad_dim():
    with pytest.raises(ValueError, match="dim"):
        losses.softmax(torch.zeros(2, 3), dim=2)
    with pytest.raises(TypeError, match="dim"):
        losses.log_softmax(torch.zeros(2, 3), dim=1.0)
    with pytest.raises(ValueError, match="logits"):
        losses.softmax(torch.tensor(1.0))


def test_best_line_rejects_bad_input():
    with pytest.raises(ValueError, match="loss"):
        losses.best_line([0, 1], [0, 1], "hinge")
    with pytest.raises(ValueError, match="two distinct values"):
        losses.best_line([2, 2, 2], [0, 1, 2])
    with pytest.raises(ValueError, match="y must have the same length"):
        losses.best_line([0, 1, 2], [0, 1])
    with pytest.raises(ValueError, match="x must have 1 dimension"):
        losses.best_line([[0, 1], [2, 3]], [0, 1])
    with pytest.raises(ValueError, match="delta"):
        losses.best_line([0, 1], [0, 1], "huber", delta=0)
    with pytest.raises(ValueError, match="at most"):
        losses.best_line(np.arange(losses.MAX_POINTS_MAE + 1.0), np.zeros(losses.MAX_POINTS_MAE + 1), "mae")
