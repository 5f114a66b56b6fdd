"""Data-parallel mini-batch SGD with ``torch.distributed`` (defined in chapter 6,
*Stochastic and mini-batch gradient descent*).

Every worker process holds a full copy of the model and reads only its own rows of
the data. At each step every worker computes the gradient on its own mini-batch;
``DistributedDataParallel`` then averages the gradients across workers (an
*all-reduce*), so every copy takes the same step:

.. math::

    \\theta \\leftarrow \\theta - \\eta \\, \\frac{1}{W} \\sum_{r=1}^{W} \\nabla C_r(\\theta),

which, when the workers' batches have equal size, is exactly one step of SGD on the
combined batch of ``W * batch_size`` rows.

* :func:`free_port` — a free TCP port on 127.0.0.1 for the workers to meet on.
* :func:`worker_batches` — which rows each worker reads at each step.
* :func:`train_worker` — what one worker process runs.
* :func:`data_parallel_sgd` — start the workers with ``torch.multiprocessing.spawn``
  (fresh Python processes, ``gloo`` backend on 127.0.0.1, so it also works from a
  notebook) and collect what they did. From a script, call it under
  ``if __name__ == "__main__":``, as every program that spawns processes must.
"""

from __future__ import annotations

import math
import pathlib
import socket
import tempfile
import time
from dataclasses import dataclass
from datetime import timedelta

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

from lib import autodiff
from lib.networks import Line
from lib.validation import as_finite_tensor, check_int, check_real


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that no program is listening on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def join_group(rank: int, world_size: int, port: int, folder) -> dict:
    """What every worker does first: one thread, the data of ``folder/data.pt``, and a seat in
    the ``gloo`` process group on ``127.0.0.1:port``. Returns the data."""
    torch.set_num_threads(1)
    data = torch.load(pathlib.Path(folder) / "data.pt", weights_only=True)
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size, timeout=timedelta(seconds=60)
    )
    return data


def _mse(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return ((prediction - target) ** 2).mean()


def _sampler(n: int, world_size: int, rank: int, seed: int) -> DistributedSampler:
    # drop_last=True: each epoch reads every row at most once (no padding duplicates).
    return DistributedSampler(range(n), num_replicas=world_size, rank=rank, shuffle=True, seed=seed, drop_last=True)


def worker_batches(n: int, *, world_size: int = 2, batch_size: int = 16, steps: int = 100, seed: int = 0):
    """Row indices read by each worker: an int64 tensor of shape ``(steps, world_size, batch_size)``.

    As ``DistributedSampler`` deals them out: each epoch one seeded permutation of the
    ``n`` rows (seed ``seed + epoch``) is dealt round-robin to the workers, each worker
    cuts its share into batches and drops the incomplete last one.
    """
    n = check_int("n", n, low=1)
    world_size = check_int("world_size", world_size, low=1)
    batch_size = check_int("batch_size", batch_size, low=1)
    steps = check_int("steps", steps, low=1)
    seed = check_int("seed", seed, low=0)
    per_epoch = (n // world_size) // batch_size
    if per_epoch == 0:
        raise ValueError(f"batch_size={batch_size} is larger than each worker's share of n={n} rows")
    epochs = []
    for epoch in range(math.ceil(steps / per_epoch)):
        shares = []
        for rank in range(world_size):
            sampler = _sampler(n, world_size, rank, seed)
            sampler.set_epoch(epoch)
            rows = torch.tensor(list(sampler), dtype=torch.int64)[: per_epoch * batch_size]
            shares.append(rows.view(per_epoch, batch_size))
        epochs.append(torch.stack(shares, dim=1))
    return torch.cat(epochs)[:steps]


def train_worker(rank: int, world_size: int, port: int, folder: str, lr: float, steps: int, batch_size: int, seed: int):
    """Run one worker of :func:`data_parallel_sgd`; saves its record as ``folder/rank{rank}.pt``.

    Reads ``folder/data.pt`` (``x``, ``y`` and the starting ``[m, b]``), joins the
    ``gloo`` process group on ``127.0.0.1:port`` and runs ``steps`` steps of SGD through
    ``DistributedDataParallel``, with a ``DistributedSampler`` that reshuffles every epoch.
    """
    folder = pathlib.Path(folder)
    data = join_group(rank, world_size, port, folder)
    x, y, start = data["x"], data["y"], data["start"]
    try:
        model = Line(float(start[0]), float(start[1]), dtype=x.dtype)
        replica = DistributedDataParallel(model)  # copies rank 0's parameters to every worker
        optimizer = torch.optim.SGD(replica.parameters(), lr=lr)
        rows = torch.arange(len(x))
        sampler = _sampler(len(x), world_size, rank, seed)
        loader = DataLoader(TensorDataset(x, y, rows), batch_size=batch_size, sampler=sampler, drop_last=True)
        record = {"history": [model.weights.detach().clone()], "local": [], "averaged": [], "losses": [], "rows": []}
        epoch = 0
        while len(record["losses"]) < steps:
            sampler.set_epoch(epoch)  # a new shuffle every epoch
            for xb, yb, rb in loader:
                # This worker's own gradient, for the record (the plain module: no communication).
                local = autodiff.gradient(_mse(model(xb), yb), model.weights)
                optimizer.zero_grad()
                loss = _mse(replica(xb), yb)
                loss.backward()  # DDP all-reduces: every worker now holds the average gradient
                record["averaged"].append(model.weights.grad.detach().clone())
                optimizer.step()
                record["local"].append(local)
                record["losses"].append(loss.detach())
                record["rows"].append(rb)
                record["history"].append(model.weights.detach().clone())
                if len(record["losses"]) == steps:
                    break
            epoch += 1
        torch.save({key: torch.stack(value) for key, value in record.items()}, folder / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@dataclass
class DataParallelRun:
    """What :func:`data_parallel_sgd` returns (float tensors in the data's dtype)."""

    history: torch.Tensor
    """``(steps + 1, 2)``: ``[m, b]`` before the first step and after each step (worker 0)."""
    replicas: torch.Tensor
    """``(world_size, 2)``: the final ``[m, b]`` held by each worker."""
    local_gradients: torch.Tensor
    """``(steps, world_size, 2)``: each worker's gradient on its own mini-batch."""
    averaged_gradients: torch.Tensor
    """``(steps, world_size, 2)``: the gradient each worker stepped with, after the all-reduce."""
    losses: torch.Tensor
    """``(steps, world_size)``: each worker's mini-batch cost."""
    batches: torch.Tensor
    """``(steps, world_size, batch_size)``: the row indices each worker read."""
    seconds: float
    """Wall-clock time of the whole run, including starting the processes."""

    @property
    def params(self) -> torch.Tensor:
        """The final ``[m, b]``."""
        return self.history[-1]


def data_parallel_sgd(
    x,
    y,
    *,
    world_size: int = 2,
    lr: float = 0.01,
    steps: int = 100,
    batch_size: int = 16,
    start=(0.9, 0.1),
    seed: int = 0,
    timeout: float = 300.0,
) -> DataParallelRun:
    """Fit ``y_hat = m*x + b`` by mini-batch SGD on ``world_size`` worker processes.

    Each worker reads ``batch_size`` rows per step (so each step uses
    ``world_size * batch_size`` rows in all), the workers average their gradients
    with ``DistributedDataParallel`` over the ``gloo`` backend on 127.0.0.1, and all
    take the same step ``θ ← θ − lr · mean of the workers' gradients``. ``x`` and ``y``
    are 1-D tensors of equal length; the parameters start at ``start = (m, b)``.
    Raises ``TimeoutError`` if the workers have not finished within ``timeout`` seconds.
    """
    x = as_finite_tensor("x", x, ndim=1)
    y = as_finite_tensor("y", y, ndim=1)
    if not x.is_floating_point():
        raise TypeError(f"x must hold floating-point numbers, got dtype {x.dtype}")
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    world_size = check_int("world_size", world_size, low=1, high=64)
    lr = check_real("lr", lr, low=0.0, low_open=True)
    steps = check_int("steps", steps, low=1)
    batch_size = check_int("batch_size", batch_size, low=1)
    if len(x) // world_size < batch_size:
        raise ValueError(f"batch_size={batch_size} is larger than each worker's share of the {len(x)} rows")
    start = as_finite_tensor("start", start, dtype=x.dtype, ndim=1)
    if start.shape != (2,):
        raise ValueError(f"start must be a pair (m, b), got shape {tuple(start.shape)}")
    seed = check_int("seed", seed, low=0)
    timeout = check_real("timeout", timeout, low=0.0, low_open=True)

    began = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="data-parallel-") as folder:
        data = {"x": x.detach().cpu(), "y": y.detach().cpu().to(x.dtype), "start": start.cpu()}
        torch.save(data, pathlib.Path(folder) / "data.pt")
        args = (world_size, free_port(), folder, lr, steps, batch_size, seed)
        _launch(args, world_size, timeout)
        records = [torch.load(pathlib.Path(folder) / f"rank{r}.pt", weights_only=True) for r in range(world_size)]
    return DataParallelRun(
        history=records[0]["history"],
        replicas=torch.stack([r["history"][-1] for r in records]),
        local_gradients=torch.stack([r["local"] for r in records], dim=1),
        averaged_gradients=torch.stack([r["averaged"] for r in records], dim=1),
        losses=torch.stack([r["losses"] for r in records], dim=1),
        batches=torch.stack([r["rows"] for r in records], dim=1),
        seconds=time.perf_counter() - began,
    )


def _launch(args, world_size: int, timeout: float) -> None:
    # torch.multiprocessing.spawn starts fresh interpreters (the "spawn" start method) that
    # import train_worker from this module: it works from a notebook kernel and on every OS.
    # A worker that fails stops the others and raises here with its traceback.
    context = torch.multiprocessing.spawn(train_worker, args=args, nprocs=world_size, join=False)
    deadline = time.monotonic() + timeout
    try:
        while not context.join(timeout=min(1.0, max(deadline - time.monotonic(), 0.0))):
            if time.monotonic() >= deadline:
                raise TimeoutError(f"the {world_size} workers did not finish within timeout={timeout} seconds")
    finally:
        for process in context.processes:
            if process.is_alive():
                process.kill()
            process.join()
