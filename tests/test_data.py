"""lib.data: the running example, the synthetic line, the split and the digits."""

import numpy as np
import pytest
import torch

from lib import data


def test_running_example_values_and_closed_form():
    x, y = data.running_example()
    assert x.dtype == torch.float64
    assert x.tolist() == [0, 1, 2, 3, 4, 5, 6, 7]
    assert y.tolist() == [1.86, 1.31, 0.62, 0.33, 0.09, -0.67, -1.23, -1.37]
    # Least squares by numpy, independently of lib: the syllabus's b ≈ 1.76, m ≈ -0.4693.
    m, b = np.polyfit(np.arange(8.0), np.array(data.RUNNING_Y), 1)
    assert m == pytest.approx(-0.4693, abs=1e-4)
    assert b == pytest.approx(1.76, abs=5e-3)


def test_running_example_start_cost():
    x, y = data.running_example()
    m, b = data.RUNNING_START["m"], data.RUNNING_START["b"]
    assert torch.mean((m * x + b - y) ** 2).item() == pytest.approx(19.6755, abs=1e-4)


@pytest.mark.parametrize("seed", range(5))
def test_running_cost_is_torchs_mse_at_a_point_a_pair_and_a_grid(seed):
    x, y = data.running_example()
    thetas = torch.randn(3, 4, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    expected = torch.stack([torch.nn.functional.mse_loss(m * x + b, y) for m, b in thetas.reshape(-1, 2)])
    torch.testing.assert_close(data.running_cost(thetas), expected.reshape(3, 4), rtol=1e-14, atol=0)
    m, b = (t.clone().requires_grad_(True) for t in thetas[0, 0])
    data.running_cost((m, b)).backward()
    residual = m.detach() * x + b.detach() - y  # the gradient of chapter 2: (2/n) Σ x_i r_i, (2/n) Σ r_i
    torch.testing.assert_close(
        torch.stack([m.grad, b.grad]), torch.stack([2 * (x * residual).mean(), 2 * residual.mean()])
    )


def test_running_cost_rejects_a_theta_without_m_and_b():
    with pytest.raises(ValueError, match="theta"):
        data.running_cost(torch.zeros(3))
    with pytest.raises(TypeError, match="theta"):
        data.running_cost("mb")


def test_running_example_dtype_is_checked():
    assert data.running_example(torch.float32)[0].dtype == torch.float32
    with pytest.raises(TypeError, match="dtype"):
        data.running_example(torch.int64)


@pytest.mark.parametrize("seed", [0, 1, 7, 123])
def test_synthetic_line_is_seeded_and_matches_its_law(seed):
    x, y = data.synthetic_line(200_000, seed=seed)
    _, y2 = data.synthetic_line(200_000, seed=seed)
    assert torch.equal(y, y2)
    assert x[0].item() == 0.0
    assert x[-1].item() == pytest.approx(8.0)
    assert torch.allclose(x[1:] - x[:-1], torch.full((199_999,), 8.0 / 199_999), atol=1e-5)
    # The residual is standard normal noise: mean ≈ 0, std ≈ 1, and a fit recovers slope/intercept.
    residual = y - (-0.5 * x + 2.0)
    assert abs(residual.mean().item()) < 0.01
    assert residual.std().item() == pytest.approx(1.0, abs=0.01)
    slope, intercept = np.polyfit(x.double().numpy(), y.double().numpy(), 1)
    assert slope == pytest.approx(-0.5, abs=0.005)
    assert intercept == pytest.approx(2.0, abs=0.02)


def test_synthetic_line_different_seeds_differ_and_noise_zero_is_exact():
    assert not torch.equal(data.synthetic_line(100, seed=1)[1], data.synthetic_line(100, seed=2)[1])
    x, y = data.synthetic_line(11, slope=3.0, intercept=-1.0, noise=0.0, low=-1.0, high=1.0, dtype=torch.float64)
    assert torch.allclose(y, 3 * x - 1, atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"n": 0}, ValueError, "n"),
        ({"n": 2.5}, TypeError, "n"),
        ({"n": 10, "noise": -1.0}, ValueError, "noise"),
        ({"n": 10, "slope": float("nan")}, ValueError, "slope"),
        ({"n": 10, "low": 2.0, "high": 1.0}, ValueError, "high"),
        ({"n": 10, "seed": -1}, ValueError, "seed"),
        ({"n": 10, "dtype": torch.int32}, TypeError, "dtype"),
        ({"n": 10, "intercept": "2"}, TypeError, "intercept"),
    ],
)
def test_synthetic_line_rejects_bad_input(kwargs, error, name):
    with pytest.raises(error, match=name):
        data.synthetic_line(**kwargs)


def test_split_is_a_seeded_partition():
    x = torch.arange(100.0)
    y = 2 * x
    x_tr, y_tr, x_val, y_val = data.train_validation_split(x, y, validation_fraction=0.25, seed=3)
    assert len(x_val) == 25
    assert len(x_tr) == 75
    assert sorted(torch.cat([x_tr, x_val]).tolist()) == x.tolist()
    assert torch.equal(y_tr, 2 * x_tr)
    assert torch.equal(y_val, 2 * x_val)
    again = data.train_validation_split(x, y, validation_fraction=0.25, seed=3)
    assert torch.equal(again[2], x_val)
    other = data.train_validation_split(x, y, validation_fraction=0.25, seed=4)
    assert not torch.equal(other[2], x_val)


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "name"),
    [
        ((torch.zeros(5), torch.zeros(4)), {}, ValueError, "same length"),
        ((torch.zeros(5), torch.zeros(5)), {"validation_fraction": 1.0}, ValueError, "validation_fraction"),
        ((torch.zeros(5), torch.zeros(5)), {"validation_fraction": 0.01}, ValueError, "validation_fraction"),
        ((torch.tensor([1.0, float("nan")]), torch.zeros(2)), {}, ValueError, "x"),
        (("abc", torch.zeros(3)), {}, TypeError, "x"),
    ],
)
def test_split_rejects_bad_input(args, kwargs, error, name):
    with pytest.raises(error, match=name):
        data.train_validation_split(*args, **kwargs)


def test_digits_are_the_bundled_1797_images():
    x_tr, y_tr, x_te, _ = data.load_digits()
    assert len(x_tr) + len(x_te) == 1797
    assert x_tr.shape[1] == 64
    assert len(x_te) == round(1797 * 0.25)
    assert 0.0 <= x_tr.min().item()
    assert x_tr.max().item() == 1.0
    assert set(y_tr.tolist()) == set(range(10))
    assert y_tr.dtype == torch.int64
