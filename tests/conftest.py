"""Shared fixtures: the repository root, its configuration files, a drawing for explorers,
the built site served as GitHub Pages serves it (``base_url``) and Chromium (``browser``).

Each test module is marked by what it needs (``lib``, ``build``, ``site``; see
``pyproject.toml``): ``pytest -m lib`` runs the tests that need only the Python packages."""

from __future__ import annotations

import os
import pathlib

import numpy as np
import pytest
import yaml

from tests.site_tools import AXE, CHROMIUM_ARGS, SITE, chromium, serve, unavailable

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


def pytest_configure(config):
    """Under pytest-xdist each worker gets its share of the cores for torch's threads.

    Two workers on two cores, each with torch's default of one thread per core, keep four
    threads busy-waiting for two cores (with Chromium beside them): a reference computation
    of the explorer tests took 40 s instead of 5 s that way.
    """
    workers = os.environ.get("PYTEST_XDIST_WORKER_COUNT")
    if workers:
        import torch

        torch.set_num_threads(max(1, len(os.sched_getaffinity(0)) // int(workers)))


@pytest.hookimpl(tryfirst=True)  # before -m selects by marker
def pytest_collection_modifyitems(items):
    """A test module that does not say what it needs (``pytestmark``) needs only the Python packages."""
    for item in items:
        if not any(item.get_closest_marker(name) for name in ("build", "site")):
            item.add_marker(pytest.mark.lib)


@pytest.fixture(scope="module")
def base_url():
    if not (SITE / "index.html").is_file():
        unavailable(f"no built site in {SITE}: run `make book` (or set COURSE_SITE_DIR)")
    with serve(SITE) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    executable = chromium()
    if executable is None:
        unavailable("Chromium not found: install it with `apt-get install chromium` (or set COURSE_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright not installed: `pip install -r requirements.txt`")
    if not AXE.is_file():
        unavailable(f"{AXE} missing: run `npm ci`")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
