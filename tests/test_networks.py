"""Tests of lib.networks: the line, Xavier-normal layers, the MLP builder, accuracy, parameter counts."""

import math

import pytest
import torch
from torch import nn

from lib.networks import Line, accuracy, count_parameters, he_dense, he_std, mlp, xavier_dense, xavier_std


@pytest.mark.parametrize(("fan_in", "fan_out"), [(784, 128), (64, 64), (3, 500), (1, 1)])
def test_xavier_std_is_glorot_formula(fan_in, fan_out):
    assert xavier_std(fan_in, fan_out) == pytest.approx((2.0 / (fan_in + fan_out)) ** 0.5, rel=1e-15)


def test_xavier_dense_shape_bias_and_dtype():
    layer = xavier_dense(784, 128, seed=42)
    assert isinstance(layer, nn.Linear)
    assert layer.weight.shape == (128, 784)
    assert layer.bias.shape == (128,)
    assert torch.count_nonzero(layer.bias) == 0
    assert layer.weight.dtype == torch.float32
    assert layer.weight.requires_grad
    assert layer.bias.requires_grad
    assert xavier_dense(5, 3, dtype=torch.float64).weight.dtype == torch.float64


@pytest.mark.parametrize("seed", [0, 1, 42, 1234])
def test_xavier_dense_weights_follow_the_normal_law(seed):
    layer = xavier_dense(784, 128, seed=seed, dtype=torch.float64)
    w = layer.weight.detach().flatten()
    sigma = math.sqrt(2.0 / (784 + 128))
    n = w.numel()
    # Sample mean and standard deviation of 100,352 normal draws: 5 standard errors.
    assert abs(float(w.mean())) < 5 * sigma / math.sqrt(n)
    assert abs(float(w.std()) / sigma - 1) < 5 / math.sqrt(2 * n)
    # Fraction beyond 2σ is 4.55 % for a normal law.
    tail = float((w.abs() > 2 * sigma).double().mean())
    assert abs(tail - 0.0455) < 0.004


def test_xavier_dense_equals_torch_xavier_normal_with_same_generator():
    ours = xavier_dense(30, 20, seed=7, dtype=torch.float64).weight.detach()
    reference = torch.empty(20, 30, dtype=torch.float64)
    nn.init.xavier_normal_(reference, generator=torch.Generator().manual_seed(7))
    torch.testing.assert_close(ours, reference, rtol=1e-12, atol=0)


def test_xavier_dense_is_reproducible_and_seed_dependent():
    a = xavier_dense(10, 4, seed=3).weight
    b = xavier_dense(10, 4, seed=3).weight
    c = xavier_dense(10, 4, seed=4).weight
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_xavier_dense_leaves_global_random_state_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    xavier_dense(50, 50, seed=1)
    mlp((8, 8, 2), seed=1)
    assert torch.equal(torch.rand(3), expected)


def test_mlp_structure_and_forward():
    model = mlp((64, 64, 64, 10), activation="relu", seed=0)
    kinds = [type(m) for m in model]
    assert kinds == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear]
    assert [m.out_features for m in model if isinstance(m, nn.Linear)] == [64, 64, 10]
    out = model(torch.randn(5, 64))
    assert out.shape == (5, 10)
    assert [type(m) for m in mlp((4, 3, 2), activation="Sigmoid")] == [nn.Linear, nn.Sigmoid, nn.Linear]
    assert [type(m) for m in mlp((4, 2), activation="tanh")] == [nn.Linear]


def test_mlp_forward_equals_hand_written_layers():
    torch.manual_seed(5)
    x = torch.randn(7, 6, dtype=torch.float64)
    model = mlp((6, 5, 4, 3), activation="tanh", seed=11, dtype=torch.float64)
    w1, b1, w2, b2, w3, b3 = (p.detach() for p in model.parameters())
    expected = torch.tanh(torch.tanh(x @ w1.T + b1) @ w2.T + b2) @ w3.T + b3
    torch.testing.assert_close(model(x), expected, rtol=1e-12, atol=1e-12)


def test_mlp_layers_draw_from_one_generator():
    model = mlp((6, 5, 4), seed=2, dtype=torch.float64)
    generator = torch.Generator().manual_seed(2)
    first = torch.randn(5, 6, generator=generator, dtype=torch.float64) * xavier_std(6, 5)
    second = torch.randn(4, 5, generator=generator, dtype=torch.float64) * xavier_std(5, 4)
    torch.testing.assert_close(model[0].weight.detach(), first, rtol=1e-12, atol=0)
    torch.testing.assert_close(model[2].weight.detach(), second, rtol=1e-12, atol=0)


@pytest.mark.parametrize("seed", range(5))
def test_accuracy_matches_a_counting_loop(seed):
    generator = torch.Generator().manual_seed(seed)
    outputs = torch.randn(200, 10, generator=generator)
    targets = torch.randint(0, 10, (200,), generator=generator)
    correct = 0
    for row, target in zip(outputs.tolist(), targets.tolist(), strict=True):
        correct += max(range(10), key=lambda k, row=row: row[k]) == target
    assert accuracy(outputs, targets) == pytest.approx(correct / 200, abs=1e-15)


def test_accuracy_extremes():
    targets = torch.tensor([0, 1, 2])
    assert accuracy(torch.eye(3), targets) == 1.0
    assert accuracy(torch.eye(3)[[1, 2, 0]], targets) == 0.0


def test_count_parameters():
    assert count_parameters(mlp((64, 64, 64, 10))) == 64 * 64 + 64 + 64 * 64 + 64 + 64 * 10 + 10
    layer = xavier_dense(784, 128)
    layer.bias.requires_grad_(False)
    assert count_parameters(layer) == 784 * 128


@pytest.mark.parametrize(
    ("call", "error", "name"),
    [
        (lambda: xavier_dense(0, 3), ValueError, "in_features"),
        (lambda: xavier_dense(3, 2.5), TypeError, "out_features"),
        (lambda: xavier_dense(3, 2, seed=-1), ValueError, "seed"),
        (lambda: xavier_dense(3, 2, generator=3), TypeError, "generator"),
        (lambda: xavier_dense(3, 2, dtype=torch.int64), TypeError, "dtype"),
        (lambda: xavier_std(0, 3), ValueError, "fan_in"),
        (lambda: mlp(5), TypeError, "sizes"),
        (lambda: mlp("64"), TypeError, "sizes"),
        (lambda: mlp([4]), ValueError, "sizes"),
        (lambda: mlp([4, 0, 2]), ValueError, "sizes[1]"),
        (lambda: mlp([4, 2], activation="softplus"), ValueError, "activation"),
        (lambda: mlp([4, 2], seed=1.5), TypeError, "seed"),
        (lambda: accuracy([[1.0]], torch.tensor([0])), TypeError, "outputs"),
        (lambda: accuracy(torch.ones(3), torch.tensor([0, 0, 0])), ValueError, "outputs"),
        (lambda: accuracy(torch.ones(3, 2), torch.tensor([0, 1])), ValueError, "targets"),
        (lambda: accuracy(torch.ones(2, 2), torch.tensor([0.0, 1.0])), TypeError, "targets"),
        (lambda: count_parameters("model"), TypeError, "model"),
    ],
)
def test_bad_arguments_are_named(call, error, name):
    with pytest.raises(error, match=name.replace("[", r"\[").replace("]", r"\]")):
        call()


def test_line_model():
    model = Line(2.0, -1.0, dtype=torch.float64)
    x = torch.tensor([0.0, 1.0, 3.0], dtype=torch.float64)
    torch.testing.assert_close(model(x), torch.tensor([-1.0, 1.0, 5.0], dtype=torch.float64))
    with pytest.raises(TypeError, match="m"):
        Line("a", 1.0)


@pytest.mark.parametrize("fan_in", [1, 10, 64, 784])
def test_he_std_is_sqrt_two_over_fan_in(fan_in):
    assert he_std(fan_in) == pytest.approx((2.0 / fan_in) ** 0.5, rel=1e-15)


@pytest.mark.parametrize("seed", [0, 7, 123])
def test_he_dense_equals_torch_kaiming_normal_with_same_generator(seed):
    ours = he_dense(30, 20, seed=seed, dtype=torch.float64)
    reference = torch.empty(20, 30, dtype=torch.float64)
    nn.init.kaiming_normal_(reference, nonlinearity="relu", generator=torch.Generator().manual_seed(seed))
    torch.testing.assert_close(ours.weight.detach(), reference, rtol=1e-12, atol=0)
    assert torch.equal(ours.bias.detach(), torch.zeros(20, dtype=torch.float64))


def test_mlp_init_he_keeps_the_signal_through_deep_relu_layers():
    # Var z doubles under He against Xavier's square layers: the std ratio per layer is sqrt(2)
    x = torch.randn(4000, 64, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    stds = {}
    for init in ("xavier", "he"):
        model = mlp([64] * 12 + [10], init=init, seed=1, dtype=torch.float64)
        h = x
        for layer in model:
            h = layer(h)
        stds[init] = float(h.detach().std())
    assert 0.5 < stds["he"] < 2.0
    assert stds["xavier"] < stds["he"] / 20  # 2 ** (11 / 2) = 45 in theory
    first_he = mlp((5, 4, 3), init="He", seed=2, dtype=torch.float64)[0].weight
    assert torch.equal(first_he, he_dense(5, 4, generator=torch.Generator().manual_seed(2), dtype=torch.float64).weight)


@pytest.mark.parametrize("bad", ["glorot", "", 3, None])
def test_mlp_rejects_an_unknown_init(bad):
    with pytest.raises(ValueError, match="init"):
        mlp((4, 2), init=bad)
