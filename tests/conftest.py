"""Shared fixtures: the repository root, its configuration files, and a drawing for explorers."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def root() -> pathlib.Path:
    return ROOT


@pytest.fixture(scope="session")
def config() -> dict:
    return yaml.safe_load((ROOT / "_config.yml").read_text())


@pytest.fixture(scope="session")
def toc() -> dict:
    return yaml.safe_load((ROOT / "_toc.yml").read_text())


def draw_line(fig, slope, intercept=1.0, kind="line"):
    """Draws y = slope x + intercept on [0, 1]; its numbers are closed forms."""
    ax = fig.subplots()
    xs = np.linspace(0.0, 1.0, 5)
    ax.plot(xs, slope * xs + intercept, "o-" if kind == "line" else "s:")
    ax.set(xlim=(-1.0, 2.0), ylim=(-4.0, 4.0))
    return {"value at 1": slope + intercept, "mean": slope / 2 + intercept}


@pytest.fixture(scope="session")
def line():
    """An explorer's drawing function: a line on fixed axes, and the closed forms of its numbers."""
    return draw_line
