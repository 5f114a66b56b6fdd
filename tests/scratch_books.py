"""Scratch books: a few small notebooks built with the course's own configuration and local
extensions, for the build tests (``test_build_paths.py``, ``test_parallel_execution.py``)."""

from __future__ import annotations

import pathlib
import shutil
from collections.abc import Callable

import nbformat
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent


def notebook(path: pathlib.Path, *cells: tuple[str, list[str]], lib: bool = False) -> None:
    """Write a notebook titled by its file name with ``cells`` (``(source, tags)``); with ``lib``,
    a first code cell puts the course's ``lib`` on the path, as a chapter's first cell does."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {path.stem}")]
    if lib:
        nb.cells.append(nbformat.v4.new_code_cell(f"import sys\nsys.path.insert(0, {str(ROOT)!r})"))
    for source, tags in cells:
        nb.cells.append(nbformat.v4.new_code_cell(source, metadata={"tags": tags} if tags else {}))
    nbformat.write(nb, str(path))


def scratch_book(folder: pathlib.Path, chapters: list[str], configure: Callable[[dict], None] | None = None):
    """``folder/book``: the course's ``_config.yml`` (changed by ``configure``), its ``_ext/``,
    its bibliography and npm packages, an index page and ``chapters`` (paths without ``.ipynb``,
    in the table of contents in that order, each to be written with :func:`notebook`)."""
    book = folder / "book"
    book.mkdir(parents=True)
    shutil.copytree(ROOT / "_ext", book / "_ext", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "references.bib", book)
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    if configure is not None:
        configure(config)
    (book / "_config.yml").write_text(yaml.safe_dump(config))
    toc = {"format": "jb-book", "root": "index", "chapters": [{"file": name} for name in chapters]}
    (book / "_toc.yml").write_text(yaml.safe_dump(toc))
    (book / "index.md").write_text("# Scratch book\n\nA book to build.\n")
    for name in chapters:
        (book / name).parent.mkdir(parents=True, exist_ok=True)
    if (ROOT / "node_modules").is_dir():
        (book / "node_modules").symlink_to(ROOT / "node_modules")
    return book
