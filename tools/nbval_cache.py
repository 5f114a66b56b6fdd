"""pytest plugin: hand what nbval executed to the book build's execution cache.

``make test`` runs every chapter under nbval (a cell that raises, or a check cell
whose assertion fails, fails the test) and then builds the book strictly. The
build executes notebooks through jupyter-cache, keyed on cell sources; this
plugin stores each notebook nbval ran cleanly, with its outputs and its widget
state, in that cache, so the build finds it there instead of executing it a
second time. A notebook with any failing cell is not stored, so the build
executes it itself and fails too: neither check is weakened.

Enabled with ``--nbval-cache=DIR`` (the Makefile passes ``_build/.jupyter_cache``).
"""

from __future__ import annotations

import copy
import json
import pathlib
import time
from queue import Empty

import pytest
from nbval.plugin import IPyNbCell

WIDGET_STATE_MIME = "application/vnd.jupyter.widget-state+json"
WIDGET_STATE_CODE = """\
try:
    import json as _json
    from ipywidgets import Widget as _Widget
    print(_json.dumps(_Widget.get_manager_state()))
except ImportError:
    print("{}")
"""

_outputs: dict[str, dict[int, list]] = {}
_failed: set[str] = set()


def pytest_addoption(parser):
    parser.addoption("--nbval-cache", default=None, help="jupyter-cache folder to store cleanly executed notebooks in")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if isinstance(item, IPyNbCell) and outcome.get_result().failed:
        _failed.add(item.parent.nodeid)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item, nextitem):
    """Runs before nbval stops the notebook's kernel, which happens after its last cell."""
    folder = item.config.getoption("nbval_cache", default=None)
    if not folder or not isinstance(item, IPyNbCell):
        return
    notebook = item.parent
    _outputs.setdefault(notebook.nodeid, {})[item.cell_num] = getattr(item, "test_outputs", None)
    if nextitem is not None and nextitem.parent is notebook:
        return
    outputs = _outputs.pop(notebook.nodeid)
    if notebook.nodeid in _failed or any(out is None for out in outputs.values()):
        return
    if not notebook.kernel or not notebook.kernel.is_alive():
        return
    executed = executed_notebook(notebook.nb, outputs, widget_state(notebook.kernel))
    store(pathlib.Path(folder), pathlib.Path(str(notebook.fspath)), executed)


def widget_state(kernel, timeout: float = 60) -> dict:
    """The kernel's live ipywidgets state, in the format nbclient saves in notebooks."""
    msg_id = kernel.execute_cell_input(WIDGET_STATE_CODE, allow_stdin=False)
    text = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            msg = kernel.get_message("iopub", timeout=deadline - time.monotonic())
        except Empty:
            break
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream" and msg["content"]["name"] == "stdout":
            text.append(msg["content"]["text"])
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            break
    state = json.loads("".join(text) or "{}")
    return state if state.get("state") else {}


def executed_notebook(nb, outputs: dict[int, list], widgets: dict):
    """A copy of ``nb`` with nbval's outputs and consecutive execution counts."""
    executed = copy.deepcopy(nb)
    code_cells = [cell for cell in executed.cells if cell.cell_type == "code"]
    for number, cell in enumerate(code_cells):
        cell.outputs = copy.deepcopy(outputs[number])
        cell.execution_count = number + 1
        for output in cell.outputs:
            if output.get("output_type") == "execute_result":
                output["execution_count"] = number + 1
    if widgets:
        executed.metadata["widgets"] = {WIDGET_STATE_MIME: widgets}
    return executed


def store(folder: pathlib.Path, path: pathlib.Path, nb) -> None:
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn
    from sqlalchemy.exc import OperationalError

    for attempt in range(10):  # the other pytest-xdist worker may hold the database lock
        try:
            get_cache(str(folder)).cache_notebook_bundle(CacheBundleIn(nb, uri=str(path)), overwrite=True)
            return
        except OperationalError:
            time.sleep(0.5 * (attempt + 1))
