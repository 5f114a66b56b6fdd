"""Adam's state sharded across worker processes with ``ZeroRedundancyOptimizer``
(defined in chapter 12, *Optimizers for large models*).

Data parallelism as in chapter 6 (:mod:`lib.distributed`): every worker holds
the whole model, reads its own part of each batch, and
``DistributedDataParallel`` averages the gradients. What changes is the
optimizer: ``torch.distributed.optim.ZeroRedundancyOptimizer`` (stage 1 of
ZeRO, Rajbhandari et al., 2020) gives each worker the Adam state of only some
of the parameters, about ``1/W`` of it. Each worker steps its own parameters
and then sends them to the others, so every copy of the model stays the same.

* :func:`sharded_adam` — train an MLP on ``W`` worker processes (``gloo`` on
  127.0.0.1, started with ``torch.multiprocessing.spawn``, so it also works from a
  notebook) and report what each worker held.
* :func:`batch_rows` — the rows each step reads, so that a single process can
  replay the same run with plain ``torch.optim.Adam``.
"""

from __future__ import annotations

import pathlib
import tempfile
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.distributed.optim import ZeroRedundancyOptimizer
from torch.nn.parallel import DistributedDataParallel

from lib.distributed import free_port, join_group
from lib.networks import mlp
from lib.validation import as_finite_tensor, check_int, check_real


def batch_rows(n: int, *, steps: int, batch_size: int, seed: int = 0) -> torch.Tensor:
    """Row indices of each step's whole batch: int64, shape ``(steps, batch_size)``, drawn from ``seed``."""
    n, steps = check_int("n", n, low=1), check_int("steps", steps, low=1)
    batch_size = check_int("batch_size", batch_size, low=1, high=n)
    generator = torch.Generator().manual_seed(check_int("seed", seed, low=0))
    return torch.stack([torch.randperm(n, generator=generator)[:batch_size] for _ in range(steps)])


def state_bytes(state: dict) -> int:
    """Bytes of the tensors in an optimizer's ``state_dict()["state"]``."""
    return sum(v.numel() * v.element_size() for s in state.values() for v in s.values() if torch.is_tensor(v))


def sharded_worker(rank: int, world_size: int, port: int, folder: str, widths, lr: float, seed: int) -> None:
    """What one worker of :func:`sharded_adam` runs; saves its record as ``folder/rank{rank}.pt``."""
    folder = pathlib.Path(folder)
    data = join_group(rank, world_size, port, folder)
    x, y, rows = data["x"], data["y"], data["rows"]
    try:
        model = mlp(tuple(widths), seed=seed)
        replica = DistributedDataParallel(model)
        optimizer = ZeroRedundancyOptimizer(model.parameters(), optimizer_class=torch.optim.Adam, lr=lr)
        for batch in rows:
            mine = batch.chunk(world_size)[rank]  # this worker's share of the step's batch
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(replica(x[mine]), y[mine]).backward()  # DDP averages
            optimizer.step()  # steps this worker's parameters, then shares them
        local = optimizer.optim  # the plain Adam over this worker's shard
        record = {
            "params": [p.detach().clone() for p in model.parameters()],
            "state_bytes": state_bytes(local.state_dict()["state"]),
            "owned": sum(p.numel() for group in local.param_groups for p in group["params"]),
        }
        torch.save(record, folder / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


@dataclass
class ShardedRun:
    """What :func:`sharded_adam` returns."""

    params: list[torch.Tensor]
    """The trained parameters of worker 0 (``model.parameters()`` order)."""
    replicas_equal: bool
    """Whether every worker ended with the same parameters, bit for bit."""
    state_bytes: list[int]
    """Bytes of Adam state each worker held."""
    owned: list[int]
    """How many parameters each worker stepped."""


def sharded_adam(x, y, rows, *, widths=(64, 64, 64, 10), world_size: int = 2, lr: float = 1e-3, seed: int = 0):
    """Train ``lib.networks.mlp(widths, seed=seed)`` with ZeRO-sharded Adam on ``world_size`` processes.

    Step t reads the rows ``rows[t]`` of ``x`` (float, one row per example) and
    ``y`` (class labels); worker r takes the r-th of ``world_size`` equal chunks
    of them. The loss is the cross-entropy. Returns a :class:`ShardedRun`.
    """
    x = as_finite_tensor("x", x, dtype=torch.float32, ndim=2)
    y = as_finite_tensor("y", y, ndim=1)
    if y.is_floating_point() or len(y) != len(x):
        raise ValueError(f"y must hold one integer class label per row of x, got dtype {y.dtype} and {len(y)} labels")
    rows = as_finite_tensor("rows", rows, ndim=2)
    world_size = check_int("world_size", world_size, low=1, high=16)
    if rows.is_floating_point() or rows.min() < 0 or rows.max() >= len(x):
        raise ValueError(f"rows must hold row indices of x, from 0 to {len(x) - 1}")
    if rows.shape[1] % world_size:
        raise ValueError(f"each step's {rows.shape[1]} rows must split evenly over world_size={world_size} workers")
    widths = [check_int(f"widths[{i}]", w, low=1) for i, w in enumerate(widths)]
    lr = check_real("lr", lr, low=0.0, low_open=True)
    seed = check_int("seed", seed, low=0)
    with tempfile.TemporaryDirectory(prefix="sharded-adam-") as folder:
        torch.save({"x": x, "y": y.long(), "rows": rows.long()}, pathlib.Path(folder) / "data.pt")
        args = (world_size, free_port(), folder, widths, lr, seed)
        torch.multiprocessing.spawn(sharded_worker, args=args, nprocs=world_size, join=True)
        records = [torch.load(pathlib.Path(folder) / f"rank{r}.pt", weights_only=True) for r in range(world_size)]
    first = records[0]["params"]
    return ShardedRun(
        params=first,
        replicas_equal=all(all(map(torch.equal, r["params"], first)) for r in records),
        state_bytes=[r["state_bytes"] for r in records],
        owned=[r["owned"] for r in records],
    )
