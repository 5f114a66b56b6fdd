"""Time one ``step()`` of each ``lib.optimizers`` class against the same ``torch.optim`` algorithm.

Run from the repository root: ``python benchmarks/optimizers.py`` (a few minutes).

Two multi-layer perceptrons, with the gradients of one real backward pass on a
batch of 64: the 784-512-128-10 network (468,874 float32 parameters) and a
3-layer, 512-wide one, 784-512-512-10 (669,706). Each optimizer runs with its
settings and lib's defaults, NaN guard included; torch runs with
``foreach=False`` (its plain per-parameter loop, the one ``lib`` mirrors;
Muon has no other). Muon, which takes matrices only, steps the weight
matrices alone (468,224 and 668,672 of the parameters). All
run in one process on one thread, interleaved: each repeat times a block of
steps (the mean CPU time per step) of lib, torch, lib with its guard off
(``check_finite = False``, the same optimizer and tensors, so that where they
sit in memory does not count) and torch again, so that a busy machine slows
all of them alike and every block starts with another optimizer's tensors in
the cache. The table shows the median µs per step over the repeats and
``ratio``, the median of the per-repeat ratios lib / torch (below 1 lib is
faster), which is steadier than a ratio of medians; ``guard`` is what lib's
NaN guard adds to the step, as a share of torch's step.
"""

from __future__ import annotations

import itertools
import pathlib
import statistics
import sys
import time

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from lib import optimizers
from lib.optimizers.base import CHECK_EVERY

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
    ("Adafactor", {}),
    ("Adafactor", {"weight_decay": 1e-2, "maximize": True}),
    ("Muon", {"lr": 2e-2}),
    ("Muon", {"lr": 2e-2, "nesterov": False, "adjust_lr_fn": "match_rms_adamw"}),
]
MATRICES_ONLY = {"Muon"}  # Muon takes 2-D parameters only: it runs on the weight matrices alone
NO_FOREACH = {"Muon"}  # torch's Muon has a single path and no foreach argument
MODELS = {"784-512-128-10": (784, 512, 128, 10), "784-512-512-10": (784, 512, 512, 10)}
REPEATS = 15
STEPS_PER_BLOCK = CHECK_EVERY  # one check of the NaN guard per block, once past its first steps
LIMIT = 1.2  # the goal: no lib step slower than this many torch steps


def mlp_with_gradients(widths: tuple[int, ...], seed: int = 0) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Parameters of an MLP with these layer widths (ReLU between layers) and their gradients on a batch of 64."""
    torch.manual_seed(seed)
    layers = []
    for n_in, n_out in itertools.pairwise(widths):
        layers += [torch.nn.Linear(n_in, n_out), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1])
    x, y = torch.randn(64, widths[0]), torch.randint(0, widths[-1], (64,))
    torch.nn.functional.cross_entropy(model(x), y).backward()
    params = [p.detach().clone() for p in model.parameters()]
    grads = [p.grad.detach().clone() for p in model.parameters()]
    return params, grads


def make(factory, params, grads):
    leaves = [p.clone().requires_grad_() for p in params]
    for leaf, grad in zip(leaves, grads, strict=True):
        leaf.grad = grad.clone()
    optimizer = factory(leaves)
    for _ in range(CHECK_EVERY):  # creates the state and passes the steps the NaN guard checks one by one
        optimizer.step()
    return optimizer


def seconds_per_step(optimizer) -> float:
    # CPU time of this process (user + system, so page faults count): unlike wall-clock
    # time it leaves out the moments other programs hold the processor.
    start = time.process_time()
    for _ in range(STEPS_PER_BLOCK):
        optimizer.step()
    return (time.process_time() - start) / STEPS_PER_BLOCK


def benchmark(name: str, kwargs: dict, params, grads) -> tuple[float, float, float, float]:
    """Median µs per step (lib, torch), median ratio lib / torch, and the guard's share of torch's step."""
    if name in MATRICES_ONLY:
        params, grads = zip(*[(p, g) for p, g in zip(params, grads, strict=True) if p.dim() == 2], strict=True)
    variant = {} if name in NO_FOREACH else {"foreach": False}
    ours = make(lambda p: getattr(optimizers, name)(p, **kwargs), params, grads)
    theirs = make(lambda p: getattr(torch.optim, name)(p, **variant, **kwargs), params, grads)
    lib_times, torch_times, ratios, guard = [], [], [], []
    for _ in range(REPEATS):
        # Each block follows one of another optimizer, whose tensors have pushed these out of the cache.
        lib_s, torch_s = seconds_per_step(ours), seconds_per_step(theirs)
        ours.check_finite = False
        unguarded_s = seconds_per_step(ours)
        ours.check_finite = True
        torch_s = (torch_s + seconds_per_step(theirs)) / 2
        lib_times.append(lib_s)
        torch_times.append(torch_s)
        ratios.append(lib_s / torch_s)
        guard.append((lib_s - unguarded_s) / torch_s)
    median = statistics.median
    return median(lib_times) * 1e6, median(torch_times) * 1e6, median(ratios), median(guard)


def main() -> None:
    torch.set_num_threads(1)
    networks = {label: mlp_with_gradients(widths) for label, widths in MODELS.items()}
    print(f"1 thread, median of {REPEATS} interleaved blocks of {STEPS_PER_BLOCK} steps; torch with foreach=False")
    print(" " * 66 + "".join(f"{label:^33}" for label in networks))
    print(f"{'optimizer':<64}  " + f"{'lib µs':>8} {'torch µs':>8} {'ratio':>6} {'guard':>7}  " * len(networks))
    worst = {label: 0.0 for label in networks}
    for name, kwargs in SETTINGS:
        label = name + "(" + ", ".join(f"{k}={v}" for k, v in kwargs.items()) + ")"
        row = f"{label:<64}  "
        for network, (params, grads) in networks.items():
            lib_us, torch_us, ratio, guard = benchmark(name, kwargs, params, grads)
            worst[network] = max(worst[network], ratio)
            row += f"{lib_us:8.0f} {torch_us:8.0f} {ratio:6.2f} {guard:+7.1%}  "
        print(row, flush=True)
    for network, (params, _) in networks.items():
        verdict = "meets" if worst[network] <= LIMIT else "misses"
        print(
            f"{network} ({sum(p.numel() for p in params):,} parameters): worst ratio {worst[network]:.2f}, "
            f"{verdict} the goal of {LIMIT}"
        )


if __name__ == "__main__":
    main()
