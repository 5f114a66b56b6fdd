"""lib.autodiff: gradients and Hessians against torch.autograd.functional, on batches and where f ignores x."""

import pytest
import torch

from lib import autodiff


def cubic(x):
    # a non-quadratic function of each point (..., 3): its Hessian changes with x
    return (x**3).sum(-1) + x[..., 0] * x[..., 1] * x[..., 2] + torch.sin(x[..., 1])


@pytest.mark.parametrize("seed", range(5))
def test_gradient_and_hessian_equal_torch_autograd_functional_at_every_point_of_a_batch(seed):
    points = torch.randn(4, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    x = points.clone().requires_grad_(True)
    grad = autodiff.gradient(cubic(x), x, create_graph=True)
    hess = autodiff.hessian(grad, x)
    for i, point in enumerate(points):
        torch.testing.assert_close(grad[i].detach(), torch.autograd.functional.jacobian(cubic, point), rtol=0, atol=0)
        torch.testing.assert_close(hess[i].detach(), torch.autograd.functional.hessian(cubic, point), rtol=0, atol=0)


def test_a_value_that_ignores_x_has_zero_gradient_and_hessian():
    x = torch.ones(2, dtype=torch.float64, requires_grad=True)
    constant = torch.tensor(3.0, dtype=torch.float64)
    assert torch.equal(autodiff.gradient(constant, x), torch.zeros(2, dtype=torch.float64))
    linear = autodiff.gradient((2 * x).sum(), x, create_graph=True)
    assert torch.equal(linear, torch.full((2,), 2.0, dtype=torch.float64))
    assert torch.equal(autodiff.hessian(linear, x), torch.zeros(2, 2, dtype=torch.float64))
