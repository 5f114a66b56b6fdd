"""Training loops that record their history.

Defined in chapter 6 (*Stochastic and mini-batch gradient descent*).

* :func:`fit` — mini-batch training of a model for some epochs, reshuffled every
  epoch, with an optional learning-rate schedule, validation loss and metrics,
  a progress bar, on the GPU when there is one; returns a :class:`History`.
  Chapters 7 and 11 use it too.

A loss that stops being finite stops training with a
:class:`lib.loops.DivergenceError` (a ``ValueError``) naming the step and the
last finite loss. :func:`lib.trajectory.minimize` is the same loop on a test
function of a few variables.
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field

import torch

from lib import loops, schedules
from lib.validation import all_finite, as_finite_tensor, check_callable, check_int

__all__ = ["History", "fit"]


@dataclass
class History:
    """What :func:`fit` records.

    Per epoch: ``train_loss`` (the mean loss over the epoch's batches, weighted by
    batch size), ``val_loss`` and ``val_metrics[name]`` (on the whole validation set
    after the epoch; empty without ``val_data``), ``time`` (cumulative seconds spent
    training, validation excluded). Per step: ``step_loss`` (the batch loss) and ``lr``
    (the learning rate of the first parameter group used for that step).
    """

    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    time: list[float] = field(default_factory=list)
    val_metrics: dict[str, list[float]] = field(default_factory=dict)
    step_loss: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return getattr(get_ipython(), "kernel", None) is not None


def show_progress(progress) -> bool:
    """Whether to show a progress bar. ``None``: yes in a notebook or a terminal, no in CI and tests.

    CI and tests are recognised by the ``CI`` and ``PYTEST_CURRENT_TEST`` environment variables.
    """
    if progress is not None:
        if not isinstance(progress, bool):
            raise TypeError(f"progress must be None, True or False, got {type(progress).__name__}")
        return progress
    if os.environ.get("CI") or os.environ.get("PYTEST_CURRENT_TEST"):
        return False
    if _in_notebook():
        return True
    return all(stream is not None and stream.isatty() for stream in (sys.stdout, sys.stderr))


def _device(device) -> torch.device:
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be None, a string such as 'cpu' or a torch.device, got {type(device).__name__}")
    try:
        device = torch.device(device)
    except RuntimeError as err:
        raise ValueError(f"device is not a valid device: {err}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={str(device)!r}, but no GPU is available")
    return device


def _data(name: str, data) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise TypeError(f"{name} must be a pair (x, y) of tensors, got {type(data).__name__}")
    x = data[0] if isinstance(data[0], torch.Tensor) else as_finite_tensor(f"{name}[0]", data[0])
    y = data[1] if isinstance(data[1], torch.Tensor) else as_finite_tensor(f"{name}[1]", data[1])
    as_finite_tensor(f"{name}[0]", x)
    as_finite_tensor(f"{name}[1]", y)
    if x.ndim == 0 or y.ndim == 0:
        raise ValueError(f"{name}: x and y must have one row per sample, got shapes {tuple(x.shape)}, {tuple(y.shape)}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"{name}: x and y must have the same number of rows, got {x.shape[0]} and {y.shape[0]}")
    if x.shape[0] == 0:
        raise ValueError(f"{name} must hold at least one sample")
    return x, y


def _metrics(metrics, val_data) -> dict:
    if metrics is None:
        return {}
    if not isinstance(metrics, dict) or not all(isinstance(k, str) and callable(v) for k, v in metrics.items()):
        raise TypeError("metrics must be a dict mapping names to callables metric(outputs, targets)")
    if metrics and val_data is None:
        raise ValueError("metrics are computed on the validation set: give val_data too")
    return metrics


def _loss(model, loss_fn, x, y) -> torch.Tensor:
    try:
        loss = loss_fn(model(x), y)
    except (RuntimeError, IndexError) as err:
        if isinstance(err, torch.OutOfMemoryError):
            raise
        raise ValueError(f"model or loss_fn failed on a batch of x shaped {tuple(x.shape)}: {err}") from err
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        raise ValueError(f"loss_fn must return one number (a tensor), got {getattr(loss, 'shape', type(loss))}")
    return loss.reshape(())


def _evaluate(model, loss_fn, data, metrics, chunk: int) -> tuple[float, dict[str, float]]:
    x, y = data
    model.eval()
    with torch.no_grad():
        outputs = torch.cat([model(x[i : i + chunk]) for i in range(0, x.shape[0], chunk)])
        loss = float(_loss(lambda out: out, loss_fn, outputs, y))
        values = {name: float(metric(outputs, y)) for name, metric in metrics.items()}
    model.train()
    for name, value in values.items():
        if not math.isfinite(value):
            raise ValueError(f"metrics[{name!r}] is not finite ({value}) on the validation set")
    return loss, values


def fit(
    model,
    loss_fn,
    train_data,
    val_data=None,
    *,
    optimizer="SGD",
    epochs: int = 1,
    batch_size: int = 32,
    scheduler=None,
    scheduler_interval: str = "step",
    metrics=None,
    seed: int = 0,
    device=None,
    progress=None,
    **optimizer_kwargs,
) -> History:
    """Train ``model`` on ``train_data = (x, y)`` by mini-batch steps and return its :class:`History`.

    Each epoch visits the samples in a new random order: ``torch.randperm(n)`` drawn
    from one ``torch.Generator`` seeded with ``seed``, cut into batches of
    ``batch_size`` (the last may be smaller). Each batch takes one step:
    ``zero_grad()``, ``loss_fn(model(x_batch), y_batch).backward()``, ``step()``.
    ``optimizer`` is a name, a class such as ``torch.optim.SGD`` or a factory, built by
    :func:`lib.optimizers.create` with ``optimizer_kwargs`` (e.g. ``lr=0.01``).
    ``scheduler`` is a schedule class or a factory ``optimizer -> schedule``, built by
    :func:`lib.schedules.create` and stepped after every step, or after every epoch
    with ``scheduler_interval="epoch"`` (a ReduceLROnPlateau is given the batch loss,
    or per epoch the validation loss, else the training loss). ``metrics`` maps names
    to ``metric(outputs, targets)``, evaluated on ``val_data`` after each epoch.
    Other randomness (dropout) is seeded with ``seed`` too, without changing the
    caller's random state. ``device=None`` picks the GPU when there is one; model
    and data are moved there. ``progress=None`` shows a progress bar in a notebook
    or terminal but not in tests or CI.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    check_callable("loss_fn", loss_fn)
    epochs = check_int("epochs", epochs, low=1)
    batch_size = check_int("batch_size", batch_size, low=1)
    seed = check_int("seed", seed, low=0)
    if scheduler_interval not in ("step", "epoch"):
        raise ValueError(f"scheduler_interval must be 'step' or 'epoch', got {scheduler_interval!r}")
    x, y = _data("train_data", train_data)
    val = _data("val_data", val_data) if val_data is not None else None
    metrics = _metrics(metrics, val_data)
    show = show_progress(progress)
    device = _device(device)
    model.to(device)
    x, y = x.to(device), y.to(device)
    val = None if val is None else (val[0].to(device), val[1].to(device))
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no trainable parameters")
    opt, sched = loops.build(optimizer, params, optimizer_kwargs, scheduler)
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        return _train(
            model, loss_fn, x, y, val, opt, sched, scheduler_interval, metrics, seed, epochs, batch_size, show
        )


def _train(model, loss_fn, x, y, val, opt, sched, interval, metrics, seed, epochs, batch_size, show) -> History:
    from tqdm.auto import tqdm

    params = [p for group in opt.param_groups for p in group["params"]]
    history = History(val_metrics={name: [] for name in metrics})
    generator = torch.Generator().manual_seed(seed)
    n = x.shape[0]
    bar = tqdm(total=epochs * math.ceil(n / batch_size), disable=not show, unit="step", desc="training")
    step, last, elapsed = 0, None, 0.0
    try:
        for epoch in range(epochs):
            start = time.perf_counter()
            model.train()
            total = 0.0
            order = torch.randperm(n, generator=generator).to(x.device)
            for b, batch in enumerate(order.split(batch_size)):
                lr = float(opt.param_groups[0]["lr"])

                def closure(xb=x[batch], yb=y[batch]):
                    opt.zero_grad()
                    loss = _loss(model, loss_fn, xb, yb)
                    loss.backward()
                    return loss

                value = closure().detach().item()
                if not math.isfinite(value):
                    where = f"step {step} (epoch {epoch + 1}, batch {b + 1})"
                    raise loops.diverged(f"the loss became {value}", where, step, last, value="loss")
                loops.step(opt, sched if interval == "step" else None, closure, value)
                history.step_loss.append(value)
                history.lr.append(lr)
                total += value * batch.shape[0]
                last, step = value, step + 1
                bar.update(1)
            elapsed += time.perf_counter() - start
            history.train_loss.append(total / n)
            history.time.append(elapsed)
            if not all_finite(*params):
                where = f"epoch {epoch + 1} (after step {step - 1})"
                raise loops.diverged("the parameters became non-finite", where, step - 1, last, value="loss")
            postfix = {"loss": f"{total / n:.4g}"}
            if val is not None:
                val_loss, values = _evaluate(model, loss_fn, val, metrics, max(batch_size, 4096))
                if not math.isfinite(val_loss):
                    where = f"epoch {epoch + 1} (after step {step - 1})"
                    raise loops.diverged(f"the validation loss became {val_loss}", where, step - 1, last, value="loss")
                history.val_loss.append(val_loss)
                for name, value in values.items():
                    history.val_metrics[name].append(value)
                postfix["val"] = f"{val_loss:.4g}"
            if sched is not None and interval == "epoch":
                monitored = history.val_loss[-1] if val is not None else history.train_loss[-1]
                schedules.advance(sched, monitored)
            bar.set_postfix(postfix, refresh=False)
    finally:
        bar.close()
    return history
