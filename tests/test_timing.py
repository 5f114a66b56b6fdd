"""lib.timing: CPU time that ignores other programs, the fastest round, argument checks."""

from __future__ import annotations

import time

import pytest
import torch

from lib.timing import best_time, one_thread


def spin(seconds: float) -> None:
    """Work for ``seconds`` of this process's CPU time (however busy the machine is)."""
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_waiting_costs_no_cpu_time_and_spinning_does():
    assert best_time(lambda: time.sleep(0.05)) < 0.01
    assert 0.045 < best_time(lambda: spin(0.05)) < 0.1


def test_the_time_is_per_call_and_the_fastest_round():
    calls = []

    def work():
        calls.append(None)
        spin(0.02 if len(calls) > 1 else 0.2)  # the first call is slow

    seconds = best_time(work, repeats=3, number=2)
    assert len(calls) == 6
    assert 0.018 < seconds < 0.06  # per call, from a round without the slow one


def test_one_thread_restores_the_thread_count():
    before = torch.get_num_threads()
    with one_thread():
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == before
    with pytest.raises(RuntimeError), one_thread():
        raise RuntimeError("inside")
    assert torch.get_num_threads() == before


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"fn": 3}, TypeError, "fn"),
        ({"repeats": 0}, ValueError, "repeats"),
        ({"number": 1.5}, TypeError, "number"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, name):
    arguments = {"fn": lambda: None, **kwargs}
    with pytest.raises(error, match=name):
        best_time(arguments.pop("fn"), **arguments)
