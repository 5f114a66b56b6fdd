"""Execute the notebooks a build needs side by side, before Sphinx reads them one by one.

Used by the book build (registered in ``_config.yml`` under ``sphinx: local_extensions``).

In ``cache`` mode myst-nb executes a notebook when Sphinx reads it, so a cold build
executes the chapters one after the other. At the start of the read phase this
extension executes every notebook to be read whose current version is not in the
execution cache, one per core, and stores the results in that cache; myst-nb then
finds them there. A notebook that fails is not cached: myst-nb executes it again
and the build fails with its error, as without this step. A single notebook to run (one
edited chapter) goes the same way, with all the cores. ``parallel_execution: false``
under ``sphinx: config:`` in ``_config.yml`` switches this step off: myst-nb then
executes the notebooks one at a time, and the site is the same.

Each notebook runs in a fresh process (started with ``spawn``, not forked from the
Sphinx process) through nbclient, the client myst-nb itself uses, with the same
settings myst-nb would use: the ``nb_execution_*`` options jupyter-book derives from
``_config.yml``, the notebook's own folder as working directory, widget state kept.

The client never waits on one long poll of a channel: it polls the kernel's shell
and IOPub channels in slices of :data:`REPOLL_SECONDS`. Without that a build could
hang until the cell timeout: now and then (after an explorer cell, in the course's
builds) the cell's ``execute_reply`` had reached the client's shell socket, whose
``zmq.EVENTS`` read ``POLLIN``, yet the asyncio poll waiting on that socket was
never woken. pyzmq's asyncio sockets watch ``zmq.FD``, which is edge-triggered, so
one missed edge leaves a waiting message unseen; a message that arrives later does
not help either (new requests to the kernel were tried, and the reply still came
only when the poll's timeout fired). A fresh poll reads ``zmq.EVENTS`` before it
waits, so each slice sees what is already there: a missed wake-up costs at most one
slice. The build logs the cells whose reply came a second or more after the kernel
went idle.
"""

from __future__ import annotations

import fnmatch
import multiprocessing
import os
import pathlib
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from queue import Empty

import nbformat
from explorer_frames import execution_cache
from nbclient import NotebookClient
from nbclient.exceptions import CellControlSignal, CellExecutionError, CellTimeoutError, DeadKernelError
from sphinx.application import Sphinx
from sphinx.util import logging as sphinx_logging

logger = sphinx_logging.getLogger(__name__)

REPOLL_SECONDS = 1.0
"""The longest the client waits on one poll of a kernel channel before polling afresh."""


def repolling(get_msg):
    """``get_msg(timeout)`` of a kernel channel, waiting in polls of at most :data:`REPOLL_SECONDS`.

    The same contract as jupyter_client's ``get_msg``: the next message, or
    ``queue.Empty`` once ``timeout`` seconds (``None``: no limit) have passed.
    """

    async def get_msg_repolling(timeout: float | None = None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            wait = REPOLL_SECONDS if remaining is None else min(REPOLL_SECONDS, remaining)
            try:
                return await get_msg(timeout=wait)
            except Empty:
                if remaining is not None and remaining <= REPOLL_SECONDS:
                    raise

    return get_msg_repolling


class RepollingClient(NotebookClient):
    """nbclient's ``NotebookClient`` whose kernel client polls its channels afresh every second.

    ``late`` collects, by cell index, the seconds between the kernel going idle and the
    cell's reply reaching the client, where that took a second or more.
    """

    cell_index: int | None = None
    idle_at: float | None = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.late: dict[int, float] = {}

    async def async_start_new_kernel_client(self):
        kc = await super().async_start_new_kernel_client()
        for channel in (kc.shell_channel, kc.iopub_channel):
            channel.get_msg = repolling(channel.get_msg)
        return kc

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        self.cell_index, self.idle_at = cell_index, None
        executed = await super().async_execute_cell(cell, cell_index, execution_count, store_history)
        if self.idle_at is not None and time.monotonic() - self.idle_at >= 1.0:
            self.late[cell_index] = round(time.monotonic() - self.idle_at, 1)
        return executed

    def process_message(self, msg, cell, cell_index):
        if msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle":
            self.idle_at = time.monotonic()
        return super().process_message(msg, cell, cell_index)


def start_worker(threads: str) -> None:
    """Set up the kernels this worker starts: ``threads`` CPU threads (``OMP_NUM_THREADS``).

    Notebooks run side by side, one per core, and torch would otherwise start a
    thread per core in every kernel: two kernels on two cores then ran four
    threads, and on a busy machine one chapter 11 cell ran past the cell timeout.
    The chapters' checks hold for any thread count. A value already set in the
    environment is kept.
    """
    os.environ["OMP_NUM_THREADS"] = threads


def execute_notebook(path: str, timeout: int | None, allow_errors: bool, in_temp: bool) -> dict:
    """Execute the notebook at ``path`` in this process; return it as JSON text, or why it failed."""
    nb = nbformat.read(path, as_version=4)
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as scratch:
        folder = scratch if in_temp else str(pathlib.Path(path).parent)
        # As myst-nb runs a notebook (jupyter-cache's single_nb_execution): the notebook's own
        # execution.timeout and execution.allow_errors win, and no timing goes into the cells'
        # metadata, which the cache's key covers (with it, myst-nb would find no match and
        # execute every notebook a second time).
        override = nb.metadata.get("execution", {})
        timeout, allow_errors = override.get("timeout", timeout), override.get("allow_errors", allow_errors)
        resources = {"metadata": {"path": folder}}
        client = RepollingClient(
            nb, timeout=timeout, allow_errors=allow_errors, record_timing=False, resources=resources
        )
        try:
            client.execute()
        except (CellExecutionError, CellTimeoutError, CellControlSignal, DeadKernelError) as error:
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
            cell = "" if client.cell_index is None else f"cell {client.cell_index}: "
            return {"error": f"{cell}{type(error).__name__}: {first_line}"}
    return {"notebook": nbformat.writes(nb), "seconds": time.monotonic() - began, "late": client.late}


def _notebooks(app: Sphinx, env, docnames: list[str]) -> list[pathlib.Path]:
    """The notebooks among ``docnames`` that myst-nb would execute."""
    excluded = app.config.nb_execution_excludepatterns
    paths = []
    for docname in docnames:
        path = pathlib.Path(env.doc2path(docname)).resolve()
        if path.suffix == ".ipynb" and not any(fnmatch.fnmatch(str(path), pattern) for pattern in excluded):
            paths.append(path)
    return paths


def _pending(cache, paths: list[pathlib.Path]) -> list[pathlib.Path]:
    """The notebooks whose current version the cache does not hold."""
    pending = []
    for path in paths:
        try:
            cache.match_cache_notebook(nbformat.read(str(path), as_version=4))
        except KeyError:
            pending.append(path)
    return pending


def execute_in_parallel(app: Sphinx, env, docnames: list[str]) -> None:
    config = app.config
    if config.nb_execution_mode != "cache" or not config.parallel_execution:
        return
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn

    cache = get_cache(str(execution_cache(app)))
    pending = _pending(cache, _notebooks(app, env, docnames))
    if not pending:
        return
    cores = len(os.sched_getaffinity(0))
    workers = min(len(pending), cores)
    threads = os.environ.get("OMP_NUM_THREADS") or str(max(1, cores // workers))
    logger.info(
        f"parallel_execution: executing {len(pending)} notebooks, {workers} at a time, "
        f"torch on {threads} thread{'s' if threads != '1' else ''} each"
    )
    arguments = (config.nb_execution_timeout, config.nb_execution_allow_errors, config.nb_execution_in_temp)
    failed = 0
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=spawn, initializer=start_worker, initargs=(threads,)) as pool:
        futures = {pool.submit(execute_notebook, str(path), *arguments): path for path in pending}
        for future in as_completed(futures):
            path, result = futures[future], future.result()
            name = path.relative_to(app.srcdir)
            if "error" in result:
                failed += 1
                logger.info(f"parallel_execution: {name} failed at {result['error']} (executed again below)")
                continue
            record = cache.add_nb_to_project(str(path))
            executed = nbformat.reads(result["notebook"], as_version=4)
            bundle = CacheBundleIn(executed, record.uri, data={"execution_seconds": result["seconds"]})
            cache.cache_notebook_bundle(bundle, check_validity=False, overwrite=True)
            late = ", ".join(f"cell {index} {delay} s" for index, delay in result["late"].items())
            after = f"; replies that came a second or more after the kernel went idle: {late}" if late else ""
            logger.info(f"parallel_execution: {name} executed in {result['seconds']:.0f} s{after}")
    logger.info(f"parallel_execution: {len(pending) - failed} cached, {failed} failed")


def setup(app: Sphinx):
    app.add_config_value("parallel_execution", True, "", bool)  # false: myst-nb executes one at a time
    app.connect("env-before-read-docs", execute_in_parallel, priority=900)
    return {"version": "2.0", "parallel_read_safe": True, "parallel_write_safe": True}
