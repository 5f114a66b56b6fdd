"""Tests of lib.distributed: data-parallel SGD equals SGD on the combined batches."""

import socket

import pytest
import torch

from lib.distributed import data_parallel_sgd, free_port, worker_batches

SETTINGS = [
    # (n, world_size, batch_size, steps, lr, seed): the first run covers several epochs.
    (60, 2, 4, 20, 0.02, 0),
    (500, 2, 16, 12, 0.005, 7),
]


def _data(n, seed):
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(n, generator=generator, dtype=torch.float64) * 8
    y = -0.5 * x + 2 + torch.randn(n, generator=generator, dtype=torch.float64)
    return x, y


def _mse_gradient(w, x, y):
    w = w.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(((w[0] * x + w[1] - y) ** 2).mean(), w)
    return grad


@pytest.fixture(scope="module", params=SETTINGS, ids=lambda s: f"n{s[0]}-w{s[1]}-b{s[2]}")
def run(request):
    n, world_size, batch_size, steps, lr, seed = request.param
    x, y = _data(n, seed)
    result = data_parallel_sgd(x, y, world_size=world_size, lr=lr, steps=steps, batch_size=batch_size, seed=seed)
    return x, y, request.param, result


def test_shapes(run):
    _, _, (_, world_size, batch_size, steps, _, _), result = run
    assert result.history.shape == (steps + 1, 2)
    assert result.replicas.shape == (world_size, 2)
    assert result.local_gradients.shape == (steps, world_size, 2)
    assert result.averaged_gradients.shape == (steps, world_size, 2)
    assert result.losses.shape == (steps, world_size)
    assert result.batches.shape == (steps, world_size, batch_size)
    assert result.history.dtype == torch.float64


def test_local_gradients_are_the_gradients_of_each_workers_batch(run):
    x, y, _, result = run
    for step, rows in enumerate(result.batches):
        for rank, r in enumerate(rows):
            expected = _mse_gradient(result.history[step], x[r], y[r])
            torch.testing.assert_close(result.local_gradients[step, rank], expected, rtol=1e-12, atol=1e-12)


def test_averaged_gradient_equals_the_combined_batch_gradient(run):
    x, y, _, result = run
    for step, rows in enumerate(result.batches):
        combined = rows.reshape(-1)
        expected = _mse_gradient(result.history[step], x[combined], y[combined])
        for rank in range(rows.shape[0]):
            torch.testing.assert_close(result.averaged_gradients[step, rank], expected, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(result.local_gradients[step].mean(0), expected, rtol=1e-12, atol=1e-12)


def test_data_parallel_run_equals_single_process_sgd_on_combined_batches(run):
    x, y, (_, _, _, _, lr, _), result = run
    model = torch.nn.Parameter(torch.tensor([0.9, 0.1], dtype=torch.float64))
    optimizer = torch.optim.SGD([model], lr=lr)
    history = [model.detach().clone()]
    for rows in result.batches:
        combined = rows.reshape(-1)
        optimizer.zero_grad()
        ((model[0] * x[combined] + model[1] - y[combined]) ** 2).mean().backward()
        optimizer.step()
        history.append(model.detach().clone())
    torch.testing.assert_close(result.history, torch.stack(history), rtol=1e-12, atol=1e-12)
    for replica in result.replicas:  # every worker ends with the same model
        torch.testing.assert_close(replica, result.params, rtol=0, atol=0)


def test_losses_are_each_workers_batch_cost(run):
    x, y, _, result = run
    for step, rows in enumerate(result.batches):
        w = result.history[step]
        expected = torch.stack([((w[0] * x[r] + w[1] - y[r]) ** 2).mean() for r in rows])
        torch.testing.assert_close(result.losses[step], expected, rtol=1e-12, atol=1e-12)


def test_workers_read_the_rows_worker_batches_predicts(run):
    _, _, (n, world_size, batch_size, steps, _, seed), result = run
    expected = worker_batches(n, world_size=world_size, batch_size=batch_size, steps=steps, seed=seed)
    assert torch.equal(result.batches, expected)


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize(("n", "world_size", "batch_size"), [(40, 2, 4), (103, 3, 5), (64, 1, 8), (50, 4, 3)])
def test_worker_batches_deal_each_epoch_without_repeats_and_reshuffle(seed, n, world_size, batch_size):
    per_epoch = (n // world_size) // batch_size
    batches = worker_batches(n, world_size=world_size, batch_size=batch_size, steps=3 * per_epoch, seed=seed)
    assert batches.shape == (3 * per_epoch, world_size, batch_size)
    assert int(batches.min()) >= 0
    assert int(batches.max()) < n
    epochs = batches.view(3, per_epoch * world_size * batch_size)
    for epoch in epochs:  # within an epoch no row is read twice, by any worker
        assert len(torch.unique(epoch)) == len(epoch)
    assert not torch.equal(epochs[0], epochs[1])  # a fresh shuffle every epoch
    assert not torch.equal(epochs[1], epochs[2])


def test_worker_batches_depend_on_seed_only_through_the_shuffle():
    a = worker_batches(100, world_size=2, batch_size=5, steps=10, seed=1)
    b = worker_batches(100, world_size=2, batch_size=5, steps=10, seed=1)
    c = worker_batches(100, world_size=2, batch_size=5, steps=10, seed=2)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


def test_free_port_can_be_bound():
    port = free_port()
    assert 0 < port < 65536
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", port))


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"x": torch.ones(10), "y": torch.ones(9)}, ValueError, "same length"),
        ({"x": torch.ones(10, 2), "y": torch.ones(10)}, ValueError, "x"),
        ({"x": torch.tensor([1.0, float("nan")] * 20)}, ValueError, "x"),
        ({"x": torch.arange(40)}, TypeError, "x"),
        ({"x": "abc"}, TypeError, "x"),
        ({"lr": -0.1}, ValueError, "lr"),
        ({"lr": 0.0}, ValueError, "lr"),
        ({"lr": "fast"}, TypeError, "lr"),
        ({"world_size": 0}, ValueError, "world_size"),
        ({"world_size": 2.0}, TypeError, "world_size"),
        ({"steps": 0}, ValueError, "steps"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"batch_size": 21}, ValueError, "batch_size"),
        ({"start": (1.0, 2.0, 3.0)}, ValueError, "start"),
        ({"start": (1.0, float("inf"))}, ValueError, "start"),
        ({"seed": -1}, ValueError, "seed"),
        ({"timeout": 0}, ValueError, "timeout"),
    ],
)
def test_bad_input_is_refused_before_any_process_starts(kwargs, error, name):
    arguments = {"x": torch.linspace(0, 1, 40), "y": torch.zeros(40), **kwargs}
    if "y" not in kwargs and len(arguments["x"]) != 40:
        arguments["y"] = torch.zeros(len(arguments["x"]))
    with pytest.raises(error, match=name):
        data_parallel_sgd(**arguments)


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"n": 0}, ValueError, "n"),
        ({"world_size": 0}, ValueError, "world_size"),
        ({"batch_size": 30}, ValueError, "batch_size"),
        ({"steps": 1.5}, TypeError, "steps"),
    ],
)
def test_worker_batches_bad_input(kwargs, error, name):
    with pytest.raises(error, match=name):
        worker_batches(**{"n": 50, **kwargs})
