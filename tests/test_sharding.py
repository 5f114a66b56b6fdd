"""Tests of lib.sharding: ZeRO-sharded Adam on two processes trains the same weights as Adam in one."""

import pytest
import torch

from lib.networks import mlp
from lib.sharding import batch_rows, sharded_adam, state_bytes

WIDTHS = (6, 8, 8, 3)


def _data(n=40, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(n, WIDTHS[0], generator=generator), torch.randint(0, WIDTHS[-1], (n,), generator=generator)


def _adam_alone(x, y, rows, lr):
    model = mlp(WIDTHS, seed=3)
    adam = torch.optim.Adam(model.parameters(), lr=lr)
    for batch in rows:
        adam.zero_grad()
        torch.nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
        adam.step()
    return [p.detach() for p in model.parameters()], state_bytes(adam.state_dict()["state"])


@pytest.fixture(scope="module")
def runs():
    x, y = _data()
    rows = batch_rows(len(x), steps=15, batch_size=8, seed=2)
    return _adam_alone(x, y, rows, 0.01), sharded_adam(x, y, rows, widths=WIDTHS, lr=0.01, seed=3)


def test_sharded_adam_trains_the_weights_of_adam_in_one_process(runs):
    (alone, _), sharded = runs
    assert sharded.replicas_equal
    for ours, theirs in zip(sharded.params, alone, strict=True):
        torch.testing.assert_close(ours, theirs, rtol=1e-5, atol=1e-6)
    assert not torch.equal(alone[0], mlp(WIDTHS, seed=3)[0].weight.detach())  # it trained


def test_each_worker_holds_its_share_of_the_state(runs):
    (_, whole), sharded = runs
    assert sum(sharded.state_bytes) == whole
    assert all(0 < size < whole for size in sharded.state_bytes)
    assert sum(sharded.owned) == sum(p.numel() for p in mlp(WIDTHS).parameters())
    # Adam keeps two float32 numbers per parameter, and a 4-byte step counter per tensor
    assert all(size > 8 * owned for size, owned in zip(sharded.state_bytes, sharded.owned, strict=True))


def test_batch_rows_are_seeded_and_in_range():
    rows = batch_rows(30, steps=4, batch_size=10, seed=1)
    assert rows.shape == (4, 10)
    assert torch.equal(rows, batch_rows(30, steps=4, batch_size=10, seed=1))
    assert not torch.equal(rows, batch_rows(30, steps=4, batch_size=10, seed=2))
    assert all(len(set(r.tolist())) == 10 for r in rows)  # no row twice in a batch
    assert 0 <= rows.min()
    assert rows.max() < 30


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"n": 0}, ValueError, "n must"),
        ({"steps": 0}, ValueError, "steps"),
        ({"batch_size": 31}, ValueError, "batch_size"),
        ({"seed": -1}, ValueError, "seed"),
        ({"n": 2.5}, TypeError, "n must"),
    ],
)
def test_batch_rows_refuses_bad_arguments(kwargs, error, match):
    arguments = {"n": 30, "steps": 2, "batch_size": 4, "seed": 0, **kwargs}
    n = arguments.pop("n")
    with pytest.raises(error, match=match):
        batch_rows(n, **arguments)


@pytest.mark.parametrize(
    ("change", "error", "match"),
    [
        ({"x": torch.ones(4)}, ValueError, "x must have 2"),
        ({"y": torch.zeros(40)}, ValueError, "y must hold one integer class label"),
        ({"y": torch.zeros(39, dtype=torch.long)}, ValueError, "y must hold one integer class label"),
        ({"rows": torch.tensor([[0, 1, 2]])}, ValueError, "split evenly"),
        ({"rows": torch.tensor([[0, 40]])}, ValueError, "rows must hold row indices"),
        ({"world_size": 0}, ValueError, "world_size"),
        ({"lr": 0.0}, ValueError, "lr"),
        ({"widths": (6, "8", 3)}, TypeError, r"widths\[1\]"),
    ],
)
def test_sharded_adam_refuses_bad_arguments_before_starting_workers(change, error, match):
    x, y = _data()
    arguments = {"x": x, "y": y, "rows": torch.tensor([[0, 1], [2, 3]]), "widths": WIDTHS, **change}
    with pytest.raises(error, match=match):
        sharded_adam(arguments.pop("x"), arguments.pop("y"), arguments.pop("rows"), **arguments)
