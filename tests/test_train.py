"""lib.train: fit against hand-written loops, reshuffling, seeding, divergence, progress and bad input."""

import itertools
import math

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lib import train
from lib.loops import DivergenceError
from lib.optimizers import NAMES
from lib.schedules import ReduceLROnPlateau, StepLR, lr_sequence
from lib.train import fit
from tests.fuzzing import ALLOWED, anything, finite_numbers, mostly, rate

mse = torch.nn.functional.mse_loss


def regression_data(n, seed, features=3):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, features, generator=g)
    y = x @ torch.randn(features, 1, generator=g) + 0.1 * torch.randn(n, 1, generator=g)
    return x, y


def small_net(seed, features=3):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(features, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))


def hand_loop(model, x, y, *, lr, epochs, batch_size, seed, momentum=0.0):
    """The loop fit documents: a seeded generator, a fresh permutation per epoch, one SGD step per batch."""
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    g = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(epochs):
        for batch in torch.randperm(x.shape[0], generator=g).split(batch_size):
            opt.zero_grad()
            loss = mse(model(x[batch]), y[batch])
            loss.backward()
            opt.step()
            losses.append(loss.item())
    return losses


@pytest.mark.parametrize(("seed", "n", "batch_size", "epochs"), [(0, 50, 8, 3), (1, 64, 64, 2), (2, 37, 5, 2)])
def test_fit_equals_a_hand_written_sgd_loop(seed, n, batch_size, epochs):
    x, y = regression_data(n, seed)
    ours, reference = small_net(seed), small_net(seed)
    history = fit(
        ours,
        mse,
        (x, y),
        optimizer=torch.optim.SGD,
        lr=0.05,
        momentum=0.9,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
        device="cpu",
    )
    losses = hand_loop(reference, x, y, lr=0.05, epochs=epochs, batch_size=batch_size, seed=seed, momentum=0.9)
    for p, q in zip(ours.parameters(), reference.parameters(), strict=True):
        assert torch.equal(p, q)
    assert history.step_loss == losses
    per_epoch = math.ceil(n / batch_size)
    sizes = [min(batch_size, n - i * batch_size) for i in range(per_epoch)]
    for e in range(epochs):
        chunk = losses[e * per_epoch : (e + 1) * per_epoch]
        assert history.train_loss[e] == pytest.approx(sum(v * s for v, s in zip(chunk, sizes, strict=True)) / n)
    assert history.lr == [0.05] * (epochs * per_epoch)
    assert len(history.time) == epochs
    assert all(a < b for a, b in zip(history.time, history.time[1:], strict=False))


def test_fit_with_the_lib_sgd_by_name_matches_the_hand_loop():
    x, y = regression_data(40, 5)
    ours, reference = small_net(5), small_net(5)
    fit(ours, mse, (x, y), optimizer="sgd", lr=0.1, epochs=2, batch_size=16, seed=3, device="cpu")
    hand_loop(reference, x, y, lr=0.1, epochs=2, batch_size=16, seed=3)
    for p, q in zip(ours.parameters(), reference.parameters(), strict=True):
        torch.testing.assert_close(p, q, rtol=1e-6, atol=1e-7)


class Recorder(torch.nn.Module):
    """A linear model that remembers the first feature (the sample id) of every training batch."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(1, 1)
        self.seen = []

    def forward(self, x):
        if self.training:
            self.seen.append(x[:, 0].long().tolist())
        return self.linear(x)


def batches_seen(seed, epochs=2, n=20, batch_size=4):
    x = torch.arange(n, dtype=torch.float32).unsqueeze(1)
    model = Recorder()
    fit(
        model,
        mse,
        (x, torch.zeros(n, 1)),
        optimizer=torch.optim.SGD,
        lr=0.0,
        epochs=epochs,
        batch_size=batch_size,
        seed=seed,
    )
    per_epoch = math.ceil(n / batch_size)
    return [list(itertools.chain(*model.seen[e * per_epoch : (e + 1) * per_epoch])) for e in range(epochs)]


def test_every_epoch_is_reshuffled_and_covers_every_sample():
    first, second = batches_seen(seed=0)
    assert sorted(first) == sorted(second) == list(range(20))
    assert first != second
    assert first[:4] != second[:4]  # the classic bug: the same first batch every epoch


def test_a_fixed_seed_reproduces_the_order_and_another_changes_it():
    assert batches_seen(seed=7) == batches_seen(seed=7)
    assert batches_seen(seed=7) != batches_seen(seed=8)


def test_a_fixed_seed_reproduces_training_with_dropout_and_leaves_the_global_rng_alone():
    x, y = regression_data(60, 1)

    def run():
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(3, 16), torch.nn.Dropout(0.5), torch.nn.Linear(16, 1))
        state = torch.get_rng_state()
        history = fit(model, mse, (x, y), (x, y), optimizer=torch.optim.SGD, lr=0.05, epochs=3, batch_size=8, seed=4)
        assert torch.equal(torch.get_rng_state(), state)
        return history, [p.detach().clone() for p in model.parameters()]

    (h1, p1), (h2, p2) = run(), run()
    assert h1.step_loss == h2.step_loss
    assert h1.val_loss == h2.val_loss
    assert all(torch.equal(a, b) for a, b in zip(p1, p2, strict=True))


def test_validation_loss_and_metrics_are_computed_on_the_whole_validation_set():
    x, y = regression_data(30, 2)
    xv, yv = regression_data(5000, 3)  # bigger than one evaluation chunk
    model = small_net(2)
    history = fit(
        model,
        mse,
        (x, y),
        (xv, yv),
        optimizer=torch.optim.SGD,
        lr=0.05,
        epochs=2,
        batch_size=10,
        metrics={"mae": lambda out, t: (out - t).abs().mean()},
    )
    with torch.no_grad():
        out = model(xv)
    assert history.val_loss[-1] == pytest.approx(float(mse(out, yv)), rel=1e-5)
    assert history.val_metrics["mae"][-1] == pytest.approx(float((out - yv).abs().mean()), rel=1e-5)
    assert len(history.val_loss) == len(history.val_metrics["mae"]) == 2
    assert model.training


def test_scheduler_per_step_and_per_epoch():
    x, y = regression_data(40, 0)
    factory = lambda o: StepLR(o, step_size=3, gamma=0.5)  # noqa: E731
    per_step = fit(
        small_net(0), mse, (x, y), optimizer=torch.optim.SGD, lr=0.1, epochs=2, batch_size=8, scheduler=factory
    )
    assert per_step.lr == pytest.approx(lr_sequence(factory, 10, lr=0.1), rel=1e-15)
    per_epoch = fit(
        small_net(0),
        mse,
        (x, y),
        optimizer=torch.optim.SGD,
        lr=0.1,
        epochs=4,
        batch_size=8,
        scheduler=factory,
        scheduler_interval="epoch",
    )
    expected = [0.1 * 0.5 ** (e // 3) for e in range(4) for _ in range(5)]
    assert per_epoch.lr == pytest.approx(expected, rel=1e-15)


def test_plateau_scheduler_is_given_the_validation_loss_each_epoch():
    x, y = regression_data(40, 0)
    seen = []

    class Spy(ReduceLROnPlateau):
        def step(self, metrics):
            seen.append(metrics)
            super().step(metrics)

    history = fit(
        small_net(0),
        mse,
        (x, y),
        (x[:10], y[:10]),
        optimizer=torch.optim.SGD,
        lr=0.01,
        epochs=3,
        batch_size=8,
        scheduler=lambda o: Spy(o, patience=0),
        scheduler_interval="epoch",
    )
    assert seen == history.val_loss


def test_torch_scheduler_works_too():
    x, y = regression_data(16, 0)
    factory = lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9)  # noqa: E731
    history = fit(small_net(0), mse, (x, y), optimizer=torch.optim.SGD, lr=0.1, batch_size=4, scheduler=factory)
    assert history.lr == pytest.approx([0.1 * 0.9**k for k in range(4)], rel=1e-12)


def test_a_non_finite_loss_stops_fit_naming_the_step_and_last_finite_loss():
    x, y = regression_data(64, 0)
    with pytest.raises(DivergenceError, match=r"step \d+ .*last finite loss") as info:
        fit(small_net(0), mse, (x * 100, y * 100), optimizer=torch.optim.SGD, lr=10.0, epochs=50, batch_size=8)
    err = info.value
    assert isinstance(err, ValueError)
    assert err.step >= 1
    assert math.isfinite(err.last_finite)


def test_a_nan_loss_at_the_first_step_has_no_last_finite_loss():
    x, y = regression_data(8, 0)
    with pytest.raises(DivergenceError, match="no finite loss") as info:
        fit(small_net(0), lambda out, t: (out - t).mean() / 0.0 * 0.0, (x, y), optimizer=torch.optim.SGD, lr=0.1)
    assert info.value.step == 0
    assert info.value.last_finite is None


def test_lib_optimizer_blow_up_is_reported_as_divergence():
    x, y = regression_data(64, 0)
    with pytest.raises(DivergenceError):
        fit(small_net(0), mse, (x * 1e3, y * 1e3), optimizer="sgd", lr=1e3, epochs=20, batch_size=64)


def test_progress_auto_detection(monkeypatch):
    assert train.show_progress(None) is False  # under pytest
    assert train.show_progress(True) is True
    assert train.show_progress(False) is False
    monkeypatch.delenv("PYTEST_CURRENT_TEST", raising=False)
    monkeypatch.setenv("CI", "true")
    assert train.show_progress(None) is False
    monkeypatch.delenv("CI")

    class Tty:
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stdout", Tty())
    monkeypatch.setattr("sys.stderr", Tty())
    assert train.show_progress(None) is True
    with pytest.raises(TypeError, match="progress"):
        train.show_progress("yes")


def test_progress_bar_is_quiet_unless_asked(capsys):
    x, y = regression_data(16, 0)
    fit(small_net(0), mse, (x, y), optimizer=torch.optim.SGD, lr=0.01, batch_size=4)
    assert capsys.readouterr().err == ""
    fit(small_net(0), mse, (x, y), optimizer=torch.optim.SGD, lr=0.01, batch_size=4, progress=True)
    assert "4/4" in capsys.readouterr().err


def test_device_none_picks_cpu_without_a_gpu_and_cuda_is_refused():
    if torch.cuda.is_available():
        x, y = regression_data(16, 0)
        model = small_net(0)
        fit(model, mse, (x, y), optimizer=torch.optim.SGD, lr=0.01)
        assert next(model.parameters()).is_cuda
    else:
        with pytest.raises(ValueError, match="device"):
            fit(small_net(0), mse, regression_data(8, 0), device="cuda", lr=0.1)
        model = small_net(0)
        fit(model, mse, regression_data(8, 0), optimizer=torch.optim.SGD, lr=0.01)
        assert next(model.parameters()).device.type == "cpu"


# --- bad input: one test per rule -----------------------------------------------------------------------

X, Y = regression_data(10, 0)
GOOD = {"optimizer": torch.optim.SGD, "lr": 0.1}


@pytest.mark.parametrize(
    ("call", "error", "name"),
    [
        (lambda: fit("model", mse, (X, Y), **GOOD), TypeError, "model"),
        (lambda: fit(small_net(0), "mse", (X, Y), **GOOD), TypeError, "loss_fn"),
        (lambda: fit(small_net(0), mse, X, **GOOD), TypeError, "train_data"),
        (lambda: fit(small_net(0), mse, (X, Y[:5]), **GOOD), ValueError, "train_data"),
        (lambda: fit(small_net(0), mse, (X * float("nan"), Y), **GOOD), ValueError, "train_data"),
        (lambda: fit(small_net(0), mse, (X[:0], Y[:0]), **GOOD), ValueError, "train_data"),
        (lambda: fit(small_net(0), mse, (X, Y), (X, Y[:3]), **GOOD), ValueError, "val_data"),
        (lambda: fit(small_net(0), mse, (X, Y), ("x", Y), **GOOD), TypeError, "val_data"),
        (lambda: fit(small_net(0), mse, (X, Y), epochs=0, **GOOD), ValueError, "epochs"),
        (lambda: fit(small_net(0), mse, (X, Y), batch_size=0, **GOOD), ValueError, "batch_size"),
        (lambda: fit(small_net(0), mse, (X, Y), batch_size=2.0, **GOOD), TypeError, "batch_size"),
        (lambda: fit(small_net(0), mse, (X, Y), seed=-1, **GOOD), ValueError, "seed"),
        (lambda: fit(small_net(0), mse, (X, Y), scheduler_interval="batch", **GOOD), ValueError, "scheduler_interval"),
        (lambda: fit(small_net(0), mse, (X, Y), scheduler="StepLR", **GOOD), TypeError, "scheduler"),
        (lambda: fit(small_net(0), mse, (X, Y), metrics={"a": lambda o, t: 0.0}, **GOOD), ValueError, "val_data"),
        (lambda: fit(small_net(0), mse, (X, Y), (X, Y), metrics=[len], **GOOD), TypeError, "metrics"),
        (lambda: fit(small_net(0), mse, (X, Y), device=3.5, **GOOD), TypeError, "device"),
        (lambda: fit(small_net(0), mse, (X, Y), device="tpu:x", **GOOD), ValueError, "device"),
        (lambda: fit(small_net(0), mse, (X, Y), progress="yes", **GOOD), TypeError, "progress"),
        (lambda: fit(small_net(0), mse, (X, Y), optimizer="adamm", lr=0.1), ValueError, "adamm"),
        (lambda: fit(small_net(0), mse, (X, Y), optimizer="sgd", lr=-0.1), ValueError, "lr"),
        (lambda: fit(small_net(0), mse, (X, Y), optimizer="sgd", lr=float("nan")), ValueError, "lr"),
        (lambda: fit(small_net(0), mse, (X, Y), optimizer=42, lr=0.1), TypeError, "optimizer"),
        (lambda: fit(small_net(0), mse, (X, Y), optimizer=lambda p, lr: [p], lr=0.1), TypeError, "optimizer"),
        (lambda: fit(small_net(0, features=4), mse, (X, Y), **GOOD), ValueError, "model or loss_fn"),
        (lambda: fit(small_net(0), lambda o, t: o - t, (X, Y), **GOOD), ValueError, "loss_fn"),
        (lambda: fit(torch.nn.ReLU(), mse, (X, Y), **GOOD), ValueError, "trainable"),
    ],
)
def test_bad_input_is_named(call, error, name):
    with pytest.raises(error, match=name):
        call()


# Property tests: any arguments give finite numbers or a clear error.


@settings(derandomize=True, deadline=None, max_examples=50, suppress_health_check=[HealthCheck.too_slow])
@given(
    n=mostly(st.integers(1, 12), st.just(0)),
    features=mostly(st.just(2), st.sampled_from([1, 3])),
    scale=mostly(st.just(1.0), st.sampled_from([1e3, 1e30, float("nan")])),
    optimizer=mostly(st.sampled_from(NAMES)),
    lr=mostly(st.floats(1e-4, 0.1), rate),
    epochs=mostly(st.integers(1, 3), st.one_of(st.integers(-1, 0), anything)),
    batch_size=mostly(st.integers(1, 15), st.one_of(st.integers(-1, 0), anything)),
    with_val=st.booleans(),
    seed=mostly(st.integers(0, 5), st.one_of(st.just(-1), anything)),
)
def test_fit_returns_a_finite_history_or_raises(n, features, scale, optimizer, lr, epochs, batch_size, with_val, seed):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, features, generator=g) * scale
    y = torch.randn(n, 1, generator=g)
    torch.manual_seed(0)
    model = torch.nn.Linear(2, 1)  # features may not match: that must be a ValueError too
    val = (x, y) if with_val else None
    try:
        history = fit(
            model, torch.nn.functional.mse_loss, (x, y), val, optimizer=optimizer, lr=lr, epochs=epochs,
            batch_size=batch_size, seed=seed,
        )  # fmt: skip
    except ALLOWED:
        return
    assert len(history.train_loss) == epochs
    assert finite_numbers(history.train_loss + history.val_loss + history.step_loss + history.lr + history.time)
    assert all(bool(torch.isfinite(p).all()) for p in model.parameters())


def test_the_property_runs_valid_calls_for_real():
    x = torch.randn(6, 2)
    assert len(fit(torch.nn.Linear(2, 1), torch.nn.functional.mse_loss, (x, x[:, :1]), lr=0.1).train_loss) == 1
