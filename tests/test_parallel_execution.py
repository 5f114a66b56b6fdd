"""The book build never hangs on a stuck cell: it fails, naming the notebook and the cell.

Builds a two-notebook scratch book with the course's own configuration and local
extensions (so the uncached notebooks go through ``_ext/parallel_execution.py``), one of
whose cells outlasts the cell timeout.
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys
import time

import nbformat
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
TIMEOUT = 4  # seconds per cell in the scratch book; the course's own is in _config.yml


def notebook(path: pathlib.Path, *sources: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {path.stem}")]
    nb.cells += [nbformat.v4.new_code_cell(source) for source in sources]
    nbformat.write(nb, str(path))


def test_a_stuck_cell_fails_the_build_fast_and_names_itself(tmp_path):
    book = tmp_path / "book"
    book.mkdir()
    shutil.copytree(ROOT / "_ext", book / "_ext", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "references.bib", book)
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["timeout"] <= 300, "a stuck cell must fail well before 10 minutes"
    config["execute"]["timeout"] = TIMEOUT
    config["only_build_toc_files"] = True
    (book / "_config.yml").write_text(yaml.safe_dump(config))
    (book / "_toc.yml").write_text(
        yaml.safe_dump({"format": "jb-book", "root": "index", "chapters": [{"file": "quick"}, {"file": "stuck"}]})
    )
    (book / "index.md").write_text("# Scratch book\n")
    notebook(book / "quick.ipynb", "print(1 + 1)")
    notebook(book / "stuck.ipynb", "x = 1", "import time\ntime.sleep(600)  # the stuck cell", "print(x)")
    node_modules = ROOT / "node_modules"
    if node_modules.is_dir():
        (book / "node_modules").symlink_to(node_modules)

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
    assert "parallel_execution: stuck.ipynb failed at cell 2: CellTimeoutError" in log, log[-3000:]
    from jupyter_cache import get_cache

    cache = get_cache(str(book / "_build" / ".jupyter_cache"))  # where myst-nb looks
    cache.match_cache_notebook(nbformat.read(str(book / "quick.ipynb"), as_version=4))
    assert not (tmp_path / ".jupyter_cache").exists()


# Run in the kernel: hold back this cell's own execute_reply until the kernel sends its
# next shell message (the reply to a new request), as in the builds that hung.
HOLD_REPLY = """\
stream = get_ipython().kernel.shell_stream
send, held = stream.send_multipart, []

def holding_send(frames, *args, **kwargs):
    if not held and any(b"execute_reply" in bytes(frame) for frame in frames):
        held.append((frames, args, kwargs))  # the reply to this very cell
        return None
    while len(held) == 1:  # the next message out releases it first
        frames_held, args_held, kwargs_held = held[0]
        send(frames_held, *args_held, **kwargs_held)
        held.append(None)
    return send(frames, *args, **kwargs)

stream.send_multipart = holding_send
"""


def held_reply_notebook(path: pathlib.Path) -> str:
    notebook(path, HOLD_REPLY, "print('the next cell ran')")
    return str(path)


def test_a_reply_held_by_the_kernel_hangs_a_plain_client(tmp_path):
    """The failure the nudge answers, reproduced: without a new request the reply never comes."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError

    nb = nbformat.read(held_reply_notebook(tmp_path / "held.ipynb"), as_version=4)
    client = NotebookClient(nb, timeout=TIMEOUT, resources={"metadata": {"path": str(tmp_path)}})
    began = time.monotonic()
    with pytest.raises(CellTimeoutError):
        client.execute()
    assert time.monotonic() - began >= TIMEOUT


def test_the_build_client_recovers_a_held_reply_within_one_nudge(tmp_path, monkeypatch):
    """The same notebook and cell timeout pass when the client nudges the kernel."""
    import parallel_execution

    monkeypatch.setattr(parallel_execution, "NUDGE_SECONDS", 0.5)
    result = parallel_execution.execute_notebook(
        held_reply_notebook(tmp_path / "held.ipynb"), timeout=TIMEOUT, allow_errors=False, in_temp=False
    )
    assert "error" not in result, result
    executed = nbformat.reads(result["notebook"], as_version=4)
    assert executed.cells[-1].outputs[0]["text"] == "the next cell ran\n"


def test_the_build_client_names_the_failing_cell(tmp_path):
    import parallel_execution

    path = tmp_path / "failing.ipynb"
    notebook(path, "x = 1", "raise RuntimeError('the second cell fails')")
    result = parallel_execution.execute_notebook(str(path), timeout=TIMEOUT * 5, allow_errors=False, in_temp=False)
    assert result["error"].startswith("cell 2: CellExecutionError"), result


def test_the_build_client_reports_the_late_reply(tmp_path, monkeypatch):
    import parallel_execution

    monkeypatch.setattr(parallel_execution, "NUDGE_SECONDS", 1.5)
    result = parallel_execution.execute_notebook(
        held_reply_notebook(tmp_path / "held.ipynb"), timeout=TIMEOUT, allow_errors=False, in_temp=False
    )
    assert list(result["late"]) == [1], result["late"]  # the holding cell, and only it
    assert 1.0 <= result["late"][1] <= 1.5 + 1.0
