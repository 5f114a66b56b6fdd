"""Execute the notebooks a build needs two at a time, before Sphinx reads them one by one.

Used by the book build (registered in ``_config.yml`` under ``sphinx: local_extensions``).

In ``cache`` mode myst-nb executes a notebook when Sphinx reads it, so a cold build
executes the chapters one after the other. At the start of the read phase this
extension hands every notebook to be read whose current version is not in the
execution cache to jupyter-cache's parallel executor (one process per core, the same
nbclient execution myst-nb runs, widget state included) and stores the results in
that cache; myst-nb then finds them there. A notebook that fails is not cached:
myst-nb executes it again and the build fails with its error, as without this step.
"""

from __future__ import annotations

import fnmatch
import logging
import pathlib

import nbformat
from sphinx.application import Sphinx
from sphinx.util import logging as sphinx_logging

logger = sphinx_logging.getLogger(__name__)


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
    config = getattr(env, "mystnb_config", None)
    if config is None or config.execution_mode != "cache":
        return
    from jupyter_cache import get_cache
    from jupyter_cache.executors import load_executor

    paths = []
    for docname in docnames:
        path = pathlib.Path(env.doc2path(docname)).resolve()
        excluded = any(fnmatch.fnmatch(str(path), pattern) for pattern in config.execution_excludepatterns)
        if path.suffix == ".ipynb" and not excluded:
            paths.append(path)
    cache = get_cache(str(config.execution_cache_path))
    pending = _pending(cache, paths)
    if len(pending) < 2:
        return  # nothing to run side by side
    uris = [str(cache.add_nb_to_project(str(path)).uri) for path in pending]
    kind = "temp-parallel" if config.execution_in_temp else "local-parallel"
    executor = load_executor(kind, cache, logging.getLogger(__name__))
    logger.info(f"parallel_execution: executing {len(uris)} notebooks in parallel")
    result = executor.run_and_cache(
        filter_uris=uris, timeout=config.execution_timeout, allow_errors=config.execution_allow_errors
    )
    failed = len(result.excepted) + len(result.errored)
    logger.info(f"parallel_execution: {len(result.succeeded)} cached, {failed} failed (executed again below)")


def setup(app: Sphinx):
    app.connect("env-before-read-docs", execute_in_parallel, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
