"""lib.calculus against closed-form derivatives and torch.autograd, on many seeds."""

import math

import pytest
import torch

from lib.calculus import (
    derivative,
    directional_derivative,
    gradient_check,
    numerical_gradient,
    numerical_hessian,
    second_derivative,
)

SEEDS = range(20)


def random_function(seed):
    """A smooth scalar function of a vector with random coefficients, written with torch ops."""
    g = torch.Generator().manual_seed(seed)
    d = 2 + seed % 5
    a = torch.randn(d, d, generator=g, dtype=torch.float64)
    b = torch.randn(d, generator=g, dtype=torch.float64)
    c = torch.randn(d, generator=g, dtype=torch.float64)

    def f(x):
        return 0.5 * x @ (a @ x) + torch.sin(b @ x) + torch.exp(0.3 * c @ x)

    x = torch.randn(d, generator=g, dtype=torch.float64)
    return f, x


def autograd_gradient(f, x):
    x = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(f(x), x)
    return grad


# --- one variable, closed forms -------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_derivative_matches_closed_forms(seed):
    x = torch.empty(()).uniform_(-2, 2, generator=torch.Generator().manual_seed(seed)).item()
    cases = [
        (lambda t: t**3 + 6, 3 * x**2),
        (lambda t: torch.sin(t), math.cos(x)),
        (lambda t: torch.exp(2 * t), 2 * math.exp(2 * x)),
        (lambda t: t**2 + 3 * t + 4, 2 * x + 3),
    ]
    for f, expected in cases:
        assert derivative(f, x) == pytest.approx(expected, abs=1e-7)


def test_derivative_accepts_plain_python_functions():
    assert derivative(lambda t: t * t, 3.0) == pytest.approx(6.0, abs=1e-7)
    assert derivative(math.sin, 0.5) == pytest.approx(math.cos(0.5), abs=1e-8)


def test_one_sided_differences_have_first_order_error():
    # For f = exp at 0, forward error ≈ h/2 and backward ≈ -h/2; central is far smaller.
    h = 1e-3
    forward = derivative(torch.exp, 0.0, h=h, method="forward")
    backward = derivative(torch.exp, 0.0, h=h, method="backward")
    central = derivative(torch.exp, 0.0, h=h)
    assert forward - 1 == pytest.approx(h / 2, rel=1e-2)
    assert backward - 1 == pytest.approx(-h / 2, rel=1e-2)
    assert abs(central - 1) < 1e-6


@pytest.mark.parametrize("seed", SEEDS)
def test_second_derivative_matches_closed_forms(seed):
    x = torch.empty(()).uniform_(-2, 2, generator=torch.Generator().manual_seed(seed)).item()
    assert second_derivative(lambda t: t**3 + 6, x) == pytest.approx(6 * x, abs=1e-5)
    assert second_derivative(torch.sin, x) == pytest.approx(-math.sin(x), abs=1e-5)
    assert second_derivative(lambda t: -(t**2) + 3 * t + 4, x) == pytest.approx(-2.0, abs=1e-5)


# --- vectors, against autograd --------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_numerical_gradient_matches_autograd(seed):
    f, x = random_function(seed)
    assert torch.allclose(numerical_gradient(f, x), autograd_gradient(f, x), rtol=1e-6, atol=1e-6)


def test_numerical_gradient_keeps_the_shape_and_leaves_x_alone():
    x = torch.arange(6, dtype=torch.float64).reshape(2, 3)
    before = x.clone()
    weights = torch.linspace(-1, 1, 6, dtype=torch.float64).reshape(2, 3)
    grad = numerical_gradient(lambda w: (weights * w**2).sum(), x)
    assert grad.shape == (2, 3)
    assert torch.allclose(grad, 2 * weights * x, atol=1e-6)
    assert torch.equal(x, before)


def test_numerical_gradient_of_mse_on_running_example():
    # Closed form: dC/dm = mean(2 x (m x + b - y)), dC/db = mean(2 (m x + b - y)).
    from lib.data import running_example

    xs, ys = running_example()
    grad = numerical_gradient(lambda w: ((w[0] * xs + w[1] - ys) ** 2).mean(), [0.9, 0.1])
    residual = 0.9 * xs + 0.1 - ys
    assert grad[0].item() == pytest.approx((2 * xs * residual).mean().item(), abs=1e-6)
    assert grad[1].item() == pytest.approx((2 * residual).mean().item(), abs=1e-6)


@pytest.mark.parametrize("seed", SEEDS)
def test_directional_derivative_is_gradient_dot_unit_direction(seed):
    f, x = random_function(seed)
    direction = torch.randn(x.shape, generator=torch.Generator().manual_seed(100 + seed), dtype=torch.float64)
    unit = direction / direction.norm()
    expected = (autograd_gradient(f, x) @ unit).item()
    assert directional_derivative(f, x, direction) == pytest.approx(expected, abs=1e-6)
    raw = (autograd_gradient(f, x) @ direction).item()
    assert directional_derivative(f, x, direction, normalize=False) == pytest.approx(raw, abs=1e-6)


@pytest.mark.parametrize("seed", SEEDS)
def test_numerical_hessian_matches_autograd(seed):
    f, x = random_function(seed)
    expected = torch.autograd.functional.hessian(f, x)
    found = numerical_hessian(f, x)
    assert torch.allclose(found, found.T)
    assert torch.allclose(found, expected, atol=1e-5)


def test_numerical_hessian_of_quadratic_is_its_matrix():
    a = torch.tensor([[2.0, 1.0], [1.0, -4.0]], dtype=torch.float64)
    found = numerical_hessian(lambda v: 0.5 * v @ a @ v, [0.3, -0.7])
    assert torch.allclose(found, a, atol=1e-6)


# --- the gradient check ---------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_gradient_check_passes_autograd_and_correct_hand_gradients(seed):
    f, x = random_function(seed)
    result = gradient_check(f, x)
    assert result.relative_error < 1e-7
    assert torch.allclose(result.analytic, autograd_gradient(f, x))
    by_hand = gradient_check(f, x, grad=autograd_gradient(f, x))
    assert by_hand.relative_error < 1e-7


@pytest.mark.parametrize("seed", SEEDS)
def test_gradient_check_catches_wrong_gradients(seed):
    f, x = random_function(seed)
    right = autograd_gradient(f, x)
    assert gradient_check(f, x, grad=2 * right).relative_error > 0.4
    assert gradient_check(f, x, grad=right.flip(0) + 1.0).relative_error > 1e-3


def test_gradient_check_of_constant_is_zero():
    result = gradient_check(lambda v: v.sum() * 0.0, torch.ones(3, dtype=torch.float64))
    assert result.relative_error == 0.0
    assert torch.equal(result.numerical, torch.zeros(3, dtype=torch.float64))


# --- bad input --------------------------------------------------------------------


def square(t):
    return (t**2).sum()


@pytest.mark.parametrize(
    ("call", "error", "name"),
    [
        (lambda: derivative(3.0, 1.0), TypeError, "f"),
        (lambda: derivative(square, "a"), TypeError, "x"),
        (lambda: derivative(square, float("nan")), ValueError, "x"),
        (lambda: derivative(square, 1.0, h=0.0), ValueError, "h"),
        (lambda: derivative(square, 1.0, h=-1e-3), ValueError, "h"),
        (lambda: derivative(square, 1.0, method="sideways"), ValueError, "method"),
        (lambda: second_derivative(square, 1.0, h=float("inf")), ValueError, "h"),
        (lambda: numerical_gradient(square, [1.0, float("inf")]), ValueError, "x"),
        (lambda: numerical_gradient(lambda t: t * 2, [1.0, 2.0]), ValueError, "f"),
        (lambda: numerical_gradient(lambda t: "big", [1.0]), TypeError, "f"),
        (lambda: numerical_gradient(lambda t: torch.log(t).sum(), [0.0]), ValueError, "f"),
        (lambda: directional_derivative(square, [1.0, 2.0], [0.0, 0.0]), ValueError, "direction"),
        (lambda: directional_derivative(square, [1.0, 2.0], [1.0, 0.0, 0.0]), ValueError, "direction"),
        (lambda: directional_derivative(square, [1.0, 2.0], [1.0, 0.0], normalize=1), TypeError, "normalize"),
        (lambda: numerical_hessian(square, [[1.0, 2.0]]), ValueError, "x"),
        (lambda: gradient_check(square, [1.0, 2.0], grad=[1.0]), ValueError, "grad"),
        (lambda: gradient_check(lambda t: 1.0, [1.0, 2.0]), TypeError, "f"),
    ],
)
def test_bad_input_raises_naming_the_argument(call, error, name):
    with pytest.raises(error, match=rf"\b{name}\b"):
        call()
