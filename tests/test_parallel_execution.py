"""The book build never hangs on a stuck cell: it fails, naming the notebook and the cell.

Builds a two-notebook scratch book with the course's own configuration and local
extensions (so the uncached notebooks go through ``_ext/parallel_execution.py``), one of
whose cells outlasts the cell timeout.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import subprocess
import sys
import time
from queue import Empty

import nbformat
import pytest
import zmq

from tests import scratch_books

pytestmark = pytest.mark.build

TIMEOUT = 4  # seconds per cell in the scratch book; the course's own is in _config.yml


def notebook(path: pathlib.Path, *sources: str) -> None:
    scratch_books.notebook(path, *((source, []) for source in sources))


def test_a_stuck_cell_fails_the_build_fast_and_names_itself(tmp_path):
    def configure(config):
        assert config["execute"]["timeout"] <= 300, "a stuck cell must fail well before 10 minutes"
        config["execute"]["timeout"] = TIMEOUT
        config["only_build_toc_files"] = True

    book = scratch_books.scratch_book(tmp_path, ["quick", "stuck"], configure)
    notebook(book / "quick.ipynb", "import os\nprint(os.environ.get('OMP_NUM_THREADS'))")
    notebook(book / "stuck.ipynb", "x = 1", "import time\ntime.sleep(600)  # the stuck cell", "print(x)")

    began = time.monotonic()
    result = subprocess.run(
        [str(pathlib.Path(sys.executable).parent / "jupyter-book"), "build", str(book), "--keep-going"],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    seconds = time.monotonic() - began
    log = result.stdout + result.stderr
    assert result.returncode != 0, log[-3000:]
    assert "stuck.ipynb" in log, log[-3000:]
    assert "time.sleep(600)  # the stuck cell" in log, log[-3000:]
    assert "CellTimeoutError" in log or "timed out" in log.lower(), log[-3000:]
    assert seconds < 120, f"the build took {seconds:.0f} s to report a {TIMEOUT} s cell timeout"
    assert "parallel_execution: quick.ipynb executed" in log, log[-3000:]
    quick = next(line for line in log.splitlines() if "quick.ipynb: " in line and "[mystnb]" in line)
    assert "Using cached notebook" in quick, quick  # found in the cache, not executed a second time
    assert "parallel_execution: stuck.ipynb failed at cell 2: CellTimeoutError" in log, log[-3000:]
    from jupyter_cache import get_cache

    cache = get_cache(str(book / "_build" / ".jupyter_cache"))  # where myst-nb looks
    record = cache.match_cache_notebook(nbformat.read(str(book / "quick.ipynb"), as_version=4))
    # two notebooks side by side share the cores: each kernel gets its part of them
    threads = os.environ.get("OMP_NUM_THREADS") or str(max(1, len(os.sched_getaffinity(0)) // 2))
    assert f"2 at a time, torch on {threads} thread" in log, log[-3000:]
    executed = cache.get_cache_bundle(record.pk).nb
    code = next(cell for cell in executed.cells if cell.cell_type == "code")
    assert code.outputs[0]["text"] == f"{threads}\n", code.outputs
    assert not (tmp_path / ".jupyter_cache").exists()


def deafen(channel) -> None:
    """Make ``channel``'s socket miss every wake-up, as the client's shell socket did in the builds that hung.

    A poll still sees a message already waiting when it starts (pyzmq reads
    ``zmq.EVENTS`` first), and at its timeout it reports what is there (pyzmq polls
    once more); a message that arrives while it waits does not wake it.
    """
    socket, real_poll = channel.socket, channel.socket.poll

    async def poll(timeout=None, flags=zmq.POLLIN):
        if socket.get(zmq.EVENTS) & flags:
            return flags
        await asyncio.sleep(3600 if timeout is None else timeout / 1000)
        return await real_poll(0, flags)

    socket.poll = poll


def deaf(client_class, *channels: str):
    """``client_class`` whose kernel client's ``channels`` (``"shell_channel"``, ...) miss every wake-up."""

    class Deaf(client_class):
        async def async_start_new_kernel_client(self):
            kc = await super().async_start_new_kernel_client()
            for name in channels:
                deafen(getattr(kc, name))
            return kc

    return Deaf


def run(client_class, tmp_path, cells: int = 3, timeout: float = TIMEOUT, pause: float = 0):
    """Execute a notebook of ``cells`` printing cells, each first pausing ``pause`` seconds.

    Returns the executed notebook, the seconds it took and the client.
    """
    path = tmp_path / "quick.ipynb"
    wait = f"import time; time.sleep({pause})\n" if pause else ""
    notebook(path, *(f"{wait}print('cell {n}')" for n in range(1, cells + 1)))
    nb = nbformat.read(str(path), as_version=4)
    client = client_class(nb, timeout=timeout, resources={"metadata": {"path": str(tmp_path)}})
    began = time.monotonic()
    client.execute()
    return nb, time.monotonic() - began, client


def test_a_missed_wake_up_stalls_a_plain_client_until_the_cell_timeout(tmp_path):
    """The failure reproduced: each reply waits in the socket until the poll's timeout fires.

    Each cell pauses 1.5 s, so its reply arrives while the client's poll is already
    waiting, which is when a wake-up can be missed (a reply that is there before the
    poll starts is seen at once).
    """
    from nbclient import NotebookClient

    nb, seconds, _ = run(deaf(NotebookClient, "shell_channel"), tmp_path, cells=2, pause=1.5)
    assert seconds >= 2 * TIMEOUT, f"{seconds:.1f} s"
    assert [cell.outputs[0]["text"] for cell in nb.cells[1:]] == ["cell 1\n", "cell 2\n"]


def test_the_build_client_sees_a_missed_message_within_one_repoll(tmp_path):
    """The same fault, on both channels, costs the build's client at most a re-poll per message.

    A cell brings five messages (four on IOPub: busy, the input, the printed line,
    idle; and the reply), so two cells take at most about ten re-polls, less than
    the plain client's two cell timeouts, and no output is lost.
    """
    import parallel_execution

    deaf_client = deaf(parallel_execution.RepollingClient, "shell_channel", "iopub_channel")
    nb, seconds, client = run(deaf_client, tmp_path, cells=2)
    assert seconds < 2 * TIMEOUT, f"{seconds:.1f} s for two one-line cells"
    assert [cell.outputs[0]["text"] for cell in nb.cells[1:]] == ["cell 1\n", "cell 2\n"]
    # the idle status is seen at most a re-poll late, the reply then at once: nothing is reported late
    assert all(delay <= 2 * parallel_execution.REPOLL_SECONDS for delay in client.late.values()), client.late


def test_the_build_client_reports_a_late_reply(tmp_path, monkeypatch):
    """A reply seen a second or more after the kernel went idle is named, with its delay.

    With the shell channel deaf, each quick cell's reply waits for the end of the
    first re-poll, 3.5 s here, while the idle status comes on IOPub at once: the
    delay is 3.5 s less the time the cell took: a second or more, unless the machine is
    so busy that a cell takes 2.5 s, which a loaded 2-core machine did to one of the two.
    """
    import parallel_execution

    monkeypatch.setattr(parallel_execution, "REPOLL_SECONDS", 3.5)
    _, _, client = run(deaf(parallel_execution.RepollingClient, "shell_channel"), tmp_path, cells=2, timeout=20)
    assert client.late, "no late reply was reported"
    assert set(client.late) <= {1, 2}, client.late
    assert all(1.0 <= delay <= 4.0 for delay in client.late.values()), client.late


def test_repolling_keeps_the_timeout(tmp_path):
    """``queue.Empty`` after the timeout, neither sooner nor a whole re-poll later."""
    import parallel_execution

    calls = []

    async def never(timeout=None):
        calls.append(timeout)
        await asyncio.sleep(timeout)
        raise Empty

    began = time.monotonic()
    with pytest.raises(Empty):
        asyncio.run(parallel_execution.repolling(never)(timeout=2.5))
    assert 2.5 <= time.monotonic() - began < 3.0
    assert calls[:2] == [parallel_execution.REPOLL_SECONDS] * 2, calls
    assert len(calls) == 3, calls


def test_the_build_client_names_the_failing_cell(tmp_path):
    import parallel_execution

    path = tmp_path / "failing.ipynb"
    notebook(path, "x = 1", "raise RuntimeError('the second cell fails')")
    result = parallel_execution.execute_notebook(str(path), timeout=TIMEOUT * 5, allow_errors=False, in_temp=False)
    assert result["error"].startswith("cell 2: CellExecutionError"), result
