"""Timing a computation so that the figure measures its work, not the machine's load.

Defined in chapter 1 (*Why optimize?*); chapter 2 times forward and reverse mode with it.

On the CPU :func:`best_time` reads the process's CPU time (``time.process_time``):
time the operating system gives to other programs is not counted, so a busy
machine changes the figures far less than it changes a stopwatch. It counts every
thread of the process, so under :func:`one_thread` it is the time of the one
thread doing the work. On a GPU the work runs in the background, so the clock is the
wall clock, read after ``torch.cuda.synchronize()``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch

from lib.validation import check_callable, check_int


@contextmanager
def one_thread() -> Iterator[None]:
    """Run the block with torch on one thread (then restore the previous count).

    Timings then compare amounts of work rather than how well it splits across cores.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def best_time(fn: Callable[[], object], repeats: int = 3, number: int = 1, *, device="cpu") -> float:
    """Seconds per call of ``fn()``: the fastest of ``repeats`` rounds of ``number`` calls.

    The fastest round is the one least disturbed by other work. ``device`` is where
    ``fn`` computes (``"cpu"`` or ``"cuda"``, a ``torch.device`` too).
    """
    check_callable("fn", fn)
    repeats, number = check_int("repeats", repeats, low=1), check_int("number", number, low=1)
    on_gpu = torch.device(device).type == "cuda"
    clock = time.perf_counter if on_gpu else time.process_time
    rounds = []
    for _ in range(repeats):
        if on_gpu:
            torch.cuda.synchronize()
        start = clock()
        for _ in range(number):
            fn()
        if on_gpu:
            torch.cuda.synchronize()
        rounds.append((clock() - start) / number)
    return min(rounds)
