"""Every way of building gives the whole site (explorers, search index): a cold build, an edit, a retry, serial.

Each test builds a scratch book with the course's own configuration and local extensions:
an explorer chapter and a plain one under ``chapters/``, as in the course. A kernel knows
it draws for the site from the build's IPython profile (``_ext/explorer_frames.py``), so
the explorer must reach the page whoever executes the notebook: the side-by-side
executor (several chapters, or exactly one), myst-nb in a serial build, or myst-nb
retrying a chapter that failed once.
"""

from __future__ import annotations

import html
import json
import pathlib
import re
import subprocess
import sys

import nbformat
import pytest

from tests import scratch_books

pytestmark = pytest.mark.build

JUPYTER_BOOK = pathlib.Path(sys.executable).parent / "jupyter-book"
EXPLORER = """\
from lib.explorers import Slider, explorer


def draw(fig, slope):
    ax = fig.subplots()
    ax.plot([0, 1], [0, slope])
    ax.set(title="a line", xlabel="x", ylabel="y", ylim=(-1, 1))
    return {"slope": slope}


explorer(draw, figsize=(2, 1.5), slope=Slider("slope", (-0.5, 0.0, 0.5), 0.0))"""


def scratch_book(folder: pathlib.Path, parallel: bool = True, flaky: bool = False) -> pathlib.Path:
    """An explorer chapter and a plain one, under ``chapters/`` as in the course."""

    def configure(config):
        config["sphinx"]["config"]["parallel_execution"] = parallel

    book = scratch_books.scratch_book(folder, ["chapters/explorer", "chapters/plain"], configure)
    first = "print('explorer chapter')"
    if flaky:  # fails the first time it runs, as a chapter may on a busy machine
        mark = folder / "ran-once"
        first = f"import pathlib\nmark = pathlib.Path({str(mark)!r})\nif not mark.exists():\n"
        first += "    mark.touch()\n    raise RuntimeError('first run')"
    notebook(book / "chapters" / "explorer.ipynb", (first, []), (EXPLORER, ["explorer"]))
    progress = "from tqdm.auto import tqdm\nfor _ in tqdm(range(3), desc='steps'):\n    pass\nprint(6 * 7)"
    notebook(book / "chapters" / "plain.ipynb", (progress, []))
    path = book / "chapters" / "plain.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell(f"```{{index}} {INDEXED}\n```\n\nA term in the index."))
    nbformat.write(nb, str(path))
    return book


INDEXED = "Scratch term"
"""An entry of the plain chapter in the book's index, which the search page finds."""


def search_index(book: pathlib.Path) -> dict:
    """The built site's search index (``searchindex.js``, the JSON Sphinx writes in ``Search.setIndex(...)``)."""
    text = (book / "_build" / "html" / "searchindex.js").read_text(encoding="utf-8")
    index = json.loads(text[text.index("(") + 1 : text.rindex(")")])
    assert INDEXED.lower() in index["indexentries"], (
        f"the index entry of the plain chapter is not searched: {index['indexentries']}"
    )
    return index


def notebook(path: pathlib.Path, *cells: tuple[str, list[str]]) -> None:
    scratch_books.notebook(path, *cells, lib=True)


def build(book: pathlib.Path, succeeds: bool = True) -> str:
    """Build ``book`` strictly, as ``make book`` does; its log. The build must succeed or fail as told."""
    result = subprocess.run(
        [str(JUPYTER_BOOK), "build", str(book), "-W", "-n", "--keep-going"],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=book.parent,
    )
    log = result.stdout + result.stderr
    assert (result.returncode == 0) == succeeds, log[-4000:]
    return log


def site_explorer(book: pathlib.Path) -> dict:
    """The explorer on the built page, with its figures checked to be in the site."""
    page = book / "_build" / "html" / "chapters" / "explorer.html"
    markup = page.read_text(encoding="utf-8")
    assert markup.count('class="explorer"') == 1, "the page has no site explorer"
    assert "widget-view+json" not in markup
    data = json.loads(html.unescape(re.search(r'data-explorer="([^"]*)"', markup)[1]))
    assert [values["slope"] for values in data["values"]] == [-0.5, 0.0, 0.5]
    assert len(set(data["frames"])) == 3
    for url in data["frames"]:
        assert (page.parent / url).resolve().is_file(), url
    assert "explorers.js" in markup
    plain = (page.parent / "plain.html").read_text(encoding="utf-8")
    assert re.search(r"steps: 100%\|[^<]*\| 3/3 \[", plain), "the progress bar's last line is not on the page"
    assert "widget-view+json" not in plain
    return data


def test_a_cold_build_then_one_edited_chapter_then_a_rebuild(tmp_path):
    book = scratch_book(tmp_path)
    log = build(book)
    assert "parallel_execution: executing 2 notebooks" in log
    before = site_explorer(book)
    search_index(book)
    # an author edits one code cell of the explorer chapter: exactly one uncached chapter
    path = book / "chapters" / "explorer.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    nb.cells[-1].source += "  # an author's comment"
    nbformat.write(nb, str(path))
    log = build(book)
    assert "parallel_execution: executing 1 notebooks" in log, log[-3000:]
    assert site_explorer(book)["frames"] == before["frames"]  # the same figures, still in the site
    # the plain chapter is not written again, and its index entry is still searched
    edited = search_index(book)
    # nothing changed: both chapters come from the cache, and the site is whole
    log = build(book)
    assert "parallel_execution: executing" not in log
    site_explorer(book)
    assert search_index(book) == edited


def test_a_serial_build_without_the_side_by_side_executor(tmp_path):
    book = scratch_book(tmp_path, parallel=False)
    log = build(book)
    assert "parallel_execution:" not in log
    assert "Executing notebook using local CWD" in log or "Executing" in log
    site_explorer(book)


def test_a_chapter_that_fails_once_and_is_executed_again(tmp_path):
    book = scratch_book(tmp_path, flaky=True)
    log = build(book)
    assert "parallel_execution: chapters/explorer.ipynb failed at cell 2: CellExecutionError" in log, log[-3000:]
    site_explorer(book)


def test_an_explorer_cell_that_shows_no_explorer_names_the_chapter_the_cell_and_the_cause(tmp_path):
    book = scratch_book(tmp_path)
    notebook(book / "chapters" / "explorer.ipynb", ("print('not an explorer')", ["explorer"]))
    log = build(book, succeeds=False)
    assert "chapters/explorer, cell 2 tagged explorer shows no site explorer; it showed: not an explorer" in log, log[
        -3000:
    ]


def test_a_cell_that_writes_to_stderr_fails_the_build_unless_tagged_to(tmp_path):
    """A warning a cell prints (with the build machine's paths) never reaches a page unnoticed."""
    book = scratch_book(tmp_path)
    warns = "import sys\nprint('a warning from the build', file=sys.stderr)"
    notebook(book / "chapters" / "plain.ipynb", (warns, []))
    log = build(book, succeeds=False)
    assert "stderr was found in the cell outputs of cell 3" in log, log[-3000:]
    notebook(book / "chapters" / "plain.ipynb", (warns, ["remove-stderr"]))
    build(book)
    page = (book / "_build" / "html" / "chapters" / "plain.html").read_text(encoding="utf-8")
    assert "print(" in page  # the cell is on the page, its stderr is not
    assert "output stderr" not in page
