"""Time one ``step()`` of each ``lib.optimizers`` class against the same ``torch.optim`` algorithm.

Run from the repository root: ``python benchmarks/optimizers.py`` (about half a minute).

The model is a 784-512-128-10 multi-layer perceptron (468,874 float32
parameters) with the gradients of one real backward pass. Both optimizers run
in the same process on one thread, torch with ``foreach=False`` (its plain
per-parameter loop, the one ``lib`` mirrors). Runs are interleaved, each
timing is the mean CPU time per step over a block of steps; the table shows the median time over
the repeats and ``ratio``, the median of the per-repeat ratios lib / torch
(below 1 lib is faster), which is steadier than a ratio of medians on a busy
machine. The last column shows what lib's finiteness check costs: the same
ratio with ``optimizer.check_finite = False``.
"""

from __future__ import annotations

import pathlib
import statistics
import sys
import time

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from lib import optimizers

SETTINGS = [
    ("SGD", {"lr": 1e-3}),
    ("SGD", {"lr": 1e-3, "momentum": 0.9}),
    ("SGD", {"lr": 1e-3, "momentum": 0.9, "nesterov": True, "weight_decay": 1e-4}),
    ("Adagrad", {"lr": 1e-2}),
    ("Adadelta", {"lr": 1.0}),
    ("RMSprop", {"lr": 1e-3}),
    ("RMSprop", {"lr": 1e-3, "momentum": 0.9, "centered": True}),
    ("Adam", {"lr": 1e-3}),
    ("Adam", {"lr": 1e-3, "amsgrad": True}),
    ("AdamW", {"lr": 1e-3, "weight_decay": 1e-2}),
    ("NAdam", {"lr": 2e-3}),
    ("Adamax", {"lr": 2e-3}),
]
REPEATS = 15
STEPS_PER_BLOCK = 10


def mlp_with_gradients(seed: int = 0) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Parameters of a 784-512-128-10 MLP and their gradients on a random batch of 64."""
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)
    )
    x, y = torch.randn(64, 784), torch.randint(0, 10, (64,))
    torch.nn.functional.cross_entropy(model(x), y).backward()
    params = [p.detach().clone() for p in model.parameters()]
    grads = [p.grad.detach().clone() for p in model.parameters()]
    return params, grads


def make(factory, params, grads):
    leaves = [p.clone().requires_grad_() for p in params]
    for leaf, grad in zip(leaves, grads, strict=True):
        leaf.grad = grad.clone()
    optimizer = factory(leaves)
    optimizer.step()  # creates the state, so the timed steps are steady-state steps
    return optimizer


def seconds_per_step(optimizer) -> float:
    # CPU time of this process (user + system, so page faults count): unlike wall-clock
    # time it leaves out the moments other programs hold the processor.
    start = time.process_time()
    for _ in range(STEPS_PER_BLOCK):
        optimizer.step()
    return (time.process_time() - start) / STEPS_PER_BLOCK


def benchmark(name: str, kwargs: dict, params, grads) -> tuple[float, float, float, float]:
    """Median µs per step (lib, torch) and median ratios (lib / torch, unchecked lib / torch)."""
    ours = make(lambda p: optimizers.create(name, p, **kwargs), params, grads)
    unchecked = make(lambda p: optimizers.create(name, p, **kwargs), params, grads)
    unchecked.check_finite = False
    theirs = make(lambda p: getattr(torch.optim, name)(p, foreach=False, **kwargs), params, grads)
    lib_times, torch_times, ratios, unchecked_ratios = [], [], [], []
    for _ in range(REPEATS):
        lib_s, torch_s, unchecked_s = seconds_per_step(ours), seconds_per_step(theirs), seconds_per_step(unchecked)
        lib_times.append(lib_s)
        torch_times.append(torch_s)
        ratios.append(lib_s / torch_s)
        unchecked_ratios.append(unchecked_s / torch_s)
    median = statistics.median
    return median(lib_times) * 1e6, median(torch_times) * 1e6, median(ratios), median(unchecked_ratios)


def main() -> None:
    torch.set_num_threads(1)
    params, grads = mlp_with_gradients()
    print(f"{sum(p.numel() for p in params):,} float32 parameters, 1 thread, median of {REPEATS} blocks")
    print(f"{'optimizer':<64} {'lib µs':>8} {'torch µs':>8} {'ratio':>6} {'no check':>8}")
    worst = 0.0
    for name, kwargs in SETTINGS:
        lib_us, torch_us, ratio, unchecked_ratio = benchmark(name, kwargs, params, grads)
        label = name + "(" + ", ".join(f"{k}={v}" for k, v in kwargs.items()) + ")"
        worst = max(worst, ratio)
        print(f"{label:<64} {lib_us:8.0f} {torch_us:8.0f} {ratio:6.2f} {unchecked_ratio:8.2f}")
    print(f"worst ratio: {worst:.2f}")


if __name__ == "__main__":
    main()
